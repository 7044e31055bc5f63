// How soon after READY each resolver's ENs connect (issue 8: "unused RCs end as soon as an EN
// behind that resolver would have connected, a few RTTs, not after a fixed time"). The RC of a
// request ends at the resolver's slowest recent READY -> first packet delay times `factor`
// plus `marginMs`, within [minMs, rcTimeoutMs]; a resolver with fewer than `minSamples` used
// RCs gets the full rcTimeoutMs. Ending early can only refuse a late EN (fail closed), never
// send one elsewhere. Pure and bounded (least recently used resolvers are forgotten).

export interface ConnectDelayConfig {
  /** Shortest RC life; at or above the scheduler's rcTimeoutMs the adaptation is off. */
  readonly minMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly marginMs: number;
  readonly minSamples: number;
  /** Samples kept per resolver (the recent maximum is taken over them). */
  readonly window: number;
  readonly maxResolvers: number;
}

export class ConnectDelays {
  private readonly samples = new Map<string, number[]>();

  constructor(private c: ConnectDelayConfig) {}

  /** A reload: new bounds; the samples stay. */
  reconfigure(c: ConnectDelayConfig): void {
    this.c = c;
  }

  get enabled(): boolean {
    return this.c.minMs < this.c.maxMs;
  }

  /** An RC this resolver asked for saw its first packet `delayMs` after its READY. */
  observe(resolver: string, delayMs: number): void {
    if (!this.enabled || !(delayMs >= 0)) return;
    const s = this.samples.get(resolver) ?? [];
    this.samples.delete(resolver); // re-inserted last: the Map's order is recency
    s.push(delayMs);
    if (s.length > this.c.window) s.shift();
    this.samples.set(resolver, s);
    if (this.samples.size > this.c.maxResolvers) this.samples.delete(this.samples.keys().next().value!);
  }

  /** How long an RC armed for this resolver waits for its first packet. */
  rcLifeMs(resolver: string): number {
    const s = this.samples.get(resolver);
    if (!this.enabled || !s || s.length < this.c.minSamples) return this.c.maxMs;
    const want = Math.max(...s) * this.c.factor + this.c.marginMs;
    return Math.min(this.c.maxMs, Math.max(this.c.minMs, want));
  }
}
