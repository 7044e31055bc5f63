// RFC 2136 UPDATE semantics, pure: evaluateUpdate decides and computes a changeset without touching
// the zone; the server commits it to the store first and only then calls applyChangeset, so an
// acknowledged update is durable and a failed commit leaves the served zone as it was.
import { Rcode, RRClass, RRType } from './constants.js';
import { canonicalName } from './name.js';
import { decodeRdata, encodeRdata, isKnownRdataType, rdataKey } from './rdata-canonical.js';
import { DnsEncodeError, type Message, type RData, type ResourceRecord } from './types.js';
import { addToRRsets, freezeRecord, removeFromRRsets, type RRsets, type Zone, type ZoneChangeset } from './zone.js';

export interface UpdateResult {
  rcode: number;
  /** Present only when the update changes the zone. */
  changes?: ZoneChangeset;
  /** Why the update failed, for the log (never sent to the client). */
  detail?: string;
}


function fail(rcode: number, detail: string): UpdateResult {
  return { rcode, detail };
}

/** Meta and query-only types (OPT, 128-255: TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY), as BIND. */
function isMeta(type: number): boolean {
  return type === RRType.OPT || (type >= 128 && type <= 255);
}

function isEmpty(rdata: RData): boolean {
  return rdata.kind === 'empty' || (rdata.kind === 'unknown' && rdata.data.length === 0);
}

/** RDATA that could be zone data for its type (a malformed RR in the message is FORMERR). */
function validData(rr: ResourceRecord): boolean {
  if (isEmpty(rr.rdata)) return !isKnownRdataType(rr.type);
  // "\#" data of a known type must parse as that type.
  if (rr.rdata.kind === 'unknown' && isKnownRdataType(rr.type)) return decodeRdata(rr.type, rr.rdata.data).kind !== 'unknown';
  try {
    encodeRdata(rr.type, rr.rdata, true);
    return true;
  } catch (e) {
    if (e instanceof DnsEncodeError) return false;
    throw e;
  }
}

/** RFC 1982: is a later than b? (At distance 2^31 it is undefined; treat as not later.) */
export function serialGreater(a: number, b: number): boolean {
  return (a < b && b - a > 0x80000000) || (a > b && a - b < 0x80000000);
}

/** Next serial, RFC 1982 wrap-around; skips 0 like BIND, since some tools treat 0 as "unset". */
export function nextSerial(s: number): number {
  return ((s + 1) >>> 0) || 1;
}

/**
 * Evaluates an UPDATE (RFC 2136 section 3) against zone. Sections: question = zone,
 * answer = prerequisites, authority = updates. mayChange(name) is the access policy for each
 * updated owner name; one refusal refuses the whole update.
 */
export function evaluateUpdate(zone: Zone, msg: Message, mayChange: (name: string) => boolean): UpdateResult {
  try {
    if (msg.question.length !== 1) return fail(Rcode.FORMERR, `zone section has ${msg.question.length} entries`);
    const z = msg.question[0];
    if (z.type !== RRType.SOA) return fail(Rcode.FORMERR, `zone section type ${z.type} is not SOA`);
    if (canonicalName(z.name) !== zone.origin) return fail(Rcode.NOTAUTH, `not authoritative for ${z.name}`);
    if (z.class !== zone.zclass) return fail(Rcode.FORMERR, `zone class ${z.class} is not ${zone.zclass}`);
    const updates = msg.authority.map(typed);
    return checkPrerequisites(zone, msg.answer) ?? prescan(zone, updates)
      ?? refused(updates, mayChange) ?? computeChanges(zone, updates);
  } catch (e) {
    if (e instanceof DnsEncodeError) return fail(Rcode.FORMERR, e.message);
    throw e;
  }
}

