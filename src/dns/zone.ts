// In-memory authoritative zone: RRsets by canonical owner name. Pure; persistence is zone-store.ts.
// Records handed out are frozen: they are shared with the zone, and a caller editing one in place
// would silently change what the zone serves.
import { RRType } from './constants.js';
import { canonicalName, isSubdomain, nameToLabels } from './name.js';
import { isKnownRdataType, rdataKey } from './rdata-canonical.js';
import type { ResourceRecord } from './types.js';

/** The RRsets at one owner name, by type. Arrays are replaced, never edited (copy-on-write). */
export type RRsets = Map<number, readonly ResourceRecord[]>;

/** What one accepted UPDATE does to a zone; produced by evaluateUpdate, applied by store then zone. */
export interface ZoneChangeset {
  /** RRs to remove, exactly as the zone holds them (never the SOA). */
  deletes: ResourceRecord[];
  /** RRs to add, with their final TTLs (never the SOA). */
  adds: ResourceRecord[];
  /** The new apex SOA, serial already advanced; it replaces the old one. */
  soa: ResourceRecord;
  /** SOA serial the changeset was computed against (the store checks it). */
  previousSerial: number;
  /** Zone.version the changeset was computed against (applyChangeset checks it). */
  baseVersion: number;
}

// Types allowed to share a name with a CNAME (RFC 4035 2.5: DNSSEC records).
const CNAME_COMPANIONS = new Set([46 /* RRSIG */, 47 /* NSEC */]);
// A name holds at most one of these; adding another replaces it (RFC 2136 3.4.2.2).
const SINGLETONS = new Set<number>([RRType.CNAME, RRType.SOA]);

/** Why rr may not join these RRsets (RFC 1034 3.6.2 / RFC 2136 3.4.2.2), or undefined. */
export function cnameConflict(sets: RRsets, rr: ResourceRecord): string | undefined {
  if (CNAME_COMPANIONS.has(rr.type)) return undefined;
  if (rr.type === RRType.CNAME) {
    for (const t of sets.keys()) if (t !== RRType.CNAME && !CNAME_COMPANIONS.has(t)) return `CNAME and other data at ${rr.name}`;
    return undefined;
  }
  return sets.has(RRType.CNAME) ? `CNAME and other data at ${rr.name}` : undefined;
}

/**
 * Adds rr to one name's RRsets, returning whether anything changed. Canonically equal RDATA is a
 * duplicate; CNAME/SOA replace; CNAME conflicts are ignored. ttl 'adopt': the set takes rr's TTL
 * (BIND's dynamic-update rule); 'keep': the set keeps its TTL (BIND's zone-file rule).
 */
export function addToRRsets(sets: RRsets, rr: ResourceRecord, ttl: 'adopt' | 'keep'): boolean {
  if (cnameConflict(sets, rr)) return false;
  const cur = sets.get(rr.type);
  const rec = freezeRecord(rr);
  if (!cur) { sets.set(rr.type, [rec]); return true; }
  const key = rdataKey(rr.type, rr.rdata);
  if (SINGLETONS.has(rr.type)) {
    if (cur[0].ttl === rr.ttl && rdataKey(rr.type, cur[0].rdata) === key) return false;
    sets.set(rr.type, [rec]);
    return true;
  }
  const setTtl = ttl === 'adopt' ? rr.ttl : cur[0].ttl;
  const dup = cur.some((r) => rdataKey(r.type, r.rdata) === key);
  if (dup && cur[0].ttl === setTtl) return false;
  const next = cur.map((r) => (r.ttl === setTtl ? r : withTtl(r, setTtl)));
  if (!dup) next.push(rec.ttl === setTtl ? rec : withTtl(rec, setTtl));
  sets.set(rr.type, next);
  return true;
}

/** Removes the RR with rr's RDATA (canonical compare, TTL ignored); returns whether it was there. */
export function removeFromRRsets(sets: RRsets, rr: ResourceRecord): boolean {
  const cur = sets.get(rr.type);
  if (!cur) return false;
  const key = rdataKey(rr.type, rr.rdata);
  const next = cur.filter((r) => rdataKey(r.type, r.rdata) !== key);
  if (next.length === cur.length) return false;
  if (next.length === 0) sets.delete(rr.type);
  else sets.set(rr.type, next);
  return true;
}

