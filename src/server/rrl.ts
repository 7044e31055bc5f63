// Response rate limiting for ordinary answers, as BIND and Knot do it: a token bucket per
// (client network, response identity). A flood with a forged source reflects off us at most
// `responsesPerSecond` times per network and name; of the answers over the limit every
// `slip`-th goes out as TC=1 (small, and a real resolver behind the forged address retries
// over TCP, which cannot be forged), the rest are dropped. Sans-I/O: now comes in.
import { PrefixTable, networkOf, type Prefix } from './prefix-table.js';

export interface RrlOptions {
  /** Tokens per second and bucket depth; 0 turns limiting off. */
  responsesPerSecond: number;
  /** Every slip-th response over the limit is sent truncated; 0: all are dropped. */
  slip: number;
  /** Sources never limited (loopback by default: benchmarks, local tools). */
  exempt: Prefix[];
  /** Buckets kept; the least recently used goes first (counted). */
  maxEntries: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
}

export type RrlVerdict = 'send' | 'drop' | 'slip';

/** What makes two responses "the same" for the limit: like BIND, NXDOMAIN and errors count per
 *  zone (a random-subdomain flood is one bucket), positive answers and NODATA per name. */
export type RrlKind = 'answer' | 'nodata' | 'nxdomain' | 'referral' | 'error';

interface Bucket {
  tokens: number;
  last: number;
  over: number;
}

export class ResponseRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly exempt = new PrefixTable<true>();
  private readonly exemptMemo = new Map<string, boolean>();
  evictions = 0;

  /** onEvict: a bucket was dropped to stay within maxEntries (the server counts it). */
  constructor(private readonly o: RrlOptions, private readonly onEvict: () => void = () => undefined) {
    if (!(o.maxEntries >= 1)) throw new RangeError('rrl maxEntries must be >= 1');
    for (const p of o.exempt) this.exempt.add(p, true);
  }

  get enabled(): boolean {
    return this.o.responsesPerSecond > 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  isExempt(address: string): boolean {
    let e = this.exemptMemo.get(address);
    if (e === undefined) {
      e = this.exempt.lookup(address) === true;
      if (this.exemptMemo.size >= 4096) this.exemptMemo.clear(); // a memo only: bounded, cheap to rebuild
      this.exemptMemo.set(address, e);
    }
    return e;
  }

  /** identity: the response's name (or zone, for nxdomain/error) with its kind, from rrlIdentity(). */
  check(now: number, address: string, identity: string): RrlVerdict {
    if (!this.enabled || this.isExempt(address)) return 'send';
    const net = this.network(address);
    if (net === undefined) return 'send';
    const key = `${net}|${identity}`;
    const rate = this.o.responsesPerSecond;
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key); // re-inserted below: Map order is the LRU order
      b.tokens = Math.min(rate, b.tokens + ((now - b.last) / 1000) * rate);
      b.last = now;
    } else {
      if (this.buckets.size >= this.o.maxEntries) {
        this.buckets.delete(this.buckets.keys().next().value!);
        this.evictions++;
        this.onEvict();
      }
      b = { tokens: rate, last: now, over: 0 };
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 'send';
    }
    b.over++;
    return this.o.slip > 0 && b.over % this.o.slip === 0 ? 'slip' : 'drop';
  }

  private network(address: string): string | undefined {
    return networkOf(address, this.o.ipv4PrefixLength, this.o.ipv6PrefixLength);
  }

}

export function rrlIdentity(kind: RrlKind, qname: string, qtype: number, zone: string): string {
  if (kind === 'nxdomain' || kind === 'error') return `${kind}|${zone}`;
  return `${kind}|${qname}|${kind === 'answer' ? qtype : ''}`;
}
