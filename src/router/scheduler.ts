// The RC scheduler: NTSSv2's serialisation of `any` RCs (paper 3.4) with the hold time of 3.5,
// generalised to a lock manager over claim keys (claims.ts) with answer leases and sticky
// entries (bindings.ts), a FIFO of waiting requests (queue.ts) and deadline-aware admission
// (estimate.ts). Sans-I/O in the style of quinn-proto: every entry point takes `nowMs`, first
// fires the timers due by then, and returns what it decided as plain events (events.ts);
// nextWakeupMs() says when poll() has work.
//
// The invariant (docs/leases.md): keys held by two different inside hosts never overlap, so
// every packet matches the RCs, leases and stickies of at most one host. RCs of one host with
// identical keys are one RC (shared, re-armed); RCs in one kernel map never overlap at all (the
// kernel refuses some overlapping interval elements and silently accepts others).
//
// Lifetime of a request: UNKNOWN_HOST | QUEUE_FULL | TOO_LATE at once, or READY at once when an
// address is compatible, or queued until one is (then READY, or TOO_LATE at deadline - margin).
// With reputation on (reputation.ts, docs/reputation.md): a penalised resolver is DENIED at once;
// one on probation is served from idle capacity only: it never makes a request in good standing
// wait (it queues behind all of them and reserves nothing against them), and it may not take an
// address that a host recently wanted by a resolver in good standing would then lack.
// Lifetime of an RC: created (or re-armed) with READY; first packet -> held for holdMs, still
// mapping every matching new flow to its host; removed at hold end ('hold-done') or, without
// packet, at expiresAt ('expired'). Queued requests are placed again at every change.
import { canonicalFqdn, type PrivateHostList, type PhlEntry } from './phl.js';
import { BindingTable, ClaimIndex, stickyKey } from './bindings.js';
import { ANY_SOURCE, anyOverlap, keyMatches, keysFor, normalizePrefix, sameKeys, type ClaimKey } from './claims.js';
import { resolveSchedulerConfig, type ResolvedSchedulerConfig, type SchedulerConfig } from './config.js';
import { estimatedFreeAt, expectedWaitMs as waitBehind, ServiceEstimator } from './estimate.js';
import type { RejectReason, RespondRejected, RouterEvent } from './events.js';
import { MappingTable } from './mappings.js';
import { duplicateKey, PendingRequests, type PendingRequest } from './queue.js';
import { RecentIds } from './recent-ids.js';
import { ConnectDelays, type ConnectDelayConfig } from './connect-delays.js';
import { NtssError } from '../util/errors.js';
import { ResolverReputation, type ReputationChange, type TrustedResolver } from './reputation.js';
import type { FirstPacket, Lease, Mapping, NtsRequest, Rc, Sticky } from './types.js';

export type PacketResult =
  /** Forward to mapping.privateAddress. `existing`: the flow was already mapped (repeat report). */
  | { readonly verdict: 'mapped'; readonly mapping: Mapping; readonly existing: boolean; readonly events: RouterEvent[] }
  /** Nothing admits this packet: the data plane drops it and counts it. */
  | { readonly verdict: 'no-rc'; readonly events: RouterEvent[] };

interface Active {
  rc: Rc;
  /** Requests answered READY with this RC that wait for its packet. */
  readonly reqs: Set<PendingRequest>;
  /**
   * The current hold's askers (resolver -> its latest READY) and the new flows counted in it
   * (reputation.ts). One asker: its first flow credits it. Several: with an `any` RC the router
   * cannot tell whose EN a flow is, so they are credited only if at least as many flows came as
   * askers, and nobody is charged (else a lookup timed just after a real resolver's READY could
   * earn that resolver's credit, or get it penalised).
   */
  episode?: { readonly askers: Map<string, number>; flows: number };
  /** Since when the RC has been waiting for a packet: re-arms cannot keep it waiting past rcTimeoutMs. */
  waitingSince: number;
  /** The source whose packet started the current hold: the only EN that gets sticky entries. */
  starter?: string;
}

/** The smallest step by which an EN's sticky entry is moved later (stick). */
const STICKY_EXTEND_MIN_MS = 1000;

/** Where a request could go: now (maybe sharing an RC), or, when blocked, not before about `freeAt`. */
interface Placement {
  readonly globalAddress: string;
  readonly keys: ClaimKey[];
  readonly blocked: boolean;
  /** Estimated (an RC's packet) or known (a hold, a lease) time it frees; now when not blocked. */
  readonly freeAt: number;
  readonly share?: Active;
}

