// What a simulation run is: the parameters (each with a default a reader can defend), the
// policies the lab capacity bench also uses, and the resolver models. The router's numbers go
// into the real SchedulerConfig; the server's into the gateway's own planFor (nts-gateway.ts).
import { schedulerTimes } from '../lab/scheduler-times.js';
import type { SchedulerConfig } from '../router/config.js';
import { profileWith, type ResolverProfile } from '../server/profiles.js';
import { UsageError } from '../util/errors.js';
import { distMean, fixed, type Dist } from './random.js';

export const POLICIES = ['plain', 'pool', 'services', 'ecs', 'v1', 'best'] as const;
export type PolicyName = (typeof POLICIES)[number];

/** The built-in profiles, plus `glibc`: ENs' stubs asking the NTSv2 server themselves (the paper's setting). */
export const RESOLVERS = ['unbound', 'bind', 'knot', 'powerdns', 'unknown', 'glibc'] as const;
export type ResolverName = (typeof RESOLVERS)[number];

export type Arrivals =
  /** N lookups at t = 0 (spread uniformly over spreadMs): the capacity search's load. */
  | { readonly kind: 'burst'; readonly n: number; readonly spreadMs?: number }
  /** Poisson lookups at ratePerS over durationMs, names chosen uniformly. */
  | { readonly kind: 'poisson'; readonly ratePerS: number; readonly durationMs: number }
  /** Given lookups (a trace: `t_ms,name[,en]`). */
  | { readonly kind: 'trace'; readonly rows: readonly TraceRow[] };

export interface TraceRow { readonly tMs: number; readonly name: string; readonly en?: string }

export interface SimParams {
  readonly seed: number;
  readonly policy: PolicyName;
  readonly resolver: ResolverName;
  readonly arrivals: Arrivals;
  /** Inside hosts; names are chosen uniformly among them. 0: every lookup asks for a host of its own. */
  readonly hosts: number;
  /** RTTs (ms): EN-router (the paper's t), resolver-server, server-router, EN-resolver. */
  readonly rtt: { readonly enRouter: Dist; readonly resolverServer: Dist; readonly serverRouter: Dist; readonly enResolver: Dist };
  /** From the answer at the EN to its first packet leaving (application start); 0 for curl. */
  readonly connectDelay: Dist;
  /** How long an RC stays after its first packet. */
  readonly holdMs: number;
  readonly rcTimeoutMs: number;
  /** Global addresses (pool, best). */
  readonly addresses: number;
  /** Distinct services among the hosts (services, best): host i serves tcp/(10000 + i mod services). */
  readonly services: number;
  /** Share of lookups whose client never connects (prefetchers, link previews). */
  readonly prefetchFraction: number;
  /** The stub asks A and AAAA at once; behind Unbound the AAAA makes an A query too (src/lab/README.md). */
  readonly parallelAaaa: boolean;
  /** The EN's stub: glibc's defaults, 5 s per try, 2 tries. */
  readonly stub: { readonly timeoutMs: number; readonly attempts: number };
  /** Resolver instances the ENs are spread over (each its own address and cache). */
  readonly resolvers: number;
  /** The server's nts.* numbers (server-config.ts defaults, enCacheMs as the lab's). */
  readonly server: {
    readonly marginMs: number; readonly enCacheMs: number; readonly refusalHoldMs: number;
    readonly maxPendingPerResolver: number; readonly maxPending: number; readonly ecsMinPrefix: number;
  };
  /** Unverified first query (cookie or TC -> TCP, docs/verification.md): one more resolver-server RTT. */
  readonly detour: boolean;
  /** CPU time per message, served one at a time (bench/nts-processing's medians). */
  readonly procMs: { readonly server: number; readonly router: number };
  readonly queueLimit: number;
  /** One resolver's share of the queue; default a quarter of queueLimit (config.ts). */
  readonly resolverQueueLimit?: number;
  readonly safetyMarginMs: number;
  /** Resolver reputation in the router (off: the lab's good resolvers are all proven quickly). */
  readonly reputation: boolean;
  /**
   * `plain` with the product's answer leases (the resolver's TTL floor): the lab's server always
   * sends them, so plain behind Knot (5 s) or PowerDNS (1 s) leases every answer. Default off: the paper's plain.
   */
  readonly plainLeases?: boolean;
}

/** The policy's shape: how many addresses, which RC mode, leases, services. */
export interface PolicyShape {
  readonly addresses: number;
  readonly mode: 'any' | 'prefix' | 'source';
  readonly leases: boolean;
  readonly services: boolean;
}

export function policyShape(p: SimParams): PolicyShape {
  switch (p.policy) {
    case 'plain': return { addresses: 1, mode: 'any', leases: p.plainLeases ?? false, services: false };
    case 'pool': return { addresses: p.addresses, mode: 'any', leases: true, services: false };
    case 'services': return { addresses: 1, mode: 'any', leases: true, services: true };
    case 'ecs': return { addresses: 1, mode: 'prefix', leases: true, services: false };
    case 'v1': return { addresses: 1, mode: 'source', leases: true, services: false };
    case 'best': return { addresses: p.addresses, mode: 'prefix', leases: true, services: true };
  }
}

/** The resolver's profile as the server would pick it; ECS trusted under the ECS policies. */
export function resolverProfile(name: ResolverName, policy: PolicyName, stub: SimParams['stub']): ResolverProfile {
  const trusted = policy === 'ecs' || policy === 'best' ? { ecs: 'trusted' as const } : {};
  if (name === 'glibc') return profileWith('unknown', { name: 'glibc', patienceMs: stub.timeoutMs, ttlFloorMs: 0, ...trusted });
  return profileWith(name, trusted);
}

