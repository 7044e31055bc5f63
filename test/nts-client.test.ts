import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { NtsClientCore, type NtsRequestParams } from '../src/nts/client.js';
import { NtsEncodeError } from '../src/nts/messages.js';
import { NtsServerCore, type IncomingRequest } from '../src/nts/server.js';
import { NtsUdpClient } from '../src/nts/udp-client.js';
import { NtsUdpServer } from '../src/nts/udp-server.js';

const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);
const KEYS = (id: string) => ({ gw1: K1, gw2: K2 })[id];
const T0 = 1_700_000_000_000;
const FROM = { address: '127.0.0.1', port: 40000 };
const FIELDS = { fqdn: 'alice.home.example.', qtype: 1, mode: 'any' as const, resolver: { address: '127.0.0.1', port: 5353 } };
const params = (deadlineMs: number, keyId = 'gw1'): NtsRequestParams => ({ ...FIELDS, keyId, deadlineMs });
const READY = { status: 'READY' as const, answerAddress: '192.0.2.1', rcId: 7, rcLifetimeMs: 400 };

/** Drives a client core under a fake clock: jumps from one wake-up to the next, like quinn's Pair. */
function run(c: NtsClientCore, until: number) {
  const sends: number[] = [];
  const fails: number[] = [];
  for (let t = c.nextTimeout(); t !== undefined && t <= until; t = c.nextTimeout()) {
    const r = c.poll(t);
    for (const _ of r.resend) sends.push(t);
    for (const _ of r.failed) fails.push(t);
  }
  return { sends, fails };
}

test('retransmission schedule: 200, 400, 800, then 1000 ms apart, same bytes, failure at the deadline', () => {
  const c = new NtsClientCore({ keys: KEYS });
  const { datagram } = c.request(T0, params(T0 + 3500));
  const seen: Buffer[] = [];
  const sends: number[] = [];
  let failedAt: number | undefined;
  for (let t = c.nextTimeout(); t !== undefined; t = c.nextTimeout()) {
    const r = c.poll(t);
    for (const x of r.resend) { sends.push(t - T0); seen.push(x.datagram); }
    if (r.failed.length) failedAt = t - T0;
  }
  assert.deepEqual(sends, [200, 600, 1400, 2400, 3400]);
  assert.equal(failedAt, 3500);
  for (const s of seen) assert.ok(s.equals(datagram));
  assert.equal(c.pendingCount, 0);
  assert.deepEqual({ sent: c.counters.sent, resent: c.counters.resent, failed: c.counters.failed }, { sent: 1, resent: 5, failed: 1 });
});

test('polling between wake-ups does nothing; a late timer shifts the schedule instead of bunching', () => {
  const c = new NtsClientCore({ keys: KEYS });
  c.request(T0, params(T0 + 2000));
  assert.deepEqual(c.poll(T0 + 199), { resend: [], failed: [] });
  assert.equal(c.poll(T0 + 250).resend.length, 1); // 50 ms late
  assert.equal(c.nextTimeout(), T0 + 650);
  assert.deepEqual(run(c, T0 + 5000), { sends: [T0 + 650, T0 + 1450], fails: [T0 + 2000] });
});

test('deadlines: never beyond the window, never in the past; TIME_LEFT from the deadline', () => {
  const c = new NtsClientCore({ keys: KEYS, windowMs: 5000 });
  const s = new NtsServerCore({ keys: KEYS, windowMs: 5000 });
  const { datagram } = c.request(T0, params(T0 + 60_000));
  const ev = s.receive(T0 + 3, datagram, FROM);
  assert.equal(ev.kind === 'new-request' && ev.request.request.timeLeftMs, 5000);
  assert.equal(ev.kind === 'new-request' && ev.request.deadlineMs, T0 + 3 + 5000);
  assert.equal(run(c, T0 + 60_000).fails[0], T0 + 5000);
  assert.throws(() => c.request(T0, params(T0)), NtsEncodeError);
  assert.throws(() => c.request(T0, params(T0 + 100, 'gw9')), NtsEncodeError); // no key
});

