// The lab's state file: what `up` created, so that `down`, `status` and `exec` (other processes)
// find it. Teardown does not depend on it: namespaces are found by name, processes by namespace.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabMode, LabSecrets } from './configs.js';

export const STATE_ROOT = '/run/ntss-lab';

export interface LabState {
  prefix: string;
  /** Configs, logs, databases, pid files. */
  dir: string;
  createdAt: string;
  /** The process that brought the lab up (`run` tears down what it built). */
  ownerPid: number;
  mode: LabMode;
  secrets: LabSecrets;
  /** Daemon name -> pid (`ip netns exec` execs the daemon, so this is the daemon itself). */
  pids: Record<string, number>;
  /** Daemon name -> host it runs on. */
  hosts: Record<string, string>;
}

export function stateDir(prefix: string): string {
  return join(STATE_ROOT, prefix);
}

export function saveState(s: LabState): void {
  mkdirSync(s.dir, { recursive: true });
  const f = join(s.dir, 'state.json');
  writeFileSync(`${f}.tmp`, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

export function loadState(prefix: string): LabState | undefined {
  const f = join(stateDir(prefix), 'state.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}
