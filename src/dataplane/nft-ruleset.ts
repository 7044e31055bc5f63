// The nftables data plane's vocabulary, pure: the static table (rules never change while the
// router runs, shared/design/dataplane.md) and the typed commands that change state, which are
// only map elements. Commands are values so the fake (nft-fake.ts) can validate them like the
// kernel does; the real runner renders them with renderCommand() into `nft` syntax.
import { ANY_SOURCE, type ClaimKey } from '../router/index.js';
import type { PortSpec } from './types.js';

// The maps, looked up in this order by `prerouting` (the first that has the key wins):
export const RC_HOST_MAP = 'rc_host'; // EN/32 . GA . proto, all ports: ECS /32 and v1 RCs (a hash)
export const RC_MAP = 'rc';         // the other source-specific RCs: ECS prefixes, port ranges
export const RC_ANY_MAP = 'rc_any'; // at most one `any` RC per global address (the kernel refuses overlaps)
export const STICKY_MAP = 'sticky'; // EN/32 . GA . proto . port: the scheduler's sticky entries (docs/leases.md; a hash)
/** The DNAT maps in lookup order. */
export const LOOKUP_ORDER = [RC_HOST_MAP, RC_MAP, RC_ANY_MAP, STICKY_MAP] as const;

// Why two kinds of map: a map with intervals in a concatenation is a pipapo set, whose element
// delete costs time linear in the map's size, and every transaction waits behind it. Keys without
// ranges go into hash maps instead, constant time (`node bench/nft-maps/run.mjs --quick`; numbers
// in docs/eval/capacity.md, "Where a burst's time and CPU go"): an EN's /32 over all ports
// (rc_host) and sticky entries. An EN's /32 on one service port stays in `rc` (per-service RCs
// with ECS or v1 are rare; a fifth map would take them too).
export const INTERVAL_MAP = 'type ipv4_addr . ipv4_addr . inet_proto . inet_service : ipv4_addr ; flags interval,timeout ; counter ;';
export const HOST_MAP = 'type ipv4_addr . ipv4_addr . inet_proto : ipv4_addr ; flags timeout ; counter ;';
const EXACT_MAP = 'type ipv4_addr . ipv4_addr . inet_proto . inet_service : ipv4_addr ; flags timeout ; counter ;';
const MAP_TYPES: Record<(typeof LOOKUP_ORDER)[number], string> = {
  [RC_HOST_MAP]: HOST_MAP, [RC_MAP]: INTERVAL_MAP, [RC_ANY_MAP]: INTERVAL_MAP, [STICKY_MAP]: EXACT_MAP,
};
/** What each map's key is made of, as the `dnat ... map` rule looks it up. */
const LOOKUP_KEYS: Record<(typeof LOOKUP_ORDER)[number], string> = {
  [RC_HOST_MAP]: 'ip saddr . ip daddr . meta l4proto',
  [RC_MAP]: 'ip saddr . ip daddr . meta l4proto . th dport',
  [RC_ANY_MAP]: 'ip saddr . ip daddr . meta l4proto . th dport',
  [STICKY_MAP]: 'ip saddr . ip daddr . meta l4proto . th dport',
};
/**
 * The ct mark bit of a flow the kernel admitted through `sticky` alone (no RC element matched).
 * Such a flow sends no conntrack events (`ct event set 0`): an EN already let in costs the
 * router nothing per connection (bench/dataplane); the listing leaves it out (`--mark 0/BIT`).
 */
export const STICKY_CT_MARK = 0x4000;
/** Named counter: flows admitted through `sticky` alone, since the table was installed. */
export const STICKY_COUNTER = 'sticky_admitted';

export interface RulesetOptions {
  table: string;
  wan: string;
  lan: string;
  /** Services of the router itself on the WAN side (the NTS port first): never DNATed, accepted. */
  localServices: readonly PortSpec[];
  /** Interfaces whose input is accepted as a whole (a management interface). */
  trustedInterfaces: readonly string[];
  /** LAN traffic to server:serverPort (default 53; UDP and TCP) goes to the router's `port` (DNS UPDATE learning). */
  dnsRedirect?: DnsRedirect;
}

