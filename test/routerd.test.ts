// The router daemon in-process with real sockets on loopback: signed NTS requests from an
// NtsUdpClient (playing the NTSv2 server), TCP from the EN (127.0.0.30) to the global address
// 127.0.0.2, relayed to alice (127.0.0.10) or bob (127.0.0.11).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { schedulerSection, type RouterConfig } from '../src/config/router-config.js';
import { NtsUdpClient, type NtsRequestFields, type NtsResult } from '../src/nts/index.js';
import { startRouter } from '../src/routerd/index.js';
import { PhlStore } from '../src/store/phl-store.js';
import { memoryLogger } from '../src/util/log.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KEY = randomBytes(32);
const GA = '127.0.0.2';
const ALICE = '127.0.0.10';
const BOB = '127.0.0.11';
const EN = '127.0.0.30';
const HOLD_MS = 300;
const T = { timeout: 15_000 };

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function closeServer(s: net.Server): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}

/** Answers `name:<everything the peer sent>` once the peer half-closes. */
async function service(name: string, host: string, port: number): Promise<{ server: net.Server; seen: string[] }> {
  const seen: string[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    seen.push(s.remoteAddress ?? '?');
    let all = '';
    s.on('data', (d) => (all += d.toString()));
    s.on('end', () => s.end(`${name}:${all}`));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, seen };
}

/** alice and bob on one port P (the router relays GA:P to PA:P). */
async function services(t: TestContext) {
  for (let attempt = 0; ; attempt++) {
    const alice = await service('alice', ALICE, 0);
    const port = (alice.server.address() as net.AddressInfo).port;
    try {
      const bob = await service('bob', BOB, port);
      t.after(() => Promise.all([closeServer(alice.server), closeServer(bob.server)]));
      return { port, alice: alice.seen, bob: bob.seen };
    } catch (e) {
      await closeServer(alice.server);
      if (attempt === 5) throw e;
    }
  }
}

function config(port: number, over: { scheduler?: Parameters<typeof schedulerSection>[0]; server?: RouterConfig['server']; keepaliveIntervalMs?: number } = {}): RouterConfig {
  return {
    file: '(test)', id: 'gw1', key: KEY,
    nts: { listen: { host: '127.0.0.1', port: 0, family: 4 }, windowMs: 30_000, keepaliveIntervalMs: over.keepaliveIntervalMs ?? 30_000 },
    server: over.server,
    globalAddresses: [GA],
    phl: [{ name: 'alice.home.example.', address: ALICE }, { name: 'bob.home.example.', address: BOB }],
    scheduler: schedulerSection({
      holdMs: HOLD_MS, rcTimeoutMs: 3000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100,
      serviceEwmaAlpha: 0.125, idMemoryMs: 60_000, stickyMs: 30_000, ...over.scheduler,
    }),
    dataplane: { type: 'userspace', ports: [{ proto: 'tcp', port }], udpIdleTimeoutMs: 30_000, proxyProtocol: false },
  };
}

async function start(t: TestContext, cfg: RouterConfig) {
  const log = memoryLogger('debug');
  const router = await startRouter(cfg, log);
  t.after(() => router.close());
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  t.after(() => client.close());
  const ask = (fqdn: string, o: { key?: Buffer; fields?: Partial<NtsRequestFields>; waitMs?: number } = {}): Promise<NtsResult> =>
    client.request(
      { host: '127.0.0.1', port: router.nts.port }, { id: 'gw1', secret: o.key ?? KEY },
      { fqdn, qtype: 1, mode: 'any', resolver: { address: '127.0.0.1', port: 5353 }, ...o.fields },
      { deadlineMs: Date.now() + (o.waitMs ?? 3000) },
    );
  return { router, log, ask };
}

/** EN: connect from 127.0.0.30, send, half-close, read until closed. */
function exchange(port: number, payload: string): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: GA, port, localAddress: EN });
    let data = '';
    let error: string | undefined;
    s.on('connect', () => s.end(payload));
    s.on('data', (d) => (data += d.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    s.on('close', () => resolve({ data, error }));
  });
}

function logged(log: { lines: string[] }, event: string): Record<string, unknown>[] {
  return log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === event);
}

