// The load lab's extra addresses (bench/capacity, src/lab/capacity.ts): inside hosts h1..hN,
// all served by carol's services on extra LAN addresses, and many EN source addresses on the
// ENs' segment. Requests for one host share its RC, so a burst needs distinct hosts to load
// the router at all; distinct sources make each ECS prefix RC name one lookup.
import { ZONE } from './topology.js';

/** carol's namespace answers for every capacity host (its services report the local address). */
export const CAPACITY_HOST_NS = 'carol';
export const MAX_CAPACITY_HOSTS = 150;
const HOST_BASE = 100; // 192.168.50.100 .. .249

/**
 * The lab's knobs for a load run (`UpOptions.capacity`). `oneResolver` lifts the per-resolver
 * shares that protect one resolver from another (the lab has one resolver, the ENs' ISP's):
 * the router's resolverQueueLimit becomes its queueLimit, the server's maxPendingPerResolver
 * 4096, and the router trusts the resolver's reputation. Off = the product's defaults.
 */
/** What `oneResolver` sets: the router's queue share at its queueLimit (250), the server's in-flight share at its maxPending. */
export const ONE_RESOLVER = { resolverQueueLimit: 250, maxPendingPerResolver: 4096 } as const;

export interface CapacityTuning {
  /** Inside hosts h1..hN (1..150). */
  hosts: number;
  /** The router's holdMs / rcTimeoutMs instead of the lab's schedulerTimes(). */
  holdMs?: number;
  rcTimeoutMs?: number;
  oneResolver?: boolean;
}

export function checkCapacityTuning(t: CapacityTuning): void {
  if (!Number.isInteger(t.hosts) || t.hosts < 1 || t.hosts > MAX_CAPACITY_HOSTS) throw new RangeError(`capacity hosts: 1..${MAX_CAPACITY_HOSTS}, got ${t.hosts}`);
  for (const k of ['holdMs', 'rcTimeoutMs'] as const) {
    const v = t[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 60_000)) throw new RangeError(`capacity ${k}: 0..60000 ms, got ${v}`);
  }
}

/** 1-based: h1 .. hN. */
export function capacityHostName(i: number): string {
  return `h${i}.${ZONE}`;
}

export function capacityHostAddress(i: number): string {
  return `192.168.50.${HOST_BASE + i - 1}`;
}

export function capacityHosts(n: number): Array<{ name: string; address: string }> {
  return Array.from({ length: n }, (_, k) => ({ name: capacityHostName(k + 1), address: capacityHostAddress(k + 1) }));
}

/**
 * EN source addresses: 198.51.100.100 .. .250 (free in topology.ts: the ENs are .11-.13, the
 * resolver .53/.54), then 100.64.0.1 .. (shared address space, RFC 6598: a second prefix on the
 * ENs' segment, reached on-link by the resolver and the core while a run adds it: capacity.ts).
 * A burst larger than the bound needs that many distinct sources: under ECS each RC names one.
 */
export const SOURCE_FIRST = 100;
export const SOURCE_LAST = 250;
export const EXTRA_SOURCE_PREFIX = '100.64.0.0/16';
export const MAX_SOURCES = SOURCE_LAST - SOURCE_FIRST + 1 + 2000;

export function sourceAddress(k: number): string {
  const inLab = SOURCE_LAST - SOURCE_FIRST + 1;
  if (k < inLab) return `198.51.100.${SOURCE_FIRST + k}`;
  const j = k - inLab + 1; // 100.64.0.1 ..; .0 and .255 of each /24 skipped for readability
  return `100.64.${Math.floor((j - 1) / 254)}.${((j - 1) % 254) + 1}`;
}

export function sourceAddresses(n: number): string[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_SOURCES) throw new RangeError(`sources: 1..${MAX_SOURCES}, got ${n}`);
  return Array.from({ length: n }, (_, k) => sourceAddress(k));
}

/** Whether a run with n sources needs the extra prefix (its routes and the resolver's access). */
export function needsExtraPrefix(n: number): boolean {
  return n > SOURCE_LAST - SOURCE_FIRST + 1;
}
