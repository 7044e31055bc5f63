// docs/deployment.md as data for the tests that follow it: its shell blocks are run as they
// stand (not copied into the tests), so a change to the guide changes what the tests do.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const GUIDE = readFileSync(fileURLToPath(new URL('../../../docs/deployment.md', import.meta.url)), 'utf8');

/** The guide's one ```sh block that contains `marker`. */
export function guideBlock(marker: string): string {
  const hits = [...GUIDE.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes(marker));
  assert.equal(hits.length, 1, `docs/deployment.md: exactly one sh block with "${marker}"`);
  return hits[0];
}

/** The line of that block that starts with `start`, its trailing comment removed. */
export function guideLine(marker: string, start: string): string {
  const l = guideBlock(marker).split('\n').find((x) => x.trimStart().startsWith(start));
  assert.ok(l, `docs/deployment.md: a line "${start}..."`);
  return l.replace(/\s+#.*$/, '').trim();
}
