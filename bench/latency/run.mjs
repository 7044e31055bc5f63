#!/usr/bin/env node
// Issue 9 §2: query -> first byte at alice, NTS-managed vs a plain lookup of a name of the same
// length, interleaved in one lab run, with the per-stage breakdown (src/lab/scenarios/latency.ts,
// src/lab/latency-stages.ts), at each RTT. Root and the lab's tools (Linux); build first.
//   node bench/latency/run.mjs [--quick] [--out DIR] [--delays 0,20] [--rounds N]
//        [--verify-source cookie-or-tcp,off] [--baseline DIR] [--repeat N]
//   node bench/latency/run.mjs --from DIR/latency.json[,...] [--out DIR2]   (tables again from saved rounds; no root)
// --baseline DIR: another checkout (built) whose daemons run in alternate labs (base, this,
// base, this ...), to measure a change side by side; its lab code must have the same scenario.
// Prints Markdown; --out writes DIR/latency.json and DIR/latency.svg (stage medians as bars; latency-<RTT>ms.svg per further RTT). Exit 2 without root, 1 when a run measured nothing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false }, out: { type: 'string' }, delays: { type: 'string', default: '0,20' },
    rounds: { type: 'string' }, 'verify-source': { type: 'string', default: 'cookie-or-tcp' }, baseline: { type: 'string' },
    repeat: { type: 'string' }, from: { type: 'string' },
  },
});
const fail = (msg) => {
  console.error(`bench/latency: ${msg}`);
  process.exit(2);
};
if (!a.from && process.getuid?.() !== 0) fail('needs root (network namespaces, tcpdump, nft): run as root');
const rounds = Number(a.rounds ?? (a.quick ? 10 : 30));
const repeat = Number(a.repeat ?? 1);
const delays = a.delays.split(',').map(Number);
const modes = a['verify-source'].split(',');
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 500) fail(`--rounds must be 1..500, got ${a.rounds}`);
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) fail(`--repeat must be 1..20, got ${a.repeat}`);
if (delays.some((d) => !Number.isFinite(d) || d < 0 || d > 1000)) fail(`--delays must be numbers of ms, got ${a.delays}`);
if (modes.some((m) => m !== 'cookie-or-tcp' && m !== 'off')) fail(`--verify-source must be cookie-or-tcp and/or off, got ${a['verify-source']}`);
const builds = [{ name: 'this', dir: ROOT }];
if (a.baseline) builds.unshift({ name: 'baseline', dir: path.resolve(a.baseline) });
for (const b of builds) {
  try {
    readFileSync(path.join(b.dir, 'dist/src/cli/main.js'));
  } catch {
    fail(`${b.dir}: no dist/src/cli/main.js (build it: npx tsc -p tsconfig.json)`);
  }
}
const { breakdown, breakdownTable } = await import(new URL('dist/src/lab/latency-stages.js', `file://${ROOT}/`).href);
const { breakdownSvg } = await import(new URL('dist/src/lab/latency-svg.js', `file://${ROOT}/`).href);

/** Every build's rounds through this checkout's stages (a baseline may predate a stage or a
 *  point: its `srvQueryTcp` is today's `srvVerified`, absent when there was no detour). */