export class RcScheduler {
  /** NAT mappings created from RCs; the data plane removes them when their flows end. */
  readonly mappings = new MappingTable();
  readonly bindings = new BindingTable();
  private cfg: ResolvedSchedulerConfig;
  private readonly active = new Map<number, Active>();
  /** `active` by global address and source: a request or packet meets only RCs it could overlap. */
  private readonly activeIndex = new ClaimIndex<Active>();
  private readonly pending = new PendingRequests();
  private readonly ids: RecentIds;
  private readonly estimator: ServiceEstimator;
  readonly reputation: ResolverReputation;
  private readonly delays: ConnectDelays;
  /** Last time a resolver in good standing asked for each host (private address): the spare rule. */
  private readonly demand = new Map<string, number>();
  /**
   * The same for newcomers that have wasted nothing yet, with who asked (a few per host): a
   * tainted resolver must respect the others' (not its own earlier) demand.
   */
  private readonly cleanDemand = new Map<string, Array<{ readonly resolver: string; readonly at: number }>>();
  private lastNow = -Infinity;
  /** No RC for anyone before this (leases of a previous run may still live: blockUntil). */
  private blockedUntil = -Infinity;
  private nextRcId = 1;
  private nextMappingId = 1;

  constructor(config: SchedulerConfig, private readonly phl: PrivateHostList, trusted?: TrustedResolver) {
    this.cfg = resolveSchedulerConfig(config);
    this.ids = new RecentIds(this.config.idMemoryMs);
    this.estimator = new ServiceEstimator(this.config.serviceEstimateMs, this.config.holdMs, this.config.serviceEwmaAlpha);
    this.reputation = new ResolverReputation(this.config.reputation, trusted);
    this.delays = new ConnectDelays(connectDelayConfig(this.config));
  }

  get config(): ResolvedSchedulerConfig {
    return this.cfg;
  }

  /**
   * A configuration reload: swaps the policy numbers only. RCs, leases, sticky entries, the
   * queue, reputation records, connect delays and the learned service estimate all stay; an RC
   * already made keeps its times (holdMs, rcTimeoutMs apply to RCs made from now on). The
   * global addresses cannot change here: RCs and leases are placed on them.
   */
  reconfigure(config: SchedulerConfig, trusted?: TrustedResolver): void {
    const next = resolveSchedulerConfig(config);
    if (next.globalAddresses.join(',') !== this.cfg.globalAddresses.join(',')) {
      throw new NtssError('SCHEDULER_RECONFIGURE', 'globalAddresses cannot change while the scheduler runs');
    }
    this.cfg = next;
    this.ids.memoryMs = next.idMemoryMs;
    this.estimator.reconfigure(next.holdMs, next.serviceEwmaAlpha);
    this.reputation.reconfigure(next.reputation, trusted);
    this.delays.reconfigure(connectDelayConfig(next));
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
    const mode = req.mode ?? 'any';
    const source = rcSource(req);
    if (source === undefined) {
      out.push(rejected(now, [req.id], 'DENIED', 'bad-source'));
      return out;
    }

    const dupKey = duplicateKey(req.resolver, fqdn, req.qtype, source);
    const same = this.pending.find(dupKey);
    if (same) {
      this.join(now, same, req, out);
      return out;
    }
    const standing = this.reputation.standing(now, req.resolver);
    if (standing === 'penalised') {
      out.push(rejected(now, [req.id], 'DENIED', 'reputation'));
      return out;
    }
    const good = standing === 'trusted' || standing === 'proven';
    if (this.config.reputation.enabled) {
      if (good) this.noteDemand(this.demand, now, host.address);
      else if (this.reputation.clean(now, req.resolver)) this.noteCleanDemand(now, host.address, req.resolver);
    }

    const p: PendingRequest = {
      dupKey, ids: [req.id], fqdn, qtype: req.qtype, resolver: req.resolver, ecs: req.ecs, mode, source,
      leaseMs: Math.max(0, req.leaseMs ?? 0), arrivedAt: now, deadlineMs: req.deadlineMs, state: 'queued', rcId: null, tag: 0,
    };
    // A request may not overtake queued ones ahead of it in the fair order that it conflicts with.
    const place = this.place(now, p, host, this.reservations(now, this.pending.nextTag(req.resolver), good));
    // Probation: idle capacity only (it may queue, behind everyone in good standing). Suspect
    // (back from a penalty, nothing used since): an idle address or nothing, so it cannot keep
    // extending a lease while a newcomer waits for that address.
    const spare = () => this.spare(now, host.address, place.globalAddress, this.reputation.clean(now, req.resolver) ? undefined : req.resolver);
    if ((standing === 'probation' && !place.blocked && !spare())
      || (standing === 'suspect' && (place.blocked || !this.idle(place.globalAddress) || !spare()))) {
      out.push(rejected(now, [req.id], 'DENIED', 'probation'));
      return out;
    }
    if (place.blocked && this.pending.queueLength >= this.config.queueLimit) {
      out.push(rejected(now, [req.id], 'QUEUE_FULL', 'queue-full'));
      return out;
    }
    if (place.blocked && this.pending.queuedFor(req.resolver) >= this.config.resolverQueueLimit) {
      out.push(rejected(now, [req.id], 'QUEUE_FULL', 'resolver-queue-full'));
      return out;
    }
    const waitMs = place.blocked ? this.expectedWaitMs(now, p, host, good) : 0;
    if (!(now + waitMs < req.deadlineMs - this.config.safetyMarginMs)) { // also catches a NaN deadline
      out.push(rejected(now, [req.id], 'TOO_LATE', 'wait-exceeds-deadline', waitMs));
      return out;
    }
    this.pending.track(p);
    if (!place.blocked) {
      this.grant(now, place, p, host, out);
      return out;
    }
    this.pending.enqueue(p);
    out.push({ type: 'request-queued', at: now, id: req.id, position: this.pending.queueLength, expectedWaitMs: waitMs });
    return out;
  }

