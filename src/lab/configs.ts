// Every file the lab's daemons read: NSD's root zone and root hints, the NTSv2 server's and the
// router's YAML, nsupdate's key files and scripts (the resolvers' configs: resolvers/). Text
// builders only; lab.ts writes them into the lab's state directory.
import { schedulerTimes } from './scheduler-times.js';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml, stringify } from 'yaml';
import { routerConfigSchema, SAFE_HOLD_MS } from '../config/router-config.js';
import { serverConfigSchema } from '../config/server-config.js';
import {
  ADDR, DASHBOARD_PORT, ECHO_PORT, HTTP_PORT, INSIDE_HOSTS, LAN_IF, LEARNING_PORT, NTS_PORT, PROBE_ADDR, PROBE_ZONE, REGISTERED_AT_UP, ROOT_NS, ROUTER_ID,
  WAN_IF, ZONE, fqdn,
} from './topology.js';
import type { ResolverKind } from './resolvers/index.js';
import { capacityHosts, ONE_RESOLVER, type CapacityTuning } from './capacity-hosts.js';

export { ROOT_NS } from './topology.js';

export type DataPlaneKind = 'nftables' | 'userspace';

export interface LabSecrets {
  /** NTS key shared by server and router. */
  nts: string;
  /** TSIG secret per inside host. */
  tsig: Record<string, string>;
  /** The router's dashboard token (absent in the state of an older lab). */
  dashboard?: string;
}

export function newSecrets(): LabSecrets {
  const b64 = () => randomBytes(32).toString('base64');
  return { nts: b64(), tsig: Object.fromEntries(INSIDE_HOSTS.map((h) => [h, b64()])), dashboard: randomBytes(24).toString('base64url') };
}

export interface LabMode {
  dataplane: DataPlaneKind;
  /** The router learns its PHL from the INs' DNS UPDATEs; otherwise alice and bob are configured. */
  learning: boolean;
  delayMs: number;
  lossPct: number;
  /** How delay/loss is applied: tc netem, or where the kernel lacks netem the TUN delay line, in C (delay-line-c.ts) or in Node (delay-core.ts). */
  shaper?: 'netem' | 'tun-c' | 'tun';
  /** The ENs' recursive resolver, and its version as the binary reports it. */
  resolver: ResolverKind;
  resolverVersion?: string;
  /** The router's global addresses (wan0), the first is ADDR.routerWan. */
  globalAddresses: string[];
  /** The resolver sends EDNS Client Subnet to the NTSv2 server (only where it can). */
  ecs: boolean;
  /** The server knows the lab resolver's profile by configuration, or only by fingerprinting. */
  profiles?: ProfileSource;
  /** The server's nts.enCacheMs (browsers keeping answers). */
  enCacheMs?: number;
  /** The server's nts.verifySource (default cookie-or-tcp); off only to measure what it costs. */
  verifySource?: 'cookie-or-tcp' | 'off';
  /** A load run's hosts and knobs (capacity-hosts.ts); absent in every scenario. */
  capacity?: CapacityTuning;
}

export type ProfileSource = 'configured' | 'fingerprint';

export const PLAIN_NAME = `plain.${ZONE}`;

export function rootZone(): string {
  return [
    '$ORIGIN .',
    '$TTL 86400',
    `. IN SOA ${ROOT_NS} hostmaster.root-servers.test. 1 1800 900 604800 86400`,
    `. IN NS ${ROOT_NS}`,
    `${ROOT_NS} IN A ${ADDR.root}`,
    // The lab's only delegation: the NTSv2 server is authoritative for the zone, with glue.
    `${ZONE} 3600 IN NS ns1.${ZONE}`,
    `ns1.${ZONE} 3600 IN A ${ADDR.server}`,
    // The probe authoritative's zone (scenario `profile`; nothing answers there otherwise).
    `${PROBE_ZONE} 3600 IN NS ns.${PROBE_ZONE}`,
    `ns.${PROBE_ZONE} 3600 IN A ${PROBE_ADDR}`,
    '',
  ].join('\n');
}

export function nsdConf(dir: string): string {
  return `# ntss lab: the root name server
server:
  ip-address: ${ADDR.root}
  port: 53
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  pidfile: "${dir}/nsd.pid"
  logfile: "${dir}/nsd.log"
  xfrdfile: "${dir}/nsd-xfrd.state"
  zonelistfile: "${dir}/nsd-zone.list"
  xfrdir: "${dir}"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: "."
  zonefile: "root.zone"
`;
}

