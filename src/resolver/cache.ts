// The resolver's answer cache, sans-I/O: every call takes `now` (ms). Positive answers live
// for the smallest TTL in the answer section, negative ones (NXDOMAIN, NODATA) for the SOA's
// negative TTL (RFC 2308 section 5); records come back with their TTLs decremented. Bounded
// in entries and in bytes, least recently used first out.
import { RRType, Rcode } from '../dns/constants.js';
import { canonicalName } from '../dns/name.js';
import type { Question, ResourceRecord } from '../dns/types.js';

/** The parts of an upstream response that are cached and served. */
export interface Answer {
  rcode: number;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

export interface CacheLimits {
  /** Entries; 0 disables the cache. */
  entries: number;
  /** Sum of the upstream responses' wire sizes. */
  bytes: number;
  /** Seconds: longer TTLs are cut to this (also in what clients see). */
  maxTtl: number;
  /** Seconds: RFC 2308 section 5 suggests one to three hours at most. */
  maxNegativeTtl: number;
}

interface Entry {
  value: Answer;
  storedAt: number;
  expires: number;
  bytes: number;
}

/** Cache lifetime in seconds (0: do not cache), with the records as they are to be stored. */
export function cacheable(q: Question, r: Answer, limits: CacheLimits): { ttl: number; value: Answer } {
  const clamp = (rr: ResourceRecord, max: number): ResourceRecord => (rr.ttl > max ? { ...rr, ttl: max } : rr);
  const answer = r.answer.map((rr) => clamp(rr, limits.maxTtl));
  const additional = r.additional.map((rr) => clamp(rr, limits.maxTtl));
  const positive = r.rcode === Rcode.NOERROR && answer.some((rr) => rr.type === q.type || q.type === RRType.ANY);
  if (positive) {
    return { ttl: minTtl(answer), value: { ...r, answer, additional, authority: r.authority.map((rr) => clamp(rr, limits.maxTtl)) } };
  }
  if (r.rcode !== Rcode.NOERROR && r.rcode !== Rcode.NXDOMAIN) return { ttl: 0, value: r };
  // NXDOMAIN, or NODATA (possibly after a CNAME chain): only with an SOA, whose min(TTL,
  // MINIMUM) is the negative TTL and is also the SOA's TTL as served (RFC 2308 section 3).
  const soa = r.authority.find((rr) => rr.rdata.kind === 'SOA');
  if (!soa || soa.rdata.kind !== 'SOA') return { ttl: 0, value: r };
  const negTtl = Math.min(soa.ttl, soa.rdata.minimum, limits.maxNegativeTtl);
  const authority = r.authority.map((rr) => (rr === soa ? { ...rr, ttl: negTtl } : clamp(rr, limits.maxTtl)));
  return { ttl: Math.min(negTtl, minTtl(answer)), value: { ...r, answer, additional, authority } };
}

function minTtl(rrs: ResourceRecord[]): number {
  let m = Infinity;
  for (const rr of rrs) if (rr.ttl < m) m = rr.ttl;
  return m;
}

/** The records with `elapsedS` seconds taken off their TTLs. */
function aged(rrs: ResourceRecord[], elapsedS: number): ResourceRecord[] {
  return rrs.map((rr) => ({ ...rr, ttl: Math.max(0, rr.ttl - elapsedS) }));
}

export class AnswerCache {
  // A Map iterates in insertion order: re-inserting on every hit makes the first key the LRU.
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;

  constructor(readonly limits: CacheLimits) {}

  static key(q: Question): string {
    return `${canonicalName(q.name)}|${q.type}|${q.class}`;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The cached answer with TTLs decremented, or undefined (absent or expired). */
  get(q: Question, nowMs: number): Answer | undefined {
    const key = AnswerCache.key(q);
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.remove(key, e);
    if (nowMs >= e.expires) return undefined;
    this.entries.set(key, e);
    this.totalBytes += e.bytes;
    // Whole seconds elapsed: a record is never served with more TTL than it had left.
    const s = Math.floor((nowMs - e.storedAt) / 1000);
    const v = e.value;
    return { rcode: v.rcode, answer: aged(v.answer, s), authority: aged(v.authority, s), additional: aged(v.additional, s) };
  }

  /** Stores the response if it may be cached; returns what to serve now (TTLs capped). */
  put(q: Question, r: Answer, wireBytes: number, nowMs: number): { value: Answer; cached: boolean } {
    const { ttl, value } = cacheable(q, r, this.limits);
    if (ttl <= 0 || this.limits.entries === 0 || wireBytes > this.limits.bytes) return { value, cached: false };
    const key = AnswerCache.key(q);
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    this.entries.set(key, { value, storedAt: nowMs, expires: nowMs + ttl * 1000, bytes: wireBytes });
    this.totalBytes += wireBytes;
    while (this.entries.size > this.limits.entries || this.totalBytes > this.limits.bytes) {
      const [k, e] = this.entries.entries().next().value as [string, Entry];
      this.remove(k, e);
    }
    return { value, cached: true };
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    this.totalBytes -= e.bytes;
  }
}
