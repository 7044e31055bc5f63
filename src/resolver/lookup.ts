// Resolution of one question: from the cache, else from upstream with at most one upstream
// query per question in flight (concurrent askers, and a stub's retries, share it).
// Synchronous on a cache hit, so the common answer costs no promise.
import { canonicalName } from '../dns/name.js';
import type { Question } from '../dns/types.js';
import type { Counters } from '../util/counters.js';
import { AnswerCache, type Answer } from './cache.js';
import type { UpstreamOutcome } from './upstream.js';

export type LookupResult =
  | { ok: true; value: Answer; from: 'cache' | 'upstream' }
  | { ok: false; reason: string };

/** What asks upstream; the real one is Upstream, handler tests pass a fake. */
export interface UpstreamPort {
  query(q: Question, deadlineMs: number): Promise<UpstreamOutcome>;
}

export class Lookup {
  private readonly inflight = new Map<string, Promise<LookupResult>>();

  constructor(
    private readonly cache: AnswerCache,
    private readonly upstream: UpstreamPort,
    private readonly counters: Counters,
    private readonly now: () => number,
  ) {}

  resolve(q: Question, deadlineMs: number): LookupResult | Promise<LookupResult> {
    const hit = this.cache.get(q, this.now());
    if (hit) {
      this.counters.inc('cache_hits');
      return { ok: true, value: hit, from: 'cache' };
    }
    const key = AnswerCache.key(q);
    const joined = this.inflight.get(key);
    if (joined) {
      this.counters.inc('upstream_joined');
      return joined;
    }
    this.counters.inc('cache_misses');
    const asked = { name: canonicalName(q.name), type: q.type, class: q.class };
    const p = this.upstream.query(asked, deadlineMs).then((o): LookupResult => {
      if (!o.ok) return { ok: false, reason: o.reason };
      const m = o.message;
      const { value } = this.cache.put(asked, { rcode: m.rcode, answer: m.answer, authority: m.authority, additional: m.additional }, o.bytes, this.now());
      return { ok: true, value, from: 'upstream' };
    }).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}
