// The NTSv2 server process: opens the store, loads (or seeds) the zone, listens on UDP and
// TCP at every configured address, and stops cleanly.
import type dgram from 'node:dgram';
import type net from 'node:net';
import { RRClass, RRType } from '../dns/constants.js';
import type { ResourceRecord } from '../dns/types.js';
import { Zone } from '../dns/zone.js';
import type { ServerConfig } from '../config/server-config.js';
import { LastTimeSigned } from '../dns/tsig-replay.js';
import { ZoneStore } from '../store/zone-store.js';
import { formatHostPort } from '../util/addr.js';
import type { Logger } from '../util/log.js';
import { Counters } from '../util/counters.js';
import { DnsHandler, type KeyEntry } from './handler.js';
import { listenTcp } from './tcp.js';
import { listenUdp } from './udp.js';
import { NtsGateway } from './nts-gateway.js';
import { NtsUdpClient } from '../nts/index.js';
import { configuredProfile } from '../config/resolver-profiles-config.js';
import { Fingerprinter } from './fingerprint.js';
import { profileWith } from './profiles.js';
import { ResolverProfiles } from './resolver-profiles.js';
import { ServerCookies } from './cookies.js';
import { ResponseRateLimiter } from './rrl.js';
import { serverMetrics } from '../metrics/server-metrics.js';
import { listenMetrics } from '../metrics/http.js';
import { listenControl } from '../control/socket.js';
import { serverStatus, type Announcement } from './status.js';
import { changedKeys, refuseFixed } from '../config/reload.js';
import { ConfigError } from '../util/errors.js';

/** What a reload cannot change: bound sockets, the open store, the zone. */
export const SERVER_FIXED_KEYS = ['listen', 'storage', 'zone.name', 'nts.listen', 'tcp', 'metrics', 'control', 'responseCache'] as const;

export interface RunningServer {
  handler: DnsHandler;
  counters: Counters;
  zone: Zone;
  /** Actual bound addresses (port 0 in the config becomes the real port). */
  udp: { host: string; port: number }[];
  tcp: { host: string; port: number }[];
  /** Where `/metrics` is served, when `metrics.listen` is configured. */
  metrics?: { host: string; port: number };
  /** SIGHUP: applies a new configuration without dropping state; the changed keys. Throws ConfigError to refuse it. */
  reload(next: ServerConfig): string[];
  close(): Promise<void>;
}

/** The records an empty store is seeded with: SOA, apex NS, then the configured records. */
export function seedRecords(cfg: ServerConfig): ResourceRecord[] {
  const z = cfg.zone;
  const soa: ResourceRecord = {
    name: z.name, type: RRType.SOA, class: RRClass.IN, ttl: z.soa.ttl,
    rdata: { kind: 'SOA', mname: z.soa.mname, rname: z.soa.rname, serial: z.soa.serial, refresh: z.soa.refresh, retry: z.soa.retry, expire: z.soa.expire, minimum: z.soa.minimum },
  };
  const ns = z.ns.map((target): ResourceRecord => ({ name: z.name, type: RRType.NS, class: RRClass.IN, ttl: z.nsTtl, rdata: { kind: 'NS', target } }));
  return [soa, ...ns, ...z.records];
}