test('READY with the global address, then the EN\'s connection reaches alice', T, async (t) => {
  const svc = await services(t);
  const { router, log, ask } = await start(t, config(svc.port));
  const res = await ask('alice.home.example.');
  assert.equal(res.status, 'READY');
  assert.ok(res.status === 'READY' && res.answerAddress === GA && res.rcId === 1);
  assert.ok(res.status === 'READY' && res.rcLifetimeMs! > 0 && res.rcLifetimeMs! <= 3000);
  assert.deepEqual(router.scheduler.activeRcs().map((rc) => rc.privateAddress), [ALICE]);
  const r = await exchange(svc.port, 'hello');
  assert.deepEqual(r, { data: 'alice:hello', error: undefined });
  assert.equal(svc.alice.length, 1);
  assert.equal(svc.bob.length, 0);
  await waitFor(() => router.counters.get('dataplane.mapping-closed') === 1, 'mapping-closed');
  assert.equal(router.scheduler.mappings.size, 0, 'the ended flow left the mapping table');
  assert.equal(router.counters.get('respond.READY'), 1);
  assert.equal(logged(log, 'rc-created')[0].fqdn, 'alice.home.example.');
  assert.equal(logged(log, 'mapping-created')[0].en !== undefined, true);
  assert.deepEqual(logged(log, 'mapping-closed').map((l) => [l.bytesIn, l.bytesOut]), [[5, 11]]);
});

test('a request for bob while alice\'s RC is active is answered only after alice\'s first packet + hold', T, async (t) => {
  const svc = await services(t);
  const { router, ask } = await start(t, config(svc.port));
  let firstPacketAt: number | undefined;
  router.dataplane.onEvent((e) => {
    if (e.type === 'mapping-opened') firstPacketAt ??= Date.now();
  });
  const a = await ask('alice.home.example.');
  assert.equal(a.status, 'READY');
  let bobAt: number | undefined;
  const bob = ask('bob.home.example.').then((r) => {
    bobAt = Date.now();
    return r;
  });
  await waitFor(() => router.scheduler.queueLength === 1, 'bob queued');
  assert.equal(bobAt, undefined, 'no response while alice\'s RC waits for its packet (paper 3.4)');
  assert.deepEqual(await exchange(svc.port, 'one'), { data: 'alice:one', error: undefined });
  const b = await bob;
  assert.ok(b.status === 'READY' && b.answerAddress === GA && b.rcId === 2);
  assert.ok(firstPacketAt !== undefined && bobAt! >= firstPacketAt + HOLD_MS - 20,
    `bob's READY ${bobAt! - firstPacketAt!} ms after alice's first packet, hold ${HOLD_MS} ms`);
  assert.deepEqual(await exchange(svc.port, 'two'), { data: 'bob:two', error: undefined });
  assert.deepEqual([svc.alice.length, svc.bob.length], [1, 1]);
});

test('a forged request (wrong key) gets no response and creates no RC; it is counted', T, async (t) => {
  const svc = await services(t);
  const { router, ask } = await start(t, config(svc.port));
  const res = await ask('alice.home.example.', { key: randomBytes(32), waitMs: 700 });
  assert.equal(res.status, 'TIMEOUT');
  assert.deepEqual(router.scheduler.activeRcs(), []);
  assert.ok(router.counters.get('nts.bad-mac') >= 1);
  assert.equal(router.counters.get('requests'), 0);
  assert.equal(router.counters.get('nts.responses'), 0);
});

test('unknown host: UNKNOWN_HOST, no RC; NTSS v1 (mode source) keys the RC on the EN: only that EN gets in', T, async (t) => {
  const svc = await services(t);
  const { router, ask } = await start(t, config(svc.port));
  const u = await ask('carol.home.example.');
  assert.deepEqual(u, { status: 'UNKNOWN_HOST', reason: 'unknown-host' });
  assert.deepEqual(router.scheduler.activeRcs(), []);
  const v6 = await ask('alice.home.example.', { fields: { mode: 'source', enAddress: '2001:db8::7' } });
  assert.equal(v6.status, 'UNSUPPORTED', 'an IPv6 EN cannot reach an IPv4 global address');
  // An RC for another EN: a connection from EN is not it.
  assert.equal((await ask('alice.home.example.', { fields: { mode: 'source', enAddress: '127.0.0.9' } })).status, 'READY');
  assert.deepEqual(router.scheduler.activeRcs().map((rc) => [rc.source, rc.keys[0]!.source]), [['source', '127.0.0.9/32']]);
  assert.deepEqual(await exchange(svc.port, 'not me'), { data: '', error: 'ECONNRESET' });
  // v1 RCs of different ENs do not conflict: bob's for EN is made at once beside alice's.
  assert.equal((await ask('bob.home.example.', { fields: { mode: 'source', enAddress: EN } })).status, 'READY');
  assert.equal(router.scheduler.activeRcs().length, 2);
  const r = await exchange(svc.port, 'v1');
  assert.match(r.data, /bob/);
  assert.equal(svc.alice.length, 0);
});