  /** The data plane saw the first packet of a new flow to one of our global addresses. */
  packet(nowMs: number, pkt: FirstPacket): PacketResult {
    const events: RouterEvent[] = [];
    const now = this.advance(nowMs, events);
    const flow = { proto: pkt.proto, src: pkt.src, srcPort: pkt.srcPort, dst: pkt.dst, dstPort: pkt.dstPort };
    const known = this.mappings.byFlow(flow);
    if (known) return { verdict: 'mapped', mapping: known, existing: true, events };

    // The kernel's order: source-specific RCs (map rc) before `any` ones (rc_any).
    const matching = [...this.activeIndex.candidates([{ source: pkt.src, dst: pkt.dst, proto: pkt.proto, ports: [pkt.dstPort, pkt.dstPort] }])]
      .filter((a) => a.rc.keys.some((k) => keyMatches(k, pkt)))
      .sort((x, y) => Number(inAnyMap(x.rc.keys)) - Number(inAnyMap(y.rc.keys)) || x.rc.id - y.rc.id);
    if (new Set(matching.map((a) => a.rc.privateAddress)).size > 1) {
      // Impossible by construction (place() never lets two hosts overlap); if it ever happens,
      // refusing is the only answer that cannot deliver to the wrong host.
      events.push({ type: 'packet-ambiguous', at: now, src: pkt.src, dst: pkt.dst, hosts: matching.map((a) => a.rc.privateAddress) });
      return { verdict: 'no-rc', events };
    }
    const a = matching[0];
    // The kernel sent it to another host than the one the scheduler now names (an RC or a sticky
    // entry ended, the next host's began, while the packet was on its way to us): it must not
    // start that host's hold or earn a mapping there, or the EN that asked for it could lose its
    // RC to a packet that went elsewhere. Fail closed: refuse, touch nothing.
    const raced = (host: string) => pkt.deliveredTo !== undefined && pkt.deliveredTo !== host;
    if (a && raced(a.rc.privateAddress)) return { verdict: 'no-rc', events };
    if (!a) {
      const s = this.bindings.sticky(pkt, now);
      if (!s || raced(s.privateAddress)) return { verdict: 'no-rc', events };
      const mapping = this.map(now, pkt, s.rcId, s.privateAddress, s.fqdn, 'sticky');
      events.push({ type: 'mapping-created', at: now, mapping });
      return { verdict: 'mapped', mapping, existing: false, events };
    }
    const mapping = this.map(now, pkt, a.rc.id, a.rc.privateAddress, a.rc.fqdn, 'rc');
    events.push({ type: 'mapping-created', at: now, mapping });
    if (a.rc.firstPacketAt === null) {
      // Not deleted (paper 3.5): a third party's packet may have come first; the EN that asked
      // must still find the RC within the hold time.
      a.rc = Object.freeze({ ...a.rc, firstPacketAt: now, releaseAt: now + this.config.holdMs });
      a.starter = pkt.src;
      for (const p of a.reqs) this.pending.settle(p); // answered and used: the same question again is a new request
      this.endEpisode(now, a, events); // the previous hold's, if a share re-armed it
      const askers = new Map<string, number>();
      for (const p of a.reqs) askers.set(p.resolver, Math.max(askers.get(p.resolver) ?? -Infinity, p.readyAt ?? a.rc.armedAt));
      a.episode = { askers, flows: 0 };
      a.reqs.clear();
      events.push({ type: 'rc-hold-started', at: now, rc: a.rc });
    }
    this.countFlow(now, a, events);
    if (pkt.src === a.starter) this.stick(now, pkt, a.rc, events);
    return { verdict: 'mapped', mapping, existing: false, events };
  }

