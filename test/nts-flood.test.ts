// Replays and forgeries at a high rate over real sockets (issue 8, "NTS"): the router daemon
// (startRouter: NTS socket -> scheduler -> a simulated data plane) on 127.0.0.1, and an attacker
// in a child process (helpers/nts-flood-sender.ts). Exactly one legitimate request; 100,000 of
// its replays; 100,000 forgeries; stale and future ones; oversized datagrams. Bounded in count
// and time; the router must create one RC, send 1 + 16 copies of one RESPONSE (docs/protocol.md
// 5.2), count every datagram and keep no state for the rest. Rates are printed, not asserted.
// NTSS_FLOOD_N scales the big bursts (default 100000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { schedulerSection, type RouterConfig } from '../src/config/router-config.js';
import { SimulatedDataPlane } from '../src/dataplane/index.js';
import { decodeMessage } from '../src/nts/codec.js';
import { startRouter } from '../src/routerd/index.js';
import { memoryLogger } from '../src/util/log.js';
import { NtsServerCore } from '../src/nts/server.js';
import { floodDatagrams, type FloodKind } from './helpers/nts-fuzz.js';
import type { FromSender, ToSender } from './helpers/nts-flood-sender.js';
import { prng } from './helpers/prng.js';

const N = Number(process.env.NTSS_FLOOD_N ?? 100_000);
const KEY = randomBytes(32);
const SEED = 0xf100d;
/** Datagrams in flight at once: well below what the default receive buffer holds, so none is lost. */
const WINDOW = 128;
const TIME_BUDGET_MS = 90_000;
v8.setFlagsFromString('--expose-gc');
/** A full collection before reading the heap, so the delta is what the run kept, not its garbage. */
const gc = runInNewContext('gc') as () => void;
const heapUsed = () => { gc(); return process.memoryUsage().heapUsed; };
const SENDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'nts-flood-sender.js');

function config(): RouterConfig {
  return {
    file: '(test)', id: 'gw1', key: KEY,
    nts: { listen: { host: '127.0.0.1', port: 0, family: 4 }, windowMs: 30_000, keepaliveIntervalMs: 30_000 },
    globalAddresses: ['127.0.0.2'],
    phl: [{ name: 'alice.home.example.', address: '127.0.0.10' }],
    scheduler: schedulerSection({
      holdMs: 300, rcTimeoutMs: 60_000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100,
      serviceEwmaAlpha: 0.125, idMemoryMs: 60_000, stickyMs: 30_000,
    }),
    dataplane: { type: 'userspace', ports: [{ proto: 'tcp', port: 9 }], udpIdleTimeoutMs: 30_000, proxyProtocol: false },
  };
}

/** Request/reply over the child's IPC channel, one at a time. */
function channel(child: ChildProcess) {
  const waiting: { resolve: (m: FromSender) => void; reject: (e: Error) => void }[] = [];
  child.on('message', (m: FromSender) => waiting.shift()?.resolve(m));
  child.on('exit', (code) => { for (const w of waiting.splice(0)) w.reject(new Error(`the sender exited (${code})`)); });
  return (m: ToSender): Promise<FromSender> => new Promise((resolve, reject) => {
    if (child.exitCode !== null) return reject(new Error(`the sender exited (${child.exitCode})`));
    waiting.push({ resolve, reject });
    child.send(m, (err) => { if (err) reject(err); });
  });
}