export function rootHints(): string {
  return `.  3600000 NS ${ROOT_NS}\n${ROOT_NS} 3600000 A ${ADDR.root}\n`;
}

export function serverYaml(secrets: LabSecrets, mode: Pick<LabMode, 'globalAddresses' | 'resolver' | 'ecs' | 'profiles' | 'enCacheMs' | 'verifySource' | 'capacity'>): string {
  const addresses = mode.globalAddresses;
  // As an operator who knows the big resolvers in front of its users would: the lab's resolver
  // by prefix, with its ECS trusted when it sends it (docs/resolver-profiles.md). `fingerprint`
  // leaves it to recognition, or to the conservative unknown profile.
  const resolvers: Array<Record<string, unknown>> = (mode.profiles ?? 'configured') === 'configured'
    ? [{ prefixes: [`${ADDR.resolver}/32`], profile: mode.resolver, ...(mode.ecs ? { ecs: 'trusted' } : {}) }]
    : [];
  // Scenario v1's `ntss resolver` asks the router itself, keyed on each EN (NTSS v1).
  resolvers.push({ prefixes: [`${ADDR.v1resolver}/32`], profile: 'unbound', v1: true });
  return stringify({
    listen: [`${ADDR.server}:53`],
    storage: 'server.db',
    zone: {
      name: ZONE,
      soa: { mname: `ns1.${ZONE}`, rname: `hostmaster.${ZONE}`, refresh: 3600, retry: 600, expire: 86400, minimum: 0 },
      ns: [`ns1.${ZONE}`],
      // plain: not NTS-managed, TTL 0, so every lookup reaches the server: the latency baseline.
      // Its address is on the router too, with a static DNAT to alice (scenario `latency`).
      records: [`ns1.${ZONE} 3600 IN A ${ADDR.server}`, `${PLAIN_NAME} 0 IN A ${ADDR.plain}`,
        // A load run's hosts, NTS-managed like alice (the router's address, TTL 0).
        ...capacityHosts(mode.capacity?.hosts ?? 0).map((h) => `${h.name} 0 IN A ${addresses[0]}`)],
    },
    // Each IN may change only its own name; its hosts sit behind gw1, so whatever address it
    // registers, the zone publishes gw1's global address.
    tsig: INSIDE_HOSTS.map((h) => ({ name: `${h}-key.`, algorithm: 'hmac-sha256', secret: secrets.tsig[h], allow: [fqdn(h)], router: ROUTER_ID })),
    routers: [{ id: ROUTER_ID, addresses: [...addresses], nts: `${ADDR.routerWan}:${NTS_PORT}`, key: secrets.nts }],
    nts: {
      listen: `${ADDR.server}:${NTS_PORT}`, enCacheMs: mode.enCacheMs ?? 0, verifySource: mode.verifySource ?? 'cookie-or-tcp',
      ...(mode.capacity?.oneResolver ? { maxPendingPerResolver: ONE_RESOLVER.maxPendingPerResolver } : {}),
    },
    resolvers,
  });
}

function dataplaneConfig(kind: DataPlaneKind): Record<string, unknown> {
  if (kind === 'nftables') return { type: 'nftables', wan: WAN_IF, lan: LAN_IF };
  // Until the kernel plane exists: a relay on the services' ports; PROXY v2 tells the IN the EN.
  return { type: 'userspace', ports: [`tcp/${HTTP_PORT}`, `udp/${ECHO_PORT}`], proxyProtocol: true, lanAddress: ADDR.routerLan };
}


