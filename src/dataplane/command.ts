// One short-lived command, its output collected: what conntrack -L/-D, nft list, `nft -f -` and
// the host probes share. Rejects when the command cannot be started or outlives `timeoutMs`
// (killed then: a hung tool must not hang a re-list or the router's stop); an exit code is the
// caller's to judge (conntrack exits 1 for "nothing matched").
import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export interface CommandOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Default 10 000 ms. */
  timeoutMs?: number;
}

export function runCommand(argv: readonly string[], o: CommandOptions = {}): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit after ${timeoutMs} ms (killed)`));
    }, timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
}