  /** Fire the timers due by nowMs (hold ends, RC expiries, lease ends, queue deadlines). */
  poll(nowMs: number): RouterEvent[] {
    const out: RouterEvent[] = [];
    this.advance(nowMs, out);
    return out;
  }

  /** When poll() next has work; undefined when nothing is scheduled. */
  nextWakeupMs(): number | undefined {
    let t = this.bindings.nextEnd() ?? Infinity;
    if (this.pending.queueLength > 0 && this.blockedUntil > -Infinity) t = Math.min(t, this.blockedUntil);
    for (const a of this.active.values()) t = Math.min(t, a.rc.releaseAt ?? a.rc.expiresAt);
    for (const p of this.pending.waiting()) t = Math.min(t, p.deadlineMs - this.config.safetyMarginMs);
    return t === Infinity ? undefined : t;
  }

  /**
   * Gives no address to anyone before `untilMs`: a restarted router does not know the leases
   * its previous run granted, only (from its store) when the last of them ends. Requests wait
   * or are refused meanwhile (fail closed).
   */
  blockUntil(untilMs: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, untilMs);
  }

  /** RCs that exist now, oldest first. */
  activeRcs(): Rc[] {
    return [...this.active.values()].map((a) => a.rc).sort((x, y) => x.id - y.id);
  }

  /** The first RC on a global address, if any. */
  rcFor(globalAddress: string): Rc | undefined {
    return this.activeRcs().find((rc) => rc.globalAddress === globalAddress);
  }

  leases(): Lease[] {
    return this.bindings.listLeases();
  }

  stickies(): Sticky[] {
    return this.bindings.listStickies();
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

  /** Everything due at t, in a fixed order: RC removals, binding ends, queue deadlines, hand-over. */
  private fire(t: number, out: RouterEvent[]): void {
    if (t >= this.blockedUntil) this.blockedUntil = -Infinity; // the previous run's leases have all ended
    for (const [id, a] of this.active) {
      const holding = a.rc.releaseAt !== null;
      if ((holding ? a.rc.releaseAt! : a.rc.expiresAt) > t) continue;
      this.active.delete(id);
      this.activeIndex.remove(a, a.rc.keys);
      this.estimator.observe(t - a.rc.armedAt);
      for (const p of a.reqs) this.pending.settle(p);
      out.push({ type: 'rc-removed', at: t, rc: a.rc, reason: holding ? 'hold-done' : 'expired' });
      this.endEpisode(t, a, out);
      // Asked for and no packet came (a.reqs empties at the first packet): each asker pays once.
      for (const r of resolversOf(a.reqs)) this.noteStanding(t, this.reputation.unused(t, r), out);
    }
    const ended = this.bindings.expire(t);
    for (const lease of ended.leases) out.push({ type: 'lease-ended', at: t, lease });
    for (const sticky of ended.stickies) out.push({ type: 'sticky-ended', at: t, sticky });
    for (const p of [...this.pending.waiting()]) {
      if (t < p.deadlineMs - this.config.safetyMarginMs) continue;
      this.pending.settle(p);
      out.push(rejected(t, p.ids, 'TOO_LATE', 'deadline-in-queue'));
    }
    this.dispatch(t, out);
  }

  /** Grants queued requests in FIFO order; one that must wait reserves its place against later ones. */
  private dispatch(t: number, out: RouterEvent[]): void {
    const reserved: Reservation[] = [];
    for (const p of this.serviceOrder(t)) {
      const host = this.phl.lookup(p.fqdn);
      if (!host) {
        this.pending.settle(p);
        out.push(rejected(t, p.ids, 'UNKNOWN_HOST', 'host-removed'));
        continue;
      }
      if (this.reputation.standing(t, p.resolver) === 'penalised') { // since it queued
        this.pending.settle(p);
        out.push(rejected(t, p.ids, 'DENIED', 'reputation'));
        continue;
      }
      const place = this.place(t, p, host, reserved);
      const free = !place.blocked && (this.reputation.inGoodStanding(t, p.resolver)
        || this.spare(t, host.address, place.globalAddress, this.reputation.clean(t, p.resolver) ? undefined : p.resolver));
      if (free) {
        this.pending.unqueue(p);
        this.grant(t, place, p, host, out);
      } else {
        reserved.push({ privateAddress: host.address, keys: place.keys });
      }
    }
  }

  /** Reservations of the queued requests served before a newcomer with this tag (their best address). */
  private reservations(now: number, tag: number, good: boolean): Reservation[] {
    const out: Reservation[] = [];
    for (const p of this.serviceOrder(now)) {
      if (!this.ahead(now, p, tag, good)) break; // in service order: nothing later is ahead either
      const host = this.phl.lookup(p.fqdn);
      if (host) out.push({ privateAddress: host.address, keys: this.place(now, p, host, out).keys });
    }
    return out;
  }

  /**
   * The address that keeps the invariant and waits least. Among those free now: one whose RC
   * it can share (no new exposure), then one the host is already leased on (keeps the others
   * free), then the first in configuration order.
   */
  private place(now: number, p: PendingRequest, host: PhlEntry, reserved: readonly Reservation[], mayShare = true): Placement {
    let best: Placement | undefined;
    let bestRank = Infinity;
    for (const { place, rank } of this.placements(now, p, host, reserved, mayShare)) {
      if (rank < bestRank) {
        bestRank = rank;
        best = place;
      }
    }
    return best!;
  }

  /** The request on each global address, ranked: sharing < leased < idle < blocked by wait. */
  private placements(now: number, p: PendingRequest, host: PhlEntry, reserved: readonly Reservation[], mayShare = true): Array<{ place: Placement; rank: number }> {
    const out: Array<{ place: Placement; rank: number }> = [];
    const e = this.estimator.occupancyMs;
    for (const ga of this.config.globalAddresses) {
      const keys = keysFor(p.source, ga, host.services);
      let freeAt = now;
      let blocked = now < this.blockedUntil;
      if (blocked) freeAt = this.blockedUntil;
      let share: Active | undefined;
      // In order of creation, as a scan of `active` would meet them (the last share wins).
      for (const a of [...this.activeIndex.candidates(keys)].sort((x, y) => x.rc.id - y.rc.id)) {
        if (!anyOverlap(a.rc.keys, keys)) continue;
        const sameHost = a.rc.privateAddress === host.address;
        if (mayShare && sameHost && sameKeys(a.rc.keys, keys)) {
          share = a;
        } else if (sameHost && inAnyMap(a.rc.keys) !== (p.source === ANY_SOURCE)) {
          // The same host in the other kernel map (an `any` RC beside a v1 or ECS one for it):
          // nothing ambiguous, and the kernel refuses overlaps only within one map.
        } else { // another host, or keys the kernel could not hold beside these: wait for its end
          blocked = true;
          freeAt = Math.max(freeAt, estimatedFreeAt(a.rc, now, e, this.config.holdMs));
        }
      }
      for (const until of this.bindings.blockers(keys, host.address)) {
        blocked = true;
        freeAt = Math.max(freeAt, until);
      }
      // A queued request ahead of this one that conflicts: it goes first (and holds for about E).
      if (reserved.some((r) => r.privateAddress !== host.address && anyOverlap(r.keys, keys))) {
        blocked = true;
        freeAt = Math.max(freeAt, now + e);
      }
      const leased = this.bindings.hasLease(host.address, ga);
      const rank = blocked ? freeAt - now + 1 : share ? -3 : leased ? -2 : -1;
      out.push({ rank, place: { globalAddress: ga, keys, blocked, freeAt, share: blocked ? undefined : share } });
    }
    return out;
  }

  private grant(now: number, place: Placement, p: PendingRequest, host: PhlEntry, out: RouterEvent[]): void {
    let a = place.share;
    if (a) {
      // Re-armed, never shortened: an EN of the hold in progress may still be on its way. But a
      // wait for a packet ends rcTimeoutMs after it began, whoever keeps asking: else askers that
      // never connect (several resolvers, taking turns) keep the RC up and never pay.
      if (a.rc.firstPacketAt !== null) a.waitingSince = now;
      const life = Math.min(now + this.delays.rcLifeMs(p.resolver), a.waitingSince + this.config.rcTimeoutMs);
      const expiresAt = Math.max(a.rc.expiresAt, a.rc.releaseAt ?? -Infinity, life);
      a.rc = Object.freeze({ ...a.rc, armedAt: now, expiresAt, firstPacketAt: null, releaseAt: null });
      out.push({ type: 'rc-renewed', at: now, rc: a.rc });
    } else {
      const rc: Rc = Object.freeze({
        id: this.nextRcId++, keys: place.keys, globalAddress: place.globalAddress, privateAddress: host.address, fqdn: host.fqdn,
        source: p.mode, createdAt: now, armedAt: now, expiresAt: now + this.delays.rcLifeMs(p.resolver), firstPacketAt: null, releaseAt: null,
      });
      a = { rc, reqs: new Set(), waitingSince: now };
      this.active.set(rc.id, a);
      this.activeIndex.add(a, rc.keys);
      out.push({ type: 'rc-created', at: now, rc });
    }
    a.reqs.add(p);
    p.readyAt = now;
    this.pending.served(p);
    p.state = 'active';
    p.rcId = a.rc.id;
    if (p.leaseMs > 0) {
      // The answer may be served from caches until leaseMs after it left; the hold covers its trip.
      const r = this.bindings.lease(now, {
        fqdn: host.fqdn, privateAddress: host.address, globalAddress: place.globalAddress, keys: place.keys,
        until: now + p.leaseMs + this.config.holdMs,
      });
      out.push({ type: 'lease-created', at: now, lease: r.lease, extended: r.extended });
    }
    out.push({
      type: 'respond', at: now, requestIds: [...p.ids], status: 'READY',
      globalAddress: a.rc.globalAddress, rcId: a.rc.id, rcExpiresAt: a.rc.expiresAt,
    });
  }

  /**
   * The sticky entry of the EN whose packet started the hold (the one most likely to have asked:
   * it came about one RTT after READY), for each port it opens during the hold, and only as long
   * as the answer may still be in use (the host's lease on this tuple). Others mapped during the
   * hold (paper 3.5's third party) get the hold and nothing more; without a lease past the hold,
   * nobody gets a sticky entry (docs/leases.md).
   */
  private stick(now: number, pkt: FirstPacket, rc: Rc, out: RouterEvent[]): void {
    if (this.config.stickyMs <= 0) return;
    const leaseEnd = this.bindings.leaseEnd(rc.privateAddress, pkt);
    const until = Math.min(now + this.config.stickyMs, leaseEnd);
    if (!(until > (rc.releaseAt ?? now))) return;
    const key = stickyKey(pkt);
    // Every connection of a busy EN would move the end by a few ms, each a kernel transaction
    // (bench/dataplane): extend only by a second or more. The entry may end up to that much
    // earlier than it could: a later connection is refused, never misdelivered.
    const current = this.bindings.stickyEnd(key);
    if (current !== undefined && until - current < STICKY_EXTEND_MIN_MS) return;
    const r = this.bindings.stick(now, {
      key, enAddress: pkt.src, privateAddress: rc.privateAddress, fqdn: rc.fqdn, rcId: rc.id, until,
    });
    if (r) out.push({ type: 'sticky-created', at: now, sticky: r.sticky, replaced: r.replaced });
    else out.push({ type: 'sticky-refused', at: now, src: pkt.src, reason: 'table-full' });
  }

  private map(now: number, pkt: FirstPacket, rcId: number, privateAddress: string, fqdn: string, via: 'rc' | 'sticky'): Mapping {
    const mapping: Mapping = Object.freeze({
      id: this.nextMappingId++, rcId, proto: pkt.proto,
      enAddress: pkt.src, enPort: pkt.srcPort, globalAddress: pkt.dst, globalPort: pkt.dstPort,
      privateAddress, privatePort: pkt.dstPort, fqdn, createdAt: now, via,
    });
    this.mappings.add(mapping);
    return mapping;
  }

  /**
   * A retry joins its pending request. If that one already has its RC, the retry gets READY now,
   * whatever its own deadline: the RC exists anyway, and a positive answer can only help.
   */
  private join(now: number, p: PendingRequest, req: NtsRequest, out: RouterEvent[]): void {
    this.pending.join(p, req.id, req.deadlineMs);
    out.push({ type: 'request-joined', at: now, id: req.id, joinedId: p.ids[0], state: p.state });
    if (p.state !== 'active') return;
    const rc = this.active.get(p.rcId!)!.rc;
    out.push({
      type: 'respond', at: now, requestIds: [req.id], status: 'READY',
      globalAddress: rc.globalAddress, rcId: rc.id, rcExpiresAt: rc.expiresAt,
    });
  }

  /**
   * Queued requests in the order they are served: those of resolvers in good standing first
   * (fair between resolvers, queue.ts), then those on probation, fair among themselves.
   */
  private serviceOrder(now: number): PendingRequest[] {
    const q = this.pending.queued();
    if (!this.config.reputation.enabled) return q;
    const good = q.filter((p) => this.reputation.inGoodStanding(now, p.resolver));
    return good.length === q.length ? q : [...good, ...q.filter((p) => !this.reputation.inGoodStanding(now, p.resolver))];
  }

  /** Is queued request q served before a newcomer with this tag and standing? */
  private ahead(now: number, q: PendingRequest, tag: number, good: boolean): boolean {
    if (!this.config.reputation.enabled) return q.tag <= tag;
    return this.reputation.inGoodStanding(now, q.resolver) ? (!good || q.tag <= tag) : (!good && q.tag <= tag);
  }

  /** A new flow through this RC: a lone asker is credited at its first (and its delay learnt). */
  private countFlow(now: number, a: Active, out: RouterEvent[]): void {
    const e = a.episode;
    if (!e || ++e.flows !== 1 || e.askers.size !== 1) return;
    const [[resolver, readyAt]] = e.askers;
    this.delays.observe(resolver, now - readyAt);
    this.noteStanding(now, this.reputation.used(now, resolver), out);
  }

  /** A hold ends (RC removed, or re-armed and used again): several askers are credited if enough flows came. */
  private endEpisode(now: number, a: Active, out: RouterEvent[]): void {
    const e = a.episode;
    a.episode = undefined;
    if (!e || e.askers.size < 2 || e.flows < e.askers.size) return;
    for (const r of e.askers.keys()) this.noteStanding(now, this.reputation.used(now, r), out);
  }

  /** No RC and no lease of any host on this address. */
  private idle(globalAddress: string): boolean {
    return !this.activeIndex.has(globalAddress) && !this.bindings.anyLeaseOn(globalAddress);
  }

  private noteCleanDemand(now: number, privateAddress: string, resolver: string): void {
    const horizon = now - this.config.reputation.demandWindowMs;
    const list = (this.cleanDemand.get(privateAddress) ?? []).filter((d) => d.resolver !== resolver && d.at >= horizon);
    list.push({ resolver, at: now });
    if (list.length > 4) list.shift(); // a few askers per host are enough to know it is wanted
    this.cleanDemand.set(privateAddress, list); // bounded by the PHL
  }

  private noteDemand(demand: Map<string, number>, now: number, privateAddress: string): void {
    demand.delete(privateAddress); // re-inserted last: the Map's order is recency
    demand.set(privateAddress, now);
    const horizon = now - this.config.reputation.demandWindowMs;
    for (const [h, at] of demand) { // bounded by the PHL; stale entries go first
      if (at >= horizon) break;
      demand.delete(h);
    }
  }

  /**
   * The spare rule for a resolver on probation: it may take `globalAddress` for `host` only if
   * every other host that a resolver in good standing wanted within demandWindowMs, and that
   * holds no address now, still finds a free one without it. With one address and two wanted
   * hosts that is never; with more addresses than wanted hosts it usually is. A `tainted`
   * requester (it wasted an RC: lower credit than a newcomer, or a past penalty) must also
   * leave room for what other clean newcomers wanted (its own earlier wishes do not count): an attacker that took an idle address first
   * cannot keep it from a new real resolver once its first RC went unused. Clean newcomers
   * do not defer to each other (two of them would wait for each other's demand to age).
   */
  private spare(now: number, host: string, globalAddress: string, tainted?: string): boolean {
    const horizon = now - this.config.reputation.demandWindowMs;
    const holding = new Set<string>();
    const busy = new Set<string>();
    for (const a of this.active.values()) { holding.add(a.rc.privateAddress); busy.add(a.rc.globalAddress); }
    const leased = this.bindings.leaseHoldings();
    for (const h of leased.hosts) holding.add(h);
    for (const ga of leased.addresses) busy.add(ga);
    const wanted = new Set<string>();
    for (const [h, at] of this.demand) if (at >= horizon) wanted.add(h);
    if (tainted !== undefined) {
      for (const [h, askers] of this.cleanDemand) if (askers.some((d) => d.at >= horizon && d.resolver !== tainted)) wanted.add(h);
    }
    let needy = 0;
    for (const h of wanted) if (h !== host && !holding.has(h)) needy++;
    if (needy === 0) return true;
    const free = this.config.globalAddresses.filter((ga) => ga !== globalAddress && !busy.has(ga)).length;
    return free >= needy;
  }

  private noteStanding(now: number, c: ReputationChange | undefined, out: RouterEvent[]): void {
    if (!c) return;
    out.push(c.type === 'penalised'
      ? { type: 'reputation-changed', at: now, resolver: c.resolver, standing: 'penalised', until: c.until, offences: c.offences }
      : { type: 'reputation-changed', at: now, resolver: c.resolver, standing: 'proven' });
  }

  /**
   * W (estimate.ts): the queued requests ahead that conflict with this one on some address
   * take, one by one, the address that frees first, each for about E; this one gets the next.
   * Every address counts: with a pool, the queue drains through all of them at once.
   */
  private expectedWaitMs(now: number, p: PendingRequest, host: PhlEntry, good: boolean): number {
    let places = this.placements(now, p, host, []).map((x) => x.place);
    let ahead = 0;
    // The new request's turn (queue.ts): after every waiting request with a tag up to its own.
    const mine = this.pending.nextTag(p.resolver);
    for (const q of this.pending.waiting()) {
      if (!this.ahead(now, q, mine, good)) continue;
      const h = this.phl.lookup(q.fqdn);
      if (h && places.some((pl) => anyOverlap(keysFor(q.source, pl.globalAddress, h.services), pl.keys))) ahead++;
    }
    // With requests ahead, sharing an RC now is not allowed (they go first).
    if (ahead > 0 && places.some((pl) => pl.share)) places = this.placements(now, p, host, [], false).map((x) => x.place);
    return waitBehind(now, places.map((pl) => pl.freeAt), ahead, this.estimator.occupancyMs);
  }
}

