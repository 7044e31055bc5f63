// The server's metrics: its counters as families (families.ts), gauges read at scrape time,
// and the NTS wait histogram (observed by the gateway through `observeNtsWait`).
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SERVER_RULES } from './families.js';
import { gaugeOf, registerCounterFamilies, WAIT_BUCKETS_S } from './registry.js';

export interface ServerMetricsSource {
  counters(): Record<string, number>;
  zoneSerial(): number;
  /** The gateway's tables (undefined without routers). */
  nts(): { pending: number; inFlight: number; refused: number } | undefined;
}

export interface ServerMetrics {
  readonly registry: Registry;
  /** From sending the NTS request to READY or failure; `outcome` is ready or the failure reason. */
  observeNtsWait(ms: number, outcome: string): void;
}

export function serverMetrics(src: ServerMetricsSource): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ntss_server_' });
  registerCounterFamilies(registry, SERVER_RULES, () => src.counters());
  gaugeOf(registry, 'ntss_server_zone_serial', 'The zone\'s SOA serial', () => src.zoneSerial());
  gaugeOf(registry, 'ntss_server_nts_pending', 'NTS requests in flight (held answers wait for them)', () => src.nts()?.pending ?? 0);
  gaugeOf(registry, 'ntss_server_nts_resolvers_in_flight', 'Resolver addresses with an NTS request in flight', () => src.nts()?.inFlight ?? 0);
  gaugeOf(registry, 'ntss_server_nts_refusals_held', 'Recent refusals remembered (their retries get SERVFAIL at once)', () => src.nts()?.refused ?? 0);
  const wait = new Histogram({
    name: 'ntss_server_nts_wait_seconds', help: 'From sending an NTS request to READY or failure, by outcome (ready, timeout, busy, denied, queue_full, too_late, error, ...)',
    labelNames: ['outcome'], buckets: WAIT_BUCKETS_S, registers: [registry],
  });
  return {
    registry,
    observeNtsWait: (ms, outcome) => wait.observe({ outcome }, ms / 1000),
  };
}
