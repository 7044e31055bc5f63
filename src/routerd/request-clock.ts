// When each NTS request id arrived, until its response leaves: the request-to-response wait
// for the metrics. Every id gets one response (READY or a refusal) from the scheduler; the
// bound only matters if one never did (ids are forgotten oldest first).
export class RequestClock {
  private readonly received = new Map<string, number>();

  constructor(private readonly max = 100_000) {}

  start(id: string, now: number): void {
    if (this.received.size >= this.max) this.received.delete(this.received.keys().next().value as string);
    this.received.set(id, now);
  }

  /** ms since `start(id)`, or undefined for an id not started (or forgotten). */
  stop(id: string, now: number): number | undefined {
    const t = this.received.get(id);
    if (t === undefined) return undefined;
    this.received.delete(id);
    return now - t;
  }

  get size(): number {
    return this.received.size;
  }
}
