// What binds a global address to one inside host besides an RC: answer leases (the answer may
// still come out of a cache downstream) and sticky entries (an EN that reached a host keeps
// reaching it). Both are claims over keys (claims.ts) with an end time; while one lives, no
// other host may claim an overlapping key (the scheduler asks blockers() before every grant).
// Pure data with the clock as an argument; bounded in size (a full table refuses new stickies,
// which only costs an EN a later connection, and never drops a lease, which would be unsafe).
import { MinHeap } from '../util/min-heap.js';
import { anyOverlap, formatClaimKey, keyMatches, parsePrefix, sameKeys, type ClaimKey, type PacketTuple } from './claims.js';
import type { Lease, Sticky } from './types.js';

export const MAX_STICKIES = 100_000;

/** When something ends; an extension pushes a new entry and the old one is skipped when it surfaces. */
interface Due { readonly until: number; readonly lease?: number; readonly sticky?: string }

// Every lookup here used to scan all leases (and expiry all stickies too): with the product's
// 61 s leases a router serving 40 lookups a second holds ~2500 and spent 15% of a core in those
// scans, growing with the square of the rate (ntss simulate, docs/eval/capacity.md "bindings").
// Hence the indexes below; results are the same as the scans', in the same order.
export class BindingTable {
  private readonly leases = new Map<number, Lease>();
  private readonly stickies = new Map<string, Sticky>();
  /** Leases by global address and source: the candidates of an overlap (ClaimIndex). */
  private readonly leaseIndex = new ClaimIndex<number>();
  /** Leases by host . fqdn . keys (the same lease again is an extension) and by host . address. */
  private readonly leaseBySignature = new Map<string, number>();
  private readonly leasesOn = new Map<string, number>();
  private readonly due = new MinHeap<Due>((a, b) => a.until < b.until);
  private nextId = 1;

  constructor(private readonly maxStickies = MAX_STICKIES) {}

  /** A lease for host on keys until `until`; an equal lease of the same host is extended instead. */
  lease(now: number, l: Omit<Lease, 'id' | 'createdAt'>): { lease: Lease; extended: boolean } {
    const sig = signature(l.privateAddress, l.fqdn, l.keys);
    const oldId = this.leaseBySignature.get(sig);
    const old = oldId === undefined ? undefined : this.leases.get(oldId);
    if (old) {
      const lease = Object.freeze({ ...old, until: Math.max(old.until, l.until) });
      this.leases.set(old.id, lease);
      if (lease.until !== old.until) this.due.push({ until: lease.until, lease: lease.id });
      return { lease, extended: true };
    }
    const lease: Lease = Object.freeze({ ...l, id: this.nextId++, createdAt: now });
    this.leases.set(lease.id, lease);
    this.leaseIndex.add(lease.id, lease.keys);
    this.leaseBySignature.set(sig, lease.id);
    const on = `${lease.privateAddress} ${lease.globalAddress}`;
    this.leasesOn.set(on, (this.leasesOn.get(on) ?? 0) + 1);
    this.due.push({ until: lease.until, lease: lease.id });
    return { lease, extended: false };
  }

  /** When the sticky entry on this key ends (undefined: none). */
  stickyEnd(key: ClaimKey): number | undefined {
    return this.stickies.get(formatClaimKey(key))?.until;
  }

  /**
   * The EN's sticky entry; the same key again (same host: the scheduler never lets another host
   * in while one lives) is extended. Undefined when the table is full.
   */
  stick(now: number, s: Omit<Sticky, 'id' | 'createdAt'>): { sticky: Sticky; replaced: boolean } | undefined {
    const k = formatClaimKey(s.key); // always stickyKey(): one EN, one port
    const old = this.stickies.get(k);
    if (!old && this.stickies.size >= this.maxStickies) return undefined;
    const sticky: Sticky = Object.freeze({ ...s, id: old?.id ?? this.nextId++, createdAt: old?.createdAt ?? now, until: Math.max(old?.until ?? 0, s.until) });
    this.stickies.set(k, sticky);
    if (sticky.until !== old?.until) this.due.push({ until: sticky.until, sticky: k });
    return { sticky, replaced: old !== undefined };
  }

  /**
   * End times of leases of other hosts that overlap `keys`. Stickies need no check: a sticky's
   * key is one packet tuple of its host's RC, and it ends by the end of that RC's hold or of a
   * lease of the host that matches the tuple (the scheduler's stickyUntil), both of which block
   * other hosts themselves.
   */
  blockers(keys: readonly ClaimKey[], privateAddress: string): number[] {
    const out: number[] = [];
    for (const id of this.leaseIndex.candidates(keys)) {
      const l = this.leases.get(id)!;
      if (l.privateAddress !== privateAddress && anyOverlap(l.keys, keys)) out.push(l.until);
    }
    return out;
  }

  /** How long the host's leases cover this packet tuple (-Infinity: none). */
  leaseEnd(privateAddress: string, p: PacketTuple): number {
    let t = -Infinity;
    for (const id of this.leaseIndex.candidates([{ source: p.src, dst: p.dst, proto: p.proto, ports: [p.dstPort, p.dstPort] }])) {
      const l = this.leases.get(id)!;
      if (l.privateAddress === privateAddress && l.until > t && l.keys.some((k) => keyMatches(k, p))) t = l.until;
    }
    return t;
  }

  hasLease(privateAddress: string, globalAddress: string): boolean {
    return this.leasesOn.has(`${privateAddress} ${globalAddress}`);
  }