export async function startServer(cfg: ServerConfig, log: Logger, now: () => number = Date.now): Promise<RunningServer> {
  const store = ZoneStore.open(cfg.storage);
  const sockets: dgram.Socket[] = [];
  const servers: net.Server[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    if (store.seedZone(cfg.zone.name, seedRecords(cfg))) log.info('zone-seeded', { zone: cfg.zone.name, storage: cfg.storage });
    const records = store.loadZone(cfg.zone.name) ?? [];
    const zone = Zone.fromRecords(cfg.zone.name, records);
    log.info('zone-loaded', { zone: zone.origin, serial: zone.serial(), records: records.length, storage: cfg.storage });
    const keys = tsigKeys(cfg);
    const counters = new Counters();
    const announcements = new Map<string, Announcement>();
    let gatewaySizes: (() => { pending: number; inFlight: number; refused: number }) | undefined;
    const metrics = cfg.metrics ? serverMetrics({ counters: () => counters.snapshot(), zoneSerial: () => zone.serial(), nts: () => gatewaySizes?.() }) : undefined;
    const gateway = cfg.routers.length > 0 ? await openGateway(cfg, counters, log, now, announcements, metrics?.observeNtsWait) : undefined;
    if (gateway) closers.push(() => gateway.client.close());
    gatewaySizes = gateway && (() => gateway.gateway.sizes());
    const handler = new DnsHandler({
      gateway: gateway?.gateway,
      profiles: gateway?.profiles,
      zone, store, keys, counters, log, now,
      routerAddresses: new Set(cfg.routers.flatMap((r) => r.addresses)),
      udpMaxPayload: cfg.udp.maxPayload,
      tsigFudge: cfg.tsigFudge,
      responseCacheSize: cfg.responseCache,
      cookies: new ServerCookies(cfg.cookies.secret),
      verifySource: cfg.nts.verifySource,
      rrl: new ResponseRateLimiter(cfg.rrl, () => counters.inc('rrl_evicted')),
      // Kept in the store: a restart must not reopen the fudge window to replayed messages.
      lastTimeSigned: new LastTimeSigned({ initial: store.lastSigned(), persist: (k, t) => store.setLastSigned(k, t) }),
    });
    log.info('query-policy', {
      verifySource: cfg.nts.verifySource, cookieSecret: cfg.cookies.secret ? 'configured' : 'random (a restart invalidates cookies)',
      rrl: cfg.rrl.responsesPerSecond > 0 ? `${cfg.rrl.responsesPerSecond}/s slip ${cfg.rrl.slip}, ${cfg.rrl.exempt.length} exempt prefixes` : 'off',
    });
    const handle = handler.handle.bind(handler);
    for (const at of cfg.listen) {
      const u = await listenUdp(at, handle, counters, log);
      sockets.push(u);
      // Port 0: TCP on the port UDP got, so a resolver's TC -> TCP retry finds us (RFC 7766).
      servers.push(await listenTcp({ ...at, port: u.address().port }, handle, cfg.tcp, counters, log));
    }
    const udp = sockets.map((s) => ({ host: s.address().address, port: s.address().port }));
    const tcp = servers.map((s) => {
      const a = s.address() as net.AddressInfo;
      return { host: a.address, port: a.port };
    });
    let metricsAt: { host: string; port: number } | undefined;
    if (metrics && cfg.metrics) {
      const m = await listenMetrics(cfg.metrics.listen, metrics.registry, log);
      closers.push(() => m.close());
      metricsAt = m.address;
    }
    if (cfg.control) {
      const c = await listenControl(cfg.control.socket, () => serverStatus({ cfg: current, zone, counters, announcements, gateway: gateway?.gateway }, now()), log);
      closers.push(() => c.close());
    }
    // Last: `listening` means everything configured is up (tests and scripts wait for it).
    log.info('listening', { udp: udp.map(formatHostPort).join(','), tcp: tcp.map(formatHostPort).join(',') });
    let closed = false;
    let current = cfg;
    const reload = (next: ServerConfig): string[] => {
      refuseFixed(next.file, current, next, SERVER_FIXED_KEYS);
      if ((next.routers.length > 0) !== (gateway !== undefined)) {
        throw new ConfigError(next.file, 'routers', `cannot go from ${current.routers.length} to ${next.routers.length} routers on reload (the NTS socket opens at start); restart`);
      }
      const changed = changedKeys(current, next);
      const has = (k: string) => changed.some((c) => c === k || c.startsWith(`${k}.`));
      let profiles = gateway?.profiles;
      if (gateway && (has('resolvers') || has('nts'))) {
        // A new table forgets what the fingerprint learned; only when its inputs changed.
        profiles = resolverProfiles(next);
        gateway.reconfigure(next, profiles);
      } else if (gateway && has('routers')) gateway.reconfigure(next, gateway.profiles);
      if (gateway) gateway.profiles = profiles!;
      handler.reconfigure({
        keys: tsigKeys(next),
        routerAddresses: new Set(next.routers.flatMap((r) => r.addresses)),
        profiles,
        udpMaxPayload: next.udp.maxPayload,
        tsigFudge: next.tsigFudge,
        verifySource: next.nts.verifySource,
        ...(has('rrl') ? { rrl: new ResponseRateLimiter(next.rrl, () => counters.inc('rrl_evicted')) } : {}),
        ...(has('cookies') ? { cookies: new ServerCookies(next.cookies.secret) } : {}),
      });
      current = next;
      return changed;
    };
    return {
      handler, counters, zone, udp, tcp, metrics: metricsAt, reload,
      async close() {
        if (closed) return;
        closed = true;
        await Promise.all([
          ...sockets.map((s) => new Promise<void>((r) => s.close(() => r()))),
          ...servers.map((s) => new Promise<void>((r) => s.close(() => r()))),
          ...closers.map((c) => c()),
        ]);
        store.close();
        log.info('stopped', { counters: counters.snapshot() });
      },
    };
  } catch (e) {
    for (const s of sockets) s.close();
    for (const s of servers) s.close();
    for (const c of closers) await c();
    store.close();
    throw e;
  }
}

