// The data-plane bench (issue 9 §2): iperf3 TCP and UDP throughput and the TCP connection setup
// rate from en1 through the lab's router namespace to alice, four ways, interleaved in rounds:
//   kernel: `ntss router` with the nftables plane   vs  a static DNAT rule (router stopped)
//   relay:  `ntss router` with the userspace relay  vs  socat doing the same relay
// Medians per plane, the median of the per-round ratios, the machine's load. Root and Linux
// (the lab); build first (npx tsc). Everything runs on one lab (prefix dpb<pid>), removed on
// every exit path.
//   node bench/dataplane/run.mjs [--quick] [--out DIR] [--rounds N] [--seconds S]
//        [--udp-rate 1G] [--concurrency 32] [--pairs kernel,relay,ctevents]
// Exit: 0 measured, 1 could not measure (a test failed in every round, a lookup failed ...),
// 2 not root / bad arguments.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compare, median } from './summary.mjs';

const USAGE = 'usage: run.mjs [--quick] [--out DIR] [--rounds 1..20] [--seconds 1..60] [--udp-rate RATE (iperf3 -b, e.g. 1G)] [--concurrency 1..256] [--pairs kernel,relay,ctevents]';
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false }, out: { type: 'string' }, rounds: { type: 'string' }, seconds: { type: 'string' },
      'udp-rate': { type: 'string', default: '1G' }, concurrency: { type: 'string', default: '32' }, pairs: { type: 'string', default: 'kernel,relay' },
    },
  }));
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
const rounds = Number(args.rounds ?? (args.quick ? 3 : 5));
const seconds = Number(args.seconds ?? (args.quick ? 2 : 5));
const concurrency = Number(args.concurrency);
const pairs = args.pairs.split(',').filter(Boolean);
// ctevents: not a target, a diagnosis of the kernel pair (planes.mjs, static-ct).
const PAIRS = { kernel: ['nts-kernel', 'static'], relay: ['nts-relay', 'socat'], ctevents: ['static-ct', 'static'] };
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20) || !(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60)
  || !/^\d+(\.\d+)?[KMG]?$/.test(args['udp-rate']) || !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 256)
  || pairs.length === 0 || pairs.some((p) => !PAIRS[p])) {
  console.error(USAGE);
  process.exit(2);
}
if (process.platform !== 'linux' || process.geteuid?.() !== 0) {
  console.error('bench/dataplane: needs root on Linux (network namespaces, nftables): not measured');
  process.exit(2);
}

const dist = new URL('../../dist/src/', import.meta.url);
const imp = (p) => import(new URL(p, dist).href);
const { Lab, teardownLab } = await imp('lab/lab.js');
const { assertLabAvailable, labTools } = await imp('lab/preflight.js');
const { enter, IPERF_PORT, CONN_PORT } = await import('./planes.mjs');
const { runTest, logOffset, routerEventsSince, TESTS } = await import('./measure.mjs');
const CONNRATE_JS = fileURLToPath(new URL('./connrate.mjs', import.meta.url));

try {
  assertLabAvailable([...labTools(), 'iperf3', 'socat']);
} catch (e) {
  console.error(`bench/dataplane: ${e.message}`);
  process.exit(2);
}

const say = (s) => process.stderr.write(`# ${s}\n`);
const prefix = `dpb${process.pid}`;
let lab;
// Every exit path removes the lab: normal end, a throw (finally), a signal, process.exit.
let tornDown = false;
const teardown = () => {
  if (tornDown) return;
  tornDown = true;
  const problems = teardownLab(prefix, lab ? Object.values(lab.s.pids) : []);
  if (problems.length > 0) process.stderr.write(`# teardown problems: ${problems.join('; ')}\n`);
};
process.on('exit', teardown);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));

const o = { seconds, udpRate: args['udp-rate'], udpLength: 1400, concurrency };
const uptime = () => readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');
const started = Date.now();
const loadBefore = uptime();
/** results[pair][plane][test] = per-round results (undefined where that round's test failed); a plane in two pairs is measured in each. */
const results = {};
const failures = [];
const sessions = [];

