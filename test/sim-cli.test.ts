// `ntss simulate` as a user runs it: tables, JSON, CSV, SVG, traces, and usage errors (exit 2).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chartSvg, ticks } from '../src/sim/plot.js';
import { parseTrace } from '../src/sim/args.js';
import { parseDist } from '../src/sim/random.js';
import { UsageError } from '../src/util/errors.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const ntss = (...args: string[]) => spawnSync(process.execPath, [MAIN, 'simulate', ...args], { encoding: 'utf8', timeout: 60_000 });

test('a run prints a Markdown table; --json the numbers; --csv and --plot write files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ntss-sim-'));
  try {
    const t = ntss('--policy', 'plain,best', '--rtt', '20', '--burst', '40', '--csv', path.join(dir, 'r.csv'));
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^\| policy \| resolver \| rtt_ms \|/);
    assert.match(t.stdout, /\| best \| unbound \| 20 \| 40 \| 1 \|/);
    assert.match(readFileSync(path.join(dir, 'r.csv'), 'utf8'), /^policy,resolver,rtt_ms,lookups,success/);
    const j = ntss('--policy', 'best', '--burst', '30', '--json', '--seed', '3');
    assert.equal(j.status, 0, j.stderr);
    const run = JSON.parse(j.stdout).runs[0].result;
    assert.equal(run.lookups, 30);
    assert.equal(run.wrongHost, 0);
    const c = ntss('--capacity', '--policy', 'plain', '--resolver', 'glibc', '--rtt', '100', '--hosts', '0', '--no-limits', '--plot', path.join(dir, 'c.svg'));
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /\| plain \| glibc \| 100 \| 48 \| 50 \| 0.96 \| 0 \|/);
    assert.match(readFileSync(path.join(dir, 'c.svg'), 'utf8'), /^<\?xml[\s\S]*<svg[\s\S]*plain \/ glibc[\s\S]*<\/svg>\n$/);
    const l = ntss('--load', '20:60:20', '--per', '10s', '--rtt', '100', '--resolver', 'glibc', '--hosts', '0', '--duration', '120s', '--plot', path.join(dir, 'w.svg'));
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, /load_per_10s/);
    assert.match(readFileSync(path.join(dir, 'w.svg'), 'utf8'), /M\/D\/1/);
    writeFileSync(path.join(dir, 't.csv'), 't_ms,name,en\n0,alice,198.51.100.7\n5,bob\n10,alice,198.51.100.8\n');
    const tr = ntss('--trace', path.join(dir, 't.csv'), '--policy', 'best', '--json');
    assert.equal(tr.status, 0, tr.stderr);
    assert.equal(JSON.parse(tr.stdout).runs[0].result.lookups, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2 and say what is wrong', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--policy', 'fast'], /--policy: "fast" is not one of plain, pool/],
    [['--burst=-3'], /--burst: "-3" is not an integer >= 0/],
    [['--rtt', 'abc'], /--rtt: "abc" is not a number/],
    [['--burst', '5', '--rate', '3'], /one of --burst, --rate, --trace/],
    [['--load', '10:0:5'], /--load: "10:0:5" is not FROM:TO:STEP/],
    [['--connect-delay', 'gauss:3'], /--connect-delay: "gauss:3": unknown distribution/],
    [['--plot', 'x.svg'], /--plot needs --capacity or --load/],
    [['--stub', '5s'], /--stub: "5s" is not TIMEOUTxATTEMPTS/],
    [['--trace', '/nonexistent/t.csv'], /--trace \/nonexistent\/t.csv: ENOENT/],
    [['--frobnicate'], /simulate: Unknown option '--frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = ntss(...args);
    assert.equal(r.status, args[0] === '--trace' ? 1 : 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  const h = ntss('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /usage: ntss simulate/);
});

test('parsers: distributions and traces', () => {
  assert.deepEqual(parseDist('20', 'x'), { kind: 'fixed', ms: 20 });
  assert.deepEqual(parseDist('uniform:10:30', 'x'), { kind: 'uniform', lo: 10, hi: 30 });
  assert.deepEqual(parseDist('lognormal:20:0.5', 'x'), { kind: 'lognormal', median: 20, sigma: 0.5 });
  assert.throws(() => parseDist('uniform:30:10', 'x'), UsageError);
  assert.throws(() => parseDist('exp:0', 'x'), UsageError);
  assert.deepEqual(parseTrace('# c\n0,a\n12.5,b,en1\n', 'f'), [{ tMs: 0, name: 'a' }, { tMs: 12.5, name: 'b', en: 'en1' }]);
  assert.throws(() => parseTrace('x,a\n', 'f'), /f:1: expected "t_ms,name\[,en\]"/);
});

test('the chart: ticks, log axes, escaped names, lines broken at infinite points', () => {
  assert.deepEqual(ticks(0, 100, false), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(ticks(10, 1000, true), [10, 20, 50, 100, 200, 500, 1000]);
  const svg = chartSvg({
    title: 'a < b', xLabel: 'x', yLabel: 'y', yLog: true,
    series: [{ name: 'model & co', points: [[1, 10], [2, Infinity], [3, 100], [4, 200]] }, { name: 'lab', style: 'points', points: [[1, 20]] }],
  });
  assert.match(svg, /<title>a &lt; b<\/title>/);
  assert.match(svg, />model &amp; co</);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 1, 'the line restarts after the infinite point: one segment of 2 points, the lone first point draws none');
  assert.equal((svg.match(/<circle/g) ?? []).length, 2, 'one measured point and its legend mark');
});
