// Passive resolver fingerprinting, sans-I/O: what each resolver address shows in its queries
// (EDNS size, DO/CD bits, COOKIE, 0x20 case, qname-minimisation probes) and in its retries of
// an answer we hold, classified against the signal table (fingerprint-signals.ts).
// Fails closed: a profile is picked only when every one of its per-query signals has been seen
// and matched, nothing contradicts it, and every other profile is contradicted; anything else
// is `unknown` (the conservative default). Bounded: an LRU over resolver addresses.
import { canonicalName } from '../dns/name.js';
import {
  FINGERPRINTABLE, NO_RETRY_AFTER_MS, probeStyle, retryBucket, SIGNALS, type FingerprintProfile, type QueryEvent,
  type SignalName,
} from './fingerprint-signals.js';

export interface FingerprintOptions {
  /** Resolver addresses remembered (LRU); default 10 000. */
  maxResolvers?: number;
  /** An address not heard from for this long starts again from nothing; default 1 h. */
  maxIdleMs?: number;
  /** Queries seen before any verdict; default 3. */
  minQueries?: number;
  /** The zone apex: only probes strictly below it count as qname minimisation. */
  zone?: string;
}

export interface Verdict {
  profile: FingerprintProfile | 'unknown';
  /** Matched rows / rows that make a claim about the profile (0 for unknown). */
  confidence: number;
  /** Why: 'matched', 'too-few-queries', 'no-match', 'ambiguous:<a>,<b>', 'incomplete'. */
  reason: string;
}

/** A minimising resolver asks the next name as soon as the probe is answered: about one RTT. */
const PROBE_WINDOW_MS = 1000;
const RECENT = 8;
const MAX_HELD = 32;

interface Held {
  firstAt: number;
  ids: number[];
  firstTransport: 'udp' | 'tcp';
  retries: number;
  sawTcp: boolean;
}

interface State {
  lastSeen: number;
  queries: number;
  /** signal -> value -> count */
  values: Map<SignalName, Map<string, number>>;
  recent: { name: string; type: number; at: number }[];
  held: Map<string, Held>;
  verdict?: Verdict;
}

export class Fingerprinter {
  private readonly states = new Map<string, State>();
  private readonly max: number;
  private readonly maxIdle: number;
  private readonly minQueries: number;
  private readonly zone?: string;
  evictions = 0;

  constructor(opts: FingerprintOptions = {}) {
    this.max = opts.maxResolvers ?? 10_000;
    this.maxIdle = opts.maxIdleMs ?? 3_600_000;
    this.minQueries = opts.minQueries ?? 3;
    this.zone = opts.zone && canonicalName(opts.zone);
    if (!(this.max >= 1)) throw new RangeError('maxResolvers must be >= 1');
  }

  get size(): number {
    return this.states.size;
  }

  /** Every query from a resolver (not only NTS-managed ones): the per-query signals and probes. */
  observe(now: number, q: QueryEvent): void {
    const s = this.touch(now, q.resolver);
    s.queries++;
    for (const row of SIGNALS) {
      const v = row.fromQuery?.(q);
      if (v !== undefined) this.record(s, row.signal, v);
    }
    const name = canonicalName(q.qname);
    // Only the nearest earlier query for an ancestor is the probe: a client's own lookup of
    // that ancestor a moment before must not count (measured: BIND's NS probe came after it).
    for (let i = s.recent.length - 1; i >= 0; i--) {
      const r = s.recent[i];
      if (now - r.at > PROBE_WINDOW_MS) break;
      const ancestor = r.name.startsWith('_.') ? r.name.slice(2) : r.name;
      if (r.type < 0 || !name.endsWith('.' + ancestor) || !this.belowApex(ancestor)) continue;
      const style = probeStyle(r.name, r.type);
      if (style) this.record(s, 'qmin-probe', style);
      r.type = -1; // one probe counts once
      break;
    }
    s.recent.push({ name, type: q.qtype, at: now });
    if (s.recent.length > RECENT) s.recent.shift();
    s.verdict = undefined;
  }

