// A lock manager over conflict keys. Two `any` RCs on one global address would be ambiguous
// (paper 3.4), so an RC must hold its key exclusively. Today a key is a global address and two
// keys conflict only when equal; a pool of N addresses is N independent locks. Later keys
// ((address, proto, port), an ECS prefix) need only a richer conflict test here.

/** The conflict key of an `any` RC on a global address. */
export function anyRcKey(globalAddress: string): string {
  return globalAddress;
}

export class LockTable<H> {
  // Insertion order = preference order: firstFree() picks the earliest configured key.
  private readonly holders = new Map<string, H | undefined>();

  constructor(keys: readonly string[]) {
    for (const k of keys) this.holders.set(k, undefined);
  }

  /** The first key nobody holds, in configuration order. */
  firstFree(): string | undefined {
    for (const [k, h] of this.holders) if (h === undefined) return k;
    return undefined;
  }

  holder(key: string): H | undefined {
    return this.holders.get(key);
  }

  acquire(key: string, holder: H): void {
    if (!this.holders.has(key)) throw new Error(`unknown lock ${key}`);
    if (this.holders.get(key) !== undefined) throw new Error(`lock ${key} already held`);
    this.holders.set(key, holder);
  }

  release(key: string): void {
    if (this.holders.get(key) === undefined) throw new Error(`lock ${key} is not held`);
    this.holders.set(key, undefined);
  }

  /** Held locks in configuration order. */
  held(): Array<[string, H]> {
    const out: Array<[string, H]> = [];
    for (const [k, h] of this.holders) if (h !== undefined) out.push([k, h]);
    return out;
  }

  get size(): number {
    return this.holders.size;
  }
}
