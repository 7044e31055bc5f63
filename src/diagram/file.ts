// Where diagrams are written: FILE for one diagram, FILE with "-NAME" before ".svg" for each of
// several (one per demo flow or lab scenario). The path is checked before anything runs, so a
// typo costs no lab.
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { NtssError, UsageError } from '../util/errors.js';
import { firstRows, pruneLifelines, timeWindow, type SequenceDiagram } from './model.js';
import { renderSequence } from './render.js';

/** name -> path: `base` itself for a single name, else `base` with `-name` before its extension. */
export function diagramPaths(base: string, names: readonly string[]): Map<string, string> {
  if (names.length === 1) return new Map([[names[0], base]]);
  const ext = extname(base) || '.svg';
  const stem = extname(base) ? basename(base, ext) : basename(base);
  return new Map(names.map((n) => [n, join(dirname(base), `${stem}-${n.replace(/[^A-Za-z0-9_.-]+/g, '-')}${ext}`)]));
}

/** Throws a usage error (exit 2) when `path` cannot be written: no directory, not writable, a directory itself. */
export function assertWritable(path: string, option = '--diagram'): void {
  if (path === '') throw new UsageError(`${option}: a file name is required`);
  const dir = dirname(path);
  let d;
  try {
    d = statSync(dir);
  } catch {
    throw new UsageError(`${option} ${path}: the directory ${dir} does not exist`);
  }
  if (!d.isDirectory()) throw new UsageError(`${option} ${path}: ${dir} is not a directory`);
  let f;
  try {
    f = statSync(path);
  } catch {
    f = undefined; // to be created
  }
  if (f?.isDirectory()) throw new UsageError(`${option} ${path}: is a directory; give a file name such as ${join(path, 'run.svg')}`);
  try {
    accessSync(f ? path : dir, constants.W_OK);
  } catch {
    throw new UsageError(`${option} ${path}: ${f ? 'the file' : `the directory ${dir}`} is not writable`);
  }
}

export interface Window {
  from: number;
  to: number;
}

/** Rows in one picture at most (about 22 px each). */
export const MAX_ROWS = 1500;

/** Draws `d` (only `window`, when given; at most MAX_ROWS rows) into `path`; returns what was drawn. */
export function writeDiagram(path: string, d: SequenceDiagram, window?: Window): SequenceDiagram {
  const drawn = firstRows(window ? pruneLifelines(timeWindow(d, window.from, window.to)) : d, MAX_ROWS);
  const svg = renderSequence(drawn);
  try {
    writeFileSync(path, svg);
  } catch (e) {
    throw new NtssError('DIAGRAM_WRITE', `could not write the diagram ${path}: ${(e as Error).message}`);
  }
  return drawn;
}

/** --diagram-window FROM-TO: ms since the flow's (scenario's) first event, FROM <= TO. */
export function parseWindow(s: string, option = '--diagram-window'): Window {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(s.trim());
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || !(to >= from)) throw new UsageError(`${option} must be FROM-TO in ms with FROM <= TO (e.g. 0-1200), got "${s}"`);
  return { from, to };
}
