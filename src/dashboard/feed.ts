// What the dashboard streams: the router's activity as small items (a lookup, its response
// and wait, RCs, mappings), kept in bounded rings for the snapshot a new client gets, and in
// a bounded batch for the next delta. Pure: times come in with the calls; routerd feeds it
// (RouterWatcher), the HTTP adapter (http.ts) takes batches on its timer.
import type { DataPlaneMappingEvent } from '../dataplane/index.js';
import type { IncomingRequest, NtsResponse } from '../nts/index.js';
import type { RouterEvent } from '../router/index.js';
import { messageIdOf } from '../routerd/rc-requests.js';
import { formatHostPort } from '../util/addr.js';

export type FeedItem =
  | { kind: 'lookup'; at: number; req: string; fqdn: string; qtype: number; mode: string; resolver: string; en?: string; ecs?: string }
  | { kind: 'response'; at: number; req: string; status: string; waitMs?: number; address?: string; rc?: number; reason?: string }
  | { kind: 'queued'; at: number; req: string; position: number; expectedWaitMs?: number }
  | { kind: 'rc'; at: number; event: 'created' | 'renewed' | 'hold' | 'removed'; rc: number; fqdn: string; address: string; to: string; req?: string; reason?: string }
  | { kind: 'mapping'; at: number; event: 'created' | 'closed'; mapping: number; rc: number; fqdn: string; en: string; to: string; proto: string; req?: string; reason?: string }
  | { kind: 'alert'; at: number; event: string; detail: string };

/** One point of the waits chart: when the response left, how long it waited, its status. */
export type WaitPoint = [at: number, ms: number, status: string];

/** What routerd tells the dashboard (router.ts calls these as things happen). */
export interface RouterWatcher {
  request(req: IncomingRequest, at: number): void;
  /** One scheduler event; `served`: the request ids behind an RC's or a mapping's event. */
  event(e: RouterEvent, served: string | undefined): void;
  /** A response sent for these request ids, with each one's wait (undefined: not timed). */
  responded(ids: readonly string[], res: NtsResponse, waits: readonly (number | undefined)[], at: number): void;
  dataplane(e: DataPlaneMappingEvent, req: string | undefined, at: number): void;
}

export interface FeedLimits {
  /** Items a new client gets (the timeline's memory). */
  recent?: number;
  /** Points of the waits chart a new client gets. */
  waits?: number;
  /** Items (and wait points) one delta may carry; past it the oldest are dropped and counted (`lost`). */
  batch?: number;
}

export interface Delta {
  items: FeedItem[];
  waits: WaitPoint[];
  /** Items dropped from this batch for its size (a burst): the page says so. */
  lost: number;
  /** Something changed the state (PHL, RCs, leases, mappings): send the state along. */
  changed: boolean;
}

/** A fixed-size circular buffer: O(1) push even when full (a flood must not cost O(n) per item). */
class Ring<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;
  dropped = 0;
  constructor(readonly max: number) {
    this.items = new Array<T | undefined>(max);
  }
  push(x: T): void {
    if (this.count < this.max) {
      this.items[(this.start + this.count++) % this.max] = x;
      return;
    }
    this.items[this.start] = x; // overwrites the oldest
    this.start = (this.start + 1) % this.max;
    this.dropped++;
  }
  list(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.max]!);
    return out;
  }
  take(): T[] {
    const out = this.list();
    this.items.fill(undefined);
    this.start = 0;
    this.count = 0;
    return out;
  }
  get length(): number {
    return this.count;
  }
}

export class DashboardFeed implements RouterWatcher {
  private readonly recent: Ring<FeedItem>;
  private readonly recentWaits: Ring<WaitPoint>;
  private pending: Ring<FeedItem>;
  private pendingWaits: Ring<WaitPoint>;
  private changed = false;
  /** Batches are kept only while someone listens (the HTTP adapter says so). */
  listening = false;

  constructor(limits: FeedLimits = {}) {
    this.recent = new Ring(limits.recent ?? 200);
    this.recentWaits = new Ring(limits.waits ?? 500);
    // 500 per 250 ms is more than a person reads and more than the page keeps (200 rows, 500
    // points); under a flood more would only cost the router bytes for every client.
    this.pending = new Ring(limits.batch ?? 500);
    this.pendingWaits = new Ring(limits.batch ?? 500);
  }

