// Runs nft transactions. A new `nft` process per change costs ~24 ms (shared/design/dataplane.md),
// more than the RTT budget of a request, so one long-lived `nft -i` takes one input line per
// transaction (every command of a line is one netlink batch: all or nothing, tested in
// test/dataplane-nft-netns.test.ts). `nft -i` is silent on success, prints errors on stderr
// only and always exits 0; so each line is followed by a sentinel line that is a syntax error
// naming a unique token, and stderr is read in order: whatever comes before the token's error
// belongs to the transaction.
import { spawn, type ChildProcess } from 'node:child_process';
import { runCommand } from './command.js';
import { NftError, nftErrorFrom } from './nft-errors.js';
import { renderCommand, type NftCommand } from './nft-ruleset.js';

export interface NftRunner {
  /** Applies the commands as one transaction; resolves once `nft` acknowledged it, rejects with NftError. */
  run(commands: readonly NftCommand[]): Promise<void>;
  /** The packets of a named counter (`nft list counter ip TABLE NAME`). */
  readCounter(table: string, name: string): Promise<number>;
  close(): Promise<void>;
}

export interface NftProcessOptions {
  /** Prepended to the command line, e.g. ["ip", "netns", "exec", "r1"]. */
  prefix?: readonly string[];
  /** The nft binary. Default "nft". */
  nft?: string;
  /** A transaction not acknowledged by then kills the process (it is restarted for the next). Default 5000. */
  ackTimeoutMs?: number;
}

interface Pending {
  readonly token: string;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly errors: string[];
}

export class NftProcess implements NftRunner {
  private child: ChildProcess | undefined;
  private readonly pending: Pending[] = [];
  private partial = '';
  private skipCaret = false;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Transactions sent and processes started, for counters and tests. */
  readonly stats = { transactions: 0, spawns: 0 };

  constructor(private readonly opts: NftProcessOptions = {}) {}

  run(commands: readonly NftCommand[]): Promise<void> {
    if (commands.length === 0) return Promise.resolve();
    const line = commands.map(renderCommand).join('; ');
    if (/[\r\n]/.test(line)) return Promise.reject(new NftError('syntax', 'nft: a command contains a line break'));
    const child = this.ensure();
    const token = `ntss-ack-${++this.seq}`;
    this.stats.transactions++;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ token, resolve, reject, errors: [] });
      this.arm();
      child.stdin!.write(`${line}\n${token}\n`);
    });
  }

  /**
   * A process of its own (~20 ms): `nft -i` acknowledges by stderr only and its stdout is not
   * read. Called about once a minute (the plane's re-list) and at stop.
   */
  async readCounter(table: string, name: string): Promise<number> {
    const { code, out, err } = await runCommand([...(this.opts.prefix ?? []), this.opts.nft ?? 'nft', 'list', 'counter', 'ip', table, name])
      .catch((e: Error) => {
        throw new NftError('process', e.message);
      });
    if (code !== 0) throw nftErrorFrom(err || `nft exited with code ${code}`);
    const n = Number(/\bpackets (\d+)/.exec(out)?.[1]);
    if (!Number.isSafeInteger(n)) throw new NftError('syntax', `nft list counter ${table} ${name}: no packets in ${JSON.stringify(out.slice(0, 200))}`);
    return n;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 1000);
      child.once('close', () => {
        clearTimeout(kill);
        resolve();
      });
      child.stdin!.end(); // nft -i exits at end of input
    });
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const [cmd, ...args] = [...(this.opts.prefix ?? []), this.opts.nft ?? 'nft', '-i'];
    const child = spawn(cmd!, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.stats.spawns++;
    this.child = child;
    this.partial = '';
    this.skipCaret = false;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => this.onStderr(chunk));
    child.stdin!.on('error', () => {}); // EPIPE when nft died: reported by 'close' below
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.failAll(why);
    };
    child.on('error', (e: NodeJS.ErrnoException) => gone(e.code === 'ENOENT' ? `cannot run ${cmd}: not found` : `nft: ${e.message}`));
    child.on('close', (code, signal) => gone(`nft -i exited (${signal ?? `code ${code}`})`));
    return child;
  }

  private onStderr(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop()!;
    for (const l of lines) this.onLine(l);
  }

  private onLine(line: string): void {
    if (this.skipCaret) {
      this.skipCaret = false;
      if (/^\s*\^+\s*$/.test(line)) return;
    }
    const at = this.pending.findIndex((p) => p.token === line);
    if (at < 0) {
      this.pending[0]?.errors.push(line);
      return;
    }
    // Tokens come back in order; one that skipped ahead means the earlier answers were lost.
    for (const lost of this.pending.splice(0, at)) lost.reject(new NftError('process', 'nft: acknowledgement lost'));
    const p = this.pending.shift()!;
    p.errors.pop(); // the sentinel's own "Error: syntax error ..." line
    this.skipCaret = true;
    this.arm();
    // Only an "Error:" line fails the transaction (a warning alone does not).
    if (!p.errors.some((l) => l.startsWith('Error:'))) p.resolve();
    else p.reject(nftErrorFrom(p.errors.join('\n')));
  }

  /** One timer for the oldest transaction: no acknowledgement in time kills the process. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const child = this.child;
    const ms = this.opts.ackTimeoutMs ?? 5000;
    this.timer = setTimeout(() => {
      if (this.child !== child) return;
      this.child = undefined;
      child?.kill('SIGKILL');
      this.failAll(`nft -i did not acknowledge within ${ms} ms (killed; restarted for the next transaction)`);
    }, ms);
    this.timer.unref();
  }

  private failAll(why: string): void {
    clearTimeout(this.timer);
    for (const p of this.pending.splice(0)) p.reject(new NftError('process', why));
  }
}

/**
 * The slow way, for comparison (test/dataplane-nft-netns.test.ts measures both): one `nft -f -`
 * process per transaction.
 */
export async function runNftOnce(commands: readonly NftCommand[], prefix: readonly string[] = [], nft = 'nft'): Promise<void> {
  const { code, err } = await runCommand([...prefix, nft, '-f', '-'], { input: commands.map(renderCommand).join('\n') + '\n' })
    .catch((e: Error) => {
      throw new NftError('process', e.message);
    });
  if (code !== 0) throw nftErrorFrom(err || `nft exited with code ${code}`);
}
