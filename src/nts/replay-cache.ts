// Replay cache for one key id (docs/protocol.md section 4): message ids seen, each kept until
// its timestamp + window, when the window check would reject a copy anyway. Bounded: when full,
// the oldest entry goes and its timestamp becomes a floor below which messages count as stale,
// so the bound can shorten the window but never let a replay through.
import { MinHeap } from '../util/min-heap.js';

export class ReplayCache {
  private readonly seen = new Map<string, number>(); // id -> timestamp
  private readonly heap = new MinHeap<[number, string]>((a, b) => a[0] < b[0]); // on timestamp
  /** Messages with a timestamp at or below this are refused (entries evicted for space). */
  floor = -Infinity;

  constructor(private readonly windowMs: number, private readonly maxEntries: number) {}

  get size(): number {
    return this.seen.size;
  }

  /** null when new (and now recorded), else why it is refused. */
  admit(id: string, timestamp: number, nowMs: number): 'replay' | 'stale' | null {
    this.prune(nowMs);
    if (this.seen.has(id)) return 'replay';
    if (timestamp <= this.floor) return 'stale';
    this.seen.set(id, timestamp);
    this.heap.push([timestamp, id]);
    while (this.seen.size > this.maxEntries) {
      const [ts, old] = this.heap.pop()!;
      this.seen.delete(old);
      this.floor = Math.max(this.floor, ts);
    }
    return null;
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  prune(nowMs: number): void {
    for (let top = this.heap.peek(); top && top[0] + this.windowMs < nowMs; top = this.heap.peek()) {
      this.seen.delete(this.heap.pop()![1]);
    }
  }
}