test('responses are matched to pending ids and to the router asked', () => {
  const c = new NtsClientCore({ keys: KEYS });
  const s1 = new NtsServerCore({ keys: KEYS });
  const { id, datagram } = c.request(T0, params(T0 + 2000));
  const ev = s1.receive(T0 + 1, datagram, FROM);
  assert.equal(ev.kind, 'new-request');
  const req = (ev as { request: IncomingRequest }).request;
  // gw2 holds a valid key, but the request went to gw1.
  const s2 = new NtsServerCore({ keys: KEYS });
  const forgedByGw2 = s2.respond(T0 + 2, `gw2 ${id}`, READY);
  assert.deepEqual(c.receive(T0 + 3, forgedByGw2), { kind: 'dropped', reason: 'wrong-router' });
  const resp = s1.respond(T0 + 4, req.requestId, READY);
  assert.deepEqual(c.receive(T0 + 5, resp), { kind: 'response', id, keyId: 'gw1', response: READY, timestamp: T0 + 4 });
  assert.deepEqual(c.receive(T0 + 6, resp), { kind: 'dropped', reason: 'replay' });
  const other = s1.respond(T0 + 7, 'gw1 0123456789abcdef', { status: 'DENIED' });
  assert.deepEqual(c.receive(T0 + 8, other), { kind: 'dropped', reason: 'unmatched' });
  assert.equal(c.pendingCount, 0);
});

test('a response after the deadline is dropped', () => {
  const c = new NtsClientCore({ keys: KEYS });
  const s = new NtsServerCore({ keys: KEYS });
  const { datagram } = c.request(T0, params(T0 + 300));
  const ev = s.receive(T0, datagram, FROM) as { request: IncomingRequest };
  assert.equal(run(c, T0 + 300).fails.length, 1);
  assert.deepEqual(c.receive(T0 + 301, s.respond(T0 + 301, ev.request.requestId, READY)), { kind: 'dropped', reason: 'unmatched' });
});

test('fake lossy link: a lost RESPONSE is repaired by a retransmission, with the same cached bytes', () => {
  const c = new NtsClientCore({ keys: KEYS });
  const s = new NtsServerCore({ keys: KEYS });
  const { id, datagram } = c.request(T0, params(T0 + 3000));
  const kinds: string[] = [];
  let requestId = '';
  const deliver = (t: number, buf: Buffer) => {
    const ev = s.receive(t + 10, buf, FROM); // 10 ms one way
    kinds.push(ev.kind);
    if (ev.kind === 'new-request') requestId = ev.request.requestId;
    return ev;
  };
  deliver(T0, datagram);
  // The router holds the request (section 3.4 wait); the 200 ms retransmission meets it pending.
  let r = c.poll(T0 + 200);
  deliver(T0 + 200, r.resend[0].datagram);
  const first = s.respond(T0 + 300, requestId, READY); // ... and this copy is lost on the way
  r = c.poll(T0 + 600);
  const ev = deliver(T0 + 600, r.resend[0].datagram);
  assert.equal(ev.kind, 'resend');
  const again = (ev as { datagram: Buffer }).datagram;
  assert.ok(again.equals(first), 'resent bytes are the cached response');
  assert.deepEqual(c.receive(T0 + 620, again), { kind: 'response', id, keyId: 'gw1', response: READY, timestamp: T0 + 300 });
  assert.deepEqual(kinds, ['new-request', 'duplicate-pending', 'resend']);
  assert.equal(c.nextTimeout(), undefined);
  // A second respond() cannot produce a different answer for the same id.
  assert.ok(s.respond(T0 + 700, requestId, { status: 'DENIED' }).equals(first));
});

test('a cached response is resent a bounded number of times', () => {
  const s = new NtsServerCore({ keys: KEYS, maxResends: 2 });
  const c = new NtsClientCore({ keys: KEYS });
  const { datagram } = c.request(T0, params(T0 + 2000));
  const ev = s.receive(T0, datagram, FROM) as { request: IncomingRequest };
  s.respond(T0, ev.request.requestId, READY);
  assert.deepEqual([1, 2, 3].map((i) => s.receive(T0 + i, datagram, FROM).kind), ['resend', 'resend', 'dropped']);
});

