// The NTS router daemon: glue between the NTS socket (NtsUdpServer), the sans-I/O scheduler
// (RcScheduler) and a data plane. It owns the clock and one timer; the scheduler decides
// everything, this file only applies the decisions:
//   authenticated REQUEST -> scheduler.request -> events
//   data plane first packet -> scheduler.packet -> verdict + events
//   timer at scheduler.nextWakeupMs() -> scheduler.poll -> events
//   events: respond -> NTS RESPONSE per request id; rc-created/-removed -> data plane; all logged and counted.
import { SAFE_HOLD_MS, type RouterConfig, type RouterDataPlaneConfig } from '../config/router-config.js';
import { DataPlaneError, listenError, UserspaceDataPlane, type ClassifyFirstPacket, type DataPlane } from '../dataplane/index.js';
import { createNftablesDataPlane } from '../dataplane/nftables-config.js';
import { NtsUdpServer, type IncomingRequest, type NtsResponse } from '../nts/index.js';
import { canonicalFqdn, PrivateHostList, RcScheduler, type FirstPacket, type PacketResult, type Rc, type RespondEvent, type RouterEvent } from '../router/index.js';
import { Counters } from '../util/counters.js';
import { formatHostPort } from '../util/addr.js';
import { NtssError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { PrefixTable } from '../server/prefix-table.js';
import { Announcer } from './announcer.js';
import { eventFields, eventLevel, ntsResponseFor } from './events.js';
import { schedulerRequestFor } from './request.js';
import { PhlStore } from '../store/phl-store.js';
import { UpdateProxy } from './update-proxy.js';
import { RequestClock } from './request-clock.js';
import { messageIdOf, RcRequests } from './rc-requests.js';
import { RefusalLog, routerStatus } from './status.js';
import { routerMetrics } from '../metrics/router-metrics.js';
import { listenMetrics } from '../metrics/http.js';
import { listenControl } from '../control/socket.js';
import { changedKeys, refuseFixed } from '../config/reload.js';
import { SAFETY_MARGIN_MS } from '../dataplane/nftables-config.js';
import { ConfigError } from '../util/errors.js';
import { DashboardFeed, type RouterWatcher } from '../dashboard/feed.js';
import { listenDashboard, type DashboardListener } from '../dashboard/http.js';
import { dashboardState } from '../dashboard/state.js';

/**
 * What a reload cannot change: the sockets and tables made at start, and the NTS window (the
 * replay caches remember messages for the window they were made with: a wider one would let
 * a message the cache forgot be accepted again).
 */
export const ROUTER_FIXED_KEYS = ['globalAddresses', 'dataplane', 'nts.listen', 'nts.windowMs', 'storage', 'learning', 'metrics', 'control',
  'dashboard.listen', 'dashboard.allowPublic', 'dashboard.maxClients', 'dashboard.sessionMs'] as const;

const UNSTORED_LEASE = 'the lease horizon could not be stored';

export type DataPlaneFactory = (classify: ClassifyFirstPacket) => DataPlane;

export interface StartRouterOptions {
  /** Replaces the configured data plane (tests, simulator: SimulatedDataPlane). */
  dataplane?: DataPlaneFactory;
}

export interface RouterCounters {
  get(name: string): number;
  /** Own counters, the NTS layer's as `nts.*` (gauges of its state as `nts.state.*`), the data plane's as `dataplane.*`. */
  snapshot(): Record<string, number>;
}

export interface RunningRouter {
  readonly scheduler: RcScheduler;
  readonly phl: PrivateHostList;
  readonly dataplane: DataPlane;
  /** Where NTS requests are received (port 0 in the config becomes the real port). */
  readonly nts: { host: string; port: number };
  readonly counters: RouterCounters;
  /** Where the DNS UPDATE proxy listens (UDP and TCP), when `learning` is configured. */
  readonly learning?: { host: string; port: number };
  /** Where `/metrics` is served, when `metrics.listen` is configured. */
  readonly metrics?: { host: string; port: number };
  /** Where the dashboard is served, when `dashboard` is configured. */
  readonly dashboard?: { host: string; port: number };
  /** SIGHUP: applies a new configuration keeping RCs, leases, the queue, reputation and learned PHL entries; the changed keys. Throws ConfigError to refuse it. */
  reload(next: RouterConfig): string[];
  close(): Promise<void>;
}

/** The stored lease horizon runs this far ahead of the latest lease: one write per step, not per lease. */
const HORIZON_STEP_MS = 10_000;

/** `router`: the whole config, needed by the nftables plane (NTS port, scheduler times, learning redirect). */
export function createDataPlane(cfg: RouterDataPlaneConfig, globalAddresses: readonly string[], classify: ClassifyFirstPacket, log: Logger, router?: RouterConfig): DataPlane {
  if (cfg.type === 'nftables') {
    if (!router) throw new DataPlaneError('DATAPLANE_UNSUPPORTED', 'the nftables data plane needs the whole router config');
    return createNftablesDataPlane({ ...router, dataplane: cfg, globalAddresses: [...globalAddresses] }, classify, log);
  }
  if (cfg.type !== 'userspace') throw new DataPlaneError('DATAPLANE_UNSUPPORTED', `data plane ${JSON.stringify((cfg as { type: string }).type)} is unknown`);
  return new UserspaceDataPlane({
    globalAddresses, ports: cfg.ports, classify, log,
    udpIdleTimeoutMs: cfg.udpIdleTimeoutMs, proxyProtocol: cfg.proxyProtocol, lanAddress: cfg.lanAddress,
  });
}

class RouterDaemon {
  readonly own = new Counters();
  readonly phl = new PrivateHostList();
  readonly scheduler: RcScheduler;
  dataplane!: DataPlane;
  nts!: NtsUdpServer;
  announcer?: Announcer;
  learning?: UpdateProxy;
  store?: PhlStore;
  /** The lease horizon on disk (PhlStore): moved ahead in steps, so most leases write nothing. */
  private horizon = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  /** Data plane changes in event order; READYs wait behind their RC's activation. */
  private chain: Promise<void> = Promise.resolve();
  /** RCs whose activation (or renewal) failed: their READYs become BUSY. Emptied as the RCs go. */
  /** RCs whose READYs must be BUSY (every one, joins included), and why. */
  readonly failedRcs = new Map<number, string>();
  private closed = false;
  /** Request ids' arrival times: the request-to-response wait for the metrics. */
  readonly clock = new RequestClock();
  onWait?: (ms: number, status: string) => void;
  /** The requests each RC served: their ids go on the RC's and its mappings' log lines. */
  readonly rcRequests = new RcRequests();
  /** Responses other than READY, for `ntss status`. */
  readonly refusals = new RefusalLog();
  /** Closed with the daemon: the metrics listener and the control socket. */
  readonly closers: (() => Promise<void>)[] = [];
  /** The dashboard's feed, when it is configured: told of requests, events and responses. */
  watch?: RouterWatcher;
  dashboard?: DashboardListener;

  constructor(public cfg: RouterConfig, readonly log: Logger, readonly now: () => number) {
    for (const e of cfg.phl) this.phl.setConfigured(e.name, e.address, e.services);
    const s = schedulerPolicy(cfg);
    this.scheduler = new RcScheduler(s.config, this.phl, s.trusted);
  }

  /** A reload (see RunningRouter.reload); the caller has refused fixed keys already. */
  reconfigure(next: RouterConfig): string[] {
    const changed = changedKeys(this.cfg, next);
    const has = (k: string) => changed.some((c) => c === k || c.startsWith(`${k}.`));
    if (has('phl')) {
      // Configured entries are replaced; learned ones stay (a configured entry shadows one).
      const keep = new Set(next.phl.map((e) => canonicalFqdn(e.name)));
      for (const e of this.phl.list({ all: true })) if (e.source === 'configured' && !keep.has(e.fqdn)) this.phl.remove(e.fqdn, 'configured');
      for (const e of next.phl) this.phl.setConfigured(e.name, e.address, e.services);
    }
    if (has('scheduler')) {
      const s = schedulerPolicy(next);
      this.scheduler.reconfigure(s.config, s.trusted);
      this.rearm(); // deadlines and hold times may move the next wake-up
    }
    this.cfg = next;
    if (has('dashboard.token')) this.dashboard?.dropClients(); // sessions of the old token are void
    if (has('server') || has('id') || has('nts.keepaliveIntervalMs')) this.announce();
    return changed;
  }

  /** (Re)starts REGISTER/KEEPALIVE to the configured server, if any. */
  announce(): void {
    this.announcer?.stop();
    this.announcer = undefined;
    const cfg = this.cfg;
    if (!cfg.server) return;
    const to = { address: cfg.server.host, port: cfg.server.port };
    this.announcer = new Announcer({
      routerId: cfg.id, addresses: cfg.globalAddresses, intervalMs: cfg.nts.keepaliveIntervalMs, log: this.log, now: this.now,
      send: (type, reg) => this.nts.announce(to, type, reg),
      count: (n) => this.own.inc(n),
    });
    this.announcer.start();
  }

  readonly classify = (pkt: FirstPacket): PacketResult => {
    const r = this.scheduler.packet(this.now(), pkt);
    this.apply(r.events);
    this.rearm();
    return r;
  };

  onRequest(req: IncomingRequest): void {
    const r = req.request;
    const ecs = r.clientSubnet ? `${r.clientSubnet.address}/${r.clientSubnet.prefixLength}` : undefined;
    this.own.inc('requests');
    this.log.info('nts-request', {
      req: req.id, id: req.requestId, fqdn: r.fqdn, qtype: r.qtype, mode: r.mode, en: r.enAddress, leaseMs: r.leaseMs, resolver: formatHostPort({ host: r.resolver.address, port: r.resolver.port }),
      ecs, timeLeftMs: r.timeLeftMs, from: formatHostPort({ host: req.from.address, port: req.from.port }),
    });
    this.watch?.request(req, this.now());
    const d = schedulerRequestFor(req);
    if ('unsupported' in d) return this.unsupported(req, d.unsupported);
    const now = this.now();
    const events = this.scheduler.request(now, d.request);
    // A retransmitted id is ignored: its wait runs from the first copy (or is over already).
    if (!events.some((e) => e.type === 'request-ignored')) this.clock.start(req.requestId, now);
    this.apply(events);
    this.rearm();
  }

  apply(events: readonly RouterEvent[]): void {
    // An RC's READYs follow its rc-created/-renewed in the same step: learn its requests first.
    for (const e of events) if (e.type === 'respond' && e.status === 'READY') this.rcRequests.add(e.rcId, e.requestIds);
    // A lease whose horizon could not be stored: the READYs of this step (which grant it) must not
    // leave, or a restart could give the address to another host while the answer lives (fail closed).
    let unsaved = false;
    let stored = false;
    for (const e of events) {
      this.own.inc(`event.${e.type}`);
      const served = this.servedBy(e);
      const level = eventLevel(e);
      if (this.log.enabled(level)) this.log[level](e.type, eventFields(e, served)); // fields cost: skip them for debug lines
      this.watch?.event(e, served);
      if (e.type === 'rc-removed') this.rcRequests.delete(e.rc.id);
      switch (e.type) {
        case 'respond':
          // A lease whose horizon was not stored: this RC's READYs are BUSY from now on, the ones of
          // requests that join it later too (their answers carry the same unstored lease), until a
          // later grant on it stores a horizon that covers it (a lease is only ever extended).
          if (e.status === 'READY' && unsaved) this.failedRcs.set(e.rcId, UNSTORED_LEASE);
          else if (e.status === 'READY' && stored && this.failedRcs.get(e.rcId) === UNSTORED_LEASE) this.failedRcs.delete(e.rcId);
          this.respond(e);
          break;
        case 'rc-created': this.enqueue('activate-rc', () => this.activate(e.rc), e.rc.id); break;
        case 'rc-removed': {
          const rc = e.rc;
          this.enqueue('deactivate-rc', () => this.dataplane.deactivateRc(rc));
          // Forgotten once every READY of this RC queued before has been decided; ids are never reused.
          this.after(() => this.failedRcs.delete(rc.id));
          break;
        }
        case 'rc-renewed': {
          const renew = this.dataplane.renewRc?.bind(this.dataplane);
          if (renew) this.enqueue('renew-rc', () => renew(e.rc), e.rc.id);
          break;
        }
        case 'sticky-created': this.dataplane.addSticky?.(e.sticky, e.replaced); break;
        case 'lease-created': if (this.recordLease(e.lease.until)) stored = true; else unsaved = true; break;
        default: break; // mapping-created, queued, joined, hold: logged and counted only
      }
    }
  }

  /**
   * Every lease ends by the stored horizon, written (durably) before the READY that grants the
   * lease can leave: a router restarted on this store gives no address away before it.
   */
  private recordLease(until: number): boolean {
    if (!this.store || until <= this.horizon) return true;
    const next = until + HORIZON_STEP_MS;
    try {
      this.store.setLeaseHorizon(next);
      this.horizon = next;
      return true;
    } catch (err) {
      this.own.inc('lease-horizon-error');
      this.log.error('lease-horizon-error', { error: (err as Error).message });
      return false;
    }
  }

  /** Resumes the previous run's lease horizon from the store (see recordLease). */
  resumeLeases(): void {
    if (!this.store) {
      this.log.warn('leases-not-persisted', { reason: 'no "storage" key: after a restart, answers of the previous run may still name an address this run gives to another host' });
      return;
    }
    this.horizon = this.store.leaseHorizon();
    const now = this.now();
    if (this.horizon > now) {
      this.scheduler.blockUntil(this.horizon);
      this.log.warn('lease-horizon', { until: this.horizon, waitMs: this.horizon - now, reason: 'leases of the previous run may live until then: no new RC before' });
    }
  }

  /** One timer, at the scheduler's next wake-up: no polling when nothing is due. */
  rearm(): void {
    const t = this.closed ? undefined : this.scheduler.nextWakeupMs();
    if (t === this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = t;
    if (t === undefined) return;
    this.timer = setTimeout(() => {
      this.armedFor = undefined; // a timer that fires a little early must be able to re-arm for the same time
      this.apply(this.scheduler.poll(this.now()));
      this.rearm();
    }, Math.max(0, t - this.now()));
  }

  /** The ids of the requests behind an RC's or a mapping's event. */
  private servedBy(e: RouterEvent): string | undefined {
    switch (e.type) {
      case 'rc-created': case 'rc-renewed': case 'rc-hold-started': case 'rc-removed': return this.rcRequests.req(e.rc.id);
      case 'mapping-created': return this.rcRequests.req(e.mapping.rcId);
      default: return undefined;
    }
  }

  /**
   * The RC into the data plane; how long the kernel took is logged after this step's READYs
   * have left (setImmediate: the READY is the chain's next link), never in their way.
   */
  private async activate(rc: Rc): Promise<void> {
    const t0 = performance.now();
    await this.dataplane.activateRc(rc);
    const dataplaneMs = Math.round((performance.now() - t0) * 1000) / 1000;
    setImmediate(() => this.log.info('rc-active', { req: this.rcRequests.req(rc.id), rc: rc.id, dataplaneMs }));
  }

  /** True for the call that actually closed. */
  async close(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    clearTimeout(this.timer);
    this.announcer?.stop();
    await Promise.all(this.closers.map((c) => c()));
    await this.learning?.close(); // no PHL change after this
    await this.nts?.close();
    await this.chain;
    await this.dataplane?.stop();
    this.store?.close();
    return true;
  }

  private respond(e: RespondEvent): void {
    const send = () => {
      const failed = e.status === 'READY' ? this.failedRcs.get(e.rcId) : undefined;
      const res: NtsResponse = failed !== undefined ? { status: 'BUSY', reason: failed }
        : ntsResponseFor(e, this.now(), this.scheduler.occupancyEstimateMs);
      this.own.inc(`respond.${res.status}`, e.requestIds.length);
      const waits = this.noteResponse(e.requestIds, res.status, 'reason' in e ? e.reason : res.status === 'BUSY' ? 'dataplane' : undefined);
      this.watch?.responded(e.requestIds, res, waits, this.now());
      for (const id of e.requestIds) {
        try {
          this.nts.respond(id, res);
        } catch (err) {
          this.own.inc('respond-error');
          this.log.error('respond-error', { req: messageIdOf(id), id, error: (err as Error).message });
        }
      }
    };
    // A READY must not leave before its RC is in the data plane (the kernel plane is async).
    if (e.status === 'READY') this.after(send);
    else send();
  }

  /** Each request's wait (undefined: not timed). */
  private noteResponse(ids: readonly string[], status: string, reason?: string): (number | undefined)[] {
    const now = this.now();
    const waits = ids.map((id) => {
      const w = this.clock.stop(id, now);
      if (w !== undefined) this.onWait?.(w, status);
      return w;
    });
    if (status !== 'READY') this.refusals.add({ at: now, status, ...(reason ? { reason } : {}), requests: ids.length });
    return waits;
  }

  /**
   * A data-plane change, started at once: the plane submits its changes in call order (one
   * transaction queue, dataplane/nft-batch.ts), so the kernel sees them in the scheduler's order,
   * and the RCs of a burst share transactions instead of each waiting for the one before to be
   * acknowledged (bench/capacity: READYs trailed their decision by up to 1.5 s). What must wait
   * for it (a READY) goes through after(), behind every change started before.
   */
  private enqueue(op: string, f: () => Promise<void>, rcId?: number): void {
    const done = f().catch((err: Error) => {
      if (rcId !== undefined) this.failedRcs.set(rcId, 'the data plane could not install the RC');
      this.own.inc('dataplane-error');
      this.log.error('dataplane-error', { op, rc: rcId, error: err.message });
    });
    this.chain = this.chain.then(() => done);
  }

  /** Runs `f` once every data-plane change started before has been applied (or has failed). */
  private after(f: () => void): void {
    this.chain = this.chain.then(f).catch((err: Error) => {
      this.own.inc('chain-error');
      this.log.error('chain-error', { error: err.message });
    });
  }

  private unsupported(req: IncomingRequest, reason: string): void {
    this.own.inc('respond.UNSUPPORTED');
    this.clock.start(req.requestId, this.now());
    const waits = this.noteResponse([req.requestId], 'UNSUPPORTED', reason);
    this.log.info('respond', { req: req.id, ids: req.requestId, status: 'UNSUPPORTED', reason });
    const res: NtsResponse = { status: 'UNSUPPORTED', reason };
    this.watch?.responded([req.requestId], res, waits, this.now());
    this.nts.respond(req.requestId, res);
  }
}

export async function startRouter(cfg: RouterConfig, log: Logger, now: () => number = Date.now, opts: StartRouterOptions = {}): Promise<RunningRouter> {
  const d = new RouterDaemon(cfg, log, now);
  d.dataplane = opts.dataplane ? opts.dataplane(d.classify) : createDataPlane(cfg.dataplane, cfg.globalAddresses, d.classify, log, cfg);
  d.dataplane.onEvent((e) => {
    const m = e.mapping;
    const req = d.rcRequests.req(m.rcId);
    d.watch?.dataplane(e, req, now());
    // mapping-opened repeats the scheduler's mapping-created (same id): debug. The close, with
    // its byte counts, is the flow's one line at info.
    const level = e.type === 'mapping-opened' ? 'debug' : 'info';
    if (log.enabled(level)) {
      log[level](e.type, {
        req, mapping: m.id, rc: m.rcId, proto: m.proto, en: formatHostPort({ host: m.enAddress, port: m.enPort }),
        to: formatHostPort({ host: m.privateAddress, port: m.privatePort }), fqdn: m.fqdn, bytesIn: e.bytesIn, bytesOut: e.bytesOut, reason: e.reason,
      });
    }
    if (e.type === 'mapping-closed') d.scheduler.mappings.remove(m.id); // the flow's end: the same EN port may map anew
  });
  await d.dataplane.start(); // before NTS: no READY may name an address nobody listens on
  try {
    d.nts = await NtsUdpServer.open({
      host: cfg.nts.listen.host, port: cfg.nts.listen.port, windowMs: cfg.nts.windowMs, now,
      keys: (id) => (id === d.cfg.id ? d.cfg.key : undefined), // d.cfg: a reload may change them
      onRequest: (req) => d.onRequest(req),
      onAck: (a) => d.announcer?.onAck(a.id, a.ack),
      onError: (e) => {
        d.own.inc('nts-error');
        log.error('nts-error', { error: e.message });
      },
    }).catch((e: NodeJS.ErrnoException) => {
      throw new NtssError('NTS_LISTEN', listenError(e, 'udp', cfg.nts.listen.host, cfg.nts.listen.port, 'nts.listen').message);
    });
  } catch (e) {
    await d.dataplane.stop();
    throw e;
  }
  // Synchronously after the NTS socket opened (no await in between): the stored learned entries
  // are in the PHL before the first NTS request is handled. Then the UPDATE proxy.
  try {
    if (cfg.storage) {
      d.store = PhlStore.open(cfg.storage);
      const r = d.store.loadInto(d.phl);
      log.info('phl-loaded', { storage: cfg.storage, learned: r.loaded, skipped: r.skipped.length || undefined });
      d.resumeLeases();
      for (const x of r.skipped) log.warn('phl-row-skipped', x);
    } else {
      log.info('phl-not-persisted', { reason: 'no "storage" key: learned PHL entries live in memory only and are lost at restart' });
      d.resumeLeases();
    }
    if (cfg.learning) d.learning = await UpdateProxy.start({ ...cfg.learning, phl: d.phl, store: d.store, log, now });
  } catch (e) {
    await d.close();
    throw e;
  }
  d.announce();
  const nts = d.nts.address();
  const snapshot = (): Record<string, number> => {
    const all: Record<string, number> = { ...d.own.snapshot() };
    for (const [k, v] of Object.entries(d.nts.core.allCounters())) all[`nts.${k}`] = v;
    // Gauges, not counters: the NTS state an attacker could try to grow (both bounded, docs/protocol.md 4, 5.2).
    all['nts.state.requests'] = d.nts.core.size;
    all['nts.state.replay-entries'] = d.nts.core.verifier.replayEntries;
    all['state.failed-rcs'] = d.failedRcs.size;
    all['state.rc-requests'] = d.rcRequests.size;
    all['rc-requests-evicted'] = d.rcRequests.evictedRcs;
    all['rc-requests-ids-dropped'] = d.rcRequests.droppedIds;
    for (const [k, v] of Object.entries(d.dataplane.counters())) all[`dataplane.${k}`] = v;
    for (const [k, v] of Object.entries(d.learning?.counters() ?? {})) all[`learning.${k}`] = v;
    for (const [k, v] of Object.entries(d.dashboard?.counters() ?? {})) all[`dashboard.${k}`] = v;
    return all;
  };
  let metricsAt: { host: string; port: number } | undefined;
  try {
    if (cfg.metrics) {
      const m = routerMetrics({ counters: snapshot, scheduler: d.scheduler, phl: d.phl, now });
      d.onWait = m.observeWait;
      const l = await listenMetrics(cfg.metrics.listen, m.registry, log);
      d.closers.push(() => l.close());
      metricsAt = l.address;
    }
    if (cfg.control) {
      const c = await listenControl(cfg.control.socket, () => routerStatus({ id: d.cfg.id, scheduler: d.scheduler, phl: d.phl, refusals: d.refusals, counters: snapshot() }, now()), log);
      d.closers.push(() => c.close());
    }
    if (cfg.dashboard) {
      const feed = new DashboardFeed();
      d.watch = feed;
      const source = { feed, token: () => d.cfg.dashboard!.token, state: (t: number) => dashboardState({ id: d.cfg.id, scheduler: d.scheduler, phl: d.phl, refusals: d.refusals, counters: snapshot() }, t) };
      d.dashboard = await listenDashboard(cfg.dashboard, source, log, now);
      d.closers.push(() => d.dashboard!.close());
    }
  } catch (e) {
    await d.close();
    throw e;
  }
  if (cfg.scheduler.holdMs < SAFE_HOLD_MS) {
    // The paper's "RC deleted at the first packet": two ENs behind one answer (resolvers coalesce
    // identical queries) send the second to the next host's RC unless the server's answer leases
    // bind the address (nts.enCacheMs, docs/leases.md). Measured in bench/capacity: 30 of 160.
    log.warn('short-hold', {
      holdMs: cfg.scheduler.holdMs, safeMs: SAFE_HOLD_MS,
      reason: 'with a hold this short, only the server\'s answer leases (nts.enCacheMs > 0) keep a second EN behind the same answer away from the next host',
    });
  }
  const endpoints = d.dataplane instanceof UserspaceDataPlane ? d.dataplane.endpoints().map((p) => `${p.proto}/${formatHostPort(p)}`) : [];
  log.info('router-started', {
    id: cfg.id, nts: formatHostPort({ host: nts.address, port: nts.port }), server: cfg.server ? formatHostPort(cfg.server) : undefined,
    globalAddresses: cfg.globalAddresses.join(','), phl: d.phl.size, dataplane: d.dataplane.kind, relays: endpoints.join(',') || undefined,
  });
  return {
    scheduler: d.scheduler, phl: d.phl, dataplane: d.dataplane, nts: { host: nts.address, port: nts.port },
    learning: d.learning?.address(), metrics: metricsAt, dashboard: d.dashboard?.address,
    counters: { snapshot, get: (name) => snapshot()[name] ?? 0 },
    reload(next) {
      refuseFixed(next.file, d.cfg, next, ROUTER_FIXED_KEYS);
      const dp = d.cfg.dataplane;
      if (dp.type === 'nftables') {
        // The kernel's safety timeout was set at start from these: it must still outlive an RC.
        const safety = dp.safetyTimeoutMs ?? d.cfg.scheduler.rcTimeoutMs + d.cfg.scheduler.holdMs + SAFETY_MARGIN_MS;
        if (next.scheduler.rcTimeoutMs + next.scheduler.holdMs >= safety) {
          throw new ConfigError(next.file, 'scheduler.rcTimeoutMs', `rcTimeoutMs + holdMs must stay below the nftables safety timeout set at start (${safety} ms); restart`);
        }
      }
      return d.reconfigure(next);
    },
    async close() {
      if (await d.close()) log.info('stopped', { counters: snapshot() });
    },
  };
}

/** The scheduler's policy numbers and trusted resolvers from the configuration. */
function schedulerPolicy(cfg: RouterConfig) {
  const { trusted, ...reputation } = cfg.scheduler.reputation;
  const vouched = new PrefixTable<true>();
  for (const p of trusted) vouched.add(p, true);
  return {
    config: { globalAddresses: cfg.globalAddresses, ...cfg.scheduler, reputation },
    trusted: (resolver: string) => vouched.lookup(resolver) === true,
  };
}