export function routerConfigObject(secrets: LabSecrets, mode: Pick<LabMode, 'dataplane' | 'learning' | 'delayMs' | 'capacity'> & { globalAddresses?: string[] }): Record<string, unknown> {
  const c = mode.capacity;
  const times = schedulerTimes(mode.delayMs);
  const holdMs = c?.holdMs ?? times.holdMs;
  const scheduler: Record<string, unknown> = { holdMs, rcTimeoutMs: c?.rcTimeoutMs ?? times.rcTimeoutMs };
  // The capacity bench's paper policies (hold 0) are an experiment: the router refuses them otherwise.
  if (holdMs < SAFE_HOLD_MS) scheduler.allowShortHold = true;
  if (c?.oneResolver) Object.assign(scheduler, { resolverQueueLimit: ONE_RESOLVER.resolverQueueLimit, reputation: { trusted: [`${ADDR.resolver}/32`] } });
  const cfg: Record<string, unknown> = {
    id: ROUTER_ID,
    key: secrets.nts,
    nts: { listen: `${ADDR.routerWan}:${NTS_PORT}` },
    server: `${ADDR.server}:${NTS_PORT}`,
    globalAddresses: mode.globalAddresses ?? [ADDR.routerWan],
    scheduler,
    dataplane: dataplaneConfig(mode.dataplane),
  };
  if (secrets.dashboard) cfg.dashboard = { listen: `127.0.0.1:${DASHBOARD_PORT}`, token: secrets.dashboard };
  if (mode.learning) {
    cfg.learning = { listen: `${ADDR.routerLan}:${LEARNING_PORT}`, server: `${ADDR.server}:53` };
    cfg.storage = 'router-phl.db';
  } else {
    cfg.phl = REGISTERED_AT_UP.map((h) => ({ name: fqdn(h), address: ADDR[h] }));
  }
  if (c) cfg.phl = [...((cfg.phl as unknown[] | undefined) ?? []), ...capacityHosts(c.hosts)];
  return cfg;
}

export function routerYaml(secrets: LabSecrets, mode: LabMode): string {
  return stringify(routerConfigObject(secrets, mode));
}

/** What this build's router accepts: the kernel data plane and PHL learning are being built in parallel. */
export function routerSupports(): { nftables: boolean; learning: boolean } {
  const s = newSecrets();
  const ok = (dataplane: DataPlaneKind, learning: boolean) =>
    routerConfigSchema.safeParse(routerConfigObject(s, { dataplane, learning, delayMs: 0 })).success;
  return { nftables: ok('nftables', false), learning: ok('userspace', true) };
}

/**
 * The router's own nft table when the router does not install one (userspace data plane):
 * masquerade for the LAN, and the LAN -> server:53 redirect to the learning proxy.
 */
export function routerAuxRuleset(table: string, learning: boolean): string {
  const redirect = learning
    ? [
      `    iifname "${LAN_IF}" ip daddr ${ADDR.server} udp dport 53 redirect to :${LEARNING_PORT}`,
      `    iifname "${LAN_IF}" ip daddr ${ADDR.server} tcp dport 53 redirect to :${LEARNING_PORT}`,
    ]
    : [];
  return [
    `table ip ${table} {`,
    '  chain lan_dns {',
    '    type nat hook prerouting priority dstnat - 10; policy accept;',
    ...redirect,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${WAN_IF}" masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * NTSS v1: `ntss resolver` as an EN's primary DNS. It forwards to the lab's recursive resolver
 * and, before answering a router's address, asks the router for an RC keyed on the EN.
 */
export function v1ResolverYaml(secrets: LabSecrets, addresses: readonly string[], enCacheMs: number): string {
  return stringify({
    listen: [`${ADDR.v1resolver}:53`],
    // The zone's authoritative directly: with the lab's recursive resolver in between, the
    // NTSv2 server would see that resolver and make a v2 RC too.
    upstream: [`${ADDR.server}:53`],
    forward: { sourceAddress: ADDR.v1resolver }, // the server knows it as v1 by this address
    allow: ['198.51.100.0/24'],
    routers: [{ id: ROUTER_ID, addresses: [...addresses], nts: `${ADDR.routerWan}:${NTS_PORT}`, key: secrets.nts }],
    nts: { listen: `${ADDR.v1resolver}:0`, enCacheMs }, // the lab's ENs keep nothing (curl), unless --en-cache
  });
}

export function nsupdateKey(h: string, secrets: LabSecrets): string {
  return `key "${h}-key." {\n  algorithm hmac-sha256;\n  secret "${secrets.tsig[h]}";\n};\n`;
}

/** The IN registers its own (private) address; the server publishes the router's for it. */
export function nsupdateScript(h: keyof typeof ADDR): string {
  return [
    `server ${ADDR.server} 53`,
    `zone ${ZONE}`,
    `update delete ${fqdn(h)} A`,
    `update add ${fqdn(h)} 60 A ${ADDR[h]}`,
    'send',
    '',
  ].join('\n');
}

export { schedulerTimes };
