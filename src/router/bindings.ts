// What binds a global address to one inside host besides an RC: answer leases (the answer may
// still come out of a cache downstream) and sticky entries (an EN that reached a host keeps
// reaching it). Both are claims over keys (claims.ts) with an end time; while one lives, no
// other host may claim an overlapping key (the scheduler asks blockers() before every grant).
// Pure data with the clock as an argument; bounded in size (a full table refuses new stickies,
// which only costs an EN a later connection, and never drops a lease, which would be unsafe).
import { anyOverlap, formatClaimKey, keyMatches, sameKeys, type ClaimKey, type PacketTuple } from './claims.js';
import type { Lease, Sticky } from './types.js';

export const MAX_STICKIES = 100_000;

export class BindingTable {
  private readonly leases = new Map<number, Lease>();
  private readonly stickies = new Map<string, Sticky>();
  private nextId = 1;
  /**
   * nextEnd() without a scan of up to MAX_STICKIES entries on every scheduler call: adding
   * can only lower the minimum; removing (expire) makes it stale, recomputed on the next ask.
   */
  private earliest: number | undefined = undefined;
  private stale = false;

  constructor(private readonly maxStickies = MAX_STICKIES) {}

  /** A lease for host on keys until `until`; an equal lease of the same host is extended instead. */
  lease(now: number, l: Omit<Lease, 'id' | 'createdAt'>): { lease: Lease; extended: boolean } {
    for (const [id, old] of this.leases) {
      if (old.privateAddress !== l.privateAddress || old.fqdn !== l.fqdn || !sameKeys(old.keys, l.keys)) continue;
      const lease = Object.freeze({ ...old, until: Math.max(old.until, l.until) });
      this.leases.set(id, lease);
      this.stale = true; // an extension may have moved the minimum up
      return { lease, extended: true };
    }
    const lease: Lease = Object.freeze({ ...l, id: this.nextId++, createdAt: now });
    this.leases.set(lease.id, lease);
    this.added(lease.until);
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
    if (old) this.stale = true;
    else this.added(sticky.until);
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
    for (const l of this.leases.values()) if (l.privateAddress !== privateAddress && anyOverlap(l.keys, keys)) out.push(l.until);
    return out;
  }

  /** How long the host's leases cover this packet tuple (-Infinity: none). */
  leaseEnd(privateAddress: string, p: PacketTuple): number {
    let t = -Infinity;
    for (const l of this.leases.values()) {
      if (l.privateAddress === privateAddress && l.until > t && l.keys.some((k) => keyMatches(k, p))) t = l.until;
    }
    return t;
  }

  hasLease(privateAddress: string, globalAddress: string): boolean {
    for (const l of this.leases.values()) if (l.privateAddress === privateAddress && l.globalAddress === globalAddress) return true;
    return false;
  }

  /** The live sticky entry of this packet's EN, address, protocol and port. */
  sticky(p: PacketTuple, now: number): Sticky | undefined {
    const s = this.stickies.get(formatClaimKey(stickyKey(p)));
    return s && s.until > now ? s : undefined;
  }

  /** Earliest end of anything here; undefined when empty. */
  nextEnd(): number | undefined {
    if (this.stale) {
      let t = Infinity;
      for (const l of this.leases.values()) t = Math.min(t, l.until);
      for (const s of this.stickies.values()) t = Math.min(t, s.until);
      this.earliest = t === Infinity ? undefined : t;
      this.stale = false;
    }
    return this.earliest;
  }

  private added(until: number): void {
    if (!this.stale) this.earliest = this.earliest === undefined ? until : Math.min(this.earliest, until);
  }

  /** Removes and returns what ended by t. */
  expire(t: number): { leases: Lease[]; stickies: Sticky[] } {
    const leases: Lease[] = [];
    const stickies: Sticky[] = [];
    if (this.earliest === undefined ? !this.stale : this.earliest > t && !this.stale) return { leases, stickies }; // nothing due
    for (const [id, l] of this.leases) if (l.until <= t) { this.leases.delete(id); leases.push(l); }
    for (const [k, s] of this.stickies) if (s.until <= t) { this.stickies.delete(k); stickies.push(s); }
    if (leases.length + stickies.length > 0) this.stale = true;
    return { leases, stickies };
  }

  listLeases(): Lease[] {
    return [...this.leases.values()].sort((a, b) => a.id - b.id);
  }

  listStickies(): Sticky[] {
    return [...this.stickies.values()].sort((a, b) => a.id - b.id);
  }
}

/** The key of an EN's sticky entry: exactly its address, the global address, protocol and port. */
export function stickyKey(p: PacketTuple): ClaimKey {
  return { source: `${p.src}/32`, dst: p.dst, proto: p.proto, ports: [p.dstPort, p.dstPort] };
}