test(`NTS flood over UDP: 1 legitimate request, ${N} replays, ${N} forgeries, stale, future and oversized datagrams`, { timeout: 180_000 }, async (t) => {
  const router = await startRouter(config(), memoryLogger('warn'), Date.now, { dataplane: (c) => new SimulatedDataPlane(c) });
  t.after(() => router.close());
  const child = fork(SENDER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.after(() => { if (child.exitCode === null) child.kill(); });
  const ask = channel(child);
  await ask({ cmd: 'init', port: router.nts.port, key: KEY.toString('hex'), seed: SEED });

  const received = () => router.counters.get('nts.received');
  const started = Date.now();
  let sent = 0;
  /** Sends `count` in windows, each time waiting until the router has read the whole window. */
  async function burst(kind: FloodKind, count: number, window = WINDOW): Promise<{ n: number; ms: number; cpuUs: number }> {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let n = 0;
    while (n < count && Date.now() - started < TIME_BUDGET_MS) {
      const k = Math.min(window, count - n);
      await ask({ cmd: 'send', kind, count: k });
      sent += k;
      n += k;
      const until = Date.now() + 5000;
      while (received() < sent) {
        if (Date.now() > until) assert.fail(`${kind}: the router read ${received()} of ${sent} datagrams (lost in the socket buffer?)`);
        await new Promise((r) => setImmediate(r));
      }
    }
    const cpu = process.cpuUsage(cpu0);
    return { n, ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuUs: cpu.user + cpu.system };
  }

  const heap0 = heapUsed();
  await burst('legit', 1);
  const until = Date.now() + 5000;
  while ((await ask({ cmd: 'report' }) as { received: string[] }).received.length < 1) {
    if (Date.now() > until) assert.fail('no RESPONSE to the legitimate request');
    await new Promise((r) => setTimeout(r, 10));
  }
  const phases: [FloodKind, number, number?][] = [
    ['replay', N], ['random-mac', N / 4], ['unknown-key', N / 4], ['wrong-key', N / 4], ['garbage', N / 4],
    ['stale', N / 10], ['future', N / 10], ['oversized', Math.max(10, N / 100), 1],
  ];
  const results: Record<string, { n: number; ms: number; cpuUs: number }> = {};
  for (const [kind, count, window] of phases) results[kind] = await burst(kind, Math.round(count), window);
  await new Promise((r) => setTimeout(r, 100)); // let the last resends arrive
  const replies = (await ask({ cmd: 'report' }) as { received: string[] }).received;
  const heap1 = heapUsed();
  const c = router.counters.snapshot();

  // Saturation: the same kind of forgery with no flow control; the kernel drops what the router
  // cannot read in time. Handled per second is the router's ceiling on this machine.
  const sat = Math.round(N / 4);
  const r0 = received();
  const cpuSat0 = process.cpuUsage();
  const tSat0 = Date.now();
  await ask({ cmd: 'send', kind: 'random-mac', count: sat });
  let last = received();
  let lastChange = Date.now();
  while (Date.now() - lastChange < 200) {
    await new Promise((r) => setTimeout(r, 5));
    if (received() !== last) { last = received(); lastChange = Date.now(); }
  }
  const cpuSat = process.cpuUsage(cpuSat0);
  const satHandled = last - r0;
  const satMs = lastChange - tSat0;

  const exited = once(child, 'exit');
  child.send({ cmd: 'exit' } satisfies ToSender);
  await exited;

  const expect = (k: string) => c[k] ?? 0;
  const n = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.n]));
  const outcomes = ['new-request', 'duplicate-pending', 'resend', 'register-ack', 'unexpected-type', 'resend-limit', 'unmatched',
    'malformed', 'bad-version', 'unknown-key', 'bad-mac', 'stale', 'replay'];
  // Every datagram read and counted once.
  assert.equal(expect('nts.received'), sent);
  assert.equal(outcomes.reduce((s, k) => s + expect(`nts.${k}`), 0), sent, JSON.stringify(c));
  // The one legitimate request: one RC, one READY; its replays: 16 resends, then silence (or stale past the window).
  assert.equal(expect('nts.new-request'), 1);
  assert.equal(expect('event.rc-created'), 1, 'exactly one RC');
  assert.equal(expect('respond.READY'), 1);
  assert.equal(expect('nts.resend'), 16);
  assert.equal(expect('nts.resend-limit') + expect('nts.stale') - n.stale - n.future, n.replay - 16);
  assert.equal(replies.length, 17, 'the RESPONSE once, then 16 copies for the replays');
  assert.ok(replies.every((r) => r === replies[0]), 'the copies are byte for byte the first RESPONSE');
  const first = decodeMessage(Buffer.from(replies[0], 'hex')).msg;
  assert.ok(first.type === 'RESPONSE' && first.response.status === 'READY');
  // Forgeries: each under its reason, no state.
  assert.equal(expect('nts.bad-mac'), n['random-mac'] + n['wrong-key'] + n.oversized);
  assert.equal(expect('nts.unknown-key'), n['unknown-key']);
  assert.ok(expect('nts.malformed') + expect('nts.bad-version') === n.garbage, 'garbage is malformed (or a bad version)');
  assert.ok(expect('nts.stale') >= n.stale + n.future);
  // At most the legitimate request (0 once its window has passed, on a very slow run).
  assert.ok(expect('nts.state.requests') <= 1, 'the request table holds the legitimate request only');
  assert.ok(expect('nts.state.replay-entries') <= 1, 'the replay cache holds the legitimate request only');
  assert.ok(satHandled > 0 && satHandled <= sat);
  const after = router.counters.snapshot();
  assert.deepEqual([after['nts.new-request'], after['event.rc-created'], after['nts.bad-mac'] - c['nts.bad-mac']], [1, 1, satHandled]);

  const total = Object.values(results).reduce((s, r) => s + r.n, 0);
  const ms = Object.values(results).reduce((s, r) => s + r.ms, 0);
  const cpu = Object.values(results).reduce((s, r) => s + r.cpuUs, 0);
  for (const [k, r] of Object.entries(results)) {
    console.log(`# nts-flood: ${k.padEnd(11)} ${String(r.n).padStart(7)} datagrams, ${Math.round(r.n / (r.ms / 1000))}/s handled, router process CPU ${(r.cpuUs / r.n).toFixed(1)} us each`);
  }
  console.log(`# nts-flood: all ${total} in ${ms.toFixed(0)} ms: ${Math.round(total / (ms / 1000))}/s, ${(cpu / total).toFixed(1)} us CPU each; heap kept ${((heap1 - heap0) / 1e6).toFixed(2)} MB (after gc); replies ${replies.length}`);
  console.log(`# nts-flood: saturation (random-mac, no flow control): ${satHandled} of ${sat} handled in ${satMs} ms: ${Math.round(satHandled / (satMs / 1000))}/s, ${((cpuSat.user + cpuSat.system) / satHandled).toFixed(1)} us CPU each, ${sat - satHandled} dropped by the kernel`);
  console.log(`# nts-flood: counters ${JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k, v]) => k.startsWith('nts.') && v > 0)))}`);
});

