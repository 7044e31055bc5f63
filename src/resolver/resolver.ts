// The `ntss resolver` process (NTSS v1): UDP and TCP listeners (the NTSv2 server's adapters),
// the cache, the upstream forwarder and, with routers configured, the NTS client. Stops cleanly.
import type dgram from 'node:dgram';
import type net from 'node:net';
import type { ResolverConfig } from '../config/resolver-config.js';
import { NtsUdpClient, type Peer } from '../nts/index.js';
import { listenTcp } from '../server/tcp.js';
import { listenUdp } from '../server/udp.js';
import { formatHostPort } from '../util/addr.js';
import { Counters } from '../util/counters.js';
import type { Logger } from '../util/log.js';
import { ClientAcl } from './acl.js';
import { AnswerCache } from './cache.js';
import { ResolverHandler } from './handler.js';
import { Lookup } from './lookup.js';
import { SourceRcRequester } from './nts-source.js';
import { Upstream } from './upstream.js';

export interface RunningResolver {
  handler: ResolverHandler;
  counters: Counters;
  cache: AnswerCache;
  /** Actual bound addresses (port 0 in the config becomes the real port). */
  udp: Peer[];
  tcp: Peer[];
  close(): Promise<void>;
}

export async function startResolver(cfg: ResolverConfig, log: Logger, now: () => number = Date.now): Promise<RunningResolver> {
  const counters = new Counters();
  const cache = new AnswerCache({ entries: cfg.cache.entries, bytes: cfg.cache.maxBytes, maxTtl: cfg.cache.maxTtl, maxNegativeTtl: cfg.cache.maxNegativeTtl });
  const upstream = new Upstream({ servers: cfg.upstream, ...cfg.forward, udpSize: cfg.udp.maxPayload, now }, counters, log);
  const sockets: dgram.Socket[] = [];
  const servers: net.Server[] = [];
  let ntsClient: NtsUdpClient | undefined;
  let self: Peer | undefined;
  const closeAll = async () => {
    upstream.close();
    await Promise.all([
      ...sockets.map((s) => new Promise<void>((r) => s.close(() => r()))),
      ...servers.map((s) => new Promise<void>((r) => s.close(() => r()))),
      ntsClient?.close(),
    ]);
  };
  try {
    if (cfg.routers.length > 0) {
      ntsClient = await NtsUdpClient.open({ host: cfg.nts.listen.host, port: cfg.nts.listen.port, now, onError: (e) => log.warn('nts-socket-error', { error: e.message }) });
    }
    const nts = ntsClient && new SourceRcRequester(
      cfg.routers.map((r) => ({ id: r.id, addresses: r.addresses, nts: r.nts, key: r.key })),
      ntsClient, () => self!, counters, log, now, cfg.nts.enCacheMs,
    );
    const handler = new ResolverHandler({
      acl: new ClientAcl(cfg.allow),
      lookup: new Lookup(cache, upstream, counters, now),
      nts, clientPatienceMs: cfg.nts.clientPatienceMs, marginMs: cfg.nts.marginMs,
      udpMaxPayload: cfg.udp.maxPayload, counters, log, now,
    });
    const handle = handler.handle.bind(handler);
    for (const at of cfg.listen) {
      // Port 0: one free port for both, since clients retry a truncated answer over TCP on
      // the port they asked on. A TCP port taken meanwhile costs another try.
      for (let attempt = 1; ; attempt++) {
        const u = await listenUdp(at, handle, counters, log);
        try {
          servers.push(await listenTcp({ ...at, port: u.address().port }, handle, cfg.tcp, counters, log));
          sockets.push(u);
          break;
        } catch (e) {
          u.close();
          if (at.port !== 0 || attempt >= 5) throw e;
        }
      }
    }
    const udp = sockets.map((s) => ({ address: s.address().address, port: s.address().port }));
    const tcp = servers.map((s) => {
      const a = s.address() as net.AddressInfo;
      return { address: a.address, port: a.port };
    });
    self = cfg.nts.resolverAddress ? { address: cfg.nts.resolverAddress.host, port: cfg.nts.resolverAddress.port } : udp[0];
    const show = (ps: Peer[]) => ps.map((p) => formatHostPort({ host: p.address, port: p.port })).join(',');
    log.info('listening', {
      udp: show(udp), tcp: show(tcp), upstream: cfg.upstream.map(formatHostPort).join(','),
      routers: cfg.routers.map((r) => `${r.id}@${formatHostPort(r.nts)}`).join(',') || undefined,
    });
    let closed = false;
    return {
      handler, counters, cache, udp, tcp,
      async close() {
        if (closed) return;
        closed = true;
        await closeAll();
        log.info('stopped', { counters: counters.snapshot() });
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