test('a connection without a lookup is not relayed, nor one after the RC expired unused', T, async (t) => {
  const svc = await services(t);
  const { router, ask } = await start(t, config(svc.port, { scheduler: { rcTimeoutMs: 300 } }));
  const r = await exchange(svc.port, 'uninvited');
  assert.deepEqual(r, { data: '', error: 'ECONNRESET' });
  assert.equal((await ask('alice.home.example.')).status, 'READY');
  await waitFor(() => router.scheduler.activeRcs().length === 0, 'the RC to expire (timer-driven poll)');
  assert.deepEqual(await exchange(svc.port, 'too late'), { data: '', error: 'ECONNRESET' });
  assert.equal(svc.alice.length, 0);
  assert.equal(router.counters.get('dataplane.tcp-no-rc'), 2);
  assert.equal(router.counters.get('event.rc-removed'), 1);
});

test('REGISTER at start, then KEEPALIVEs to the configured server', T, async (t) => {
  const svc = await services(t);
  const seen: { type: string; sequence: number; addresses: string[] }[] = [];
  const server = await NtsUdpClient.open({
    host: '127.0.0.1', keys: (id) => (id === 'gw1' ? KEY : undefined),
    onRegister: (ev) => {
      seen.push({ type: ev.msg.type, sequence: ev.msg.register.sequence, addresses: ev.msg.register.addresses });
    },
  });
  t.after(() => server.close());
  const { router } = await start(t, config(svc.port, { server: { ...server.address(), host: '127.0.0.1', family: 4 }, keepaliveIntervalMs: 100 }));
  await waitFor(() => seen.length >= 3, 'REGISTER + 2 KEEPALIVEs');
  assert.deepEqual(seen.slice(0, 3).map((s) => [s.type, s.sequence, s.addresses]), [
    ['REGISTER', 0, [GA]], ['KEEPALIVE', 1, [GA]], ['KEEPALIVE', 2, [GA]],
  ]);
  await waitFor(() => router.counters.get('announce.ack.ACCEPTED') >= 2, 'acks');
});

test('leases survive a restart through the store: no address for another host before the last one ends', T, async (t) => {
  const svc = await services(t);
  const dir = mkdtempSync(join(tmpdir(), 'ntss-horizon-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let skew = 0;
  const now = () => Date.now() + skew;
  const cfg = { ...config(svc.port), storage: join(dir, 'router.db') };
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  t.after(() => client.close());
  const ask = (port: number, fqdn: string) => client.request(
    { host: '127.0.0.1', port }, { id: 'gw1', secret: KEY },
    { fqdn, qtype: 1, mode: 'any', resolver: { address: '127.0.0.1', port: 5353 }, leaseMs: 2000 }, { deadlineMs: Date.now() + 1500 },
  );
  const first = await startRouter(cfg, memoryLogger('info'), now);
  assert.equal((await ask(first.nts.port, 'alice.home.example.')).status, 'READY'); // alice's answer may be used ~2.5 s
  await first.close();
  // Restarted at once: it does not know alice's lease, only when every lease ends.
  const log = memoryLogger('info');
  const second = await startRouter(cfg, log, now);
  const bob = await ask(second.nts.port, 'bob.home.example.');
  assert.equal(bob.status, 'TOO_LATE', 'bob may not take the address alice\'s answer names');
  assert.equal(logged(log, 'lease-horizon').length, 1);
  assert.deepEqual(second.scheduler.activeRcs(), []);
  await second.close();
  // Past the horizon (lease end + the 10 s write step): served again.
  skew += 20_000;
  const third = await startRouter(cfg, memoryLogger('info'), now);
  t.after(() => third.close());
  assert.equal((await ask(third.nts.port, 'bob.home.example.')).status, 'READY');
});

test('a lease whose horizon cannot be stored is not granted: BUSY, not READY (fail closed)', T, async (t) => {
  const svc = await services(t);
  const dir = mkdtempSync(join(tmpdir(), 'ntss-horizon-fail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { router, log, ask } = await start(t, { ...config(svc.port), storage: join(dir, 'router.db') });
  const real = PhlStore.prototype.setLeaseHorizon;
  PhlStore.prototype.setLeaseHorizon = () => { throw new Error('disk full (test)'); };
  try {
    const r = await ask('alice.home.example.', { fields: { leaseMs: 2000 } });
    assert.equal(r.status, 'BUSY', 'a READY would promise a lease a restart could forget');
    assert.equal(logged(log, 'lease-horizon-error').length, 1);
    // The same question again joins that request: it would carry the same unstored lease.
    const again = await ask('alice.home.example.', { fields: { leaseMs: 2000 } });
    assert.equal(again.status, 'BUSY', 'a join must not turn the refused lease into a READY');
  } finally {
    PhlStore.prototype.setLeaseHorizon = real;
  }
  // Stored again: granted. (The refused RC waits unused and the lease keeps the address alice's.)
  assert.equal((await ask('alice.home.example.', { fields: { leaseMs: 2000, resolver: { address: '127.0.0.2', port: 5353 } } })).status, 'READY');
  assert.equal(router.counters.get('lease-horizon-error'), 1);
});
