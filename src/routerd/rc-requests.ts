// Which requests each RC served, so that the RC's and its mappings' log lines carry the ids of
// the lookups behind them (`req`, docs/operations.md). The scheduler's RC events name only the
// RC; its READY responds name the requests. Bounded: entries go with their RC, and past the
// caps the oldest RC (or an RC's oldest ids) is dropped and counted.

/** The id the server logs: the NTS message id, without the router's key id (nts/server.ts requestIdOf). */
export function messageIdOf(requestId: string): string {
  const i = requestId.lastIndexOf(' ');
  return i < 0 ? requestId : requestId.slice(i + 1);
}

export interface RcRequestsLimits {
  /** RCs remembered at once (default 4096; active RCs are far fewer: addresses x hosts). */
  maxRcs?: number;
  /** Request ids kept per RC, newest (default 16: a shared RC may serve many lookups). */
  maxIdsPerRc?: number;
}

export class RcRequests {
  private readonly byRc = new Map<number, string[]>();
  private readonly maxRcs: number;
  private readonly maxIds: number;
  /** RCs forgotten before they went, and ids dropped from a full RC. */
  evictedRcs = 0;
  droppedIds = 0;

  constructor(limits: RcRequestsLimits = {}) {
    this.maxRcs = limits.maxRcs ?? 4096;
    this.maxIds = limits.maxIdsPerRc ?? 16;
    if (!(this.maxRcs >= 1 && this.maxIds >= 1)) throw new RangeError('need maxRcs >= 1 and maxIdsPerRc >= 1');
  }

  get size(): number {
    return this.byRc.size;
  }

  /** The RC served these requests (READY). */
  add(rcId: number, requestIds: readonly string[]): void {
    let ids = this.byRc.get(rcId);
    if (!ids) {
      if (this.byRc.size >= this.maxRcs) {
        this.byRc.delete(this.byRc.keys().next().value!); // the oldest RC: insertion order
        this.evictedRcs++;
      }
      ids = [];
      this.byRc.set(rcId, ids);
    }
    for (const r of requestIds) {
      const id = messageIdOf(r);
      if (!ids.includes(id)) ids.push(id);
    }
    if (ids.length > this.maxIds) this.droppedIds += ids.splice(0, ids.length - this.maxIds).length;
  }

  /** The `req` field for the RC's lines: its requests' ids, comma-separated; undefined if none known. */
  req(rcId: number): string | undefined {
    const ids = this.byRc.get(rcId);
    return ids && ids.length > 0 ? ids.join(',') : undefined;
  }

  /** The RC went: its ids are no longer needed. */
  delete(rcId: number): void {
    this.byRc.delete(rcId);
  }
}