  request(req: IncomingRequest, at: number): void {
    const r = req.request;
    this.add({
      kind: 'lookup', at, req: req.id, fqdn: r.fqdn, qtype: r.qtype, mode: r.mode, resolver: r.resolver.address,
      ...(r.enAddress ? { en: r.enAddress } : {}),
      ...(r.clientSubnet ? { ecs: `${r.clientSubnet.address}/${r.clientSubnet.prefixLength}` } : {}),
    });
  }

  event(e: RouterEvent, req: string | undefined): void {
    switch (e.type) {
      case 'rc-created': case 'rc-renewed': case 'rc-hold-started': case 'rc-removed': {
        const event = e.type === 'rc-hold-started' ? 'hold' : (e.type.slice(3) as 'created' | 'renewed' | 'removed');
        const rc = e.rc;
        this.add({ kind: 'rc', at: e.at, event, rc: rc.id, fqdn: rc.fqdn, address: rc.globalAddress, to: rc.privateAddress, ...(req ? { req } : {}), ...(e.type === 'rc-removed' ? { reason: e.reason } : {}) });
        break;
      }
      case 'mapping-created': {
        const m = e.mapping;
        this.add({ kind: 'mapping', at: e.at, event: 'created', mapping: m.id, rc: m.rcId, fqdn: m.fqdn, en: m.enAddress, to: formatHostPort({ host: m.privateAddress, port: m.privatePort }), proto: m.proto, ...(req ? { req } : {}) });
        break;
      }
      case 'request-queued':
        this.add({ kind: 'queued', at: e.at, req: messageIdOf(e.id), position: e.position, ...(e.expectedWaitMs !== undefined ? { expectedWaitMs: Math.round(e.expectedWaitMs) } : {}) });
        break;
      case 'packet-ambiguous':
        this.add({ kind: 'alert', at: e.at, event: e.type, detail: `${e.src} -> ${e.dst}: ${e.hosts.join(', ')}` });
        break;
      case 'reputation-changed':
        this.add({ kind: 'alert', at: e.at, event: e.type, detail: `${e.resolver}: ${e.standing}` });
        break;
      case 'lease-created': case 'lease-ended': case 'sticky-created': case 'sticky-ended':
        this.changed = true; // shown in the state, not the timeline
        break;
      default:
        break; // respond: responded() has the waits; joined, ignored, sticky-refused: log only
    }
  }

  responded(ids: readonly string[], res: NtsResponse, waits: readonly (number | undefined)[], at: number): void {
    ids.forEach((id, i) => {
      const w = waits[i];
      const waitMs = w === undefined ? undefined : Math.round(w * 10) / 10;
      this.add({
        kind: 'response', at, req: messageIdOf(id), status: res.status,
        ...(waitMs !== undefined ? { waitMs } : {}),
        ...(res.status === 'READY' ? { address: res.answerAddress, rc: res.rcId } : { reason: res.reason }),
      });
      if (waitMs !== undefined) this.addWait([at, waitMs, res.status]);
    });
  }

  dataplane(e: DataPlaneMappingEvent, req: string | undefined, at: number): void {
    if (e.type !== 'mapping-closed') return; // opened: the scheduler's mapping-created says it
    const m = e.mapping;
    this.add({ kind: 'mapping', at, event: 'closed', mapping: m.id, rc: m.rcId, fqdn: m.fqdn, en: m.enAddress, to: formatHostPort({ host: m.privateAddress, port: m.privatePort }), proto: m.proto, ...(req ? { req } : {}), ...(e.reason ? { reason: e.reason } : {}) });
  }

  /** What a new client starts from. */
  snapshot(): { items: FeedItem[]; waits: WaitPoint[] } {
    return { items: this.recent.list(), waits: this.recentWaits.list() };
  }

  /** The batch since the last call, or undefined when nothing happened. */
  take(): Delta | undefined {
    if (this.pending.length === 0 && this.pendingWaits.length === 0 && !this.changed) return undefined;
    const lost = this.pending.dropped;
    const d: Delta = { items: this.pending.take(), waits: this.pendingWaits.take(), lost, changed: this.changed };
    this.pending.dropped = 0;
    this.pendingWaits.dropped = 0;
    this.changed = false;
    return d;
  }

  private add(x: FeedItem): void {
    this.recent.push(x);
    this.changed = true;
    if (this.listening) this.pending.push(x);
  }

  private addWait(p: WaitPoint): void {
    this.recentWaits.push(p);
    if (this.listening) this.pendingWaits.push(p);
  }
}
