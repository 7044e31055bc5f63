// The real ConntrackRunner: the `conntrack` tool (conntrack-tools). Events come from one
// long-lived `conntrack -E` per global address (the tool keeps only the last -d, and the
// address filter runs in the kernel, so unrelated flows never wake us). It prints one line
// per event and flushes each (0.5 ms UDP, 0.8 ms TCP from send() to our process, dataplane.md).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { runCommand } from './command.js';
import { filterArgs, parseConntrackLine, type ConntrackRunner, type CtEntry, type CtFilter, type CtListOptions, type CtWatch } from './conntrack.js';

export interface ConntrackToolOptions {
  /** Prepended to every command line, e.g. ["ip", "netns", "exec", "r1"]. */
  prefix?: readonly string[];
  /** The conntrack binary. Default "conntrack". */
  conntrack?: string;
}

export class ConntrackTool implements ConntrackRunner {
  constructor(private readonly opts: ConntrackToolOptions = {}) {}

  watch(dst: string, onEntry: (e: CtEntry) => void, onEnd: (why: string) => void, onLoss?: () => void): CtWatch {
    // A large socket buffer (the kernel doubles it): events are lost only under a real flood.
    const [cmd, ...args] = this.argv(['-E', '-e', 'NEW,DESTROY', '-d', dst, '-b', '4194304']);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let closed = false;
    let stderr = '';
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = parseConntrackLine(line);
      if (e && !closed) onEntry(e);
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      if (/ENOBUFS/.test(c)) onLoss?.(); // "We have hit ENOBUFS! We are losing events."
      stderr = (stderr + c).slice(-500);
    });
    const end = (why: string) => {
      if (closed) return;
      closed = true;
      onEnd(why);
    };
    child.on('error', (e: NodeJS.ErrnoException) => end(e.code === 'ENOENT' ? `cannot run ${cmd}: not found` : e.message));
    child.on('close', (code, signal) => end(`conntrack -E exited (${signal ?? `code ${code}`}): ${lastLine(stderr)}`));
    return {
      close() {
        closed = true;
        child.kill('SIGTERM');
      },
    };
  }

  async list(dst: string, o: CtListOptions = {}): Promise<CtEntry[]> {
    const mark = o.withoutMark ? ['--mark', `0/0x${o.withoutMark.toString(16)}`] : [];
    const { out } = await this.exec(['-L', '-d', dst, ...mark]);
    return out.split('\n').map(parseConntrackLine).filter((e): e is CtEntry => e !== undefined);
  }

  async delete(filter: CtFilter): Promise<number> {
    const { err } = await this.exec(['-D', ...filterArgs(filter)]);
    // "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted."; exit 1 when 0.
    return Number(/(\d+) flow entries have been deleted/.exec(err)?.[1] ?? 0);
  }

  private argv(args: string[]): string[] {
    return [...(this.opts.prefix ?? []), this.opts.conntrack ?? 'conntrack', ...args];
  }

  private async exec(args: string[]): Promise<{ out: string; err: string }> {
    const { code, out, err } = await runCommand(this.argv(args));
    // Exit 1 with a summary line only means "nothing matched"; anything else is a failure.
    if (code === 0 || /flow entries have been/.test(err)) return { out, err };
    throw new Error(`conntrack ${args.join(' ')}: ${lastLine(err) || `exit code ${code}`}`);
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop() ?? '';
}
