// The demo's stub resolver behaves like Unbound towards a server that holds its answer: the
// schedule, a new id and a new source port per attempt, the old query abandoned, EDNS on.
// Real sockets on loopback with a shortened schedule, so a run takes a quarter of a second.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test, type TestContext } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { RRClass, RRType } from '../src/dns/constants.js';
import type { Message } from '../src/dns/types.js';
import { sendTimes, StubResolver, UNBOUND_GIVE_UP_MS, UNBOUND_RETRY_INTERVALS_MS, type StubEvent } from '../src/demo/stub-resolver.js';

const RESOLVER = '127.0.0.53';
const NAME = 'alice.home.example.';

test('send times: Unbound\'s schedule within its 1.9 s discard timeout', () => {
  assert.deepEqual(sendTimes(UNBOUND_RETRY_INTERVALS_MS, UNBOUND_GIVE_UP_MS), [0, 376, 752, 1504]);
  assert.deepEqual(sendTimes(UNBOUND_RETRY_INTERVALS_MS, 10_000), [0, 376, 752, 1504, 2256, 3760]);
  assert.deepEqual(sendTimes([], 1000), [0]);
  assert.deepEqual(sendTimes([100, 100], 200), [0, 100], 'nothing is sent at the give-up moment itself');
});

interface Received {
  msg: Message;
  port: number;
  address: string;
}

/** A UDP "authoritative server" that records queries and lets the test answer them. */
async function fakeServer(t: TestContext) {
  const sock = dgram.createSocket('udp4');
  const got: Received[] = [];
  const listeners: ((r: Received) => void)[] = [];
  sock.on('message', (raw, r) => {
    const rec = { msg: decodeMessage(raw), port: r.port, address: r.address };
    got.push(rec);
    for (const l of listeners) l(rec);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  t.after(() => sock.close());
  const answer = (q: Received, id = q.msg.id) => {
    const res: Message = {
      ...q.msg, id, qr: true, aa: true,
      answer: [{ name: NAME, type: RRType.A, class: RRClass.IN, ttl: 0, rdata: { kind: 'A', address: '127.0.0.2' } }],
    };
    sock.send(encodeMessage(res), q.port, q.address);
  };
  return { address: { host: '127.0.0.1', port: sock.address().port }, got, answer, onQuery: (l: (r: Received) => void) => listeners.push(l) };
}

test('no answer: every retry has a new id and a new source port, at the schedule, then it gives up', { timeout: 5000 }, async (t) => {
  const srv = await fakeServer(t);
  const events: StubEvent[] = [];
  const stub = new StubResolver({ server: srv.address, bindAddress: RESOLVER, retryIntervalsMs: [40, 40, 80], giveUpMs: 250, onEvent: (e) => events.push(e) });
  const r = await stub.lookupA(NAME);
  assert.equal(r.status, 'timeout');
  assert.equal(srv.got.length, 4);
  assert.equal(new Set(srv.got.map((g) => g.msg.id)).size, 4, 'ids differ');
  assert.equal(new Set(srv.got.map((g) => g.port)).size, 4, 'source ports differ');
  for (const g of srv.got) {
    assert.equal(g.address, RESOLVER);
    assert.equal(g.msg.rd, false, 'a resolver asks an authoritative server without RD');
    assert.equal(g.msg.edns?.udpSize, 1232, 'EDNS0 with Unbound\'s buffer size');
    assert.deepEqual(g.msg.question, [{ name: NAME, type: RRType.A, class: RRClass.IN }]);
  }
  assert.deepEqual(events.map((e) => e.type), ['query-sent', 'query-sent', 'query-sent', 'query-sent', 'gave-up']);
  const sent = events.filter((e) => e.type === 'query-sent');
  // What the server got is what the stub says it sent (id and port per attempt).
  assert.deepEqual(new Set(srv.got.map((g) => `${g.msg.id}/${g.port}`)), new Set(sent.map((e) => `${e.id}/${e.port}`)));
  // Timers are never early; the upper bound only guards against a wrong schedule.
  [0, 40, 80, 160].forEach((want, i) => {
    const at = sent[i].elapsedMs;
    assert.ok(at >= want - 2 && at < want + 150, `attempt ${i + 1} sent at ${at} ms, want ~${want}`);
  });
});

test('a held answer counts only for the current attempt: late answers to abandoned ids are never seen', { timeout: 5000 }, async (t) => {
  const srv = await fakeServer(t);
  srv.onQuery((q) => {
    if (srv.got.length !== 2) return; // hold #1, like a server waiting for the router
    srv.answer(srv.got[0]); // to #1's port: closed by now
    srv.answer(q, q.msg.id ^ 0x5555); // wrong id on the right port: not ours
    setTimeout(() => srv.answer(q), 10);
  });
  const stub = new StubResolver({ server: srv.address, bindAddress: RESOLVER, retryIntervalsMs: [40, 40], giveUpMs: 1000 });
  const r = await stub.lookupA(NAME);
  assert.equal(r.status, 'answer');
  assert.ok(r.status === 'answer' && r.attempt === 2, 'the answer to retry #2 is the one taken');
  assert.deepEqual(r.status === 'answer' && r.addresses, ['127.0.0.2']);
  assert.equal(srv.got.length, 2, 'no further retry once answered');
});

test('close() ends a lookup at once, as a timeout', { timeout: 5000 }, async (t) => {
  const srv = await fakeServer(t);
  const stub = new StubResolver({ server: srv.address, bindAddress: RESOLVER });
  const p = stub.lookupA(NAME);
  setTimeout(() => stub.close(), 20);
  const start = performance.now();
  assert.equal((await p).status, 'timeout');
  assert.ok(performance.now() - start < 500);
});
