// Requests that have no answer yet: waiting in the FIFO for a lock ('queued'), or holding an
// RC that has not seen its packet ('active'). Resolvers retry with new ids (brief: Unbound after
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
  /** The latest deadline among the ids: a retry extends the patience of its resolver. */
  deadlineMs: number;
  state: 'queued' | 'active';
  /** The RC that serves it, once 'active'. */
  rcId: number | null;
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

  find(dupKey: string): PendingRequest | undefined {
    return this.byKey.get(dupKey);
  }

  hasId(id: string): boolean {
    return this.byId.has(id);
  }

  /** Track a new pending request (not yet in the FIFO). */
  track(p: PendingRequest): void {
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
    this.fifo.delete(p);
    if (this.byKey.get(p.dupKey) === p) this.byKey.delete(p.dupKey);
    for (const id of p.ids) if (this.byId.get(id) === p) this.byId.delete(id);
  }

  enqueue(p: PendingRequest): void {
    p.state = 'queued';
    this.fifo.add(p);
  }

  /** Take a request out of the FIFO wherever it is; it stays tracked. */
  unqueue(p: PendingRequest): void {
    this.fifo.delete(p);
  }

  /** Take the head of the FIFO; it stays tracked (it becomes 'active' or is settled). */
  dequeue(): PendingRequest | undefined {
    const head = this.fifo.values().next();
    if (head.done) return undefined;
    this.fifo.delete(head.value);
    return head.value;
  }

  /** Queued requests, head first. */
  queued(): IterableIterator<PendingRequest> {
    return this.fifo.values();
  }

  get queueLength(): number {
    return this.fifo.size;
  }
}
