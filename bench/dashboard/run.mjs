// What the live dashboard costs the router, and how late it shows a lookup (issue 10 §2).
// The real daemon (`ntss router`, a child process, userspace data plane, loopback only) is
// loaded by a closed loop of signed NTS requests (UNKNOWN_HOST: each one is a lookup item, a
// response item and a wait point on the page), with the dashboard off and on with K event-stream
// clients (a worker thread that parses every event, as a page would), interleaved round by round
// (off/on, then on/off). Per mode: requests/s, the client's request-to-response median and p99,
// the router's CPU per 1000 requests (/proc/PID/stat); with the dashboard: how long after the
// response an event stream delivered its item (arrival - the item's time; one clock), and the
// bytes per lookup per client.
// Usage: node bench/dashboard/run.mjs [--quick] [--out DIR] [--rounds N] [--seconds S] [--concurrency C] [--clients K]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { summarize } from '../nts-processing/stats.mjs';
import { median } from '../../dist/src/util/stats.js';

const dist = new URL('../../dist/src/', import.meta.url);
const MAIN = fileURLToPath(new URL('cli/main.js', dist));
const { NtsUdpClient } = await import(new URL('nts/index.js', dist).href);

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false }, out: { type: 'string' }, rounds: { type: 'string' }, seconds: { type: 'string' },
    concurrency: { type: 'string', default: '16' }, clients: { type: 'string', default: '8' },
  },
});
const ROUNDS = Number(a.rounds ?? (a.quick ? 3 : 6));
const SECONDS = Number(a.seconds ?? (a.quick ? 4 : 8));
const CONC = Number(a.concurrency);
const CLIENTS = Number(a.clients);
for (const [k, v, min, max] of [['rounds', ROUNDS, 1, 100], ['seconds', SECONDS, 1, 120], ['concurrency', CONC, 1, 1024], ['clients', CLIENTS, 0, 1000]]) {
  if (!Number.isInteger(v) || v < min || v > max) {
    console.error(`--${k} must be an integer ${min}..${max}, got ${v}`);
    process.exit(2);
  }
}

const KEY = randomBytes(32);
const TOKEN = randomBytes(24).toString('base64url');
const log = (s) => process.stderr.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP+UDP port on loopback (bind both, then release). */
async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
}

async function startRouter(dir, dashboard) {
  const nts = await freePort();
  const relay = await freePort();
  const dash = await freePort();
  const cfg = [
    'id: gw1', `key: "${KEY.toString('base64')}"`, `nts: { listen: "127.0.0.1:${nts}" }`, 'globalAddresses: ["127.0.0.2"]',
    'phl: [{ name: alice.home.example., address: 127.0.0.10 }]', `dataplane: { type: userspace, ports: ["tcp/${relay}"] }`,
    ...(dashboard ? [`dashboard: { listen: "127.0.0.1:${dash}", token: "${TOKEN}", maxClients: ${Math.max(1, CLIENTS)} }`] : []),
  ].join('\n');
  const file = join(dir, `router-${dashboard ? 'on' : 'off'}.yaml`);
  writeFileSync(file, `${cfg}\n`);
  const child = spawn(process.execPath, [MAIN, 'router', '--config', file, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  const ask = (i) => client.request({ host: '127.0.0.1', port: nts }, { id: 'gw1', secret: KEY },
    { fqdn: `n${i}.home.example.`, qtype: 1, mode: 'any', resolver: { address: '127.0.0.1', port: 5353 }, leaseMs: 0 }, { deadlineMs: Date.now() + 2000 });
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`ntss router exited ${child.exitCode}: ${err}`);
    if ((await ask(-1)).status === 'UNKNOWN_HOST') break;
    if (i > 50) throw new Error(`ntss router did not answer: ${err}`);
    await sleep(100);
  }
  return {
    child, ask, dash,
    async stop() {
      await client.close();
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

/** K event-stream clients in a worker: resolves once every one has its snapshot. */
function streams(port, k) {
  const w = new Worker(new URL('./sse-worker.mjs', import.meta.url), { workerData: { port, k, token: TOKEN } });
  const ready = new Promise((resolve, reject) => {
    w.once('message', (m) => (m.ready ? resolve() : reject(new Error(m.error))));
    w.once('error', reject);
  });
  return {
    ready,
    stop: () => new Promise((resolve, reject) => {
      w.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      w.postMessage('stop');
    }),
  };
}

async function load(ask) {
  const lat = [];
  let n = 0;
  let bad = 0;
  const end = Date.now() + SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const t0 = process.hrtime.bigint();
      const r = await ask(n++);
      if (r.status !== 'UNKNOWN_HOST') bad++;
      else lat.push(Number(process.hrtime.bigint() - t0));
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONC }, worker));
  return { requests: lat.length, bad, seconds: (Date.now() - t0) / 1000, lat };
}

