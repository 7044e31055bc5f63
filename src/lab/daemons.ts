// Long-running processes inside the lab's namespaces: started detached (they outlive `ntss lab
// up`), output appended to <dir>/<name>.log, pid recorded in the state and in <dir>/<name>.pid.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nsName } from './topology.js';
import { LabError, alive, sleep, waitFor } from './shell.js';
import { saveState, type LabState } from './state.js';

/** The compiled CLI and the IN services script, next to this file in the same outDir. */
export const MAIN_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url));
export const SERVICES_JS = fileURLToPath(new URL('./services.js', import.meta.url));
export const FORGE_JS = fileURLToPath(new URL('./forge-nts.js', import.meta.url));
export const DELAY_CORE_JS = fileURLToPath(new URL('./delay-core.js', import.meta.url));
export const SCANNER_JS = fileURLToPath(new URL('./scanner.js', import.meta.url));
export const PROBE_AUTH_JS = fileURLToPath(new URL('./probe-auth.js', import.meta.url));

export function logPath(s: LabState, name: string): string {
  return join(s.dir, `${name}.log`);
}

export function readLog(s: LabState, name: string): string {
  const f = logPath(s, name);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

export function logTail(s: LabState, name: string, lines = 20): string {
  return readLog(s, name).trimEnd().split('\n').slice(-lines).map((l) => `  ${name}| ${l}`).join('\n');
}

export function startDaemon(s: LabState, name: string, host: string, cmd: string, args: readonly string[]): number {
  const fd = openSync(logPath(s, name), 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', nsName(s.prefix, host), cmd, ...args], {
      cwd: s.dir, detached: true, stdio: ['ignore', fd, fd],
    });
    if (!child.pid) throw new LabError(`could not start ${name} (${cmd})`);
    child.on('error', () => undefined); // reported through the readiness check
    child.unref();
    s.pids[name] = child.pid;
    s.hosts[name] = host;
    writeFileSync(join(s.dir, `${name}.pid`), `${child.pid}\n`);
    saveState(s);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** `ntss server|router` of this build, inside a namespace; JSON logs, so that scenarios can read their events. */
export function startNtss(s: LabState, name: string, host: string, sub: 'server' | 'router', config: string): number {
  return startDaemon(s, name, host, process.execPath, [MAIN_JS, sub, '--config', config, '--log-format', 'json']);
}

/** One line of an ntss daemon's JSON log (util/log.ts). */
export interface DaemonEvent {
  time: string;
  level: string;
  event: string;
  [field: string]: unknown;
}

/** The JSON events of an ntss daemon's log, across its restarts (other lines, e.g. a crash's stack, are skipped). */
export function daemonEvents(s: LabState, name: string): DaemonEvent[] {
  return readLog(s, name).split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as DaemonEvent];
    } catch {
      return []; // a line cut short by a SIGKILL
    }
  });
}

/** Waits until check() is true, failing early (with the log) when the daemon died. */
export async function waitReady(s: LabState, name: string, what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${name}: ${what}`, timeoutMs, async () => {
    const pid = s.pids[name];
    if (pid && !alive(pid)) throw new LabError(`${name} exited during start-up:\n${logTail(s, name)}`);
    return (await check()) ? true : undefined;
  }).catch((e: Error) => {
    if (e instanceof LabError && e.code === 'LAB_TIMEOUT') throw new LabError(`${e.message}\n${logTail(s, name)}`);
    throw e;
  });
}

/** Count of log lines containing `marker` (restarts append to the same log). */
export function countInLog(s: LabState, name: string, marker: string): number {
  return readLog(s, name).split('\n').filter((l) => l.includes(marker)).length;
}

/** Stops one daemon by pid; KILL after graceMs. */
export async function stopDaemon(s: LabState, name: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  const pid = s.pids[name];
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch { /* gone */ }
  const end = Date.now() + graceMs;
  while (alive(pid) && Date.now() < end) await sleep(20);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch { /* gone */ }
    while (alive(pid)) await sleep(20);
  }
  delete s.pids[name];
  saveState(s);
}

export interface DaemonMemory {
  /** Resident now, and the process's peak so far (VmHWM), KiB, from /proc/PID/status. */
  rssKiB: number;
  hwmKiB: number;
}

/** A lab daemon's memory now; undefined when it is not running. */
export function daemonMemory(s: LabState, name: string): DaemonMemory | undefined {
  const pid = s.pids[name];
  if (!pid) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined; // gone
  }
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
}
