// The Private Host List (paper 2, 3.2): FQDN -> private address of an inside host.
// Entries are either configured by the operator or learned from the DNS UPDATEs the inside
// hosts send through the router. A name can have one of each; the configured one wins,
// because the operator's word must not be overridden by a (spoofable) update from the LAN.
// The shadowed learned entry is kept, so removing the configuration reveals it again.
import { canonicalName } from '../dns/name.js';
import { NtssError } from '../util/errors.js';
import { ALL_SERVICES, type Service } from './claims.js';
import { isIp } from './ip.js';

export type PhlSource = 'configured' | 'learned';

export interface PhlEntry {
  /** Canonical: ASCII lowercase with the trailing dot. */
  readonly fqdn: string;
  readonly address: string;
  readonly source: PhlSource;
  /** When a learned entry was last (re)learned; null for configured entries. */
  readonly learnedAt: number | null;
  /**
   * What the host serves (claims.ts). RCs for hosts with disjoint services on one address do
   * not conflict. Learned entries, and configured ones without a list, serve everything.
   */
  readonly services: readonly Service[];
}

interface Slot {
  configured?: PhlEntry;
  learned?: PhlEntry;
}

/** Canonical form of a name, or undefined when it is not a valid domain name. */
export function canonicalFqdn(name: string): string | undefined {
  try {
    return canonicalName(name);
  } catch {
    return undefined;
  }
}

function mustName(name: string): string {
  const c = canonicalFqdn(name);
  if (c === undefined || c === '.') throw new NtssError('PHL_BAD_NAME', `not a host name: ${JSON.stringify(name)}`);
  return c;
}

function mustAddress(address: string): string {
  if (!isIp(address)) throw new NtssError('PHL_BAD_ADDRESS', `not an IP address: ${JSON.stringify(address)}`);
  return address;
}

export class PrivateHostList {
  private readonly slots = new Map<string, Slot>();

  /** Set (or replace) the operator's entry for a name. Throws NtssError on a bad name/address. */
  setConfigured(fqdn: string, address: string, services: readonly Service[] = ALL_SERVICES): PhlEntry {
    const name = mustName(fqdn);
    if (services.length === 0) throw new NtssError('PHL_BAD_SERVICES', `${name}: an empty service list would make the host unreachable; omit it to serve all`);
    const e: PhlEntry = Object.freeze({ fqdn: name, address: mustAddress(address), source: 'configured', learnedAt: null, services: Object.freeze([...services]) });
    this.slot(name).configured = e;
    return e;
  }

  /** Record (or refresh) a learned entry. Returns the entry now in effect for the name. */
  learn(nowMs: number, fqdn: string, address: string): PhlEntry {
    const e: PhlEntry = Object.freeze({ fqdn: mustName(fqdn), address: mustAddress(address), source: 'learned', learnedAt: nowMs, services: ALL_SERVICES });
    const s = this.slot(e.fqdn);
    s.learned = e;
    return s.configured ?? s.learned;
  }

  /** Remove a name's entry of one source, or of both. Returns true when something was removed. */
  remove(fqdn: string, source?: PhlSource): boolean {
    const name = canonicalFqdn(fqdn);
    const s = name === undefined ? undefined : this.slots.get(name);
    if (!s || name === undefined) return false;
    let removed = false;
    if (source !== 'learned' && s.configured) { delete s.configured; removed = true; }
    if (source !== 'configured' && s.learned) { delete s.learned; removed = true; }
    if (!s.configured && !s.learned) this.slots.delete(name);
    return removed;
  }

  /** Forget learned entries not refreshed since `cutoffMs` (hosts that stopped updating). */
  removeLearnedBefore(cutoffMs: number): PhlEntry[] {
    const gone: PhlEntry[] = [];
    for (const [name, s] of this.slots) {
      if (s.learned && (s.learned.learnedAt ?? 0) < cutoffMs) {
        gone.push(s.learned);
        delete s.learned;
        if (!s.configured) this.slots.delete(name);
      }
    }
    return gone;
  }

  /** The entry in effect for a name (configured before learned), any case, dot optional. */
  lookup(fqdn: string): PhlEntry | undefined {
    const name = canonicalFqdn(fqdn);
    const s = name === undefined ? undefined : this.slots.get(name);
    return s?.configured ?? s?.learned;
  }

  /** Entries in effect, sorted by name. `all` also lists learned entries shadowed by configuration. */
  list(opts: { all?: boolean } = {}): PhlEntry[] {
    const out: PhlEntry[] = [];
    for (const s of this.slots.values()) {
      if (opts.all) {
        if (s.configured) out.push(s.configured);
        if (s.learned) out.push(s.learned);
      } else {
        out.push((s.configured ?? s.learned)!);
      }
    }
    return out.sort((a, b) => (a.fqdn < b.fqdn ? -1 : a.fqdn > b.fqdn ? 1 : a.source < b.source ? -1 : 1));
  }

  get size(): number {
    return this.slots.size;
  }

  private slot(name: string): Slot {
    let s = this.slots.get(name);
    if (!s) this.slots.set(name, (s = {}));
    return s;
  }
}