interface Reservation {
  readonly privateAddress: string;
  readonly keys: readonly ClaimKey[];
}

/** The distinct resolvers among these requests. */
function resolversOf(reqs: Iterable<PendingRequest>): Set<string> {
  return new Set([...reqs].map((p) => p.resolver));
}

/** The RC's elements go to rc_any (source `any`), else to rc (dataplane/nftables.ts). */
function inAnyMap(keys: readonly ClaimKey[]): boolean {
  return keys[0]?.source === ANY_SOURCE;
}

/** The RC's source prefix for the request's mode; undefined when the request cannot have one. */
function rcSource(req: NtsRequest): string | undefined {
  try {
    switch (req.mode ?? 'any') {
      case 'any': return ANY_SOURCE;
      case 'prefix': return req.ecs === undefined ? undefined : normalizePrefix(req.ecs);
      case 'source': return req.enAddress === undefined ? undefined : normalizePrefix(`${req.enAddress}/32`);
    }
  } catch {
    return undefined; // not IPv4: the global addresses are IPv4
  }
}

function rejected(
  at: number, ids: readonly string[], status: RespondRejected['status'], reason: RejectReason, expectedWaitMs?: number,
): RespondRejected {
  const e: RespondRejected = { type: 'respond', at, requestIds: [...ids], status, reason };
  return expectedWaitMs === undefined ? e : { ...e, expectedWaitMs };
}

// The slowest of a resolver's last 16 ENs, four times over, plus a quarter second: ENs behind
// one resolver differ (paths, a slow application start), and a late one is refused.
function connectDelayConfig(c: ResolvedSchedulerConfig): ConnectDelayConfig {
  return { minMs: c.minRcTimeoutMs, maxMs: c.rcTimeoutMs, factor: 4, marginMs: 250, minSamples: 3, window: 16, maxResolvers: c.reputation.maxResolvers };
}
