// `ntss lab` end to end, as a user runs it: every scenario through the CLI in a lab of its own
// (real Unbound, NSD, nsupdate, curl, socat in network namespaces), then up/status/exec/down,
// and Ctrl-C in the middle of a run. Afterwards no namespace with the test's prefix may remain.
// Needs root and the lab's tools; skips without them (fails under NTSS_NO_SKIP=1).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { FAULT_SCENARIOS, MEASUREMENTS, SCENARIOS, ZOO_SCENARIOS } from '../src/lab/scenarios/index.js';
import { MAIN, lab, labReady, namespacesOf, prefixes, processesMentioning } from './lab-cli.js';

const nextPrefix = prefixes(`lt${process.pid}`);
// The zoo scenarios run under every resolver in lab-zoo.test.ts, the faults in lab-faults.test.ts;
// `profile` (minutes) and `flood` (lab-flood.test.ts) are measurements.
const HERE = SCENARIOS.filter((s) => !ZOO_SCENARIOS.includes(s) && !FAULT_SCENARIOS.includes(s) && !MEASUREMENTS.includes(s));

for (const sc of HERE) {
  test(`lab run ${sc.name}`, { timeout: 120_000 }, async (t) => {
    if (!labReady(t)) return;
    const prefix = nextPrefix();
    const r = await lab(['run', sc.name, '--prefix', prefix], 110_000);
    // The scenario's own report, in the test output.
    for (const l of r.out.trimEnd().split('\n')) console.log(`# ${l}`);
    assert.deepEqual(namespacesOf(prefix), [], 'no namespace of the lab may remain');
    assert.deepEqual(processesMentioning(`/run/ntss-lab/${prefix}/`), [], 'no lab process may remain');
    assert.equal(r.code, 0, `ntss lab run ${sc.name} failed:\n${r.out}`);
    assert.match(r.out, new RegExp(`PASS ${sc.name} `));
  });
}

test('lab up, status, exec, down', { timeout: 60_000 }, async (t) => {
  if (!labReady(t)) return;
  const prefix = nextPrefix();
  try {
    const up = await lab(['up', '--prefix', prefix, '--delay', '20'], 40_000);
    assert.equal(up.code, 0, up.out);
    // Where the kernel lacks netem the C delay line must build (cc is on every machine that builds better-sqlite3).
    assert.doesNotMatch(up.out, /delay line could not be built/);
    assert.equal(namespacesOf(prefix).length, 13);
    const st = await lab(['status', '--prefix', prefix], 10_000);
    assert.equal(st.code, 0, st.out);
    assert.match(st.out, /router\s+running/);
    const g = spawnSync(process.execPath, [MAIN, 'lab', 'exec', 'en1', '--prefix', prefix, '--', 'getent', 'ahostsv4', 'alice.home.example'], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    assert.match(g.stdout, /^203\.0\.113\.2\s/);
    // --delay 20: the RTT between two Internet segments (netem, or the TUN delay line).
    const rtt = await lab(['exec', 'en1', '--prefix', prefix, '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{time_total}', 'http://192.0.2.10:9/'], 10_000);
    const ms = Number(/([\d.]+)\s*$/.exec(rtt.out)?.[1]) * 1000;
    assert.ok(ms >= 19 && ms < 60, `TCP connect (refused) to the root server took ${ms} ms, expected about 20`);
  } finally {
    const down = await lab(['down', '--prefix', prefix], 20_000);
    assert.equal(down.code, 0, down.out);
  }
  assert.deepEqual(namespacesOf(prefix), []);
  const again = await lab(['status', '--prefix', prefix], 10_000);
  assert.equal(again.code, 1);
});

test('lab run: Ctrl-C in the middle removes everything', { timeout: 60_000 }, async (t) => {
  if (!labReady(t)) return;
  const prefix = nextPrefix();
  let signalled = false;
  const r = await lab(['run', 'established', '--prefix', prefix], 50_000, (line, pid) => {
    if (!signalled && line.startsWith('== established')) {
      signalled = true;
      setTimeout(() => process.kill(pid, 'SIGINT'), 2000);
    }
  });
  assert.ok(signalled, r.out);
  assert.equal(r.code, 130, r.out);
  assert.match(r.out, /SIGINT: removing lab/);
  assert.deepEqual(namespacesOf(prefix), []);
  assert.deepEqual(processesMentioning(`/run/ntss-lab/${prefix}/`), [], 'no lab process may remain');
});

test('lab: usage errors', async () => {
  const none = await lab([], 10_000);
  assert.equal(none.code, 2);
  assert.match(none.out, /an action is required/);
  const bad = await lab(['run', 'no-such-scenario', '--prefix', 'x1'], 10_000);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /unknown scenario "no-such-scenario"/);
  const prefix = await lab(['status', '--prefix', 'Bad-Prefix'], 10_000);
  assert.equal(prefix.code, 2);
});
