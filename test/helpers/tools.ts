// Tests that need an external tool (dig, kdig, nsupdate, root, ...) skip with a printed reason
// when it is missing, except when NTSS_NO_SKIP=1 (set by .ci/run): then the skip is a failure.
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

const cache = new Map<string, boolean>();

export function haveTool(name: string): boolean {
  let ok = cache.get(name);
  if (ok === undefined) {
    ok = spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
    cache.set(name, ok);
  }
  return ok;
}

export const strictSkips = process.env.NTSS_NO_SKIP === '1';

/** Returns true when every tool is present; otherwise skips t (or fails it under NTSS_NO_SKIP=1). */
export function needTools(t: TestContext, ...names: string[]): boolean {
  const missing = names.filter((n) => !haveTool(n));
  if (missing.length === 0) return true;
  const reason = `missing tool(s): ${missing.join(', ')}`;
  if (strictSkips) throw new Error(`${reason} (NTSS_NO_SKIP=1 forbids skipping)`);
  console.log(`# skip: ${reason}`);
  t.skip(reason);
  return false;
}

/** Returns true as root; otherwise skips t (or fails it under NTSS_NO_SKIP=1). */
export function needRoot(t: TestContext): boolean {
  if (process.geteuid?.() === 0) return true;
  if (strictSkips) throw new Error('root required (NTSS_NO_SKIP=1 forbids skipping)');
  console.log('# skip: root required');
  t.skip('root required');
  return false;
}