test('NTS flood, the sans-I/O core alone: the same datagrams, CPU per datagram by kind', () => {
  const core = new NtsServerCore({ keys: (id) => (id === 'gw1' ? KEY : undefined), windowMs: 30_000 });
  const now = Date.now();
  const make = floodDatagrams(KEY, prng(SEED), () => now);
  const from = { address: '127.0.0.1', port: 40000 };
  const ev = core.receive(now, make('legit'), from);
  assert.equal(ev.kind, 'new-request');
  core.respond(now, ev.kind === 'new-request' ? ev.request.requestId : '', { status: 'READY', answerAddress: '127.0.0.2', rcId: 1, rcLifetimeMs: 1000 });
  const expected: [FloodKind, string][] = [
    ['replay', 'resend-limit'], ['random-mac', 'bad-mac'], ['unknown-key', 'unknown-key'], ['wrong-key', 'bad-mac'],
    ['garbage', 'malformed'], ['stale', 'stale'], ['future', 'stale'], ['oversized', 'bad-mac'],
  ];
  const line: string[] = [];
  for (const [kind, reason] of expected) {
    const n = kind === 'oversized' ? 200 : 20_000;
    const bufs = Array.from({ length: n }, () => make(kind));
    const seen = new Map<string, number>();
    const t0 = process.hrtime.bigint();
    for (const b of bufs) {
      const e = core.receive(now, b, from);
      const k = e.kind === 'dropped' ? e.reason : e.kind;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
    // The first 16 replays get the cached RESPONSE; garbage may start with "NT" and a version byte.
    if (kind === 'replay') assert.deepEqual(Object.fromEntries(seen), { resend: 16, 'resend-limit': n - 16 });
    else if (kind === 'garbage') assert.equal((seen.get('malformed') ?? 0) + (seen.get('bad-version') ?? 0), n);
    else assert.deepEqual(Object.fromEntries(seen), { [reason]: n }, kind);
    line.push(`${kind} ${us.toFixed(2)}`);
  }
  assert.equal(core.size, 1);
  assert.equal(core.verifier.replayEntries, 1);
  console.log(`# nts-flood: core only, us per datagram: ${line.join(', ')}`);
});
