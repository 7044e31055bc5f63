// A virtual-clock world around the real RcScheduler, driven exactly as routerd drives it:
// requests -> scheduler.request, first packets -> scheduler.packet, and poll() at
// nextWakeupMs(), each at its own time. The world's own actions (lookups, packets on their way)
// sit in an agenda; between two of them the scheduler's wake-ups run. Deterministic: ties run
// in the order they were scheduled.
import type { PacketResult, RcScheduler } from '../router/scheduler.js';
import type { RespondEvent, RouterEvent } from '../router/events.js';
import type { FirstPacket, NtsRequest } from '../router/types.js';
import { MinHeap } from '../util/min-heap.js';

interface Item { readonly t: number; readonly seq: number; readonly run: () => void }

/** The world's actions in (t, seq) order: ties run in the order they were scheduled. */
class Agenda {
  private readonly h = new MinHeap<Item>((a, b) => a.t < b.t || (a.t === b.t && a.seq < b.seq));
  private seq = 0;

  get size(): number {
    return this.h.size;
  }

  push(t: number, run: () => void): void {
    this.h.push({ t, seq: this.seq++, run });
  }

  peek(): Item | undefined {
    return this.h.peek();
  }

  pop(): Item | undefined {
    return this.h.pop();
  }
}

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
