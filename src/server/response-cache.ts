// Encoded answers to plain queries, keyed by the query bytes after the ID (flags, question
// with its exact case for 0x20, OPT and ECS included). A hit costs one Map lookup and a copy:
// this is what keeps a Node.js responder near the speed of a C one. Every zone change
// (Zone.version) empties it, so it can never serve stale data. Each entry carries the
// response's rate-limit identity (rrl.ts), so a hit is limited like a miss.
export interface CacheHit {
  response: Buffer;
  rrl: string;
}

export class ResponseCache {
  private readonly udp = new Map<string, { bytes: Buffer; rrl: string }>();
  private readonly tcp = new Map<string, { bytes: Buffer; rrl: string }>();
  private version = -1;
  /** onClear: a full map was emptied to stay within capacity (a flood of distinct names). */
  constructor(private readonly capacity: number, private readonly onClear: () => void = () => undefined) {}

  get size(): number {
    return this.udp.size + this.tcp.size;
  }

  private maps(zoneVersion: number): void {
    if (zoneVersion !== this.version) {
      this.udp.clear();
      this.tcp.clear();
      this.version = zoneVersion;
    }
  }

  /** Forget everything (a configuration reload changed what answers look like). */
  clear(): void {
    this.udp.clear();
    this.tcp.clear();
  }

  static key(query: Buffer): string {
    return query.toString('latin1', 2);
  }

  /** A fresh copy of the cached response with the query's ID, or undefined. */
  lookup(query: Buffer, tcp: boolean, zoneVersion: number): CacheHit | undefined {
    if (this.capacity === 0) return undefined;
    this.maps(zoneVersion);
    const hit = (tcp ? this.tcp : this.udp).get(ResponseCache.key(query));
    if (!hit) return undefined;
    const out = Buffer.allocUnsafe(hit.bytes.length);
    hit.bytes.copy(out);
    out[0] = query[0];
    out[1] = query[1];
    return { response: out, rrl: hit.rrl };
  }

  store(query: Buffer, tcp: boolean, zoneVersion: number, response: Buffer, rrl = ''): void {
    if (this.capacity === 0) return;
    this.maps(zoneVersion);
    const m = tcp ? this.tcp : this.udp;
    // Random names could grow it without bound; a full clear is cheap and bounds memory.
    if (m.size >= this.capacity) {
      m.clear();
      this.onClear();
    }
    m.set(ResponseCache.key(query), { bytes: Buffer.from(response), rrl });
  }
}
