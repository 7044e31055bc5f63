// What the lab tests share: `ntss lab ...` as a child process, and what must not remain after
// a lab is gone (namespaces, processes). Not a test file itself.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labTools } from '../src/lab/preflight.js';
import type { ResolverKind } from '../src/lab/resolvers/index.js';
import { needTools, strictSkips } from './helpers/tools.js';

export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

/** Root, Linux and the tools of a lab with this resolver; skips (or under NTSS_NO_SKIP=1 fails) otherwise. */
export function labReady(t: TestContext, resolver?: ResolverKind): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    const reason = 'the lab needs Linux and root';
    if (strictSkips) throw new Error(`${reason} (NTSS_NO_SKIP=1 forbids skipping)`);
    t.skip(reason);
    return false;
  }
  return needTools(t, ...labTools(resolver));
}

export function namespacesOf(prefix: string): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}-`));
}

/** Live processes whose command line names the path (every lab daemon names its state directory). */
export function processesMentioning(p: string): string[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      return cmd.includes(p) ? [`${pid}: ${cmd}`] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

export interface CliResult { code: number | null; out: string }

/** `ntss lab ...`; `onLine` sees each output line as it comes (and may signal the process). */
export function lab(args: string[], timeoutMs: number, onLine?: (line: string, pid: number) => void, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'lab', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    const take = (d: Buffer) => {
      const s = d.toString();
      out += s;
      for (const l of s.split('\n')) if (l && onLine) onLine(l, child.pid!);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs); // its handler tears the lab down
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Unique per test process: BASE + a letter per lab. */
export function prefixes(base: string): () => string {
  let n = 0;
  return () => `${base}${String.fromCharCode(97 + (n++ % 26))}${n > 26 ? Math.floor(n / 26) : ''}`;
}
