// The nftables plane's view of conntrack: which kernel flows are mappings and which non-NAT
// entries could shadow a future RC. Fed with parsed conntrack events and listings; no I/O of its
// own (the plane passes hooks), so the rules below are unit-tested.
// The kernel looks up rc -> rc_any -> sticky (nft-ruleset.ts), and a NEW event does not say which
// map matched; it does not need to: the scheduler keeps the keys of different hosts disjoint
// (docs/leases.md), so whichever element matched names the one host the scheduler would pick.
//   NEW, DNATed -> classify; the scheduler's private address must be the kernel's, else it was
//       a race at an RC change (an element the kernel still had, or had not yet): the entry is
//       deleted (the next packet meets the current maps) and the scheduler's mapping reported
//       closed ('race'). Fail closed: a flow the scheduler cannot justify does not stay.
//   NEW, not DNATed, not a local service -> remembered as stale (trap 4) until DESTROY
//   DESTROY -> mapping-closed with the byte counts when the kernel keeps them
// Mappings the scheduler did not make (flows found by listing) get ids < 0.
import { flowKey, type FirstPacket, type Mapping, type PacketResult, type Rc } from '../router/index.js';
import type { Logger } from '../util/log.js';
import { isDnat, type CtEntry } from './conntrack.js';
import type { ClassifyFirstPacket, DataPlaneMappingEvent, PortSpec } from './types.js';

export interface FlowTrackerHooks {
  classify: ClassifyFirstPacket;
  now: () => number;
  log?: Logger;
  localServices: readonly PortSpec[];
  count: (name: string) => void;
  emit: (e: DataPlaneMappingEvent) => void;
  dropEntry: (e: CtEntry) => Promise<void>;
  /** An active RC that maps `ga` to `pa`: names adopted flows. */
  rcFor: (ga: string, pa: string) => Rc | undefined;
}

interface Tracked {
  readonly mapping: Mapping;
  readonly seenAt: number;
  /** Order of arrival, for listing. */
  readonly seq: number;
}

export class FlowTracker {
  private readonly flows = new Map<string, Tracked>();
  private readonly stale = new Map<string, CtEntry>();
  /** DESTROY times, kept only while a listing runs (it may predate them). */
  private readonly destroyedAt = new Map<string, number>();
  private listings = 0;
  private nextLocalId = -1;
  private seq = 0;

  constructor(private readonly h: FlowTrackerHooks) {}

  onEntry(e: CtEntry): void {
    const key = ctKey(e);
    if (e.event === 'destroy') {
      this.stale.delete(key);
      if (this.listings > 0) this.destroyedAt.set(key, this.h.now());
      const t = this.flows.get(key);
      if (!t) return;
      this.flows.delete(key);
      this.h.emit({ type: 'mapping-closed', mapping: t.mapping, bytesIn: e.origBytes, bytesOut: e.replyBytes, reason: 'end' });
      return;
    }
    if (e.event !== 'new') return;
    if (!isDnat(e)) {
      if (!this.isService(e)) {
        this.stale.set(key, e);
        this.h.count('ct-non-nat');
      }
      return;
    }
    if (!this.flows.has(key)) this.firstPacket(e, key);
  }

  /** Non-NAT entries to `ga`, forgotten here: the caller deletes them. */
  takeStale(ga: string): CtEntry[] {
    const out = [...this.stale].filter(([, e]) => e.orig.dst === ga);
    for (const [k] of out) this.stale.delete(k);
    return out.map(([, e]) => e);
  }

  /** A conntrack listing starts now; returns its time for reconcile(). Pair with listingEnded(). */
  listingStarted(): number {
    this.listings++;
    return this.h.now();
  }

  listingEnded(): void {
    if (--this.listings === 0) this.destroyedAt.clear();
  }