/** RFC 2136 3.2.5. */
function checkPrerequisites(zone: Zone, prereqs: ResourceRecord[]): UpdateResult | undefined {
  const wanted = new Map<string, { name: string; type: number; keys: Set<string> }>();
  for (const rr of prereqs) {
    if (rr.ttl !== 0) return fail(Rcode.FORMERR, `prerequisite ${rr.name} has TTL ${rr.ttl}`);
    if (!zone.contains(rr.name)) return fail(Rcode.NOTZONE, `prerequisite ${rr.name} is outside ${zone.origin}`);
    if (rr.class === RRClass.ANY || rr.class === RRClass.NONE) {
      if (!isEmpty(rr.rdata)) return fail(Rcode.FORMERR, `prerequisite ${rr.name} class ANY/NONE has RDATA`);
      if (isMeta(rr.type) && rr.type !== RRType.ANY) return fail(Rcode.FORMERR, `prerequisite ${rr.name} has meta type ${rr.type}`);
      const any = rr.type === RRType.ANY;
      const exists = any ? zone.hasName(rr.name) : zone.rrsetsAt(rr.name)?.has(rr.type) === true;
      if (rr.class === RRClass.ANY && !exists) return fail(any ? Rcode.NXDOMAIN : Rcode.NXRRSET, `prerequisite: ${rr.name} ${any ? 'not in use' : `has no type ${rr.type}`}`);
      if (rr.class === RRClass.NONE && exists) return fail(any ? Rcode.YXDOMAIN : Rcode.YXRRSET, `prerequisite: ${rr.name} ${any ? 'in use' : `has type ${rr.type}`}`);
    } else if (rr.class === zone.zclass) {
      if (isMeta(rr.type) || !validData(rr)) return fail(Rcode.FORMERR, `prerequisite ${rr.name}: bad type or RDATA`);
      const k = `${rr.type}/${canonicalName(rr.name)}`;
      let set = wanted.get(k);
      if (!set) wanted.set(k, (set = { name: rr.name, type: rr.type, keys: new Set() }));
      set.keys.add(rdataKey(rr.type, rr.rdata));
    } else {
      return fail(Rcode.FORMERR, `prerequisite ${rr.name} has class ${rr.class}`);
    }
  }
  // Value-dependent: the zone's RRset must equal the given one exactly (TTL not compared).
  for (const w of wanted.values()) {
    const have = new Set((zone.rrsetsAt(w.name)?.get(w.type) ?? []).map((r) => rdataKey(r.type, r.rdata)));
    if (have.size !== w.keys.size || [...w.keys].some((k) => !have.has(k))) {
      return fail(Rcode.NXRRSET, `prerequisite: ${w.name} type ${w.type} RRset differs`);
    }
  }
  return undefined;
}

/** RFC 2136 3.4.1.3. */
function prescan(zone: Zone, updates: ResourceRecord[]): UpdateResult | undefined {
  for (const rr of updates) {
    if (!zone.contains(rr.name)) return fail(Rcode.NOTZONE, `update ${rr.name} is outside ${zone.origin}`);
    const bad = (why: string): UpdateResult => fail(Rcode.FORMERR, `update ${rr.name} type ${rr.type}: ${why}`);
    if (rr.class === zone.zclass) {
      if (isMeta(rr.type)) return bad('meta type cannot be added');
      if (!validData(rr)) return bad('bad RDATA');
    } else if (rr.class === RRClass.ANY) {
      if (rr.ttl !== 0) return bad('delete with non-zero TTL');
      if (!isEmpty(rr.rdata)) return bad('RRset delete with RDATA');
      if (isMeta(rr.type) && rr.type !== RRType.ANY) return bad('meta type');
    } else if (rr.class === RRClass.NONE) {
      if (rr.ttl !== 0) return bad('delete with non-zero TTL');
      if (isMeta(rr.type)) return bad('meta type');
      if (!validData(rr)) return bad('bad RDATA');
    } else {
      return bad(`class ${rr.class}`);
    }
  }
  return undefined;
}

function refused(updates: ResourceRecord[], mayChange: (name: string) => boolean): UpdateResult | undefined {
  for (const rr of updates) if (!mayChange(rr.name)) return fail(Rcode.REFUSED, `update of ${rr.name} not permitted`);
  return undefined;
}

