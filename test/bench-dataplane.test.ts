// bench/dataplane: the pure helpers (iperf3 JSON, medians, per-round ratios), and one short run
// in the lab (root): every plane measured something, the kernel plane's connections were mapped
// by the scheduler (RC) or admitted by a sticky element (the kernel's counter), and the lab is gone afterwards. No timing thresholds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needRoot, needTools } from './helpers/tools.js';

type Compared = { rounds: number; medianA: number; medianB: number; medianRatio: number; ratioOfMedians: number; ratios: number[] };
const summaryUrl = new URL('../../bench/dataplane/summary.mjs', import.meta.url).href;
const { parseIperf, median, compare } = await import(summaryUrl) as {
  parseIperf: (text: string, proto: 'tcp' | 'udp') => { mbps: number; lossPct?: number; offeredMbps?: number };
  median: (xs: number[]) => number;
  compare: (a: number[], b: number[]) => Compared;
};
const RUN = fileURLToPath(new URL('../../bench/dataplane/run.mjs', import.meta.url));

test('parseIperf: the receiver\'s rate (and UDP loss); iperf3\'s own error is passed on', () => {
  const tcp = JSON.stringify({ end: { sum_sent: { seconds: 1, bits_per_second: 2e9 }, sum_received: { seconds: 1, bits_per_second: 1.5e9 } } });
  assert.deepEqual(parseIperf(tcp, 'tcp'), { mbps: 1500 });
  const udp = JSON.stringify({ end: { sum_sent: { seconds: 1, bits_per_second: 1e9 }, sum_received: { seconds: 1, bits_per_second: 6e8, lost_percent: 40 } } });
  assert.deepEqual(parseIperf(udp, 'udp'), { mbps: 600, lossPct: 40, offeredMbps: 1000 });
  assert.throws(() => parseIperf(JSON.stringify({ error: 'unable to connect to server: Connection refused' }), 'tcp'), /iperf3: unable to connect/);
  assert.throws(() => parseIperf('iperf3: error - control socket has closed unexpectedly', 'tcp'), /no JSON \(iperf3: error/);
  assert.throws(() => parseIperf(JSON.stringify({ end: {} }), 'udp'), /no receiver summary/);
});

test('compare: medians, the median of per-round ratios, failed rounds left out', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([NaN])));
  const c = compare([10, 20, NaN, 30], [5, 40, 7, 10]);
  assert.equal(c.rounds, 3);
  assert.deepEqual(c.ratios, [2, 0.5, 3]);
  assert.equal(c.medianRatio, 2);
  assert.equal(c.medianA, 20);
  assert.equal(c.medianB, 10);
  assert.equal(c.ratioOfMedians, 2);
  assert.throws(() => compare([1], [1, 2]), /1 rounds of A, 2 of B/);
});

test('run.mjs: a bad argument is a usage error (exit 2) before anything is built', () => {
  for (const bad of [['--rounds', '0'], ['--seconds', 'x'], ['--pairs', 'kernel,nope'], ['--udp-rate', '1T'], ['--frobnicate']]) {
    const r = spawnSync(process.execPath, [RUN, ...bad], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, `${bad.join(' ')}: exit ${r.status}`);
    assert.match(r.stderr, /usage: run\.mjs/, bad.join(' '));
  }
});

interface BenchJson {
  comparisons: { pair: string; test: string; a: string; b: string; rounds: number; medianA: number; medianB: number }[];
  sessions: { plane: string; connections?: number; events: Record<string, number> }[];
  failures: string[];
}

test('bench/dataplane in the lab: one round of every plane measures, the kernel plane maps every connection by RC or sticky, nothing is left', async (t) => {
  if (!needRoot(t) || !needTools(t, 'iperf3', 'socat', 'nft', 'conntrack', 'unbound', 'nsd')) return;
  const out = mkdtempSync(join(tmpdir(), 'dpbench-'));
  try {
    const r = spawnSync(process.execPath, [RUN, '--rounds', '1', '--seconds', '1', '--out', out], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `run.mjs exit ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr.split('\n').slice(-30).join('\n')}`);
    const j = JSON.parse(readFileSync(join(out, 'dataplane.json'), 'utf8')) as BenchJson;
    assert.deepEqual(j.failures, []);
    assert.equal(j.comparisons.length, 6);
    for (const c of j.comparisons) {
      assert.equal(c.rounds, 1, `${c.a} vs ${c.b} ${c.test}`);
      assert.ok(c.medianA > 0 && c.medianB > 0, `${c.a} vs ${c.b} ${c.test}: ${c.medianA} / ${c.medianB}`);
    }
    for (const s of j.sessions) {
      // Sticky flows are admitted by the kernel alone (its counter), never seen by the router.
      const sticky = (s.events['mapping-created.sticky'] ?? 0) + (s.events['kernel.sticky-admitted'] ?? 0);
      const mapped = (s.events['mapping-created.rc'] ?? 0) + sticky;
      assert.ok(s.connections !== undefined && s.connections > 0, `${s.plane}: the rate test completed connections`);
      // Each of the rate test's connections, and iperf3's, reached alice only because the scheduler
      // mapped it or its sticky element let it in; unless the router lost conntrack events (ENOBUFS
      // under load: it re-lists and adopts those flows then, maybe after the session), every one is counted.
      if (!s.events['counter.dataplane.conntrack-events-lost']) assert.ok(mapped >= s.connections, `${s.plane}: ${s.connections} connections, ${mapped} mappings`);
      assert.ok(sticky > 0, `${s.plane}: after the hold, en1's connections follow its sticky entries`);
      // (Kernel plane: the router may still map a few by its sticky entry: those the kernel let in by an RC
      // element the scheduler had just removed, at the hold's end.)
      if (s.plane === 'nts-kernel') assert.ok((s.events['kernel.sticky-admitted'] ?? 0) > (s.events['mapping-created.sticky'] ?? 0), `${s.plane}: the kernel, not the router, lets sticky flows in`);
      assert.equal(s.events['packet-ambiguous'] ?? 0, 0);
    }
    const pid = /lab (dpb\d+): up/.exec(r.stderr)?.[1];
    assert.ok(pid, 'the lab prefix is printed');
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`${pid}-`));
    assert.deepEqual(left, [], 'no namespace of the bench is left');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