export function withTtl(rr: ResourceRecord, ttl: number): ResourceRecord {
  return Object.freeze({ ...rr, ttl });
}

export function freezeRecord(rr: ResourceRecord): ResourceRecord {
  if (Object.isFrozen(rr)) return rr;
  const rdata = rr.rdata.kind === 'TXT' ? { ...rr.rdata, strings: Object.freeze([...rr.rdata.strings]) as Buffer[] } : { ...rr.rdata };
  return Object.freeze({ ...rr, rdata: Object.freeze(rdata) });
}

/** Parent of a canonical name ("a.b." -> "b."), skipping escaped dots; undefined for the root. */
function parentOf(name: string): string | undefined {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) i++; // "\." is not a separator; "\DDD" digits are never dots
    else if (c === 0x2e) return i + 1 === name.length ? (name === '.' ? undefined : '.') : name.slice(i + 1);
  }
  return undefined;
}

export class Zone {
  /** Bumped by every change, so caches keyed on it are invalidated. */
  version = 0;
  /** Class of the zone (the SOA's), RFC 2136 ZCLASS. */
  readonly zclass: number;
  private readonly nodes = new Map<string, RRsets>();
  /** Per name: how many names below it own RRs (empty non-terminal detection). */
  private readonly below = new Map<string, number>();
  private soaRR!: ResourceRecord;

  private constructor(readonly origin: string, zclass: number) {
    this.zclass = zclass;
  }

  /**
   * Builds a zone the way a zone file loads (first TTL of a set wins, duplicates collapse).
   * Throws on: no SOA at the origin or two different ones, no apex NS, records outside the zone or
   * of another class, CNAME and other data, malformed names or RDATA.
   */
  static fromRecords(origin: string, records: Iterable<ResourceRecord>): Zone {
    const o = canonicalName(origin);
    const list = [...records];
    const soas = list.filter((r) => r.type === RRType.SOA);
    const apexSoa = soas.find((r) => canonicalName(r.name) === o);
    if (!apexSoa) throw new Error(`zone ${o}: no SOA record at the origin`);
    const zone = new Zone(o, apexSoa.class);
    for (const rr of list) {
      const where = `zone ${o}: ${rr.name}`;
      try { nameToLabels(rr.name); rdataKey(rr.type, rr.rdata); } catch (e) { throw new Error(`${where}: ${(e as Error).message}`); }
      if (rr.rdata.kind === 'empty' && isKnownRdataType(rr.type)) throw new Error(`${where}: empty RDATA`);
      if (!isSubdomain(rr.name, o)) throw new Error(`${where} is outside the zone`);
      if (rr.class !== zone.zclass) throw new Error(`${where}: class ${rr.class} differs from the SOA's ${zone.zclass}`);
      if (rr.type === RRType.SOA && canonicalName(rr.name) !== o) throw new Error(`${where}: SOA not at the zone apex`);
      const sets = zone.nodes.get(canonicalName(rr.name)) ?? new Map();
      const conflict = cnameConflict(sets, rr);
      if (conflict) throw new Error(`zone ${o}: ${conflict}`);
      const single = sets.get(rr.type);
      if (single && SINGLETONS.has(rr.type) && rdataKey(rr.type, single[0].rdata) !== rdataKey(rr.type, rr.rdata)) {
        throw new Error(`${where}: more than one ${rr.type === RRType.SOA ? 'SOA' : 'CNAME'} record`);
      }
      zone.insert(rr, 'keep');
    }
    if (!zone.nodes.get(o)?.has(RRType.NS)) throw new Error(`zone ${o}: no NS records at the origin`);
    zone.version = 0;
    return zone;
  }

  soa(): ResourceRecord {
    return this.soaRR;
  }

  serial(): number {
    return (this.soaRR.rdata as { serial: number }).serial;
  }