test('REGISTER / KEEPALIVE / REGISTER_ACK between the cores, old announcements marked', () => {
  const router = new NtsServerCore({ keys: KEYS });
  const server = new NtsClientCore({ keys: KEYS });
  const reg = { routerId: 'gw1', addresses: ['192.0.2.1', '192.0.2.2'], sequence: 5, bootId: T0 - 1000, keepaliveIntervalMs: 10_000 };
  const a = router.announce(T0, 'REGISTER', reg);
  const older = router.announce(T0, 'KEEPALIVE', { ...reg, sequence: 4 });
  const ev = server.receive(T0 + 1, a.datagram);
  assert.equal(ev.kind === 'register' && ev.current, true);
  assert.deepEqual(ev.kind === 'register' && ev.msg.register, reg);
  const ack = server.acknowledge(T0 + 1, (ev as { msg: { keyId: string; id: string; register: typeof reg } }).msg);
  assert.deepEqual(router.receive(T0 + 2, ack, FROM), { kind: 'register-ack', keyId: 'gw1', id: a.id, ack: { status: 'ACCEPTED', sequence: 5 } });
  assert.deepEqual(router.receive(T0 + 3, ack, FROM), { kind: 'dropped', reason: 'replay' });
  const ev2 = server.receive(T0 + 4, older.datagram);
  assert.equal(ev2.kind === 'register' && ev2.current, false);
  const restarted = router.announce(T0 + 5, 'REGISTER', { ...reg, sequence: 0, bootId: T0 });
  const ev3 = server.receive(T0 + 6, restarted.datagram);
  assert.equal(ev3.kind === 'register' && ev3.current, true);
});

// ---- real sockets, 127.0.0.1 only ------------------------------------------------------------------

test('udp-client <-> udp-server on 127.0.0.1: READY round trip, and a forged datagram gets no answer', async () => {
  const seen: IncomingRequest[] = [];
  const server: NtsUdpServer = await NtsUdpServer.open({
    host: '127.0.0.1', port: 0, keys: KEYS,
    onRequest: (req) => { seen.push(req); server.respond(req.requestId, READY); },
  });
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  const raw = dgram.createSocket('udp4');
  try {
    const router = { host: '127.0.0.1', port: server.address().port };
    const res = await client.request(router, { id: 'gw1', secret: K1 }, FIELDS, { deadlineMs: Date.now() + 2000 });
    assert.deepEqual(res, READY);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].request.fqdn, 'alice.home.example.');

    // From one raw socket: a forged request (wrong key), then a genuine one. Loopback keeps the
    // order and the router handles datagrams one by one, so when the genuine answer is here the
    // forged one has been handled: exactly one datagram may have arrived.
    const forger = new NtsClientCore({ keys: () => K2 });
    const genuine = new NtsClientCore({ keys: KEYS });
    const forged = forger.request(Date.now(), params(Date.now() + 2000));
    const good = genuine.request(Date.now(), params(Date.now() + 2000));
    const got: Buffer[] = [];
    const arrived = new Promise<void>((resolve) => raw.on('message', (m) => { got.push(m); resolve(); }));
    await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
    raw.send(forged.datagram, router.port, router.host);
    raw.send(good.datagram, router.port, router.host);
    await arrived;
    assert.equal(got.length, 1);
    const ev = genuine.receive(Date.now(), got[0]);
    assert.equal(ev.kind === 'response' && ev.id, good.id);
    assert.equal(server.core.verifier.counters['bad-mac'], 1);
    assert.equal(seen.length, 2);
  } finally {
    raw.close();
    await client.close();
    await server.close();
  }
});

test('udp-client: a router that never answers gives TIMEOUT at the deadline, after retransmissions', async () => {
  const server = await NtsUdpServer.open({ host: '127.0.0.1', port: 0, keys: KEYS, onRequest: () => {} });
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  try {
    const start = Date.now();
    const res = await client.request({ host: '127.0.0.1', port: server.address().port }, { id: 'gw1', secret: K1 }, FIELDS, { deadlineMs: start + 700 });
    assert.deepEqual(res, { status: 'TIMEOUT' });
    assert.ok(Date.now() - start >= 690, `gave up after ${Date.now() - start} ms`);
    assert.equal(server.core.counters['new-request'], 1);
    assert.equal(server.core.counters['duplicate-pending'], 2); // resent at +200 and +600
  } finally {
    await client.close();
    await server.close();
  }
});
