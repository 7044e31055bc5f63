// The RC scheduler: NTSSv2's serialisation of `any` RCs (paper 3.4) with the hold time of 3.5,
// written as a lock manager over conflict keys (locks.ts) with a FIFO of waiting requests
// (queue.ts) and deadline-aware admission (estimate.ts). Sans-I/O in the style of quinn-proto:
// every entry point takes `nowMs`, first fires the timers due by then, and returns what it
// decided as plain events (events.ts); nextWakeupMs() says when poll() has work.
//
// Lifetime of a request: UNKNOWN_HOST | QUEUE_FULL | TOO_LATE at once, or READY at once when a
// lock is free, or queued until a lock frees (then READY, or TOO_LATE at deadline - margin).
// Lifetime of an RC: created with READY; first packet -> held for holdMs, still mapping every
// new flow to its host; removed at hold end ('hold-done') or, without packet, at expiresAt
// ('expired'). The head of the queue gets the freed lock at that very millisecond.
import { canonicalFqdn, type PrivateHostList, type PhlEntry } from './phl.js';
import { resolveSchedulerConfig, type ResolvedSchedulerConfig, type SchedulerConfig } from './config.js';
import { estimatedFreeAt, expectedWaitMs, ServiceEstimator } from './estimate.js';
import type { RejectReason, RespondRejected, RouterEvent } from './events.js';
import { anyRcKey, LockTable } from './locks.js';
import { MappingTable } from './mappings.js';
import { duplicateKey, PendingRequests, type PendingRequest } from './queue.js';
import { RecentIds } from './recent-ids.js';
import type { FirstPacket, Mapping, NtsRequest, Rc } from './types.js';

export type PacketResult =
  /** Forward to mapping.privateAddress. `existing`: the flow was already mapped (repeat report). */
  | { readonly verdict: 'mapped'; readonly mapping: Mapping; readonly existing: boolean; readonly events: RouterEvent[] }
  /** No RC for that address: the data plane drops the packet and counts it. */
  | { readonly verdict: 'no-rc'; readonly events: RouterEvent[] };

interface Holder {
  rc: Rc;
  readonly req: PendingRequest;
}

export class RcScheduler {
  /** NAT mappings created from RCs; the data plane removes them when their flows end. */
  readonly mappings = new MappingTable();
  readonly config: ResolvedSchedulerConfig;
  private readonly locks: LockTable<Holder>;
  private readonly addressOfKey = new Map<string, string>();
  private readonly pending = new PendingRequests();
  private readonly ids: RecentIds;
  private readonly estimator: ServiceEstimator;
  private lastNow = -Infinity;
  private nextRcId = 1;
  private nextMappingId = 1;

  constructor(config: SchedulerConfig, private readonly phl: PrivateHostList) {
    this.config = resolveSchedulerConfig(config);
    for (const ga of this.config.globalAddresses) this.addressOfKey.set(anyRcKey(ga), ga);
    this.locks = new LockTable([...this.addressOfKey.keys()]);
    this.ids = new RecentIds(this.config.idMemoryMs);
    this.estimator = new ServiceEstimator(this.config.serviceEstimateMs, this.config.holdMs, this.config.serviceEwmaAlpha);
  }

