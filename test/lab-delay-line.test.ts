// The lab's C delay line builds with this machine's compiler (a warning is an error: -Werror) and
// checks its arguments; without cc the lab falls back to the Node line, so a broken build would
// otherwise only show as a slower lab. Moving packets needs root and a TUN: test/lab.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildDelayLine } from '../src/lab/delay-line-build.js';
import { needTools } from './helpers/tools.js';

test('the C delay line builds without warnings and refuses bad arguments', (t) => {
  if (!needTools(t, 'cc')) return;
  const dir = mkdtempSync(join(tmpdir(), 'ntss-delay-line-'));
  try {
    const b = buildDelayLine(dir);
    assert.ok(b.ok, b.ok ? '' : b.reason);
    const usage = spawnSync(b.binary, ['--dev', 'x'], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: delay-line --dev NAME --delay-us N/);
    const unknown = spawnSync(b.binary, ['--jitter', '5'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown option --jitter/);
    assert.deepEqual(buildDelayLine(dir, 'no-such-cc').ok, false, 'a missing compiler is a reason, not a throw');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
