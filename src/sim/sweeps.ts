// The runs behind the two standard figures and tables: waits vs offered load (beside M/D/1 and
// M/M/1 for the same service time) and capacity vs RTT per policy and resolver (beside the
// paper's bound). Each returns plain rows; figures.ts draws them.
import { md1, mm1, paperBound } from './analytic.js';
import { capacity, type CapacityResult } from './capacity.js';
import { defaultParams, meanServiceMs, resolverProfile, type PolicyName, type ResolverName, type SimParams } from './model.js';
import { fixed } from './random.js';
import { simulate, type RunOptions } from './simulate.js';

export interface LoadRow {
  /** Offered load, lookups per `perMs`. */
  readonly load: number;
  readonly success: number;
  readonly wrongHost: number;
  /** Mean / p50 / p99 wait at the router (NTS request -> READY), ms. */
  readonly waitMean: number;
  readonly waitP50: number;
  readonly waitP99: number;
  readonly queueMean: number;
  readonly md1Ms: number;
  readonly mm1Ms: number;
  readonly rho: number;
}

/** Poisson loads over `durationMs` each; mu from the model's service time plus the hold. */
export function loadSweep(p: SimParams, loads: readonly number[], perMs: number, durationMs: number, o: RunOptions = {}): { serviceMs: number; rows: LoadRow[] } {
  const serviceMs = meanServiceMs(p) + p.holdMs;
  const mu = 1 / serviceMs;
  const rows = loads.map((load) => {
    const r = simulate({ ...p, arrivals: { kind: 'poisson', ratePerS: (load * 1000) / perMs, durationMs } }, o);
    const lambda = load / perMs;
    return {
      load, success: r.success, wrongHost: r.wrongHost, waitMean: r.waits.router.mean, waitP50: r.waits.router.p50, waitP99: r.waits.router.p99,
      queueMean: r.queue.mean, md1Ms: md1(lambda, mu).waitMs, mm1Ms: mm1(lambda, mu).waitMs, rho: lambda * serviceMs,
    };
  });
  return { serviceMs, rows };
}

export interface CapacityRow {
  readonly policy: PolicyName;
  readonly resolver: ResolverName;
  readonly rttMs: number;
  /** The resolver's patience (the stub's timeout for glibc) / RTT. */
  readonly bound: number;
  readonly capacity: number;
  readonly capped: boolean;
  readonly ratio: number;
  readonly wrongHost: number;
  readonly tried: CapacityResult['tried'];
}

/** Capacity for each policy x resolver x RTT; `build` makes the parameters (default: defaultParams). */
export function capacityGrid(
  policies: readonly PolicyName[], resolvers: readonly ResolverName[], rtts: readonly number[],
  o: { maxN?: number; target?: number; build?: (policy: PolicyName, resolver: ResolverName, rttMs: number) => SimParams } & RunOptions = {},
): CapacityRow[] {
  const rows: CapacityRow[] = [];
  for (const resolver of resolvers) {
    for (const rttMs of rtts) {
      for (const policy of policies) {
        const p = o.build ? o.build(policy, resolver, rttMs) : defaultParams({ policy, rttMs, resolver });
        const bound = paperBound(resolverProfile(resolver, policy, p.stub).patienceMs, rttMs);
        const c = capacity(p, { maxN: o.maxN ?? Math.min(Math.ceil(bound * 12), 3000), target: o.target, progress: o.progress });
        rows.push({ policy, resolver, rttMs, bound, capacity: c.capacity, capped: c.capped, ratio: c.capacity / bound, wrongHost: c.wrongHost, tried: c.tried });
      }
    }
  }
  return rows;
}

/** The M/D/1 setting: one address, a host per lookup, a fixed service of `serviceMs`, no limits in the way. */
export function md1Setting(serviceMs: number, seed = 1): SimParams {
  const p = defaultParams({ policy: 'plain', rttMs: serviceMs, resolver: 'glibc', seed });
  return {
    ...p, hosts: 0, rtt: { ...p.rtt, serverRouter: fixed(0), enResolver: fixed(0) }, procMs: { server: 0, router: 0 },
    queueLimit: 100_000, resolverQueueLimit: 100_000, server: { ...p.server, maxPendingPerResolver: 1_000_000, maxPending: 1_000_000 },
  };
}
