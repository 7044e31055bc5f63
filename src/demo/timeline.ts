// The demo's timeline: every event, from a component's structured log or from a client, gets
// the flow it happened in, the ms since that flow started and an actor. Everything runs in one
// process and logs synchronously, so the capture time is the event time and the capture order
// is the real order: the timeline can be printed live.
import { describeLogLine } from './log-events.js';

export interface TimelineEvent {
  /** 'setup' or a flow name. */
  flow: string;
  /** Milliseconds since the flow started. */
  t: number;
  /** EN1, resolver, server, router, alice, ... */
  actor: string;
  /** Stable machine name: dns-query, rc-created, mapping-created, tcp-reply, ... */
  event: string;
  /** One line for people. */
  text: string;
  data: Record<string, unknown>;
}

interface Waiter {
  match: (e: TimelineEvent) => boolean;
  resolve: (e: TimelineEvent) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Recorder {
  readonly events: TimelineEvent[] = [];
  private flow = 'setup';
  private t0 = performance.now();
  private readonly listeners: ((e: TimelineEvent) => void)[] = [];
  private readonly waiters = new Set<Waiter>();
  private stopped = false;
  /** Mappings created in the current flow: a late close of an older flow's mapping is not news. */
  private readonly flowMappings = new Set<number>();

  startFlow(name: string): void {
    this.flow = name;
    this.t0 = performance.now();
    this.flowMappings.clear();
  }

  get currentFlow(): string {
    return this.flow;
  }

  /** Milliseconds since the current flow started. */
  now(): number {
    return performance.now() - this.t0;
  }

  on(listener: (e: TimelineEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(actor: string, event: string, text: string, data: Record<string, unknown> = {}): TimelineEvent {
    const e: TimelineEvent = { flow: this.flow, t: round(this.now()), actor, event, text, data };
    if (event === 'mapping-created' && typeof data.mapping === 'number') this.flowMappings.add(data.mapping);
    this.events.push(e);
    for (const l of this.listeners) l(e);
    for (const w of [...this.waiters]) {
      if (!w.match(e)) continue;
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve(e);
    }
    return e;
  }

  /** A Logger `write` hook: JSON lines from `component` become timeline events (or nothing). */
  logWriter(component: 'server' | 'router'): (line: string) => void {
    return (line) => {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const d = describeLogLine(component, obj, { t: this.now(), isFlowMapping: (id) => this.flowMappings.has(id) });
      if (d) this.emit(d.actor, d.event, d.text, d.data);
    };
  }

  /** Events of one flow (default: the current one). */
  flowEvents(flow = this.flow): TimelineEvent[] {
    return this.events.filter((e) => e.flow === flow);
  }

  /** The first event of the current flow that matches, already recorded or still to come. */
  waitFor(match: (e: TimelineEvent) => boolean, timeoutMs: number, what: string): Promise<TimelineEvent> {
    if (this.stopped) return Promise.reject(new Error('stopped'));
    const seen = this.flowEvents().find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        match, resolve, reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** Fails every pending and future waitFor (shutdown: nothing is left waiting on a timer). */
  stop(): void {
    this.stopped = true;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('stopped'));
    }
    this.waiters.clear();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