  /** Some lease (of any host) on this global address. */
  anyLeaseOn(globalAddress: string): boolean {
    return this.leaseIndex.has(globalAddress);
  }

  /** The live sticky entry of this packet's EN, address, protocol and port. */
  sticky(p: PacketTuple, now: number): Sticky | undefined {
    const s = this.stickies.get(formatClaimKey(stickyKey(p)));
    return s && s.until > now ? s : undefined;
  }

  /** Earliest end of anything here; undefined when empty. */
  nextEnd(): number | undefined {
    this.skipStale();
    return this.due.peek()?.until;
  }

  /** Removes and returns what ended by t, each kind in order of creation. */
  expire(t: number): { leases: Lease[]; stickies: Sticky[] } {
    const leases: Lease[] = [];
    const stickies: Sticky[] = [];
    for (this.skipStale(); (this.due.peek()?.until ?? Infinity) <= t; this.skipStale()) {
      const d = this.due.pop()!;
      if (d.lease !== undefined) {
        const l = this.leases.get(d.lease)!;
        this.dropLease(l);
        leases.push(l);
      } else {
        stickies.push(this.stickies.get(d.sticky!)!);
        this.stickies.delete(d.sticky!);
      }
    }
    leases.sort((a, b) => a.id - b.id);
    stickies.sort((a, b) => a.id - b.id);
    return { leases, stickies };
  }

  listLeases(): Lease[] {
    return [...this.leases.values()].sort((a, b) => a.id - b.id);
  }

  listStickies(): Sticky[] {
    return [...this.stickies.values()].sort((a, b) => a.id - b.id);
  }

  /** Hosts and global addresses that some lease binds (the scheduler's spare rule). */
  leaseHoldings(): { hosts: Set<string>; addresses: Set<string> } {
    const hosts = new Set<string>();
    const addresses = new Set<string>();
    for (const on of this.leasesOn.keys()) {
      const [h, ga] = on.split(' ');
      hosts.add(h!);
      addresses.add(ga!);
    }
    return { hosts, addresses };
  }

  /** Drops heap entries whose lease or sticky entry has gone or been extended since. */
  private skipStale(): void {
    for (let d = this.due.peek(); d; d = this.due.peek()) {
      const current = d.lease !== undefined ? this.leases.get(d.lease)?.until : this.stickies.get(d.sticky!)?.until;
      if (current === d.until) return;
      this.due.pop();
    }
  }

  private dropLease(l: Lease): void {
    this.leases.delete(l.id);
    this.leaseIndex.remove(l.id, l.keys);
    this.leaseBySignature.delete(signature(l.privateAddress, l.fqdn, l.keys));
    const on = `${l.privateAddress} ${l.globalAddress}`;
    const n = (this.leasesOn.get(on) ?? 1) - 1;
    if (n > 0) this.leasesOn.set(on, n);
    else this.leasesOn.delete(on);
  }
}

/** What makes two leases "the same" (lease(): sameKeys, the host and the name). */
function signature(privateAddress: string, fqdn: string, keys: readonly ClaimKey[]): string {
  return `${privateAddress}\n${fqdn}\n${keys.map(formatClaimKey).sort().join(',')}`;
}

/**
 * Claims by global address, then by source: an EN's /32 under its address, prefixes and `any`
 * together. A key can only overlap claims on its own address and, for a /32, only that /32's
 * and the wide ones: candidates() is a superset of the overlaps, callers check each.
 */
export class ClaimIndex<T> {
  private readonly byDst = new Map<string, { hosts: Map<number, Set<T>>; wide: Set<T> }>();

  add(item: T, keys: readonly ClaimKey[]): void {
    for (const k of keys) {
      let b = this.byDst.get(k.dst);
      if (!b) this.byDst.set(k.dst, (b = { hosts: new Map(), wide: new Set() }));
      const p = parsePrefix(k.source);
      if (p.len < 32) b.wide.add(item);
      else {
        let set = b.hosts.get(p.net);
        if (!set) b.hosts.set(p.net, (set = new Set()));
        set.add(item);
      }
    }
  }

  remove(item: T, keys: readonly ClaimKey[]): void {
    for (const k of keys) {
      const b = this.byDst.get(k.dst);
      if (!b) continue;
      const p = parsePrefix(k.source);
      if (p.len < 32) b.wide.delete(item);
      else {
        const set = b.hosts.get(p.net);
        set?.delete(item);
        if (set?.size === 0) b.hosts.delete(p.net);
      }
      if (b.wide.size === 0 && b.hosts.size === 0) this.byDst.delete(k.dst);
    }
  }

  has(dst: string): boolean {
    return this.byDst.has(dst);
  }

  candidates(keys: readonly ClaimKey[]): Set<T> {
    const out = new Set<T>();
    for (const k of keys) {
      const b = this.byDst.get(k.dst);
      if (!b) continue;
      for (const x of b.wide) out.add(x);
      const p = parsePrefix(k.source);
      if (p.len === 32) for (const x of b.hosts.get(p.net) ?? []) out.add(x);
      else for (const set of b.hosts.values()) for (const x of set) out.add(x);
    }
    return out;
  }
}

/** The key of an EN's sticky entry: exactly its address, the global address, protocol and port. */
export function stickyKey(p: PacketTuple): ClaimKey {
  return { source: `${p.src}/32`, dst: p.dst, proto: p.proto, ports: [p.dstPort, p.dstPort] };
}