/** READY -> first packet with nothing else in the way: the paper's t, in this topology. */
export function meanServiceMs(p: SimParams): number {
  const r = p.rtt;
  const toResolver = p.resolver === 'glibc' ? 0 : distMean(r.enResolver) / 2;
  return (distMean(r.serverRouter) + distMean(r.resolverServer) + distMean(r.enRouter)) / 2 + toResolver + distMean(p.connectDelay);
}

export function schedulerConfig(p: SimParams, globalAddresses: readonly string[]): SchedulerConfig {
  return {
    globalAddresses, holdMs: p.holdMs, rcTimeoutMs: p.rcTimeoutMs, queueLimit: p.queueLimit,
    ...(p.resolverQueueLimit !== undefined ? { resolverQueueLimit: p.resolverQueueLimit } : {}),
    serviceEstimateMs: meanServiceMs(p), safetyMarginMs: p.safetyMarginMs,
    reputation: { enabled: p.reputation },
    ...(p.reputation ? { minRcTimeoutMs: Math.min(p.rcTimeoutMs, 500) } : {}),
  };
}

/** Everything but the load, for one EN-router RTT. `plain` ends the RC at its first packet (the paper's t). */
export function defaultParams(o: { policy?: PolicyName; rttMs?: number; resolver?: ResolverName; arrivals?: Arrivals; seed?: number } = {}): SimParams {
  const rttMs = o.rttMs ?? 20;
  const policy = o.policy ?? 'plain';
  const lab = schedulerTimes(rttMs);
  return {
    seed: o.seed ?? 1, policy, resolver: o.resolver ?? 'unbound', arrivals: o.arrivals ?? { kind: 'burst', n: 50 },
    hosts: 64,
    // The paper's topology (Fig. 9): the EN near its resolver, the NTSv2 server near the router.
    rtt: { enRouter: fixed(rttMs), resolverServer: fixed(rttMs), serverRouter: fixed(0), enResolver: fixed(0) },
    connectDelay: fixed(0),
    holdMs: policy === 'plain' ? 0 : lab.holdMs, rcTimeoutMs: lab.rcTimeoutMs,
    addresses: 8, services: 8, prefetchFraction: 0, parallelAaaa: false,
    stub: { timeoutMs: 5000, attempts: 2 }, resolvers: 1,
    server: { marginMs: 150, enCacheMs: 0, refusalHoldMs: 1000, maxPendingPerResolver: 32, maxPending: 4096, ecsMinPrefix: 16 },
    detour: false, procMs: { server: 0.03, router: 0.03 }, queueLimit: 250, safetyMarginMs: 100, reputation: false,
  };
}

/** Checks what a caller (CLI, bench, test) built; every message names the parameter. */
export function validateParams(p: SimParams): void {
  const bad = (k: string, want: string): never => { throw new UsageError(`simulate: ${k}: ${want}`); };
  if (!POLICIES.includes(p.policy)) bad('policy', `one of ${POLICIES.join(', ')}`);
  if (!RESOLVERS.includes(p.resolver)) bad('resolver', `one of ${RESOLVERS.join(', ')}`);
  if (!Number.isInteger(p.hosts) || p.hosts < 0) bad('hosts', 'an integer >= 0 (0: a host per lookup)');
  if (!Number.isInteger(p.addresses) || p.addresses < 1 || p.addresses > 250) bad('addresses', 'an integer in 1..250');
  if (!Number.isInteger(p.services) || p.services < 1) bad('services', 'an integer >= 1');
  if (!Number.isInteger(p.resolvers) || p.resolvers < 1 || p.resolvers > 250) bad('resolvers', 'an integer in 1..250');
  if (!(p.prefetchFraction >= 0 && p.prefetchFraction <= 1)) bad('prefetch', 'a fraction in 0..1');
  if (!(p.holdMs >= 0)) bad('hold', 'ms >= 0');
  if (!(p.rcTimeoutMs > 0)) bad('rc-timeout', 'ms > 0');
  if (!(p.stub.timeoutMs > 0) || !Number.isInteger(p.stub.attempts) || p.stub.attempts < 1) bad('stub', 'timeout > 0 and attempts >= 1');
  const a = p.arrivals;
  if (a.kind === 'burst' && (!Number.isInteger(a.n) || a.n < 0 || a.n > 1_000_000)) bad('burst', 'an integer in 0..1000000');
  if (a.kind === 'poisson' && !(a.ratePerS >= 0 && a.durationMs > 0)) bad('rate', 'a rate >= 0 per second over a duration > 0');
  if (a.kind === 'trace' && a.rows.length === 0) bad('trace', 'at least one row');
  if (!(p.server.maxPendingPerResolver >= 1)) bad('max-pending-per-resolver', 'at least 1');
}

/**
 * The paper's world has no admission limits: no per-resolver cap on NTS requests in flight in
 * the server, no queue limits in the router. The product's defaults stay the default; this lifts
 * them, to compare with the paper's bound or to see what a policy alone buys.
 */
export function withoutLimits(p: SimParams): SimParams {
  return {
    ...p, queueLimit: 100_000, resolverQueueLimit: 100_000,
    server: { ...p.server, maxPendingPerResolver: 1_000_000, maxPending: 1_000_000 },
  };
}
