// Batches element changes into transactions: everything submitted in one tick of the event loop
// (one scheduler step: a hold ends, the next RC is created; plus sticky elements) goes to the
// kernel as one atomic transaction, and at most one transaction is in flight so changes apply
// in submission order. If a batch fails, its operations are retried one by one so that one
// bad change does not take the others down: a delete of an element that is already gone (its
// timeout ran out) counts as done; an add refused with EEXIST (a leftover element with that key)
// is retried as delete + add: the scheduler's word wins over stale kernel state; a replacement
// (delete + add of one key) whose element is gone already is retried as the add alone.
import { isAlreadyExists, isNotFound } from './nft-errors.js';
import { formatKey, type NftCommand } from './nft-ruleset.js';
import type { NftRunner } from './nft-runner.js';

interface Op {
  readonly commands: readonly NftCommand[];
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * Taken off an `endsAt` element's timeout: the transaction reaches the kernel a little after it
 * is built. Ending early only refuses a connection; ending late would let one through that the
 * scheduler no longer justifies.
 */
export const ENDS_AT_MARGIN_MS = 10;

export class NftBatcher {
  private queue: Op[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly runner: NftRunner, private readonly count: (name: string) => void, private readonly now: () => number = Date.now) {}

  /** Runs commands as one transaction, `endsAt` elements timed from now; one already ended is not added. */
  private run(commands: readonly NftCommand[]): Promise<void> {
    const now = this.now();
    return this.runner.run(commands.flatMap((c): NftCommand[] => {
      if (c.kind !== 'add-element' || c.endsAt === undefined) return [c];
      const timeoutMs = Math.floor(c.endsAt - now) - ENDS_AT_MARGIN_MS;
      if (timeoutMs <= 0) {
        this.count('nft-add-ended');
        return [];
      }
      return [{ ...c, timeoutMs }];
    }));
  }

  /** Joins the next transaction; resolves once it is applied, rejects with its NftError. */
  submit(commands: readonly NftCommand[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ commands, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when everything submitted so far has been applied or has failed. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight || this.scheduled) {
      await (this.inFlight ?? new Promise((r) => setImmediate(r)));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // process.nextTick, not a microtask: everything one scheduler step submits (the daemon calls
    // deactivateRc and activateRc in one synchronous loop) must land in the same transaction.
    // Not setImmediate: that waits for the rest of the loop's turn (log writes included) while a READY waits on the kernel.
    process.nextTick(() => {
      this.scheduled = false;
      const ops = this.queue;
      this.queue = [];
      this.inFlight = this.drain(ops).finally(() => {
        this.inFlight = undefined;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async drain(ops: Op[]): Promise<void> {
    if (ops.length === 0) return;
    try {
      await this.run(ops.flatMap((o) => o.commands));
      this.count('nft-transactions');
      for (const o of ops) o.resolve();
      return;
    } catch (e) {
      this.count('nft-batch-failed');
      if (ops.length === 1) return this.settle(ops[0]!, e as Error);
    }
    for (const o of ops) {
      try {
        await this.run(o.commands);
        this.count('nft-transactions');
        o.resolve();
      } catch (e) {
        await this.settle(o, e as Error);
      }
    }
  }

  /** `o` failed on its own with `e`: resolve what is already true, replace a stale element, else reject. */
  private async settle(o: Op, e: Error): Promise<void> {
    if (isNotFound(e) && o.commands.length === 1 && o.commands[0]!.kind === 'delete-element') {
      this.count('nft-delete-missing');
      return o.resolve();
    }
    if (isNotFound(e) && isReplacement(o.commands)) {
      this.count('nft-delete-missing');
      try {
        await this.run(o.commands.filter((c) => c.kind === 'add-element'));
        this.count('nft-transactions');
        return o.resolve();
      } catch (again) {
        return o.reject(again as Error);
      }
    }
    if (!isAlreadyExists(e) || !o.commands.some((c) => c.kind === 'add-element')) return o.reject(e);
    const replace = o.commands.flatMap((c): NftCommand[] => (c.kind === 'add-element'
      ? [{ kind: 'delete-element', table: c.table, map: c.map, key: c.key }, c] : [c]));
    try {
      await this.run(replace);
      this.count('nft-replaced');
      o.resolve();
    } catch (last) {
      o.reject(last as Error);
    }
  }
}

/** Deletes of elements that the same commands add again (with another value): a replacement. */
function isReplacement(cmds: readonly NftCommand[]): boolean {
  const id = (c: NftCommand) => (c.kind === 'add-element' || c.kind === 'delete-element' ? `${c.table} ${c.map} ${formatKey(c.key)}` : '');
  const added = new Set(cmds.filter((c) => c.kind === 'add-element').map(id));
  const deletes = cmds.filter((c) => c.kind === 'delete-element');
  return deletes.length > 0 && deletes.every((c) => added.has(id(c))) && cmds.every((c) => c.kind !== 'raw' && c.kind !== 'delete-table');
}
