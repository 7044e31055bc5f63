// The router's metrics: its counters as families (families.ts), the scheduler's state as gauges
// read at scrape time, and the request-to-response wait histogram (request-clock.ts feeds it).
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RcScheduler, PrivateHostList } from '../router/index.js';
import { ROUTER_RULES } from './families.js';
import { gaugeOf, registerCounterFamilies, WAIT_BUCKETS_S } from './registry.js';

const STANDINGS = ['trusted', 'proven', 'probation', 'suspect', 'penalised'] as const;

export interface RouterMetricsSource {
  counters(): Record<string, number>;
  scheduler: RcScheduler;
  phl: PrivateHostList;
  now(): number;
}

export interface RouterMetrics {
  readonly registry: Registry;
  /** From receiving an NTS request to its response; `status` is the NTS status (READY, QUEUE_FULL, ...). */
  observeWait(ms: number, status: string): void;
}

export function routerMetrics(src: RouterMetricsSource): RouterMetrics {
  const registry = new Registry();
  const s = src.scheduler;
  collectDefaultMetrics({ register: registry, prefix: 'ntss_router_' });
  registerCounterFamilies(registry, ROUTER_RULES, () => src.counters());
  gaugeOf(registry, 'ntss_router_queue_length', 'NTS requests waiting in the scheduler\'s queue', () => s.queueLength);
  gaugeOf(registry, 'ntss_router_active_rcs', 'Reachability contexts (RCs) in force', () => s.activeRcs().length);
  gaugeOf(registry, 'ntss_router_leases', 'Answer leases in force (docs/leases.md)', () => s.leases().length);
  gaugeOf(registry, 'ntss_router_stickies', 'Sticky entries in force', () => s.stickies().length);
  gaugeOf(registry, 'ntss_router_mappings', 'Mappings (flows the data plane has let through) in the table', () => s.mappings.size);
  gaugeOf(registry, 'ntss_router_phl_entries', 'Private host list entries (configured and learned)', () => src.phl.size);
  gaugeOf(registry, 'ntss_router_nts_state', 'NTS layer state an attacker could try to grow (requests, replay-entries), and RCs whose data plane activation failed (failed-rcs), RCs whose request ids routerd keeps for its logs (rc-requests)', () => {
    const c = src.counters();
    return new Map([
      ['requests', c['nts.state.requests'] ?? 0],
      ['replay-entries', c['nts.state.replay-entries'] ?? 0],
      ['failed-rcs', c['state.failed-rcs'] ?? 0],
      ['rc-requests', c['state.rc-requests'] ?? 0],
    ]);
  }, 'table');
  gaugeOf(registry, 'ntss_router_resolvers', 'Resolvers in the reputation table, by standing (docs/reputation.md)', () => {
    const by = new Map<string, number>(STANDINGS.map((x) => [x, 0]));
    for (const r of s.reputation.list(src.now())) by.set(r.standing, (by.get(r.standing) ?? 0) + 1);
    return by;
  }, 'standing');
  const wait = new Histogram({
    name: 'ntss_router_request_wait_seconds', help: 'From receiving an NTS request to its response (READY, or a refusal), by status',
    labelNames: ['status'], buckets: WAIT_BUCKETS_S, registers: [registry],
  });
  return { registry, observeWait: (ms, status) => wait.observe({ status }, ms / 1000) };
}
