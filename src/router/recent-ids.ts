// Ids seen recently, so an NTS retransmission (same id) is recognised and ignored. Forgetting
// is FIFO by arrival time, which grows with the clock: pruning is O(1) amortised. Pending
// requests' ids are also checked in PendingRequests, so a long wait never forgets its own id.

export class RecentIds {
  private readonly seen = new Set<string>();
  private readonly order: Array<{ id: string; forgetAt: number }> = [];
  private head = 0;

  /** memoryMs may change on a reload: ids already seen keep their old forget time. */
  constructor(public memoryMs: number) {}

  has(id: string): boolean {
    return this.seen.has(id);
  }

  remember(id: string, nowMs: number): void {
    this.prune(nowMs);
    this.seen.add(id);
    this.order.push({ id, forgetAt: nowMs + this.memoryMs });
  }

  prune(nowMs: number): void {
    while (this.head < this.order.length && this.order[this.head].forgetAt <= nowMs) {
      this.seen.delete(this.order[this.head].id);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) { // compact now and then
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
