// A virtual-clock world around the real RcScheduler, driven exactly as routerd drives it:
// requests -> scheduler.request, first packets -> scheduler.packet, and poll() at
// nextWakeupMs(), each at its own time. The world's own actions (lookups, packets on their way)
// sit in an agenda; between two of them the scheduler's wake-ups run. Deterministic: ties run
// in the order they were scheduled.
import type { PacketResult, RcScheduler } from '../router/scheduler.js';
import type { RespondEvent, RouterEvent } from '../router/events.js';
import type { FirstPacket, NtsRequest } from '../router/types.js';

interface Item { readonly t: number; readonly seq: number; readonly run: () => void }

/** A binary min-heap on (t, seq). */
class Agenda {
  private readonly h: Item[] = [];
  private seq = 0;

  get size(): number {
    return this.h.length;
  }

  push(t: number, run: () => void): void {
    const h = this.h;
    h.push({ t, seq: this.seq++, run });
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  peek(): Item | undefined {
    return this.h[0];
  }

  pop(): Item | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const less = (a: Item, b: Item) => a.t < b.t || (a.t === b.t && a.seq < b.seq);

export class SimWorld {
  private readonly agenda = new Agenda();
  private readonly waiting = new Map<string, (e: RespondEvent) => void>();
  private clock = 0;
  /** Told every event the scheduler emits (stats, traces). */
  onEvents?: (events: readonly RouterEvent[]) => void;

  constructor(readonly scheduler: RcScheduler) {}

  get now(): number {
    return this.clock;
  }

  /** Runs `fn` at time t (not before now). */
  at(t: number, fn: () => void): void {
    this.agenda.push(Math.max(t, this.clock), fn);
  }

  /** An NTS request reaches the router now; `onRespond` gets its response (READY or a refusal), now or later. */
  request(req: NtsRequest, onRespond: (e: RespondEvent) => void): void {
    this.waiting.set(req.id, onRespond);
    this.handle(this.scheduler.request(this.clock, req));
  }

  /** A first packet reaches the data plane now. */
  packet(pkt: FirstPacket): PacketResult {
    const r = this.scheduler.packet(this.clock, pkt);
    this.handle(r.events);
    return r;
  }

  /** Runs until nothing is left (or until `untilMs`); `tick` is called after every step (progress). */
  run(untilMs = Infinity, tick?: () => void): void {
    for (;;) {
      const next = this.agenda.peek();
      const wake = this.scheduler.nextWakeupMs();
      if (wake !== undefined && (next === undefined || wake <= next.t)) {
        if (wake > untilMs) return;
        this.clock = Math.max(this.clock, wake);
        this.handle(this.scheduler.poll(this.clock));
      } else {
        if (!next || next.t > untilMs) return;
        this.agenda.pop();
        this.clock = Math.max(this.clock, next.t);
        next.run();
      }
      tick?.();
    }
  }

  private handle(events: readonly RouterEvent[]): void {
    this.onEvents?.(events);
    for (const e of events) {
      if (e.type !== 'respond') continue;
      for (const id of e.requestIds) {
        const k = this.waiting.get(id);
        if (!k) continue;
        this.waiting.delete(id);
        k(e);
      }
    }
  }
}
