// Capacity: the largest burst (N lookups at t = 0, distinct ENs) served with at least
// `target` success, by search: doubling until a burst fails, then bisection. Success is not
// strictly monotone in N (a few more lookups can change who shares which RC); the search
// reports the largest N it saw pass below the first failure it bracketed.
import type { SimParams } from './model.js';
import { simulate, type RunOptions, type SimResult } from './simulate.js';

export interface CapacityResult {
  /** The largest burst found with success >= target; `capped` when even maxN passed. */
  readonly capacity: number;
  readonly capped: boolean;
  readonly target: number;
  /** Every burst tried, in order: N, success, wrong-host. */
  readonly tried: Array<{ n: number; success: number; wrongHost: number }>;
  /** Wrong-host deliveries summed over every burst tried. */
  readonly wrongHost: number;
}

export function capacity(p: SimParams, o: { target?: number; maxN?: number; startN?: number } & RunOptions = {}): CapacityResult {
  const target = o.target ?? 0.99;
  const maxN = o.maxN ?? 20_000;
  const tried: CapacityResult['tried'] = [];
  const ok = (n: number): boolean => {
    const r: SimResult = simulate({ ...p, arrivals: { kind: 'burst', n, spreadMs: p.arrivals.kind === 'burst' ? p.arrivals.spreadMs : 0 } }, o);
    tried.push({ n, success: r.success, wrongHost: r.wrongHost });
    return r.success >= target;
  };
  let lo = 0;
  let hi = 0;
  for (let n = Math.max(1, Math.min(o.startN ?? 16, maxN)); ; n = Math.min(maxN, n * 2)) {
    if (!ok(n)) {
      hi = n;
      break;
    }
    lo = n;
    if (n >= maxN) break;
  }
  const wrong = () => tried.reduce((s, t) => s + t.wrongHost, 0);
  if (hi === 0) return { capacity: lo, capped: true, target, tried, wrongHost: wrong() };
  while (hi - lo > Math.max(1, Math.floor(lo / 100))) { // 1 % is finer than run-to-run noise
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return { capacity: lo, capped: false, target, tried, wrongHost: wrong() };
}