  /** RRs of one type at name (any case), in their stored owner case; type ANY gives all of them. */
  get(name: string, type: number): ResourceRecord[] {
    const sets = this.nodes.get(canonicalName(name));
    if (!sets) return [];
    if (type === RRType.ANY) return [...sets.values()].flat();
    return [...(sets.get(type) ?? [])];
  }

  typesAt(name: string): number[] {
    return [...(this.nodes.get(canonicalName(name))?.keys() ?? [])];
  }

  /** Read-only view of a name's RRsets, for evaluateUpdate to copy. */
  rrsetsAt(name: string): ReadonlyMap<number, readonly ResourceRecord[]> | undefined {
    return this.nodes.get(canonicalName(name));
  }

  hasName(name: string): boolean {
    return this.nodes.has(canonicalName(name));
  }

  /** No RRs of its own but names below it have some: NODATA, not NXDOMAIN (RFC 8020). */
  isEmptyNonTerminal(name: string): boolean {
    const k = canonicalName(name);
    return !this.nodes.has(k) && (this.below.get(k) ?? 0) > 0;
  }

  contains(name: string): boolean {
    return isSubdomain(name, this.origin);
  }

  /** NS RRset of the highest delegation point strictly below the apex at or above name. */
  findCut(name: string): ResourceRecord[] | undefined {
    if (!this.contains(name)) return undefined;
    let found: readonly ResourceRecord[] | undefined;
    for (let k: string | undefined = canonicalName(name); k !== undefined && k !== this.origin; k = parentOf(k)) {
      const ns = this.nodes.get(k)?.get(RRType.NS);
      if (ns) found = ns;
    }
    return found ? [...found] : undefined;
  }

  /** Every RR, SOA first (the AXFR order). */
  all(): ResourceRecord[] {
    const out: ResourceRecord[] = [this.soaRR];
    for (const sets of this.nodes.values()) for (const [t, rrs] of sets) if (t !== RRType.SOA) out.push(...rrs);
    return out;
  }

  /**
   * Adds one RR with dynamic-update semantics (duplicates collapse, the set adopts the new TTL,
   * CNAME conflicts and SOA away from the apex are ignored; an apex SOA replaces the old one).
   * Returns whether the zone changed. Throws on a record outside the zone or of another class.
   */
  add(rr: ResourceRecord): boolean {
    if (!this.contains(rr.name)) throw new Error(`${rr.name} is outside zone ${this.origin}`);
    if (rr.class !== this.zclass) throw new Error(`${rr.name}: class ${rr.class} is not the zone's ${this.zclass}`);
    if (rr.type === RRType.SOA && canonicalName(rr.name) !== this.origin) return false;
    return this.insert(rr, 'adopt');
  }

  /** Removes the RR with rr's RDATA (TTL ignored); returns whether it was there. Never the SOA. */
  remove(rr: ResourceRecord): boolean {
    if (rr.type === RRType.SOA) throw new Error('the SOA can only be replaced, not removed');
    const k = canonicalName(rr.name);
    const sets = this.nodes.get(k);
    if (!sets || !removeFromRRsets(sets, rr)) return false;
    if (sets.size === 0) {
      this.nodes.delete(k);
      this.count(k, -1);
    }
    this.version++;
    return true;
  }

  private insert(rr: ResourceRecord, ttl: 'adopt' | 'keep'): boolean {
    const k = canonicalName(rr.name);
    const existing = this.nodes.get(k);
    const sets: RRsets = existing ?? new Map();
    if (!addToRRsets(sets, rr, ttl)) return false;
    if (!existing) {
      this.nodes.set(k, sets);
      this.count(k, +1);
    }
    if (rr.type === RRType.SOA) this.soaRR = sets.get(RRType.SOA)![0];
    this.version++;
    return true;
  }

  /** Adjusts the descendant counts of every ancestor of k up to the origin. */
  private count(k: string, delta: number): void {
    for (let p = k === this.origin ? undefined : parentOf(k); p !== undefined; p = p === this.origin ? undefined : parentOf(p)) {
      const n = (this.below.get(p) ?? 0) + delta;
      if (n === 0) this.below.delete(p);
      else this.below.set(p, n);
    }
  }
}
