// The scheduler's typed configuration. The YAML schema at the edge (zod) validates for users;
// this check only guards the core's invariants, so a wrong object fails at construction.
import { NtssError } from '../util/errors.js';
import { isIPv4 } from './ip.js';
import { resolveReputationConfig, type ReputationConfig, type ResolvedReputationConfig } from './reputation.js';

export interface SchedulerConfig {
  /** The router's global addresses, in preference order. Each holds one `any` RC at a time. */
  readonly globalAddresses: readonly string[];
  /** How long an RC stays after its first packet (paper 3.5; should be the worst EN RTT). */
  readonly holdMs: number;
  /** An RC that sees no packet for this long after creation is removed. */
  readonly rcTimeoutMs: number;
  /** Most requests that may wait for a lock (coalesced retries count once). */
  readonly queueLimit: number;
  /** Most of them from one resolver (fair share; issue 8). Default: a quarter of queueLimit, at least 1. */
  readonly resolverQueueLimit?: number;
  /** Initial guess of the time from READY to the EN's first packet (about one RTT, paper's t). */
  readonly serviceEstimateMs: number;
  /** Time the NTSv2 server needs to turn a response into a DNS answer the resolver still accepts. */
  readonly safetyMarginMs: number;
  /** Weight of a new sample in the service-time EWMA. Default 0.125 (as TCP's SRTT). */
  readonly serviceEwmaAlpha?: number;
  /** How long a seen request id is remembered to ignore NTS retransmissions. Default 60000. */
  readonly idMemoryMs?: number;
  /**
   * Upper bound of an EN's sticky entry after its first packet; it also ends with the host's
   * answer lease on that tuple (docs/leases.md). 0: no stickies. Default 30000.
   */
  readonly stickyMs?: number;
  /**
   * Resolver reputation (reputation.ts, docs/reputation.md). Off unless enabled: the daemon's
   * configuration turns it on by default; tests and the simulator choose.
   */
  readonly reputation?: ReputationConfig;
  /**
   * Shortest life of an RC that waits for its packet, for a resolver whose ENs are known to
   * connect quickly (connect-delays.ts). Default rcTimeoutMs: no adaptation.
   */
  readonly minRcTimeoutMs?: number;
}

export type ResolvedSchedulerConfig = { -readonly [K in keyof Required<Omit<SchedulerConfig, 'reputation'>>]: Required<SchedulerConfig>[K] } & { readonly reputation: ResolvedReputationConfig };

const defaultResolverQueueLimit = (queueLimit: number) => Math.max(1, Math.ceil(queueLimit / 4));

export const SCHEDULER_DEFAULTS = { serviceEwmaAlpha: 0.125, idMemoryMs: 60_000, stickyMs: 30_000 } as const;

function bad(key: string, expected: string): never {
  throw new NtssError('ROUTER_CONFIG', `scheduler config: ${key}: ${expected}`);
}

export function resolveSchedulerConfig(c: SchedulerConfig): ResolvedSchedulerConfig {
  const r: ResolvedSchedulerConfig = {
    ...SCHEDULER_DEFAULTS, resolverQueueLimit: defaultResolverQueueLimit(c.queueLimit), minRcTimeoutMs: c.rcTimeoutMs, ...c,
    globalAddresses: [...c.globalAddresses], reputation: resolveReputationConfig({ enabled: false, ...c.reputation }),
  };
  // A floor above the ceiling means no adaptation, not an error: rcTimeoutMs may be set short.
  r.minRcTimeoutMs = Math.min(r.minRcTimeoutMs, r.rcTimeoutMs);
  if (r.globalAddresses.length === 0) bad('globalAddresses', 'at least one address');
  for (const a of r.globalAddresses) if (!isIPv4(a)) bad('globalAddresses', `not an IPv4 address: ${JSON.stringify(a)}`);
  if (new Set(r.globalAddresses).size !== r.globalAddresses.length) bad('globalAddresses', 'addresses must be distinct');
  const nonNeg = ['holdMs', 'serviceEstimateMs', 'safetyMarginMs', 'idMemoryMs', 'stickyMs'] as const;
  for (const k of nonNeg) if (!Number.isFinite(r[k]) || r[k] < 0) bad(k, 'a finite number >= 0');
  if (!Number.isFinite(r.rcTimeoutMs) || r.rcTimeoutMs <= 0) bad('rcTimeoutMs', 'a finite number > 0');
  if (!(r.minRcTimeoutMs > 0 && r.minRcTimeoutMs <= r.rcTimeoutMs)) bad('minRcTimeoutMs', 'a number > 0');
  if (!Number.isInteger(r.queueLimit) || r.queueLimit < 0) bad('queueLimit', 'an integer >= 0');
  if (!Number.isInteger(r.resolverQueueLimit) || r.resolverQueueLimit < 1) bad('resolverQueueLimit', 'an integer >= 1');
  if (!(r.serviceEwmaAlpha > 0 && r.serviceEwmaAlpha <= 1)) bad('serviceEwmaAlpha', 'a number in (0, 1]');
  return r;
}
