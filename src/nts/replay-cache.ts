// Replay cache for one key id (docs/protocol.md section 4): message ids seen, each kept until
// its timestamp + window, when the window check would reject a copy anyway. Bounded: when full,
// the oldest entry goes and its timestamp becomes a floor below which messages count as stale,
// so the bound can shorten the window but never let a replay through.

export class ReplayCache {
  private readonly seen = new Map<string, number>(); // id -> timestamp
  private readonly heap: [number, string][] = []; // min-heap on timestamp
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
    this.push([timestamp, id]);
    while (this.seen.size > this.maxEntries) {
      const [ts, old] = this.pop()!;
      this.seen.delete(old);
      this.floor = Math.max(this.floor, ts);
    }
    return null;
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  prune(nowMs: number): void {
    while (this.heap.length > 0 && this.heap[0][0] + this.windowMs < nowMs) {
      this.seen.delete(this.pop()![1]);
    }
  }

  private push(e: [number, string]): void {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (h[parent][0] <= h[i][0]) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private pop(): [number, string] | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && h[l][0] < h[m][0]) m = l;
        if (r < h.length && h[r][0] < h[m][0]) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
