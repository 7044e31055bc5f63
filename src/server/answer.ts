// Authoritative answering for one question against one zone (RFC 1034 4.3.2, RFC 2308,
// RFC 6604). Pure: no I/O, no clock.
import { canonicalName } from '../dns/name.js';
import { RRClass, RRType, Rcode } from '../dns/constants.js';
import type { Question, ResourceRecord } from '../dns/types.js';
import type { Zone } from '../dns/zone.js';

export interface Answer {
  rcode: number;
  aa: boolean;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

export interface AnswerOptions {
  /** Names served with TTL 0 because their address is an NTS router's (canonical name in). */
  isNtsManaged?: (name: string) => boolean;
}

const MAX_CNAME_CHAIN = 8;

export function answerQuestion(zone: Zone, q: Question, opts: AnswerOptions = {}): Answer {
  const out: Answer = { rcode: Rcode.NOERROR, aa: true, answer: [], authority: [], additional: [] };
  if ((q.class !== RRClass.IN && q.class !== RRClass.ANY) || !zone.contains(q.name)) {
    out.rcode = Rcode.REFUSED;
    out.aa = false;
    return out;
  }
  if (q.type === RRType.AXFR || q.type === RRType.IXFR) {
    // Zone transfer is not offered (yet): refuse, as servers do for transfers they do not allow.
    out.rcode = Rcode.REFUSED;
    out.aa = false;
    return out;
  }
  const ttl0 = opts.isNtsManaged ?? (() => false);
  const seen = new Set<string>();
  let name = q.name;
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const cname = canonicalName(name);
    if (seen.has(cname)) break; // CNAME loop inside the zone: answer with what we have
    seen.add(cname);
    const cut = zone.findCut(cname);
    if (cut) {
      // Delegation: a referral, not authoritative (RFC 1034 4.3.2 step 3b).
      if (out.answer.length === 0) out.aa = false;
      out.authority.push(...cut);
      addGlue(zone, cut.map((r) => (r.rdata.kind === 'NS' ? r.rdata.target : '')), out);
      return out;
    }
    if (!zone.hasName(cname)) {
      if (!zone.isEmptyNonTerminal(cname)) out.rcode = Rcode.NXDOMAIN;
      addNegativeSoa(zone, out);
      return out;
    }
    const owner = hop === 0 ? q.name : name;
    const rename = (rrs: ResourceRecord[]) => rrs.map((r) => ({ ...r, name: owner, ttl: ttl0(cname) ? 0 : r.ttl }));
    if (q.type === RRType.ANY) {
      for (const t of zone.typesAt(cname)) out.answer.push(...rename(zone.get(cname, t)));
      return out;
    }
    const rrs = zone.get(cname, q.type);
    if (rrs.length > 0) {
      out.answer.push(...rename(rrs));
      addAdditional(zone, rrs, out);
      return out;
    }
    const alias = q.type === RRType.CNAME ? [] : zone.get(cname, RRType.CNAME);
    if (alias.length === 0) {
      addNegativeSoa(zone, out); // NODATA
      return out;
    }
    out.answer.push(...rename(alias));
    const target = alias[0].rdata.kind === 'CNAME' ? alias[0].rdata.target : '';
    if (!zone.contains(target)) return out; // the resolver follows it elsewhere
    name = target;
  }
  return out;
}

/** RFC 2308 section 3: SOA in authority, TTL = min(SOA TTL, SOA MINIMUM). */
function addNegativeSoa(zone: Zone, out: Answer): void {
  const soa = zone.soa();
  const min = soa.rdata.kind === 'SOA' ? soa.rdata.minimum : 0;
  out.authority.push({ ...soa, ttl: Math.min(soa.ttl, min) });
}

function addAdditional(zone: Zone, rrs: ResourceRecord[], out: Answer): void {
  const targets: string[] = [];
  for (const r of rrs) {
    if (r.rdata.kind === 'MX') targets.push(r.rdata.exchange);
    else if (r.rdata.kind === 'SRV') targets.push(r.rdata.target);
    else if (r.rdata.kind === 'NS') targets.push(r.rdata.target);
  }
  addGlue(zone, targets, out);
}

function addGlue(zone: Zone, targets: string[], out: Answer): void {
  for (const t of targets) {
    if (!t || !zone.contains(t)) continue;
    const c = canonicalName(t);
    out.additional.push(...zone.get(c, RRType.A), ...zone.get(c, RRType.AAAA));
  }
}