export interface DnsRedirect {
  readonly server: string;
  readonly serverPort?: number;
  /** The proxy's port; `redirect` sends to the LAN interface's primary address. */
  readonly port: number;
}

/** A key of the RC maps: source prefix . global address . protocol . port range (the scheduler's ClaimKey). */
export type RcKey = ClaimKey;

export type NftCommand =
  /** A static statement (add table/map/chain/rule), in nft syntax. */
  | { readonly kind: 'raw'; readonly text: string }
  | { readonly kind: 'delete-table'; readonly table: string }
  | {
      readonly kind: 'add-element'; readonly table: string; readonly map: string;
      readonly key: RcKey; readonly value: string; readonly timeoutMs?: number;
      /**
       * The element must be gone from the kernel by this time (the plane's clock): the batcher
       * turns it into `timeoutMs` when the transaction is built, not when the change was queued.
       */
      readonly endsAt?: number;
    }
  | { readonly kind: 'delete-element'; readonly table: string; readonly map: string; readonly key: RcKey };

/**
 * The static table as `add` statements, in order. Installing it is one transaction that first
 * adds and deletes the table, so a leftover from a crashed run is replaced atomically
 * (installCommands()).
 */
export function staticRuleset(o: RulesetOptions): string[] {
  const t = `ip ${o.table}`;
  const wan = quote(o.wan);
  const lan = quote(o.lan);
  const services = o.localServices.map((s) => `${s.proto} dport ${s.port}`);
  const out = [
    `add table ${t}`,
    ...LOOKUP_ORDER.map((m) => `add map ${t} ${m} { ${MAP_TYPES[m]} }`),
    `add counter ${t} ${STICKY_COUNTER}`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat ; policy accept ; }`,
    // Trap 3: an any/any RC would capture the router's own ports; accepting here skips the DNAT.
    ...services.map((s) => `add rule ${t} prerouting iifname ${wan} ${s} accept`),
    // Trap 1: `th dport` needs the protocol known first. Trap 2: overlapping keys cannot share
    // a map, hence one map per kind, tried in order. The order decides nothing: the scheduler
    // keeps the keys of different hosts disjoint (docs/leases.md).
    ...LOOKUP_ORDER.flatMap((m) => [
      // `dnat` ends the chain, so this rule sees only packets that matched no RC element. A
      // flow that follows a sticky element is the scheduler's decision already (the element
      // mirrors its entry, which names the host this EN reached): no events, so the router does
      // not classify it again (src/dataplane/README.md, "Sticky flows are silent").
      ...(m === STICKY_MAP ? [`add rule ${t} prerouting iifname ${wan} meta l4proto { tcp, udp } ${LOOKUP_KEYS[m]} @${m} counter name ${STICKY_COUNTER} ct mark set ct mark or 0x${STICKY_CT_MARK.toString(16)} ct event set 0`] : []),
      `add rule ${t} prerouting iifname ${wan} meta l4proto { tcp, udp } dnat ip to ${LOOKUP_KEYS[m]} map @${m}`,
    ]),
  ];
  if (o.dnsRedirect) {
    const { server, serverPort = 53, port } = o.dnsRedirect;
    out.push(`add chain ${t} lan_dns { type nat hook prerouting priority dstnat - 10 ; policy accept ; }`);
    for (const p of ['udp', 'tcp']) out.push(`add rule ${t} lan_dns iifname ${lan} ip daddr ${server} ${p} dport ${serverPort} redirect to :${port}`);
  }
  out.push(
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat ; policy accept ; }`,
    `add rule ${t} postrouting oifname ${wan} masquerade`,
    `add chain ${t} forward { type filter hook forward priority filter ; policy drop ; }`,
    `add rule ${t} forward ct state established,related accept`,
    // An invalid packet is never NATed: forwarded, it would leak a private source address.
    `add rule ${t} forward ct state invalid drop`,
    `add rule ${t} forward iifname ${lan} oifname ${wan} accept`,
    `add rule ${t} forward iifname ${wan} oifname ${lan} ct status dnat accept`,
    // Trap 4: what the input policy drops leaves no conntrack entry to shadow a later RC.
    `add chain ${t} input { type filter hook input priority filter ; policy drop ; }`,
    `add rule ${t} input iif "lo" accept`,
    `add rule ${t} input ct state established,related accept`,
    `add rule ${t} input ct state invalid drop`,
    `add rule ${t} input iifname ${lan} accept`,
    ...o.trustedInterfaces.map((i) => `add rule ${t} input iifname ${quote(i)} accept`),
    ...services.map((s) => `add rule ${t} input iifname ${wan} ${s} accept`),
    `add rule ${t} input icmp type echo-request limit rate 10/second accept`,
  );
  return out;
}