  /** An authenticated NTS request arrived. */
  request(nowMs: number, req: NtsRequest): RouterEvent[] {
    const out: RouterEvent[] = [];
    const now = this.advance(nowMs, out);
    this.ids.prune(now);
    if (this.ids.has(req.id) || this.pending.hasId(req.id)) {
      out.push({ type: 'request-ignored', at: now, id: req.id, reason: 'duplicate-id' });
      return out;
    }
    this.ids.remember(req.id, now);

    const fqdn = canonicalFqdn(req.fqdn);
    const host = fqdn === undefined ? undefined : this.phl.lookup(fqdn);
    if (fqdn === undefined || host === undefined) {
      out.push(rejected(now, [req.id], 'UNKNOWN_HOST', 'unknown-host'));
      return out;
    }

    const dupKey = duplicateKey(req.resolver, fqdn, req.qtype);
    const same = this.pending.find(dupKey);
    if (same) {
      this.join(now, same, req, out);
      return out;
    }

    const free = this.locks.firstFree(); // free lock => empty queue (dispatch runs whenever one frees)
    if (free === undefined && this.pending.queueLength >= this.config.queueLimit) {
      out.push(rejected(now, [req.id], 'QUEUE_FULL', 'queue-full'));
      return out;
    }
    const waitMs = free === undefined ? this.expectedWaitMs(now) : 0;
    if (!(now + waitMs < req.deadlineMs - this.config.safetyMarginMs)) { // also catches a NaN deadline
      out.push(rejected(now, [req.id], 'TOO_LATE', 'wait-exceeds-deadline', waitMs));
      return out;
    }

    const p: PendingRequest = {
      dupKey, ids: [req.id], fqdn, qtype: req.qtype, resolver: req.resolver, ecs: req.ecs,
      arrivedAt: now, deadlineMs: req.deadlineMs, state: 'queued', lockKey: null,
    };
    this.pending.track(p);
    if (free !== undefined) {
      this.grant(now, free, p, host, out);
    } else {
      this.pending.enqueue(p);
      out.push({ type: 'request-queued', at: now, id: req.id, position: this.pending.queueLength, expectedWaitMs: waitMs });
    }
    return out;
  }

  /** The data plane saw the first packet of a new flow to one of our global addresses. */
  packet(nowMs: number, pkt: FirstPacket): PacketResult {
    const events: RouterEvent[] = [];
    const now = this.advance(nowMs, events);
    const flow = { proto: pkt.proto, src: pkt.src, srcPort: pkt.srcPort, dst: pkt.dst, dstPort: pkt.dstPort };
    const known = this.mappings.byFlow(flow);
    if (known) return { verdict: 'mapped', mapping: known, existing: true, events };

    const h = this.locks.holder(anyRcKey(pkt.dst));
    if (!h) return { verdict: 'no-rc', events };

    const mapping: Mapping = Object.freeze({
      id: this.nextMappingId++, rcId: h.rc.id, proto: pkt.proto,
      enAddress: pkt.src, enPort: pkt.srcPort, globalAddress: pkt.dst, globalPort: pkt.dstPort,
      privateAddress: h.rc.privateAddress, privatePort: pkt.dstPort, fqdn: h.rc.fqdn, createdAt: now,
    });
    this.mappings.add(mapping);
    events.push({ type: 'mapping-created', at: now, mapping });
    if (h.rc.firstPacketAt === null) {
      // Not deleted (paper 3.5): a third party's packet may have come first; the EN that asked
      // must still find the RC within the hold time.
      h.rc = Object.freeze({ ...h.rc, firstPacketAt: now, releaseAt: now + this.config.holdMs });
      this.pending.settle(h.req); // answered and used: a later query for the name is a new request
      events.push({ type: 'rc-hold-started', at: now, rc: h.rc });
    }
    return { verdict: 'mapped', mapping, existing: false, events };
  }

  /** Fire the timers due by nowMs (hold ends, RC expiries, queue deadlines). */
  poll(nowMs: number): RouterEvent[] {
    const out: RouterEvent[] = [];
    this.advance(nowMs, out);
    return out;
  }

  /** When poll() next has work; undefined when nothing is scheduled. */
  nextWakeupMs(): number | undefined {
    let t = Infinity;
    for (const [, h] of this.locks.held()) t = Math.min(t, h.rc.releaseAt ?? h.rc.expiresAt);
    for (const p of this.pending.queued()) t = Math.min(t, p.deadlineMs - this.config.safetyMarginMs);
    return t === Infinity ? undefined : t;
  }

  /** RCs that exist now, in global-address order. */
  activeRcs(): Rc[] {
    return this.locks.held().map(([, h]) => h.rc);
  }

  /** The RC on a global address, if any. */
  rcFor(globalAddress: string): Rc | undefined {
    return this.locks.holder(anyRcKey(globalAddress))?.rc;
  }

  get queueLength(): number {
    return this.pending.queueLength;
  }

