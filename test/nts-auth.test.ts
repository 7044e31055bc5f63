import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NtsVerifier } from '../src/nts/auth.js';
import { NtsClientCore } from '../src/nts/client.js';
import { encodeMessage } from '../src/nts/codec.js';
import type { NtsMessage, NtsRequest } from '../src/nts/messages.js';
import { NtsServerCore } from '../src/nts/server.js';

const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);
const KEYS = (id: string) => ({ gw1: K1, gw2: K2 })[id];
const W = 30_000;
const NOW = 1_700_000_000_000;
const FROM = { address: '127.0.0.1', port: 40000 };

const REQ: NtsRequest = { fqdn: 'alice.home.example.', qtype: 1, mode: 'any', timeLeftMs: 1800, resolver: { address: '127.0.0.1', port: 5353 } };
let seq = 0;
const nextId = () => (++seq).toString(16).padStart(16, '0');
const request = (over: Partial<NtsMessage> = {}, key = K1): Buffer =>
  encodeMessage({ type: 'REQUEST', keyId: 'gw1', timestamp: NOW, id: nextId(), request: REQ, ...over } as NtsMessage, key);

test('a genuine message passes once; the same bytes again are a replay', () => {
  const v = new NtsVerifier(KEYS);
  const buf = request();
  const r = v.verify(buf, NOW);
  assert.equal(r.ok, true);
  assert.deepEqual(v.verify(buf, NOW + 10), { ok: false, reason: 'replay' });
  assert.equal(v.counters.ok, 1);
  assert.equal(v.counters.replay, 1);
});

test('forgeries: wrong key, wrong key id, unknown key id', () => {
  const v = new NtsVerifier(KEYS);
  assert.deepEqual(v.verify(request({}, K2), NOW), { ok: false, reason: 'bad-mac' }); // gw1's id, gw2's key
  assert.deepEqual(v.verify(request({ keyId: 'gw2' }, K1), NOW), { ok: false, reason: 'bad-mac' }); // claims gw2
  assert.deepEqual(v.verify(request({ keyId: 'gw9' }, K1), NOW), { ok: false, reason: 'unknown-key' });
  const tampered = request();
  tampered[tampered.length - 40] ^= 0x01; // inside the body
  assert.deepEqual(v.verify(tampered, NOW), { ok: false, reason: 'bad-mac' });
  const badMac = request();
  badMac[badMac.length - 1] ^= 0x80;
  assert.deepEqual(v.verify(badMac, NOW), { ok: false, reason: 'bad-mac' });
  assert.deepEqual(
    { bad: v.counters['bad-mac'], unknown: v.counters['unknown-key'], ok: v.counters.ok },
    { bad: 4, unknown: 1, ok: 0 },
  );
});

test('timestamp window: both ends inclusive, one ms beyond is stale', () => {
  const v = new NtsVerifier(KEYS, { windowMs: W });
  assert.equal(v.verify(request({ timestamp: NOW - W }), NOW).ok, true);
  assert.equal(v.verify(request({ timestamp: NOW + W }), NOW).ok, true);
  assert.deepEqual(v.verify(request({ timestamp: NOW - W - 1 }), NOW), { ok: false, reason: 'stale' });
  assert.deepEqual(v.verify(request({ timestamp: NOW + W + 1 }), NOW), { ok: false, reason: 'stale' });
  assert.deepEqual(v.verify(request(), Number.NaN), { ok: false, reason: 'stale' });
  assert.equal(v.counters.stale, 3);
});

test('replay cache entries expire with the window; a later replay is stale, not new', () => {
  const v = new NtsVerifier(KEYS, { windowMs: W });
  const buf = request();
  assert.equal(v.verify(buf, NOW).ok, true);
  assert.equal(v.replayEntries, 1);
  assert.deepEqual(v.verify(buf, NOW + W), { ok: false, reason: 'replay' }); // still inside: remembered
  assert.equal(v.verify(request({ timestamp: NOW + W + 2000 }), NOW + W + 2000).ok, true); // sweeps
  assert.equal(v.replayEntries, 1);
  assert.deepEqual(v.verify(buf, NOW + W + 2000), { ok: false, reason: 'stale' });
});

test('a full replay cache raises a floor instead of forgetting', () => {
  const v = new NtsVerifier(KEYS, { windowMs: W, maxEntriesPerKey: 3 });
  const bufs = [0, 1, 2, 3].map((i) => request({ timestamp: NOW + i }));
  for (const b of bufs) assert.equal(v.verify(b, NOW).ok, true);
  assert.equal(v.replayEntries, 3);
  assert.deepEqual(v.verify(bufs[0], NOW), { ok: false, reason: 'stale' }); // evicted, below the floor
  assert.deepEqual(v.verify(bufs[1], NOW), { ok: false, reason: 'replay' });
  assert.deepEqual(v.verify(request({ timestamp: NOW }), NOW), { ok: false, reason: 'stale' }); // fresh id, at floor
  assert.equal(v.verify(request({ timestamp: NOW + 1 }), NOW).ok, true);
  assert.equal(v.verify(request({ keyId: 'gw2', timestamp: NOW }, K2), NOW).ok, true); // floors are per key
});

