// Builds the C delay line (delay-line-c.ts) for a lab: the system's C compiler, into the lab's state
// directory, at every `ntss lab up` (a fraction of a second; nothing is cached across versions).
// Where there is no compiler, or it fails, the lab falls back to the Node delay line
// (delay-core.ts) and says why: the lab still works, its core only costs more CPU per packet.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DELAY_LINE_C } from './delay-line-c.js';
import { run } from './shell.js';

export type DelayLineBuild = { ok: true; binary: string } | { ok: false; reason: string };

export function buildDelayLine(dir: string, cc = process.env.CC || 'cc'): DelayLineBuild {
  const source = join(dir, 'delay-line.c');
  writeFileSync(source, DELAY_LINE_C);
  const binary = join(dir, 'delay-line');
  const r = run(cc, ['-O2', '-Wall', '-Werror', '-o', binary, source], { allowFail: true, timeoutMs: 60_000 });
  if (r.code === 0) return { ok: true, binary };
  const why = r.code === null && r.signal === null ? `${cc} not found` : r.stderr.trim().split('\n').slice(-2).join(' / ') || `${cc} exit ${r.code}`;
  return { ok: false, reason: why };
}