/** The TSIG keys by name, with the router each belongs to. */
function tsigKeys(cfg: ServerConfig): Map<string, KeyEntry> {
  return new Map(cfg.tsig.map((k) => [k.name, {
    key: { name: k.name, algorithm: k.algorithm, secret: k.secret, ...(k.minMacLength === undefined ? {} : { minMacLength: k.minMacLength }) }, allow: k.allow,
    routerAddress: cfg.routers.find((r) => r.id === k.router)?.addresses[0],
  }]));
}

/** The NTS client socket and the gateway over it. Routers announce themselves to this socket. */
async function openGateway(
  cfg: ServerConfig, counters: Counters, log: Logger, now: () => number,
  announcements: Map<string, Announcement>, onWait?: (ms: number, outcome: string) => void,
) {
  const routersOf = (c: ServerConfig) => c.routers.map((r) => ({ id: r.id, addresses: r.addresses, nts: r.nts, key: r.key }));
  const routers = routersOf(cfg);
  let byId = new Map(routers.map((r) => [r.id, r]));
  const client = await NtsUdpClient.open({
    host: cfg.nts.listen.host, port: cfg.nts.listen.port, now,
    keys: (id) => byId.get(id)?.key,
    onRegister: (ev, from) => {
      const known = byId.get(ev.msg.register.routerId);
      const unexpected = ev.msg.register.addresses.filter((a) => !known?.addresses.includes(a));
      counters.inc('nts_router_announcements');
      if (known) announcements.set(known.id, { type: ev.msg.type, at: now(), from: formatHostPort({ host: from.address, port: from.port }), addresses: [...ev.msg.register.addresses] });
      log.info('router-announce', { router: ev.msg.register.routerId, from: formatHostPort({ host: from.address, port: from.port }), type: ev.msg.type, addresses: ev.msg.register.addresses.join(','), current: ev.current });
      if (unexpected.length > 0) {
        log.warn('router-addresses-differ', { router: ev.msg.register.routerId, configured: known?.addresses.join(','), announced: ev.msg.register.addresses.join(',') });
      }
      return { status: 'ACCEPTED' as const };
    },
    onError: (e) => log.warn('nts-socket-error', { error: e.message }),
  });
  const profiles = resolverProfiles(cfg);
  const options = (c: ServerConfig, p: ResolverProfiles) => {
    const { marginMs, refusalHoldMs, enCacheMs, ecsMinPrefix, maxPendingPerResolver, maxPending } = c.nts;
    return { profiles: p, marginMs, refusalHoldMs, enCacheMs, ecsMinPrefix, maxPendingPerResolver, maxPending, onWait };
  };
  const gateway = new NtsGateway(routers, client, options(cfg, profiles), counters, log, now);
  const { enCacheMs, ecsMinPrefix } = cfg.nts;
  const a = client.address();
  log.info('nts-client', { listen: formatHostPort({ host: a.address, port: a.port }), routers: routers.map((r) => `${r.id}@${formatHostPort(r.nts)}`).join(',') });
  log.info('resolver-profiles', {
    configured: cfg.resolvers.map((r) => `${configuredProfile(r, cfg.nts).name}:${r.prefixes.length}`).join(',') || 'none',
    fingerprint: cfg.nts.fingerprint, default: `${profiles.defaultProfile.patienceMs}ms/${profiles.defaultProfile.ttlFloorMs}ms`,
    enCacheMs, ecsMinPrefix,
  });
  return {
    client, gateway, profiles,
    /** A reload: routers (their keys too, for the client) and policies. */
    reconfigure(next: ServerConfig, p: ResolverProfiles) {
      const rs = routersOf(next);
      byId = new Map(rs.map((r) => [r.id, r]));
      gateway.reconfigure(rs, options(next, p));
    },
  };
}

/** Config by prefix, then (unless turned off) the fingerprint, then the `unknown` profile. */
export function resolverProfiles(cfg: Pick<ServerConfig, 'resolvers' | 'nts' | 'zone'>): ResolverProfiles {
  return new ResolverProfiles({
    rules: cfg.resolvers.map((r) => ({ prefixes: r.prefixes, profile: configuredProfile(r, cfg.nts) })),
    defaultProfile: profileWith('unknown', { patienceMs: cfg.nts.resolverPatienceMs }),
    fingerprint: cfg.nts.fingerprint ? new Fingerprinter({ zone: cfg.zone.name }) : undefined,
  });
}