test('router core: a forged, stale or replayed request creates no request', () => {
  const s = new NtsServerCore({ keys: KEYS, windowMs: W });
  assert.deepEqual(s.receive(NOW, request({}, K2), FROM), { kind: 'dropped', reason: 'bad-mac' });
  assert.deepEqual(s.receive(NOW, request({ timestamp: NOW - W - 1 }), FROM), { kind: 'dropped', reason: 'stale' });
  assert.deepEqual(s.receive(NOW, Buffer.from('hello'), FROM), { kind: 'dropped', reason: 'malformed' });
  const genuine = request();
  assert.equal(s.receive(NOW, genuine, FROM).kind, 'new-request');
  assert.equal(s.receive(NOW + 5, genuine, FROM).kind, 'duplicate-pending');
  // Same key id and message id, different content (a second genuine signing): a reuse, dropped.
  const id = genuine.toString('hex', 17, 25);
  const reuse = encodeMessage({ type: 'REQUEST', keyId: 'gw1', timestamp: NOW + 1, id, request: { ...REQ, qtype: 28 } }, K1);
  assert.deepEqual(s.receive(NOW + 6, reuse, FROM), { kind: 'dropped', reason: 'replay' });
  assert.deepEqual(s.receive(NOW + W + 1, genuine, FROM), { kind: 'dropped', reason: 'stale' });
  assert.equal(s.counters['new-request'], 1);
});

test('router core: table eviction never turns a retransmission into a new request', () => {
  const s = new NtsServerCore({ keys: KEYS, windowMs: W, maxEntries: 2 });
  const bufs = [request(), request(), request()];
  for (const b of bufs) assert.equal(s.receive(NOW, b, FROM).kind, 'new-request');
  assert.equal(s.size, 2);
  assert.deepEqual(s.receive(NOW + 1, bufs[0], FROM), { kind: 'dropped', reason: 'replay' });
  assert.equal(s.counters['new-request'], 3);
});

test('reflection: each type is accepted only in its direction', () => {
  const s = new NtsServerCore({ keys: KEYS, windowMs: W });
  const c = new NtsClientCore({ keys: KEYS, windowMs: W });
  const { datagram } = c.request(NOW, { ...REQ, keyId: 'gw1', deadlineMs: NOW + 2000 });
  assert.deepEqual(c.receive(NOW, datagram), { kind: 'dropped', reason: 'unexpected-type' });
  const ev = s.receive(NOW, datagram, FROM);
  assert.equal(ev.kind, 'new-request');
  const resp = s.respond(NOW + 1, ev.kind === 'new-request' ? ev.request.requestId : '', { status: 'DENIED' });
  assert.deepEqual(s.receive(NOW + 2, resp, FROM), { kind: 'dropped', reason: 'unexpected-type' });
  // The reflected REQUEST carried the pending id, yet it was not recorded: the genuine answer still counts.
  assert.equal(c.receive(NOW + 3, resp).kind, 'response');
  const ann = s.announce(NOW, 'KEEPALIVE', { routerId: 'gw1', addresses: ['192.0.2.1'], sequence: 1, bootId: 1, keepaliveIntervalMs: 10_000 });
  assert.deepEqual(s.receive(NOW, ann.datagram, FROM), { kind: 'dropped', reason: 'unexpected-type' });
});

test('router core under a flood of authentic requests: table and replay cache stay at their bounds, none comes back', () => {
  const s = new NtsServerCore({ keys: KEYS, windowMs: W, maxEntries: 100, maxReplayEntriesPerKey: 250 });
  const bufs = Array.from({ length: 3000 }, (_, i) => request({ timestamp: NOW + i }));
  let maxTable = 0;
  let maxReplay = 0;
  for (const [i, b] of bufs.entries()) {
    assert.equal(s.receive(NOW + i, b, FROM).kind, 'new-request');
    maxTable = Math.max(maxTable, s.size);
    maxReplay = Math.max(maxReplay, s.verifier.replayEntries);
  }
  assert.deepEqual({ maxTable, maxReplay }, { maxTable: 100, maxReplay: 250 });
  // Every copy, old or recent, is a retransmission, a replay or below the floor; never new.
  const later = NOW + bufs.length;
  const kinds = new Map<string, number>();
  for (const b of bufs) {
    const ev = s.receive(later, b, FROM);
    const k = ev.kind === 'dropped' ? ev.reason : ev.kind;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(kinds), { stale: 2750, replay: 150, 'duplicate-pending': 100 });
  assert.equal(s.counters['new-request'], 3000);
  assert.ok(s.size <= 100 && s.verifier.replayEntries <= 250);
});

test('router core: a retransmission skips the MAC only when byte-identical, and never skips the window', () => {
  let lookups = 0; // each key lookup is a MAC check: the shortcut is the absence of one
  const s = new NtsServerCore({ keys: (id) => (lookups++, KEYS(id)), windowMs: W });
  const genuine = request();
  const ev = s.receive(NOW, genuine, FROM);
  assert.equal(ev.kind, 'new-request');
  s.respond(NOW, ev.kind === 'new-request' ? ev.request.requestId : '', { status: 'DENIED' });
  lookups = 0;
  assert.equal(s.receive(NOW + 1, genuine, FROM).kind, 'resend');
  assert.equal(lookups, 0, 'a byte-identical copy is answered without a MAC check');
  const badMac = Buffer.from(genuine);
  badMac[badMac.length - 1] ^= 1;
  assert.deepEqual(s.receive(NOW + 1, badMac, FROM), { kind: 'dropped', reason: 'bad-mac' });
  assert.ok(lookups >= 1, 'a changed copy gets the full check');
  const longer = Buffer.concat([genuine, Buffer.of(0)]);
  assert.deepEqual(s.receive(NOW + 1, longer, FROM), { kind: 'dropped', reason: 'malformed' });
  assert.equal(s.receive(NOW + W, genuine, FROM).kind, 'resend'); // the window's last ms
  assert.deepEqual(s.receive(NOW + W + 1, genuine, FROM), { kind: 'dropped', reason: 'stale' });
  assert.equal(s.counters.resend, 2);
});
