// The simulator's public surface (docs/eval/sim.md). `predict` is what the lab capacity bench
// calls for the settings it measured.
import { defaultParams, type PolicyName, type ResolverName, type SimParams } from './model.js';
import { fixed } from './random.js';
import { simulate, type SimResult } from './simulate.js';

export { simulate, type SimResult, type RunOptions } from './simulate.js';
export { capacity, type CapacityResult } from './capacity.js';
export { defaultParams, withoutLimits, POLICIES, RESOLVERS, type PolicyName, type ResolverName, type SimParams, type Arrivals } from './model.js';
export { paperBound, md1, mm1, slideTable } from './analytic.js';
export { chartSvg, type Chart, type Series } from './plot.js';
export { waitsFigure, capacityFigure } from './figures.js';
export { loadSweep, capacityGrid, md1Setting, type LoadRow, type CapacityRow } from './sweeps.js';

export interface PredictInput {
  policy: PolicyName;
  /** RTT between the Internet segments (the lab's --delay). */
  rttMs: number;
  resolver?: ResolverName;
  /** One of: a burst of N lookups at once, or Poisson lookups per second for durationMs. */
  burst?: number;
  ratePerS?: number;
  durationMs?: number;
  hosts?: number;
  seed?: number;
  /**
   * 'lab' (default): the lab's segments, where server and router are one --delay apart too;
   * 'paper': the NTSv2 server next to the router (Fig. 9).
   */
  topology?: 'lab' | 'paper';
  /** Anything else, applied last. */
  overrides?: Partial<SimParams>;
}

/** The simulator's prediction for one lab setting. */
export function predict(i: PredictInput): SimResult {
  if ((i.burst === undefined) === (i.ratePerS === undefined)) throw new TypeError('predict: give burst or ratePerS');
  const arrivals = i.burst !== undefined ? { kind: 'burst' as const, n: i.burst } : { kind: 'poisson' as const, ratePerS: i.ratePerS!, durationMs: i.durationMs ?? 10_000 };
  const p = defaultParams({ policy: i.policy, rttMs: i.rttMs, resolver: i.resolver ?? 'unbound', arrivals, seed: i.seed });
  const lab = (i.topology ?? 'lab') === 'lab';
  return simulate({
    ...p, ...(i.hosts !== undefined ? { hosts: i.hosts } : {}),
    ...(lab ? { rtt: { ...p.rtt, serverRouter: fixed(i.rttMs) }, detour: true } : {}),
    ...i.overrides,
  });
}
