// Requests that have no answer yet: waiting in the queue for a lock ('queued'), or holding an
// RC that has not seen its packet ('active'). The queue is fair between resolvers (issue 8: one
// resolver's flood must not take the router's addresses from everyone else): start-time fair
// queuing with a unit cost per request. Each new request of resolver R gets the tag
// S = max(V, F[R]), then F[R] = S + 1; V is the tag of the last request served. The queue is
// served by tag, then arrival: a resolver's requests keep their FIFO order, resolvers take
// turns, and one that was just served (even at once, never queued) waits for the others' turn. Resolvers retry with new ids (brief: Unbound after
// 376 ms, BIND after 800 ms), so a request with the same (resolver, fqdn, qtype) as a pending
// one joins it: one place in the queue, one RC, every id answered together.
import type { RcMode } from './types.js';

export interface PendingRequest {
  readonly dupKey: string;
  /** Every NTS id that asked; the first is the original. */
  readonly ids: string[];
  readonly fqdn: string;
  readonly qtype: number;
  readonly resolver: string;
  readonly ecs: string | undefined;
  readonly mode: RcMode;
  /** The RC's source prefix: "0.0.0.0/0" for 'any', the ECS prefix, or the EN's /32. */
  readonly source: string;
  readonly leaseMs: number;
  readonly arrivedAt: number;
  /** Start tag of the fair queue (above); set by track(). */
  tag: number;
  /** The latest deadline among the ids: a retry extends the patience of its resolver. */
  deadlineMs: number;
  state: 'queued' | 'active';
  /** The RC that serves it, once 'active'. */
  rcId: number | null;
  /** When it was answered READY (reputation: the flow that follows is credited to the latest). */
  readyAt?: number;
}

/** Retries of one question: same resolver, name, type and RC source (v1: one per EN). */
export function duplicateKey(resolver: string, fqdn: string, qtype: number, source: string): string {
  return `${resolver} ${fqdn} ${qtype} ${source}`;
}

export class PendingRequests {
  // A Set keeps insertion order: the FIFO, with O(1) removal from the middle.
  private readonly fifo = new Set<PendingRequest>();
  private readonly byKey = new Map<string, PendingRequest>();
  private readonly byId = new Map<string, PendingRequest>();
  private readonly perResolver = new Map<string, number>();
  /** F[R]: the next tag of each resolver that was served ahead of V; bounded (pruned below V). */
  private readonly finish = new Map<string, number>();
  /** V: the tag of the request served last. */
  private virtual = 0;

  find(dupKey: string): PendingRequest | undefined {
    return this.byKey.get(dupKey);
  }

  hasId(id: string): boolean {
    return this.byId.has(id);
  }

  /** The tag a new request of this resolver would get now. */
  nextTag(resolver: string): number {
    return Math.max(this.virtual, this.finish.get(resolver) ?? 0);
  }

  /** Track a new pending request (not yet in the queue): it gets its fair-queue tag. */
  track(p: PendingRequest): void {
    p.tag = this.nextTag(p.resolver);
    this.finish.set(p.resolver, p.tag + 1);
    this.byKey.set(p.dupKey, p);
    for (const id of p.ids) this.byId.set(id, p);
  }

  join(p: PendingRequest, id: string, deadlineMs: number): void {
    p.ids.push(id);
    p.deadlineMs = Math.max(p.deadlineMs, deadlineMs);
    this.byId.set(id, p);
  }

  /** No longer pending: answered for good (packet seen, RC gone, or rejected). */
  settle(p: PendingRequest): void {
    this.unqueue(p);
    if (this.byKey.get(p.dupKey) === p) this.byKey.delete(p.dupKey);
    for (const id of p.ids) if (this.byId.get(id) === p) this.byId.delete(id);
  }

  enqueue(p: PendingRequest): void {
    p.state = 'queued';
    if (this.fifo.has(p)) return;
    this.fifo.add(p);
    this.perResolver.set(p.resolver, (this.perResolver.get(p.resolver) ?? 0) + 1);
  }

  /** The request is being served (granted an RC): the virtual clock moves to its tag. */
  served(p: PendingRequest): void {
    if (p.tag <= this.virtual) return;
    this.virtual = p.tag;
    if (this.finish.size > 1024) { // bounded: a resolver at or below V has no credit either way
      for (const [r, f] of this.finish) if (f <= this.virtual) this.finish.delete(r);
    }
  }

  /** Take a request out of the queue wherever it is; it stays tracked. */
  unqueue(p: PendingRequest): void {
    if (!this.fifo.delete(p)) return;
    const n = (this.perResolver.get(p.resolver) ?? 1) - 1;
    if (n > 0) this.perResolver.set(p.resolver, n);
    else this.perResolver.delete(p.resolver);
  }

  /** Requests of this resolver waiting now. */
  queuedFor(resolver: string): number {
    return this.perResolver.get(resolver) ?? 0;
  }

  /** Queued requests in arrival order (for deadlines: cheap, order does not matter). */
  waiting(): IterableIterator<PendingRequest> {
    return this.fifo.values();
  }

  /** Queued requests in service order: by tag, then arrival (see top). */
  queued(): PendingRequest[] {
    const arrival = new Map([...this.fifo].map((p, i) => [p, i]));
    return [...this.fifo].sort((a, b) => a.tag - b.tag || arrival.get(a)! - arrival.get(b)!);
  }

  get queueLength(): number {
    return this.fifo.size;
  }
}