/** RFC 2136 3.4.2 on private copies of the touched names, then a diff against the zone. */
function computeChanges(zone: Zone, updates: ResourceRecord[]): UpdateResult {
  const work = new Map<string, RRsets>();
  const at = (k: string): RRsets => {
    let sets = work.get(k);
    if (!sets) work.set(k, (sets = new Map(zone.rrsetsAt(k) ?? [])));
    return sets;
  };
  const oldSoa = zone.soa();
  let soa = oldSoa;
  for (const rr of updates) {
    const k = canonicalName(rr.name);
    const apex = k === zone.origin;
    if (rr.class === zone.zclass) {
      if (rr.type === RRType.SOA) {
        // Replaces only at the apex and only with a later serial (3.4.2.2).
        if (apex && rr.rdata.kind === 'SOA' && serialGreater(rr.rdata.serial, serialOf(soa))) soa = rr;
        continue;
      }
      addToRRsets(at(k), rr, 'adopt');
    } else if (rr.class === RRClass.ANY) {
      const sets = at(k);
      if (rr.type === RRType.ANY) {
        for (const t of [...sets.keys()]) if (!(apex && (t === RRType.SOA || t === RRType.NS))) sets.delete(t);
      } else if (!(apex && (rr.type === RRType.SOA || rr.type === RRType.NS))) {
        sets.delete(rr.type);
      }
    } else {
      if (rr.type === RRType.SOA) continue;
      const sets = at(k);
      const ns = sets.get(RRType.NS);
      // The last apex NS stays (3.4.2.4).
      if (apex && rr.type === RRType.NS && ns?.length === 1 && rdataKey(rr.type, ns[0].rdata) === rdataKey(rr.type, rr.rdata)) continue;
      removeFromRRsets(sets, rr);
    }
  }

  const deletes: ResourceRecord[] = [];
  const adds: ResourceRecord[] = [];
  const key = (r: ResourceRecord): string => `${r.ttl}/${rdataKey(r.type, r.rdata)}`;
  for (const [k, sets] of work) {
    const before = zone.rrsetsAt(k);
    for (const t of new Set([...(before?.keys() ?? []), ...sets.keys()])) {
      const b = before?.get(t) ?? [];
      const a = sets.get(t) ?? [];
      if (t === RRType.SOA || a === b) continue;
      const bk = new Set(b.map(key));
      const ak = new Set(a.map(key));
      for (const r of b) if (!ak.has(key(r))) deletes.push(r);
      for (const r of a) if (!bk.has(key(r))) adds.push(r);
    }
  }
  if (deletes.length === 0 && adds.length === 0 && soa === oldSoa) return { rcode: Rcode.NOERROR };
  // An explicit later SOA serial wins; otherwise the serial goes up by one (as BIND does).
  const newSoa = soa !== oldSoa ? freezeRecord(soa)
    : freezeRecord({ ...oldSoa, rdata: { ...(oldSoa.rdata as Extract<RData, { kind: 'SOA' }>), serial: nextSerial(serialOf(oldSoa)) } });
  return {
    rcode: Rcode.NOERROR,
    changes: { deletes, adds, soa: newSoa, previousSerial: zone.serial(), baseVersion: zone.version },
  };
}

function serialOf(soa: ResourceRecord): number {
  return (soa.rdata as Extract<RData, { kind: 'SOA' }>).serial;
}

/** RFC 3597 "\#" RDATA of a known type becomes the typed form, so the zone stores one shape. */
function typed(rr: ResourceRecord): ResourceRecord {
  if (rr.rdata.kind !== 'unknown' || rr.rdata.data.length === 0 || !isKnownRdataType(rr.type)) return rr;
  const rdata = decodeRdata(rr.type, rr.rdata.data);
  return rdata.kind === 'unknown' ? rr : { ...rr, rdata };
}

/**
 * Applies a changeset from evaluateUpdate (after the store committed it). Throws if the zone
 * changed since the changeset was computed: applying it then would diverge from the store.
 */
export function applyChangeset(zone: Zone, changes: ZoneChangeset): void {
  if (zone.version !== changes.baseVersion || zone.serial() !== changes.previousSerial) {
    throw new Error(`zone ${zone.origin} changed since the update was evaluated`);
  }
  for (const rr of changes.deletes) if (!zone.remove(rr)) throw new Error(`changeset delete of absent ${rr.name} type ${rr.type}`);
  for (const rr of changes.adds) if (!zone.add(rr)) throw new Error(`changeset add of ${rr.name} type ${rr.type} had no effect`);
  zone.add(changes.soa);
}