  /** The server holds a query for (name, type) from this resolver: the original or a retry. */
  held(now: number, resolver: string, name: string, qtype: number, id: number, transport: 'udp' | 'tcp'): void {
    const s = this.touch(now, resolver);
    const key = `${canonicalName(name)}|${qtype}`;
    const h = s.held.get(key);
    if (!h) {
      if (s.held.size >= MAX_HELD) s.held.delete(s.held.keys().next().value!);
      s.held.set(key, { firstAt: now, ids: [id], firstTransport: transport, retries: 0, sawTcp: transport === 'tcp' });
      return;
    }
    if (h.ids.includes(id)) return; // the same datagram again (network duplicate), not a retry
    if (h.ids.length < 16) h.ids.push(id);
    h.retries++;
    if (h.retries === 1) this.record(s, 'first-retry', retryBucket(now - h.firstAt));
    if (transport === 'tcp' && h.firstTransport === 'udp' && !h.sawTcp) this.record(s, 'retry-transport', 'tcp');
    if (transport === 'tcp') h.sawTcp = true;
    s.verdict = undefined;
  }

  /** The held queries for (name, type) were answered: a long hold without any retry is evidence too. */
  released(now: number, resolver: string, name: string, qtype: number): void {
    const s = this.states.get(resolver);
    const key = `${canonicalName(name)}|${qtype}`;
    const h = s?.held.get(key);
    if (!s || !h) return;
    s.held.delete(key);
    if (h.retries === 0 && now - h.firstAt >= NO_RETRY_AFTER_MS) {
      this.record(s, 'first-retry', 'none');
      s.verdict = undefined;
    }
  }

  verdict(now: number, resolver: string): Verdict {
    const s = this.states.get(resolver);
    if (!s || now - s.lastSeen > this.maxIdle) return { profile: 'unknown', confidence: 0, reason: 'too-few-queries' };
    s.verdict ??= classify(s.values, s.queries, this.minQueries);
    return s.verdict;
  }

  /** What was seen from a resolver (logs, tests): signal -> value -> count. */
  signals(resolver: string): Record<string, Record<string, number>> {
    const s = this.states.get(resolver);
    if (!s) return {};
    return Object.fromEntries([...s.values].map(([k, m]) => [k, Object.fromEntries(m)]));
  }

  private belowApex(name: string): boolean {
    return !this.zone || name.endsWith('.' + this.zone);
  }

  private record(s: State, signal: SignalName, value: string): void {
    let m = s.values.get(signal);
    if (!m) s.values.set(signal, (m = new Map()));
    // Bounded: a signal with many distinct values contradicts every profile anyway.
    if (m.has(value) || m.size < 8) m.set(value, (m.get(value) ?? 0) + 1);
  }

  /** The state of a resolver, most recently used last; the least recently used goes when full. */
  private touch(now: number, resolver: string): State {
    let s = this.states.get(resolver);
    if (s) {
      this.states.delete(resolver);
      if (now - s.lastSeen > this.maxIdle) s = undefined; // the address may belong to someone else now
    }
    s ??= { lastSeen: now, queries: 0, values: new Map(), recent: [], held: new Map() };
    s.lastSeen = now;
    this.states.set(resolver, s);
    if (this.states.size > this.max) {
      this.states.delete(this.states.keys().next().value!);
      this.evictions++;
    }
    return s;
  }
}

/** The rule, pure: see the file comment. */
export function classify(values: ReadonlyMap<SignalName, ReadonlyMap<string, number>>, queries: number, minQueries: number): Verdict {
  if (queries < minQueries) return { profile: 'unknown', confidence: 0, reason: 'too-few-queries' };
  const open: { p: FingerprintProfile; complete: boolean; matched: number; claimed: number }[] = [];
  for (const p of FINGERPRINTABLE) {
    let contradicted = false, complete = true, matched = 0, claimed = 0;
    for (const row of SIGNALS) {
      const want = row.expect[p];
      if (!want) continue;
      claimed++;
      const seen = values.get(row.signal);
      if (!seen || seen.size === 0) {
        if (row.kind === 'query') complete = false;
        continue;
      }
      if ([...seen.keys()].every((v) => want.includes(v))) matched++;
      else contradicted = true;
    }
    if (!contradicted) open.push({ p, complete, matched, claimed });
  }
  if (open.length === 0) return { profile: 'unknown', confidence: 0, reason: 'no-match' };
  if (open.length > 1) return { profile: 'unknown', confidence: 0, reason: `ambiguous:${open.map((o) => o.p).join(',')}` };
  const [only] = open;
  if (!only.complete) return { profile: 'unknown', confidence: 0, reason: 'incomplete' };
  return { profile: only.p, confidence: Math.round((only.matched / only.claimed) * 100) / 100, reason: 'matched' };
}
