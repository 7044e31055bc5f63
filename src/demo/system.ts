// Starts the whole NTSSv2 system in this process: alice's and bob's services, the NTS router
// (userspace relay with PROXY v2 towards the INs), the NTSv2 server (SQLite in a temp dir),
// then the INs register their names by signed DNS UPDATE. Every part is registered with
// `res` the moment it exists, so an interrupted start is cleaned up too.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from '../config/load.js';
import { parseRouterConfig } from '../config/router-config.js';
import { serverConfigSchema, type ServerConfig } from '../config/server-config.js';
import { RRType } from '../dns/constants.js';
import type { TsigKey } from '../dns/tsig.js';
import { createDataPlane, startRouter, type RunningRouter } from '../routerd/router.js';
import type { FirstPacket, PacketResult } from '../router/index.js';
import { startServer } from '../server/server.js';
import { createLogger } from '../util/log.js';
import { startInsideService, type InsideService } from './inside-services.js';
import { registerName } from './register.js';
import type { Resources } from './resources.js';
import type { Recorder } from './timeline.js';
import { ALICE, BOB, INSIDE_HOSTS, RESOLVER_ADDRESS, ROUTER, SERVER_ADDRESS, ZONE } from './topology.js';

export interface DemoSystem {
  /** The NTSv2 server's DNS address (UDP and TCP). */
  dns: { host: string; port: number };
  router: RunningRouter;
  hosts: { alice: InsideService; bob: InsideService };
  storageDir: string;
}

const b64 = (b: Buffer) => b.toString('base64');

/** Port 0 (a free port) is refused in config files but fine in code: the daemons report the real one. */
const anyPort = (host: string) => ({ host, port: 0, family: 4 as const });

function serverConfig(dir: string, routerNts: { host: string; port: number }, routerKey: Buffer, keys: Map<string, TsigKey>): ServerConfig {
  const cfg = validate('(demo)', serverConfigSchema, {
    listen: [`${SERVER_ADDRESS}:53`], // replaced by a free port below
    storage: join(dir, 'zone.db'),
    zone: {
      name: ZONE,
      soa: { mname: `ns1.${ZONE}`, rname: `hostmaster.${ZONE}`, refresh: 3600, retry: 600, expire: 86400, minimum: 0 },
      ns: [`ns1.${ZONE}`],
      records: [`ns1.${ZONE} 3600 IN A ${SERVER_ADDRESS}`],
    },
    // One key per inside host, each allowed to change only its own name; the keys are bound
    // to gw1, so whatever address an IN registers, the zone publishes the router's.
    tsig: INSIDE_HOSTS.map((h) => ({ name: h.keyName, algorithm: 'hmac-sha256', secret: b64(keys.get(h.name)!.secret), allow: [h.fqdn], router: ROUTER.id })),
    routers: [{ id: ROUTER.id, addresses: [ROUTER.globalAddress], nts: `${routerNts.host}:${routerNts.port}`, key: b64(routerKey) }],
    // The demo's stub resolver behaves like Unbound (no cache for TTL 0, ~1.9 s patience); an
    // unknown resolver would get the conservative 5 s lease (docs/resolver-profiles.md).
    resolvers: [{ prefixes: [`${RESOLVER_ADDRESS}/32`], profile: 'unbound' }],
    // The demo's ENs keep no answers (each flow looks up anew), so no EN-cache lease.
    nts: { enCacheMs: 0 },
  });
  return { ...cfg, listen: [anyPort(SERVER_ADDRESS)], nts: { ...cfg.nts, listen: anyPort(SERVER_ADDRESS) }, file: '(demo)' };
}

function routerConfig(key: Buffer) {
  const cfg = parseRouterConfig({
    id: ROUTER.id,
    key: b64(key),
    nts: { listen: `${SERVER_ADDRESS}:5301` }, // replaced by a free port below
    globalAddresses: [ROUTER.globalAddress],
    phl: INSIDE_HOSTS.map((h) => ({ name: h.fqdn, address: h.address })),
    scheduler: { holdMs: ROUTER.holdMs, rcTimeoutMs: ROUTER.rcTimeoutMs },
    dataplane: {
      type: 'userspace',
      ports: [`tcp/${ROUTER.tcpPort}`, `udp/${ROUTER.udpPort}`],
      proxyProtocol: true, // the relay hides the EN; PROXY v2 tells alice and bob who it was
      lanAddress: ROUTER.lanAddress,
      udpIdleTimeoutMs: 5000,
    },
  }, '(demo)');
  return { ...cfg, nts: { ...cfg.nts, listen: anyPort(SERVER_ADDRESS) } };
}

