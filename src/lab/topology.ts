// The lab's topology as data: every namespace, link and address in one place, so that building,
// tearing down, configuring and the scenarios all read the same description.
//
//   en1 en2 en3 resolver (198.51.100.0/24)     root server (192.0.2.0/24)
//          \  |  /                                  \   /
//          [br-en] ------ inet (core router) ---- [br-infra]
//                               |
//                               |          attacker (192.0.2.100-109, on br-infra)
//                           [br-wan] (203.0.113.0/24)
//                               |
//                     wan0 203.0.113.2  router  lan0 192.168.50.1
//                                                 |
//                                  lan (switch) [br-lan]
//                                     /     |     \
//                                 alice    bob    carol (192.168.50.10-12)
//
// Each host is its own namespace `<prefix>-<host>`. A host's interface is one end of a veth
// pair whose other end is a port of a bridge in the core (`inet`) or switch (`lan`) namespace;
// the pair is created directly inside the namespaces, so the host's own network never sees it.
// `--delay` is the RTT between two Internet segments (each routed crossing of the core costs
// half of it); hosts in one segment, like the ENs and their resolver, are neighbours.

export type Role = 'core' | 'switch' | 'root' | 'resolver' | 'server' | 'router' | 'en' | 'in' | 'attacker';

export interface Segment {
  /** Bridge name, inside `ns`. */
  bridge: string;
  /** The namespace that holds the bridge. */
  ns: string;
  /** The bridge's own address (the core's gateway address on this segment), CIDR. */
  address?: string;
  /** Crossing between Internet segments costs the lab's delay and loss. */
  internet: boolean;
}

export interface Interface {
  name: string;
  segment: keyof typeof SEGMENTS;
  /** CIDR. */
  address: string;
  gateway?: string;
}

export interface HostSpec {
  name: string;
  role: Role;
  ifaces: Interface[];
  /** Routes between interfaces (core, router). */
  forwarding?: boolean;
  /** /etc/netns/<ns>/resolv.conf: the lab resolver, so getent/curl/socat resolve through it. */
  useResolver?: boolean;
}

export const SEGMENTS = {
  infra: { bridge: 'br-infra', ns: 'inet', address: '192.0.2.1/24', internet: true },
  en: { bridge: 'br-en', ns: 'inet', address: '198.51.100.1/24', internet: true },
  wan: { bridge: 'br-wan', ns: 'inet', address: '203.0.113.1/24', internet: true },
  lan: { bridge: 'br-lan', ns: 'lan', internet: false },
} as const satisfies Record<string, Segment>;

export const ADDR = {
  root: '192.0.2.10',
  resolver: '198.51.100.53',
  /** `ntss resolver` (NTSS v1), a second address of the resolver host; started by scenario v1. */
  v1resolver: '198.51.100.54',
  server: '192.0.2.53',
  /** The flood's attackers (scenario `flood`): 192.0.2.100 and, added when needed, up to .109. */
  attacker: '192.0.2.100',
  en1: '198.51.100.11',
  en2: '198.51.100.12',
  en3: '198.51.100.13',
  routerWan: '203.0.113.2', // the first global address; the router's NTS socket
  /** Not NTS-managed: the plain name's address, put on wan0 with a static DNAT to alice by scenario `latency`. */
  plain: '203.0.113.100',
  routerLan: '192.168.50.1',
  alice: '192.168.50.10',
  bob: '192.168.50.11',
  carol: '192.168.50.12',
} as const;

export const ZONE = 'home.example.';
export const ROOT_NS = 'a.root-servers.test.'; // .test: reserved for testing (RFC 6761)
/** The probe authoritative (probe-auth.ts, scenario `profile`): a second address of the server host. */
export const PROBE_ZONE = 'probe.example.';
export const PROBE_ADDR = '192.0.2.54';

/** `--global-addresses N`: the router's WAN holds 203.0.113.2 .. 203.0.113.(N+1). */
export const MAX_GLOBAL_ADDRESSES = 8;
export function globalAddresses(n: number): string[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_GLOBAL_ADDRESSES) throw new RangeError(`global addresses: 1..${MAX_GLOBAL_ADDRESSES}, got ${n}`);
  return Array.from({ length: n }, (_, i) => `203.0.113.${2 + i}`);
}
export const ROUTER_ID = 'gw1';
/** The router's NTS port (on its WAN address) and the server's NTS socket (REGISTER target). */
export const NTS_PORT = 5300;
/** The router's learning proxy (LAN side) for DNS UPDATEs redirected from LAN -> server:53. */
export const LEARNING_PORT = 5353;
/** The router's dashboard, on the router namespace's loopback (`ntss lab exec router -- curl ...`). */
export const DASHBOARD_PORT = 8080;
export const WAN_IF = 'wan0';
export const LAN_IF = 'lan0';
export const HTTP_PORT = 80;
export const ECHO_PORT = 7;

/** Inside hosts: the ones that register at `up` (carol registers in the `learning` scenario). */
export const INSIDE_HOSTS = ['alice', 'bob', 'carol'] as const;
export type InsideHost = (typeof INSIDE_HOSTS)[number];
export const REGISTERED_AT_UP: readonly InsideHost[] = ['alice', 'bob'];
export const EXTERNAL_NODES = ['en1', 'en2', 'en3'] as const;
export type ExternalNode = (typeof EXTERNAL_NODES)[number];

const host = (name: keyof typeof ADDR, role: Role, segment: Interface['segment'], gateway: string, extra: Partial<HostSpec> = {}): HostSpec => ({
  name, role, ifaces: [{ name: 'eth0', segment, address: `${ADDR[name]}/24`, gateway }], ...extra,
});

export const HOSTS: readonly HostSpec[] = [
  { name: 'inet', role: 'core', ifaces: [], forwarding: true },
  { name: 'lan', role: 'switch', ifaces: [] },
  host('root', 'root', 'infra', '192.0.2.1'),
  host('resolver', 'resolver', 'en', '198.51.100.1'), // the ENs' ISP resolver: near them
  host('server', 'server', 'infra', '192.0.2.1'),
  // On the infra segment, not the ENs': forging the resolver's address there would be an address
  // conflict on br-en (flood.ts routes it through the core instead).
  host('attacker', 'attacker', 'infra', '192.0.2.1'),
  host('en1', 'en', 'en', '198.51.100.1', { useResolver: true }),
  host('en2', 'en', 'en', '198.51.100.1', { useResolver: true }),
  host('en3', 'en', 'en', '198.51.100.1', { useResolver: true }),
  {
    name: 'router', role: 'router', forwarding: true,
    ifaces: [
      { name: WAN_IF, segment: 'wan', address: `${ADDR.routerWan}/24`, gateway: '203.0.113.1' },
      { name: LAN_IF, segment: 'lan', address: `${ADDR.routerLan}/24` },
    ],
  },
  host('alice', 'in', 'lan', ADDR.routerLan, { useResolver: true }),
  host('bob', 'in', 'lan', ADDR.routerLan, { useResolver: true }),
  host('carol', 'in', 'lan', ADDR.routerLan, { useResolver: true }),
];

export function hostSpec(name: string): HostSpec | undefined {
  return HOSTS.find((h) => h.name === name);
}

/** The namespace of a host in the lab with this prefix. Prefixes have no "-", so `<prefix>-` is unambiguous. */
export function nsName(prefix: string, hostName: string): string {
  return `${prefix}-${hostName}`;
}

export const PREFIX_RE = /^[a-z][a-z0-9]{0,15}$/;

/** The FQDN an inside host registers. */
export function fqdn(h: string): string {
  return `${h}.${ZONE}`;
}