async function round(dir, mode) {
  const r = await startRouter(dir, mode === 'on');
  try {
    const s = mode === 'on' && CLIENTS > 0 ? streams(r.dash, CLIENTS) : undefined;
    await s?.ready;
    const c0 = cpuMs(r.child.pid);
    const l = await load(r.ask);
    const cpu = cpuMs(r.child.pid) - c0;
    await sleep(600); // the last delta leaves within 250 ms
    const got = await s?.stop();
    const lat = summarize(l.lat);
    return {
      mode, requests: l.requests, timeouts: l.bad, rps: l.requests / l.seconds, medianMs: lat.medianUs / 1000, p99Ms: lat.p99Us / 1000,
      cpuMsPer1k: (cpu / l.requests) * 1000,
      ...(got ? { delivery: got.delivery, bytesPerLookupPerClient: got.bytes / got.clients / l.requests, itemsSeen: got.items / got.clients, dropped: got.closed } : {}),
    };
  } finally {
    await r.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'ntss-bench-dashboard-'));
const load0 = loadavg()[0];
const runs = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of i % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
      const x = await round(dir, mode);
      log(`round ${i + 1} ${mode}: ${x.rps.toFixed(0)} req/s, median ${x.medianMs.toFixed(3)} ms, router CPU ${x.cpuMsPer1k.toFixed(1)} ms/1k${x.delivery ? `, delivery median ${x.delivery.length ? median(x.delivery) : NaN} ms` : ''}`);
      runs.push(x);
    }
  }
} catch (e) {
  console.error(`bench/dashboard: could not measure: ${e.message}`);
  process.exit(1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const med = (xs) => median(xs);
const of = (mode, k) => runs.filter((r) => r.mode === mode).map((r) => r[k]);
const ratios = (k) => runs.filter((r) => r.mode === 'on').map((on, i) => on[k] / runs.filter((r) => r.mode === 'off')[i][k]);
const delivery = runs.flatMap((r) => r.delivery ?? []);
const d = delivery.length ? summarize(delivery.map((x) => x * 1e6)) : undefined;
const result = {
  date: new Date().toISOString(), rounds: ROUNDS, seconds: SECONDS, concurrency: CONC, clients: CLIENTS, loadavgBefore: load0, loadavgAfter: loadavg()[0],
  off: { rps: med(of('off', 'rps')), medianMs: med(of('off', 'medianMs')), p99Ms: med(of('off', 'p99Ms')), cpuMsPer1k: med(of('off', 'cpuMsPer1k')) },
  on: { rps: med(of('on', 'rps')), medianMs: med(of('on', 'medianMs')), p99Ms: med(of('on', 'p99Ms')), cpuMsPer1k: med(of('on', 'cpuMsPer1k')) },
  ratioOnOff: { rps: med(ratios('rps')), cpuMsPer1k: med(ratios('cpuMsPer1k')) },
  delivery: d && { n: d.n, medianMs: d.medianUs / 1000, p90Ms: d.p90Us / 1000, p99Ms: d.p99Us / 1000 },
  bytesPerLookupPerClient: CLIENTS > 0 ? med(of('on', 'bytesPerLookupPerClient')) : undefined,
  clientsDropped: runs.reduce((s, r) => s + (r.dropped ?? 0), 0),
  timeouts: runs.reduce((s, r) => s + r.timeouts, 0),
  runs: runs.map(({ delivery: _d, ...r }) => r),
};
const f = (x, p = 1) => (x === undefined ? '-' : x.toFixed(p));
console.log(`| dashboard (${CLIENTS} event streams) | req/s | request median ms | p99 ms | router CPU ms / 1000 requests |`);
console.log('|---|---|---|---|---|');
console.log(`| off | ${f(result.off.rps, 0)} | ${f(result.off.medianMs, 3)} | ${f(result.off.p99Ms, 3)} | ${f(result.off.cpuMsPer1k)} |`);
console.log(`| on | ${f(result.on.rps, 0)} | ${f(result.on.medianMs, 3)} | ${f(result.on.p99Ms, 3)} | ${f(result.on.cpuMsPer1k)} |`);
console.log(`| on / off (median of ${ROUNDS} interleaved rounds) | ${f(result.ratioOnOff.rps, 3)} | | | ${f(result.ratioOnOff.cpuMsPer1k, 3)} |`);
console.log('');
console.log('| event delivery (response -> item at the stream client) | n | median ms | p90 ms | p99 ms | bytes per lookup per client | clients dropped |');
console.log('|---|---|---|---|---|---|---|');
console.log(`| ${CLIENTS} clients | ${d?.n ?? 0} | ${f(result.delivery?.medianMs)} | ${f(result.delivery?.p90Ms)} | ${f(result.delivery?.p99Ms)} | ${f(result.bytesPerLookupPerClient, 0)} | ${result.clientsDropped} |`);
console.log(`\nload average ${load0.toFixed(2)} before, ${result.loadavgAfter.toFixed(2)} after; ${ROUNDS} rounds x ${SECONDS} s, ${CONC} requests in flight`);
if (a.out) {
  mkdirSync(a.out, { recursive: true });
  writeFileSync(join(a.out, 'dashboard.json'), `${JSON.stringify(result, null, 2)}\n`);
}
if (result.timeouts > 0 || (CLIENTS > 0 && !d)) {
  console.error(`bench/dashboard: ${result.timeouts} requests timed out, ${d?.n ?? 0} delivery samples`);
  process.exit(1);
}