  /** E of estimate.ts: the current estimate of one request's lock occupancy. */
  get occupancyEstimateMs(): number {
    return this.estimator.occupancyMs;
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Moves the clock to nowMs (never backwards) firing due timers in time order. */
  private advance(nowMs: number, out: RouterEvent[]): number {
    if (Number.isNaN(nowMs)) throw new TypeError('nowMs is NaN');
    const now = Math.max(nowMs, this.lastNow);
    this.lastNow = now;
    for (;;) {
      const t = this.nextWakeupMs();
      if (t === undefined || t > now) return now;
      this.fire(t, out);
    }
  }

  /** Everything due at t, in a fixed order: RC removals, queue deadlines, then hand-over. */
  private fire(t: number, out: RouterEvent[]): void {
    for (const [key, h] of this.locks.held()) {
      const holding = h.rc.releaseAt !== null;
      if ((holding ? h.rc.releaseAt! : h.rc.expiresAt) > t) continue;
      this.locks.release(key);
      this.estimator.observe(t - h.rc.createdAt);
      if (!holding) this.pending.settle(h.req);
      out.push({ type: 'rc-removed', at: t, rc: h.rc, reason: holding ? 'hold-done' : 'expired' });
    }
    for (const p of [...this.pending.queued()]) {
      if (t < p.deadlineMs - this.config.safetyMarginMs) continue;
      this.pending.settle(p);
      out.push(rejected(t, p.ids, 'TOO_LATE', 'deadline-in-queue'));
    }
    for (let key = this.locks.firstFree(); key !== undefined; key = this.locks.firstFree()) {
      const p = this.pending.dequeue();
      if (!p) break;
      const host = this.phl.lookup(p.fqdn);
      if (!host) {
        this.pending.settle(p);
        out.push(rejected(t, p.ids, 'UNKNOWN_HOST', 'host-removed'));
        continue;
      }
      this.grant(t, key, p, host, out);
    }
  }

  private grant(now: number, key: string, p: PendingRequest, host: PhlEntry, out: RouterEvent[]): void {
    const globalAddress = this.addressOfKey.get(key)!;
    const rc: Rc = Object.freeze({
      id: this.nextRcId++, key, globalAddress, privateAddress: host.address, fqdn: host.fqdn, source: 'any',
      createdAt: now, expiresAt: now + this.config.rcTimeoutMs, firstPacketAt: null, releaseAt: null,
    });
    this.locks.acquire(key, { rc, req: p });
    p.state = 'active';
    p.lockKey = key;
    out.push({ type: 'rc-created', at: now, rc });
    out.push({
      type: 'respond', at: now, requestIds: [...p.ids], status: 'READY',
      globalAddress, rcId: rc.id, rcExpiresAt: rc.expiresAt,
    });
  }

  /**
   * A retry joins its pending request. If that one already has its RC, the retry gets READY now,
   * whatever its own deadline: the RC exists anyway, and a positive answer can only help.
   */
  private join(now: number, p: PendingRequest, req: NtsRequest, out: RouterEvent[]): void {
    this.pending.join(p, req.id, req.deadlineMs);
    out.push({ type: 'request-joined', at: now, id: req.id, joinedId: p.ids[0], state: p.state });
    if (p.state !== 'active') return;
    const rc = this.locks.holder(p.lockKey!)!.rc;
    out.push({
      type: 'respond', at: now, requestIds: [req.id], status: 'READY',
      globalAddress: rc.globalAddress, rcId: rc.id, rcExpiresAt: rc.expiresAt,
    });
  }

  private expectedWaitMs(now: number): number {
    const e = this.estimator.occupancyMs;
    const freeAts = [...this.addressOfKey.keys()].map((k) => {
      const h = this.locks.holder(k);
      return h ? estimatedFreeAt(h.rc, now, e, this.config.holdMs) : now;
    });
    return expectedWaitMs(now, freeAts, this.pending.queueLength, e);
  }
}

function rejected(
  at: number, ids: readonly string[], status: RespondRejected['status'], reason: RejectReason, expectedWaitMs?: number,
): RespondRejected {
  const e: RespondRejected = { type: 'respond', at, requestIds: [...ids], status, reason };
  return expectedWaitMs === undefined ? e : { ...e, expectedWaitMs };
}