export async function startSystem(rec: Recorder, res: Resources): Promise<DemoSystem> {
  const storageDir = mkdtempSync(join(tmpdir(), 'ntss-demo-'));
  res.add('temp dir', () => rmSync(storageDir, { recursive: true, force: true }));

  const ports = { tcp: ROUTER.tcpPort, udp: ROUTER.udpPort };
  const hosts = { alice: await startHost(ALICE.name, ALICE.address), bob: await startHost(BOB.name, BOB.address) };

  const routerKey = randomBytes(32);
  const rcfg = routerConfig(routerKey);
  const routerLog = createLogger({ format: 'json', level: 'info', write: rec.logWriter('router') });
  // The relay does not log a refused first packet (it counts it); this hook shows it.
  const seeFirstPacket = (pkt: FirstPacket, r: PacketResult) => {
    if (r.verdict !== 'no-rc') return;
    rec.emit('router', 'first-packet-refused', `first packet ${pkt.proto} ${pkt.src}:${pkt.srcPort} → ${pkt.dst}:${pkt.dstPort}: no RC, ${pkt.proto === 'tcp' ? 'reset' : 'dropped'}`, { ...pkt });
  };
  const router = await startRouter(rcfg, routerLog, Date.now, {
    dataplane: (classify) => createDataPlane(rcfg.dataplane, rcfg.globalAddresses, (pkt) => {
      const r = classify(pkt);
      seeFirstPacket(pkt, r);
      return r;
    }, routerLog),
  });
  res.add('router', () => router.close());

  const keys = new Map<string, TsigKey>(INSIDE_HOSTS.map((h) => [h.name, { name: h.keyName, algorithm: 'hmac-sha256', secret: randomBytes(32) }]));
  const scfg = serverConfig(storageDir, router.nts, routerKey, keys);
  const server = await startServer(scfg, createLogger({ format: 'json', level: 'info', write: rec.logWriter('server') }));
  res.add('server', () => server.close());
  const dns = { host: server.udp[0].host, port: server.udp[0].port };

  // The INs announce themselves as a DDNS client would, with their own address; the server
  // publishes the router's global address instead (the key is bound to gw1).
  for (const h of INSIDE_HOSTS) {
    const r = await registerName({ server: dns, from: h.address, key: keys.get(h.name)!, zone: ZONE, name: h.fqdn, address: h.address, ttl: 60 }, res.signal);
    const published = server.zone.get(h.fqdn, RRType.A).map((rr) => (rr.rdata.kind === 'A' ? rr.rdata.address : '?'));
    const text = `registered ${h.fqdn} A ${h.address}: ${r.rcode}${r.signed ? ' (answer TSIG verified)' : ' (answer NOT signed)'}; the zone publishes A ${published.join(', ') || 'nothing'}`;
    rec.emit(h.name, 'registered', text, { ...r, name: h.fqdn, address: h.address, published });
    if (r.rcode !== 'NOERROR' || !r.signed) throw new Error(`${h.name}'s UPDATE failed: ${r.rcode}`);
    if (published.join() !== ROUTER.globalAddress) throw new Error(`after ${h.name}'s UPDATE the zone has ${h.fqdn} A ${published.join(', ')}, not ${ROUTER.globalAddress}`);
  }
  return { dns, router, hosts, storageDir };

  async function startHost(name: string, address: string): Promise<InsideService> {
    const s = await startInsideService(name, address, ports, (seen) => {
      const text = seen.proto === 'tcp'
        ? `TCP from ${seen.peer} (the relay); PROXY v2 names the EN: ${seen.en ?? 'none'} → says hello to it`
        : `UDP from ${seen.peer} (the relay; no PROXY header on UDP): "${seen.payload}" → echoes it`;
      rec.emit(name, seen.proto === 'tcp' ? 'in-tcp' : 'in-udp', text, { ...seen });
    });
    res.add(name, () => s.close());
    return s;
  }
}
