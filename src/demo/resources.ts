// Everything the demo opens is registered here at once, and closed here: in reverse order, each
// exactly once, errors swallowed (one stuck part must not keep the rest open). Something
// registered after closeAll() began (a start-up still running when Ctrl-C came) is closed
// straight away, so no path leaves a socket, a database or the temp dir behind.

export type Closer = () => void | Promise<void>;

export class Resources {
  private readonly stack: { what: string; close: Closer }[] = [];
  private closing = false;
  private readonly ac = new AbortController();
  /** Aborted when closing begins: for operations that own no closable thing (a pending UPDATE). */
  readonly signal: AbortSignal = this.ac.signal;

  /** Registers `close`; returns a function that unregisters it (the thing closed itself). */
  add(what: string, close: Closer): () => void {
    const entry = { what, close };
    if (this.closing) {
      queueMicrotask(() => void run(entry.close)); // after the caller has finished setting up
      return () => {};
    }
    this.stack.push(entry);
    return () => {
      const i = this.stack.indexOf(entry);
      if (i >= 0) this.stack.splice(i, 1);
    };
  }

  get closed(): boolean {
    return this.closing;
  }

  async closeAll(): Promise<void> {
    this.closing = true;
    this.ac.abort();
    while (this.stack.length > 0) await run(this.stack.pop()!.close);
  }
}

async function run(close: Closer): Promise<void> {
  try {
    await close();
  } catch { /* best effort: keep closing the rest */ }
}