  /**
   * A conntrack listing of `addresses`, started at `listedAt`: tracked flows missing from it
   * (older than the listing) are closed ('gone'), DNATed flows not tracked (and not ended since)
   * are adopted.
   */
  reconcile(addresses: readonly string[], entries: readonly CtEntry[], listedAt: number): void {
    const live = new Map(entries.map((e) => [ctKey(e), e]));
    for (const [key, t] of this.flows) {
      if (live.has(key) || t.seenAt >= listedAt || !addresses.includes(t.mapping.globalAddress)) continue;
      this.flows.delete(key);
      this.h.emit({ type: 'mapping-closed', mapping: t.mapping, reason: 'gone' });
    }
    for (const key of this.stale.keys()) if (!live.has(key)) this.stale.delete(key);
    for (const [key, e] of live) {
      if ((this.destroyedAt.get(key) ?? -Infinity) >= listedAt) continue;
      if (!isDnat(e)) {
        if (!this.isService(e)) this.stale.set(key, e);
      } else if (!this.flows.has(key)) {
        const rc = this.h.rcFor(e.orig.dst, e.reply.src);
        this.h.count('adopted');
        this.open(key, this.local(e, rc?.id ?? 0, rc?.fqdn ?? ''));
      }
    }
  }

  list(): Mapping[] {
    return [...this.flows.values()].sort((a, b) => a.seq - b.seq).map((t) => t.mapping);
  }

  closeAll(reason: string): void {
    const all = [...this.flows.values()];
    this.flows.clear();
    this.stale.clear();
    for (const t of all) this.h.emit({ type: 'mapping-closed', mapping: t.mapping, reason });
  }

  private firstPacket(e: CtEntry, key: string): void {
    const pa = e.reply.src;
    const pkt: FirstPacket = { proto: e.proto, src: e.orig.src, srcPort: e.orig.sport, dst: e.orig.dst, dstPort: e.orig.dport, deliveredTo: pa };
    let r: PacketResult;
    try {
      r = this.h.classify(pkt);
    } catch (err) {
      this.h.count('classify-error'); // a bug: keep the kernel's flow, as a mapping of no RC
      this.h.log?.error('classify-error', { error: (err as Error).message });
      this.open(key, this.local(e, 0, ''));
      return;
    }
    if (r.verdict === 'mapped' && r.mapping.privateAddress === pa) {
      this.h.count('first-packet');
      this.track(key, r.mapping);
      if (!r.existing) this.h.emit({ type: 'mapping-opened', mapping: r.mapping });
      return;
    }
    this.h.count('first-packet-race');
    this.h.log?.warn('first-packet-race', {
      proto: pkt.proto, en: `${pkt.src}:${pkt.srcPort}`, to: `${pkt.dst}:${pkt.dstPort}`, kernel: pa,
      scheduler: r.verdict === 'mapped' ? r.mapping.privateAddress : 'no-rc',
    });
    this.h.dropEntry(e).catch((err: Error) => {
      this.h.count('error.ct-delete');
      this.h.log?.error('dataplane-error', { op: 'ct-delete', error: err.message });
    });
    if (r.verdict === 'mapped') this.h.emit({ type: 'mapping-closed', mapping: r.mapping, reason: 'race' });
  }

  private open(key: string, m: Mapping): void {
    this.track(key, m);
    this.h.emit({ type: 'mapping-opened', mapping: m });
  }

  private track(key: string, m: Mapping): void {
    this.flows.set(key, { mapping: m, seenAt: this.h.now(), seq: this.seq++ });
  }

  private local(e: CtEntry, rcId: number, fqdn: string): Mapping {
    return Object.freeze({
      id: this.nextLocalId--, rcId, proto: e.proto, enAddress: e.orig.src, enPort: e.orig.sport,
      globalAddress: e.orig.dst, globalPort: e.orig.dport, privateAddress: e.reply.src, privatePort: e.reply.sport,
      fqdn, createdAt: this.h.now(),
    });
  }

  private isService(e: CtEntry): boolean {
    return this.h.localServices.some((s) => s.proto === e.proto && s.port === e.orig.dport);
  }
}

function ctKey(e: CtEntry): string {
  return flowKey({ proto: e.proto, src: e.orig.src, srcPort: e.orig.sport, dst: e.orig.dst, dstPort: e.orig.dport });
}