/** One transaction: replaces any table of that name (add + delete never fails) with the static one. */
export function installCommands(o: RulesetOptions): NftCommand[] {
  return [
    { kind: 'raw', text: `add table ip ${o.table}` },
    { kind: 'delete-table', table: o.table },
    ...staticRuleset(o).map((text): NftCommand => ({ kind: 'raw', text })),
  ];
}

export function anyKey(globalAddress: string): RcKey {
  return { source: '0.0.0.0/0', dst: globalAddress, proto: 'any', ports: [0, 65535] };
}

/**
 * The kernel elements of an RC's keys: `any` sources in rc_any; an EN's /32 over all ports in
 * rc_host, one element per protocol (the DNAT rules only see TCP and UDP); the rest in rc.
 */
export function rcElementsFor(keys: readonly RcKey[]): Array<{ map: string; key: RcKey }> {
  return keys.flatMap((key) => {
    if (key.source === ANY_SOURCE) return [{ map: RC_ANY_MAP, key }];
    if (!isHostKey(key)) return [{ map: RC_MAP, key }];
    const protos = key.proto === 'any' ? (['tcp', 'udp'] as const) : [key.proto];
    return protos.map((proto) => ({ map: RC_HOST_MAP, key: { ...key, proto } }));
  });
}

function isHostKey(k: RcKey): boolean {
  return k.source.endsWith('/32') && k.ports[0] === 0 && k.ports[1] === 65535;
}

/** A key in `nft` syntax for `map` (rc_host keys have no port: they cover all). */
export function formatKey(k: RcKey, map?: string): string {
  const source = k.source.endsWith('/32') ? k.source.slice(0, -3) : k.source;
  const proto = k.proto === 'any' ? '0-255' : k.proto;
  if (map === RC_HOST_MAP) return `${source} . ${k.dst} . ${proto}`;
  const ports = k.ports[0] === k.ports[1] ? `${k.ports[0]}` : `${k.ports[0]}-${k.ports[1]}`;
  return `${source} . ${k.dst} . ${proto} . ${ports}`;
}

/** nft time: whole seconds as "30s", anything else in ms ("3500ms"); nft accepts both. */
export function formatTimeout(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function formatElement(key: RcKey, value: string, timeoutMs?: number, map?: string): string {
  return `${formatKey(key, map)}${timeoutMs === undefined ? '' : ` timeout ${formatTimeout(timeoutMs)}`} : ${value}`;
}

export function renderCommand(c: NftCommand): string {
  switch (c.kind) {
    case 'raw': return c.text;
    case 'delete-table': return `delete table ip ${c.table}`;
    case 'add-element': return `add element ip ${c.table} ${c.map} { ${formatElement(c.key, c.value, c.timeoutMs, c.map)} }`;
    case 'delete-element': return `delete element ip ${c.table} ${c.map} { ${formatKey(c.key, c.map)} }`;
  }
}

/** Names go into nft text; config validation keeps quotes and spaces out, this is the last guard. */
function quote(name: string): string {
  if (!/^[A-Za-z0-9_.:@+-]{1,15}$/.test(name)) throw new Error(`invalid interface name ${JSON.stringify(name)}`);
  return `"${name}"`;
}
