// The NTSv2 server's side of the NTS protocol: before an NTS-managed name is answered, ask the
// router that owns its address for an RC, and wait for READY. Resolvers retry with new IDs
// and ports (shared/design/brief.md), so all queries for the same (resolver, name, type)
// share one NTS request and are answered together.
import type { NtsResult, NtsUdpClient } from '../nts/index.js';
import type { Logger } from '../util/log.js';
import type { Counters } from '../util/counters.js';

export interface RouterEntry {
  id: string;
  addresses: string[];
  nts: { host: string; port: number };
  key: Buffer;
}

export interface NtsQuery {
  fqdn: string; // canonical
  qtype: number;
  resolver: { address: string; port: number };
  clientSubnet?: { address: string; prefixLength: number };
  /** The router address found in the zone: it picks the router. */
  routerAddress: string;
}

export type NtsOutcome =
  | { status: 'READY'; address: string; rcId: number }
  | { status: 'FAILED'; reason: string };

export interface NtsGatewayOptions {
  /** How long the resolver behind a query waits for us (Unbound: about 1.9 s). */
  resolverPatienceMs: number;
  /** Kept back from the patience to get our SERVFAIL out before the resolver gives up. */
  marginMs: number;
  /** After a refusal or silence, the same (resolver, name, type) gets SERVFAIL at once this long. */
  refusalHoldMs: number;
}

/** What sends the request; the real one is NtsUdpClient, tests pass a fake. */
export type NtsTransport = Pick<NtsUdpClient, 'request'>;

export class NtsGateway {
  private readonly byAddress = new Map<string, RouterEntry>();
  private readonly pending = new Map<string, Promise<NtsOutcome>>();
  /** Recent refusals: a resolver's retries in flight would each cost the router a request. */
  private readonly refused = new Map<string, { until: number; reason: string }>();

  constructor(
    routers: RouterEntry[],
    private readonly transport: NtsTransport,
    private readonly opts: NtsGatewayOptions,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    for (const r of routers) for (const a of r.addresses) this.byAddress.set(a, r);
  }

  isRouterAddress(address: string): boolean {
    return this.byAddress.has(address);
  }

  /** One outcome per (resolver, name, type) at a time; later identical queries join it. */
  resolve(q: NtsQuery): Promise<NtsOutcome> {
    const key = `${q.resolver.address}|${q.fqdn}|${q.qtype}`;
    const joined = this.pending.get(key);
    if (joined) {
      this.counters.inc('nts_joined');
      return joined;
    }
    const now = this.now();
    const refusal = this.refused.get(key);
    if (refusal && refusal.until > now) {
      this.counters.inc('nts_suppressed');
      return Promise.resolve({ status: 'FAILED', reason: refusal.reason });
    }
    this.refused.delete(key);
    const p = this.send(q).then((o) => {
      if (o.status === 'FAILED' && this.opts.refusalHoldMs > 0) {
        if (this.refused.size >= 10_000) this.refused.clear(); // bounded; losing it only costs requests
        this.refused.set(key, { until: this.now() + this.opts.refusalHoldMs, reason: o.reason });
      }
      return o;
    }).finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  private async send(q: NtsQuery): Promise<NtsOutcome> {
    const router = this.byAddress.get(q.routerAddress);
    if (!router) return { status: 'FAILED', reason: 'no-router' };
    const start = this.now();
    const deadlineMs = start + this.opts.resolverPatienceMs - this.opts.marginMs;
    this.counters.inc('nts_requests');
    this.log.info('nts-request', { router: router.id, name: q.fqdn, resolver: q.resolver.address, timeLeftMs: deadlineMs - start });
    let r: NtsResult;
    try {
      r = await this.transport.request(router.nts, { id: router.id, secret: router.key }, {
        fqdn: q.fqdn, qtype: q.qtype, mode: 'any', resolver: q.resolver, clientSubnet: q.clientSubnet,
      }, { deadlineMs });
    } catch (e) {
      this.counters.inc('nts_errors');
      this.log.error('nts-error', { router: router.id, name: q.fqdn, error: (e as Error).message });
      return { status: 'FAILED', reason: 'error' };
    }
    const waited = this.now() - start;
    if (r.status === 'READY' && r.answerAddress !== undefined && r.rcId !== undefined) {
      this.counters.inc('nts_ready');
      this.log.info('nts-ready', { router: router.id, name: q.fqdn, resolver: q.resolver.address, address: r.answerAddress, rc: r.rcId, waitedMs: waited });
      return { status: 'READY', address: r.answerAddress, rcId: r.rcId };
    }
    const reason = r.status === 'TIMEOUT' ? 'timeout' : r.status.toLowerCase();
    this.counters.inc(`nts_${reason}`);
    this.log.warn('nts-failed', { router: router.id, name: q.fqdn, resolver: q.resolver.address, status: r.status, reason: 'reason' in r ? r.reason : undefined, waitedMs: waited });
    return { status: 'FAILED', reason };
  }
}