function analyse(report) {
  for (const p of [...report.nts, ...report.plain]) p.srvVerified ??= p.srvQueryTcp ?? (p.srvTc === undefined ? p.srvQuery : undefined);
  report.breakdown = breakdown(report.nts, report.plain);
  return report;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
let startLoad = load();
let runs = [];
let saved;
if (a.from) {
  const files = a.from.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')));
  saved = { ...files[0], date: files.at(-1).date, machine: { ...files[0].machine, loadAfter: files.at(-1).machine?.loadAfter }, command: files.map((x) => x.command).join('; ') };
  startLoad = saved.machine?.loadBefore ?? '?';
  runs = files.flatMap((x) => x.runs.map((r) => ({ ...r, report: r.nts ? analyse({ rounds: x.rounds, nftMedianMs: r.nftMedianMs, resolver: r.resolver, nts: r.nts, plain: r.plain }) : undefined })));
}
const tmp = path.join(tmpdir(), `ntss-latency-${process.pid}`);
if (!a.from) mkdirSync(tmp, { recursive: true });
let seq = 0;
if (!a.from) for (const delay of delays) for (const mode of modes) for (let r = 0; r < repeat; r++) for (const b of builds) {
  const json = path.join(tmp, `${++seq}.json`);
  const prefix = `lat${process.pid % 100000}x${seq}`;
  const args = [path.join(b.dir, 'dist/src/cli/main.js'), 'lab', 'run', 'latency', '--prefix', prefix, '--delay', String(delay), '--verify-source', mode];
  const t0 = Date.now();
  const p = spawnSync(process.execPath, args, {
    encoding: 'utf8', timeout: (rounds * 4 + 120) * 1000,
    env: { ...process.env, NTSS_LAB_LATENCY_ROUNDS: String(rounds), NTSS_LAB_LATENCY_JSON: json },
  });
  const out = `${p.stdout ?? ''}${p.stderr ?? ''}`;
  let report;
  try {
    report = analyse(JSON.parse(readFileSync(json, 'utf8')));
  } catch { /* reported below */ }
  process.stderr.write(`# ${b.name}: lab run latency --delay ${delay} --verify-source ${mode}: exit ${p.status ?? p.signal} in ${((Date.now() - t0) / 1000).toFixed(0)} s, load ${load()}\n`);
  if (!report || p.status !== 0) process.stderr.write(out.split('\n').filter((l) => /FAIL|Error|error/.test(l)).slice(0, 10).join('\n') + '\n');
  runs.push({ build: b.name, delayMs: delay, verifySource: mode, exit: p.status, report });
}
if (!a.from) rmSync(tmp, { recursive: true, force: true });

const f = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '');
const ok = runs.filter((r) => r.report);
const when = saved?.date ?? new Date().toISOString();
const endLoad = saved?.machine?.loadAfter ?? load();
const n = saved?.rounds ?? rounds;
console.log(`## Query to first byte at alice: NTS-managed vs plain (${when.slice(0, 16).replace('T', ' ')} UTC)\n`);
console.log(`${n} interleaved pairs per run; ${cpus().length} cores, kernel ${release()}, node ${process.version}; load average before ${startLoad}, after ${endLoad}.\n`);
console.log('| build | RTT added | verification | NTS median (p90) | plain median (p90) | extra (median - median) | extra (paired) | extra (sum of stages) | nft activation (routerd) |');
console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|');
for (const r of runs) {
  const b = r.report?.breakdown;
  console.log(b
    ? `| ${r.build} | ${r.delayMs} ms | ${r.verifySource} | ${f(b.nts.median)} (${f(b.nts.p90)}) | ${f(b.plain.median)} (${f(b.plain.p90)}) | **${f(b.extraMs)}** | ${f(b.pairedExtraMs)} | ${f(b.stagesExtraMs)} | ${f(r.report.nftMedianMs)} |`
    : `| ${r.build} | ${r.delayMs} ms | ${r.verifySource} | failed (exit ${r.exit}) | | | | | |`);
}
// The runs of one build, RTT and mode pooled: on a shared machine one run's medians move with
// the load of its half minute; the pooled rounds of interleaved runs compare fairly.
const groups = new Map();
for (const r of ok) {
  const k = `${r.build}|${r.delayMs}|${r.verifySource}`;
  const g = groups.get(k) ?? { build: r.build, delayMs: r.delayMs, verifySource: r.verifySource, runs: 0, nts: [], plain: [], nft: [] };
  g.runs++;
  g.nts.push(...r.report.nts);
  g.plain.push(...r.report.plain);
  if (typeof r.report.nftMedianMs === 'number') g.nft.push(r.report.nftMedianMs);
  groups.set(k, g);
}
const pooled = [...groups.values()].map((g) => ({ ...g, breakdown: breakdown(g.nts, g.plain) }));
console.log('\n### All rounds of each build, RTT and mode pooled\n');
console.log('| build | RTT added | verification | runs | NTS median (p90) | plain median (p90) | extra (median - median) | extra (paired) | extra (sum of stages) |');
console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|');
for (const g of pooled) {
  const b = g.breakdown;
  console.log(`| ${g.build} | ${g.delayMs} ms | ${g.verifySource} | ${g.runs} | ${f(b.nts.median)} (${f(b.nts.p90)}) | ${f(b.plain.median)} (${f(b.plain.p90)}) | **${f(b.extraMs)}** | ${f(b.pairedExtraMs)} | ${f(b.stagesExtraMs)} |`);
}
for (const g of pooled) {
  console.log(`\n### ${g.build}, RTT +${g.delayMs} ms, verification ${g.verifySource}: ${g.runs} run(s), ${g.nts.length} + ${g.plain.length} rounds (ms, medians)\n`);
  console.log(breakdownTable(g.breakdown));
}
if (a.out) {
  mkdirSync(a.out, { recursive: true });
  const doc = {
    name: 'latency', date: when, rounds: n, machine: { cores: cpus().length, kernel: release(), node: process.version, loadBefore: startLoad, loadAfter: endLoad },
    command: saved?.command ?? `node bench/latency/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    pooled: pooled.map((g) => ({ build: g.build, delayMs: g.delayMs, verifySource: g.verifySource, runs: g.runs, breakdown: g.breakdown })),
    runs: runs.map((r) => ({ build: r.build, delayMs: r.delayMs, verifySource: r.verifySource, exit: r.exit, ...(r.report ? { breakdown: r.report.breakdown, nftMedianMs: r.report.nftMedianMs, resolver: r.report.resolver, nts: r.report.nts, plain: r.report.plain } : {}) })),
  };
  writeFileSync(path.join(a.out, 'latency.json'), `${JSON.stringify(doc, null, 1)}\n`);
  // One picture per RTT (one scale would flatten RTT 0 next to 20 ms): latency.svg for the
  // smallest, latency-<RTT>ms.svg for the others.
  const rtts = [...new Set(pooled.map((g) => g.delayMs))].sort((x, y) => x - y);
  for (const rtt of rtts) {
    const bars = pooled.filter((g) => g.delayMs === rtt).map((g) => ({ label: `${g.build}${g.verifySource === 'off' ? ', no verification' : ''}`, breakdown: g.breakdown }));
    writeFileSync(path.join(a.out, rtt === rtts[0] ? 'latency.svg' : `latency-${rtt}ms.svg`), breakdownSvg(bars, `Query to first byte at alice, RTT +${rtt} ms: stage medians (ms), NTS-managed vs plain`));
  }
}
process.exit(ok.length === runs.length ? 0 : 1);