async function session(pair, plane, round) {
  const nts = plane.startsWith('nts-');
  const offset = logOffset(lab);
  const leave = await enter(lab, plane);
  const got = {};
  let kernel = {};
  try {
    for (const test of TESTS) {
      try {
        got[test] = await runTest(lab, test, nts, o);
        say(`round ${round + 1} ${plane} ${test}: ${got[test].value.toFixed(test === 'conn' ? 0 : 1)} ${got[test].unit}${got[test].lossPct !== undefined ? `, loss ${got[test].lossPct.toFixed(2)}%` : ''}, router namespace CPU ${got[test].cpuS.toFixed(2)} s`);
      } catch (e) {
        failures.push(`round ${round + 1} ${plane} ${test}: ${e.message}`);
        say(`round ${round + 1} ${plane} ${test}: FAILED ${e.message}`);
      }
    }
  } finally {
    kernel = (await leave()) ?? {};
  }
  for (const test of TESTS) (((results[pair] ??= {})[plane] ??= {})[test] ??= [])[round] = got[test];
  if (nts) sessions.push({ plane, round: round + 1, connections: got.conn?.ok, events: { ...routerEventsSince(lab, offset), ...kernel } });
}

try {
  say(`lab ${prefix}: up (kernel plane, server nts.enCacheMs 60000 so that en1 gets sticky entries)`);
  lab = await Lab.up({ prefix, delayMs: 0, lossPct: 0, dataplane: 'nftables', enCacheMs: 60_000, say });
  await lab.stopRouter('SIGTERM'); // each plane starts from a router namespace without ntss
  // Many short connections from one EN: the whole port range, so a source port is rarely reused.
  const pr = await lab.exec('en1', 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
  if (pr.code !== 0) throw new Error(`en1: sysctl: ${pr.stderr.trim()}`);
  lab.background('alice', 'iperf3', ['-s', '-p', String(IPERF_PORT)]);
  const conn = lab.background('alice', process.execPath, [CONNRATE_JS, 'server', '--port', String(CONN_PORT)]);
  for (let i = 0; i < 100 && !conn.stdout().includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
  if (!conn.stdout().includes('listening')) throw new Error(`alice: connrate server did not start: ${conn.stderr()}`);
  for (let round = 0; round < rounds; round++) {
    for (const p of pairs) {
      // A, B in odd rounds, B, A in even ones: a drift in the machine's load hits both alike.
      const order = round % 2 === 0 ? PAIRS[p] : [...PAIRS[p]].reverse();
      for (const plane of order) await session(p, plane, round);
    }
  }
} catch (e) {
  failures.push(`aborted: ${e.message}`);
  say(`aborted: ${e.stack ?? e.message}`);
} finally {
  teardown();
}

// ---- report ----
const loadAfter = uptime();
const model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? cpus()[0]?.model ?? '?';
const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
const TEST_NAMES = { tcp: 'iperf3 TCP, Mbit/s', udp: `iperf3 UDP at ${o.udpRate}bit/s offered, received Mbit/s`, conn: `TCP connections/s (${concurrency} in flight)` };
const TARGET = { kernel: 0.97, relay: 1.25, ctevents: NaN };
const table = [];
const json = { date: new Date().toISOString(), machine: { cpu: model, cores: cpus().length, kernel, node: process.version }, load: { before: loadBefore, after: loadAfter },
  options: { rounds, seconds, ...o, pairs }, comparisons: [], results, sessions, failures };
let measured = 0;
for (const p of pairs) {
  const [a, b] = PAIRS[p];
  for (const test of TESTS) {
    const va = (results[p]?.[a]?.[test] ?? []).map((r) => r?.value ?? NaN);
    const vb = (results[p]?.[b]?.[test] ?? []).map((r) => r?.value ?? NaN);
    while (va.length < rounds) va.push(NaN);
    while (vb.length < rounds) vb.push(NaN);
    const c = compare(va, vb);
    if (c.rounds > 0) measured++;
    const loss = (pl) => median((results[p]?.[pl]?.[test] ?? []).map((r) => r?.lossPct ?? NaN));
    const cpu = (pl) => median((results[p]?.[pl]?.[test] ?? []).map((r) => r?.cpuS ?? NaN));
    // The router namespace's CPU per completed connection: what each connection costs there, whatever the load.
    const perConn = (pl) => median((results[p]?.[pl]?.[test] ?? []).map((r) => (r?.ok ? (r.cpuS / r.ok) * 1e6 : NaN)));
    // ... and split by process (node: ntss; conntrack: its event watch; nft): where it goes.
    const perConnBy = (pl) => {
      const rs = (results[p]?.[pl]?.[test] ?? []).filter((r) => r?.ok && r.cpuByCommand);
      const names = [...new Set(rs.flatMap((r) => Object.keys(r.cpuByCommand)))].sort();
      return Object.fromEntries(names.map((n) => [n, median(rs.map((r) => ((r.cpuByCommand[n] ?? 0) / r.ok) * 1e6))]));
    };
    json.comparisons.push({ pair: p, test, a, b, ...c, target: TARGET[p], lossPctA: loss(a), lossPctB: loss(b), cpuSA: cpu(a), cpuSB: cpu(b),
      ...(test === 'conn' ? { cpuUsPerConnA: perConn(a), cpuUsPerConnB: perConn(b), cpuUsPerConnByProcessA: perConnBy(a), cpuUsPerConnByProcessB: perConnBy(b) } : {}) });
    const us = (pl) => (test === 'conn' && Number.isFinite(perConn(pl)) ? ` (${perConn(pl).toFixed(0)} us/conn)` : '');
    const f = (x) => (Number.isFinite(x) ? (test === 'conn' ? x.toFixed(0) : x.toFixed(1)) : '?');
    const l = (x) => (test === 'udp' && Number.isFinite(x) ? ` (loss ${x.toFixed(1)}%)` : '');
    const ok = !Number.isFinite(TARGET[p]) ? '(none)' : Number.isFinite(c.medianRatio) ? (c.medianRatio >= TARGET[p] ? 'yes' : 'no') : '?';
    table.push(`| ${a} vs ${b} | ${TEST_NAMES[test]} | ${f(c.medianA)}${l(loss(a))} | ${f(c.medianB)}${l(loss(b))} | ${c.medianRatio.toFixed(3)} (${c.ratios.map((r) => r.toFixed(2)).join(', ')}) | ${Number.isFinite(TARGET[p]) ? `>= ${TARGET[p]}: ${ok}` : 'diagnosis'} | ${cpu(a).toFixed(2)}${us(a)} / ${cpu(b).toFixed(2)}${us(b)} | ${c.rounds} |`);
  }
}
console.log(`Data plane, en1 -> router namespace -> alice (veths in one machine: CPU-bound), ${rounds} rounds of ${seconds} s per test, A and B alternating in order; ${new Date().toISOString().slice(0, 16)}Z.`);
console.log(`Machine: ${model}, ${cpus().length} cores, Linux ${kernel}, Node ${process.version}; load average ${loadBefore} before, ${loadAfter} after; ${((Date.now() - started) / 1000).toFixed(0)} s.`);
console.log('');
console.log('| A vs B | test | median A | median B | A/B: median of per-round ratios (each round) | target | router namespace CPU s per test, A / B (median) | rounds |');
console.log('|---|---|---:|---:|---|---|---|---:|');
for (const r of table) console.log(r);
console.log('');
for (const c of json.comparisons.filter((x) => x.test === 'conn')) {
  const by = (o) => Object.entries(o ?? {}).filter(([, v]) => Number.isFinite(v) && v >= 0.5).map(([n, v]) => `${n} ${v.toFixed(1)}`).join(', ') || 'none';
  console.log(`- router namespace CPU per connection by process (median us), ${c.a}: ${by(c.cpuUsPerConnByProcessA)}; ${c.b}: ${by(c.cpuUsPerConnByProcessB)}`);
}
for (const s of sessions) {
  const e = s.events;
  const mapped = Object.entries(e).filter(([k]) => k.startsWith('mapping-created.')).map(([k, v]) => `${k.slice(16)} ${v}`).join(', ');
  console.log(`- round ${s.round} ${s.plane}: connections the client completed in the rate test ${s.connections ?? '?'}; the router mapped (scheduler, whole session) ${mapped || 'none'}${e['kernel.sticky-admitted'] !== undefined ? `; the kernel admitted through sticky elements alone, unseen by the router, ${e['kernel.sticky-admitted']}` : ''}; sticky entries created ${e['sticky-created'] ?? 0}; RCs ${e['rc-created'] ?? 0}${e['counter.dataplane.conntrack-events-lost'] ? `; conntrack event losses (ENOBUFS) ${e['counter.dataplane.conntrack-events-lost']}, flows adopted by the re-list ${e['counter.dataplane.adopted'] ?? 0}` : ''}`);
}
if (failures.length > 0) {
  console.log('');
  for (const f of failures) console.log(`- failed: ${f}`);
}
if (args.out) {
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'dataplane.json'), JSON.stringify(json, null, 2));
  const { ratioPlot } = await import('./plot.mjs');
  const plotted = json.comparisons.filter((c) => c.rounds > 0);
  if (plotted.length > 0) writeFileSync(join(args.out, 'dataplane.svg'), ratioPlot(plotted, `A/B per round (dots), median (bar), target (red); ${rounds} rounds of ${seconds} s, load ${loadBefore.split(' ')[0]}`));
}
const complete = measured === pairs.length * TESTS.length && !failures.some((f) => f.startsWith('aborted'));
process.exitCode = complete ? 0 : 1;
