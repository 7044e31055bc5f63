// One short-lived command, its output collected: what conntrack -L/-D, nft list and the host
// probes share. Rejects only when the command cannot be started; an exit code is the caller's
// to judge (conntrack exits 1 for "nothing matched").
import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export function runCommand(argv: readonly string[]): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
