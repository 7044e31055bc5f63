// CPU time of a lab's processes, by host and program, read from /proc: where a load run's
// work goes (bench/capacity). Two samples around a step give each component's CPU in it.
// A process that ends between the samples is missing from the second (short-lived ones: a
// `conntrack -D`); the load generator reports its own (capacity-client.ts).
import { readFileSync } from 'node:fs';
import { labNamespaces, nsPids } from './netns.js';
import { run } from './shell.js';

let tick: number | undefined;
/** Clock ticks per second of /proc/<pid>/stat (100 on every Linux build seen; asked once). */
function ticksPerSecond(): number {
  tick ??= Number(run('getconf', ['CLK_TCK'], { allowFail: true }).stdout.trim()) || 100;
  return tick;
}

/** "host:program" -> CPU ms (user + system) so far; ntss daemons are named by subcommand. */
export function sampleLabCpu(prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  const msPerTick = 1000 / ticksPerSecond();
  for (const ns of labNamespaces(prefix)) {
    const host = ns.slice(prefix.length + 1);
    for (const pid of nsPids(ns)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const key = `${host}:${programOf(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), pid)}`;
        out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) * msPerTick);
      } catch {
        // it ended meanwhile
      }
    }
  }
  return out;
}

function programOf(comm: string, pid: number): string {
  if (comm !== 'node') return comm;
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const sub = argv.find((a) => a === 'router' || a === 'server');
  if (sub) return `ntss ${sub}`;
  const script = argv.find((a) => a.endsWith('.js'));
  return script ? script.slice(script.lastIndexOf('/') + 1, -3) : 'node';
}

/** The CPU each component used between two samples, largest first (0s left out). */
export function cpuBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const d = [...after].map(([k, v]) => [k, Math.round(v - (before.get(k) ?? 0))] as const).filter(([, v]) => v > 0);
  return Object.fromEntries(d.sort((a, b) => b[1] - a[1]));
}
