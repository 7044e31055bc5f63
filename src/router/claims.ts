// Claim keys: what an RC, an answer lease or a sticky entry reserves on a global address.
// A key is `source prefix . global address . protocol . port range`, the shape of the kernel's
// map keys (src/dataplane/nft-ruleset.ts), so the data plane installs keys unchanged.
// Two keys overlap when some packet matches both. The scheduler never lets keys of two
// different inside hosts overlap (docs/leases.md): that is what makes "never the wrong host"
// hold by construction, and what keeps the kernel from refusing overlapping interval elements.
import type { Proto } from './types.js';

/** What an inside host serves: all ports of a protocol range ("any" = TCP and UDP). */
export interface Service {
  readonly proto: Proto | 'any';
  readonly ports: readonly [number, number];
}

export interface ClaimKey {
  /** "0.0.0.0/0" (any source), an ECS prefix "198.51.100.0/24", or an EN "198.51.100.7/32". */
  readonly source: string;
  readonly dst: string;
  readonly proto: Proto | 'any';
  readonly ports: readonly [number, number];
}

export const ALL_SERVICES: readonly Service[] = Object.freeze([Object.freeze({ proto: 'any', ports: [0, 65535] as const })]);
export const ANY_SOURCE = '0.0.0.0/0';

/** "tcp/22", "udp/5000-5100", "any/443" -> Service; an error string when malformed. */
export function parseService(s: string): Service | string {
  const m = /^(tcp|udp|any)\/(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  const lo = m ? Number(m[2]) : NaN;
  const hi = m ? Number(m[3] ?? m[2]) : NaN;
  if (!m || lo < 1 || hi > 65535 || lo > hi) {
    return `expected "tcp/PORT", "udp/PORT", "tcp/LOW-HIGH" (or "any/..." for both) with ports 1..65535, got ${JSON.stringify(s)}`;
  }
  return { proto: m[1] as Service['proto'], ports: [lo, hi] };
}

export function formatService(s: Service): string {
  const ports = s.ports[0] === s.ports[1] ? `${s.ports[0]}` : `${s.ports[0]}-${s.ports[1]}`;
  return s.proto === 'any' && s.ports[0] === 0 && s.ports[1] === 65535 ? 'all' : `${s.proto}/${ports}`;
}

/** The keys an RC (or lease) for a host with these services holds on one global address. */
export function keysFor(source: string, dst: string, services: readonly Service[]): ClaimKey[] {
  return services.map((s) => ({ source, dst, proto: s.proto, ports: s.ports }));
}

interface Prefix { net: number; len: number }

const prefixCache = new Map<string, Prefix>();

/** IPv4 "a.b.c.d/len" or a bare address (= /32). Throws on anything else (a caller's bug). */
export function parsePrefix(p: string): Prefix {
  const hit = prefixCache.get(p);
  if (hit) return hit;
  const [addr, lenText] = p.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  const o = addr.split('.').map(Number);
  if (o.length !== 4 || o.some((x) => !Number.isInteger(x) || x < 0 || x > 255) || !Number.isInteger(len) || len < 0 || len > 32) {
    throw new Error(`not an IPv4 prefix: ${JSON.stringify(p)}`);
  }
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const r = { net: ((((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0) & mask) >>> 0, len };
  if (prefixCache.size > 10_000) prefixCache.clear(); // bounded: ECS prefixes come from outside
  prefixCache.set(p, r);
  return r;
}

/** Canonical "net/len" text (host bits cleared). */
export function normalizePrefix(p: string): string {
  const { net, len } = parsePrefix(p);
  return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len}`;
}

function prefixesOverlap(a: string, b: string): boolean {
  const x = parsePrefix(a);
  const y = parsePrefix(b);
  const len = Math.min(x.len, y.len);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((x.net & mask) >>> 0) === ((y.net & mask) >>> 0);
}

export function prefixContains(prefix: string, address: string): boolean {
  const p = parsePrefix(prefix);
  const a = parsePrefix(address);
  const mask = p.len === 0 ? 0 : (0xffffffff << (32 - p.len)) >>> 0;
  return ((a.net & mask) >>> 0) === p.net;
}

function protoOverlap(a: ClaimKey['proto'], b: ClaimKey['proto']): boolean {
  return a === 'any' || b === 'any' || a === b;
}

/** Some packet matches both keys. */
export function keysOverlap(a: ClaimKey, b: ClaimKey): boolean {
  return a.dst === b.dst && protoOverlap(a.proto, b.proto)
    && a.ports[0] <= b.ports[1] && b.ports[0] <= a.ports[1] && prefixesOverlap(a.source, b.source);
}

export function anyOverlap(as: readonly ClaimKey[], bs: readonly ClaimKey[]): boolean {
  return as.some((a) => bs.some((b) => keysOverlap(a, b)));
}

export function sameKeys(as: readonly ClaimKey[], bs: readonly ClaimKey[]): boolean {
  const text = (ks: readonly ClaimKey[]) => ks.map(formatClaimKey).sort().join(',');
  return as.length === bs.length && text(as) === text(bs);
}

export interface PacketTuple {
  readonly src: string;
  readonly dst: string;
  readonly proto: Proto;
  readonly dstPort: number;
}

export function keyMatches(k: ClaimKey, p: PacketTuple): boolean {
  return k.dst === p.dst && (k.proto === 'any' || k.proto === p.proto)
    && k.ports[0] <= p.dstPort && p.dstPort <= k.ports[1] && prefixContains(k.source, p.src);
}

export function formatClaimKey(k: ClaimKey): string {
  const ports = k.ports[0] === k.ports[1] ? `${k.ports[0]}` : `${k.ports[0]}-${k.ports[1]}`;
  return `${k.source} . ${k.dst} . ${k.proto} . ${ports}`;
}
