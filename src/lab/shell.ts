// Running the lab's external commands (ip, tc, nft, dig, curl, ...). Synchronous variants exist
// because teardown must also work from a process 'exit' handler, where nothing can be awaited.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { NtssError } from '../util/errors.js';

export class LabError extends NtssError {
  constructor(message: string, code = 'LAB_FAILED') {
    super(code, message);
    this.name = 'LabError';
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the command, ms. */
  ms: number;
  signal?: NodeJS.Signals | null;
}

/** Runs a command to completion; throws LabError (with its stderr) unless it exits 0. */
export function run(cmd: string, args: readonly string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): RunResult {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
  const res: RunResult = { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: performance.now() - t0, signal: r.signal };
  if (r.error && !opts.allowFail) throw new LabError(`${cmd}: ${r.error.message}`);
  if (res.code !== 0 && !opts.allowFail) {
    throw new LabError(`${cmd} ${args.join(' ')} failed (${res.code ?? res.signal}): ${res.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  }
  return res;
}

/** `ip netns exec NS CMD ARGS...` as an argument vector for `ip`. */
export function nsExecArgs(ns: string, cmd: string, args: readonly string[]): string[] {
  return ['netns', 'exec', ns, cmd, ...args];
}

export interface AsyncRunOptions {
  input?: string;
  timeoutMs?: number;
  /** Called with each stdout chunk as it arrives (long-running streams). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  onSpawn?: (pid: number | undefined) => void;
}

/** Runs a command without blocking the event loop; never throws for a non-zero exit. */
export function runAsync(cmd: string, args: readonly string[], opts: AsyncRunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    // A process group of its own, so a timeout kills `ip netns exec` and whatever it runs.
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      opts.onStdout?.(d);
    });
    opts.onSpawn?.(child.pid);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(d);
    });
    child.stdin.on('error', () => undefined); // a command that exits before reading its input
    child.stdin.end(opts.input ?? '');
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => killGroup(child.pid, 'SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + e.message, ms: performance.now() - t0 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0, signal });
    });
  });
}

export interface Background {
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** TERM to its process group, then the result. */
  stop(): Promise<RunResult>;
}

/** A command that runs until stopped (a capture, a long client). */
export function runInBackground(cmd: string, args: readonly string[]): Background {
  let out = '';
  let err = '';
  let pid: number | undefined;
  const done = runAsync(cmd, args, {
    onStdout: (d) => (out += d),
    onStderr: (d) => (err += d),
    onSpawn: (p) => (pid = p),
  });
  return {
    stdout: () => out,
    stderr: () => err,
    stop: () => {
      killGroup(pid, 'SIGTERM');
      return done;
    },
  };
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch { /* already gone */ }
  }
}

/** A zombie counts as dead: our own children are only reaped when the event loop runs. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread; only for the synchronous teardown path. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}`, 'LAB_TIMEOUT');
    await sleep(everyMs);
  }
}
