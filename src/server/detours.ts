// When a resolver first asked (issue 8 faults, found in the lab at 20 ms RTT): a lookup that
// had to prove its source (TC=1 -> TCP, or BADCOOKIE -> a retry with our cookie) reaches the
// NTS step one detour after the resolver's own clock started, and the resolver gives up by
// that clock. Unbound's discard-timeout (1.9 s) dropped its client's query before our SERVFAIL
// had run through its retries. So the unverified query's arrival is remembered, and the NTS
// deadline counts from it, minus a few more detours: that detour is about two round trips to
// the resolver (TC back, SYN/SYN-ACK, the query again), the best RTT estimate the server has.
// Bounded: entries live `ttlMs` and at most `max` are kept (the oldest go first).

export class Detours {
  // Insertion order is arrival order: the first entry is the oldest.
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly ttlMs = 5000, private readonly max = 10_000) {}

  /** An unverified query for (resolver, name, type) was answered TC or BADCOOKIE at `now`. */
  note(now: number, resolver: string, fqdn: string, qtype: number): void {
    const k = key(resolver, fqdn, qtype);
    const t = this.firstSeen.get(k);
    if (t !== undefined && now - t <= this.ttlMs) return; // a retry: the clock started at the first one
    this.firstSeen.delete(k); // expired: a new lookup's clock
    this.prune(now);
    if (this.firstSeen.size >= this.max) this.firstSeen.delete(this.firstSeen.keys().next().value!);
    this.firstSeen.set(k, now);
  }

  /** When the resolver first asked, if it took a detour recently; forgets it. */
  take(now: number, resolver: string, fqdn: string, qtype: number): number | undefined {
    const k = key(resolver, fqdn, qtype);
    const t = this.firstSeen.get(k);
    this.firstSeen.delete(k);
    return t !== undefined && now - t <= this.ttlMs ? t : undefined;
  }

  get size(): number {
    return this.firstSeen.size;
  }

  private prune(now: number): void {
    for (const [k, t] of this.firstSeen) {
      if (now - t <= this.ttlMs) break;
      this.firstSeen.delete(k);
    }
  }
}

function key(resolver: string, fqdn: string, qtype: number): string {
  return `${resolver} ${fqdn.toLowerCase()} ${qtype}`;
}
