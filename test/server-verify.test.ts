// Source verification before an NTS request (docs/verification.md), through the handler core:
// unverified UDP gets TC=1 or BADCOOKIE and costs the router nothing; TCP, a valid server
// cookie or TSIG reach it. Every response to a query with a client cookie carries ours.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage } from '../src/dns/codec.js';
import { Rcode } from '../src/dns/constants.js';
import { ServerCookies } from '../src/server/cookies.js';
import { ResponseRateLimiter } from '../src/server/rrl.js';
import { CLIENT, NOW, RESOLVER, ROUTER, ask, cookieIn, query, rig, udp } from './helpers/handler-rig.js';

test('unverified UDP without a cookie: TC=1, no answer, no NTS request; over TCP the same query reaches the router', async () => {
  const r = rig();
  const m = await ask(r.h, query('alice.home.example.'));
  assert.equal(m.tc, true);
  assert.equal(m.rcode, Rcode.NOERROR);
  assert.deepEqual([m.answer.length, m.authority.length], [0, 0]);
  assert.equal(r.requests.length, 0, 'a forged source costs the router nothing');
  assert.equal(r.counters.get('nts_unverified_tc'), 1);
  const held = r.h.handle(query('alice.home.example.'), { ...udp, transport: 'tcp' });
  assert.ok(held instanceof Promise);
  assert.equal(r.requests.length, 1);
  r.requests[0].answer({ status: 'READY', answerAddress: ROUTER, rcId: 1, rcLifetimeMs: 3000 });
  const a = decodeMessage((await held)!);
  assert.deepEqual(a.answer.map((x) => x.rdata), [{ kind: 'A', address: ROUTER }]);
  assert.equal(r.counters.get('nts_verified_tcp'), 1);
});

test('a client cookie alone: BADCOOKIE with our server cookie; the retry with it is verified and answered with it', async () => {
  const r = rig();
  const first = await ask(r.h, query('alice.home.example.', CLIENT));
  assert.equal(first.rcode, Rcode.BADCOOKIE, 'extended RCODE 23');
  assert.equal(first.answer.length, 0);
  assert.equal(r.requests.length, 0);
  const c = cookieIn(first)!;
  assert.deepEqual(c.client, CLIENT, 'the client cookie echoed');
  assert.equal(c.server!.length, 16);
  assert.deepEqual(r.cookies.check(CLIENT, c.server!, RESOLVER, NOW / 1000), { status: 'valid', fresh: true });
  const full = Buffer.concat([CLIENT, c.server!]);
  const held = r.h.handle(query('alice.home.example.', full), udp);
  assert.ok(held instanceof Promise, 'verified: held for the router');
  assert.equal(r.requests.length, 1);
  r.requests[0].answer({ status: 'READY', answerAddress: ROUTER, rcId: 1, rcLifetimeMs: 3000 });
  const a = decodeMessage((await held)!);
  assert.equal(a.rcode, Rcode.NOERROR);
  assert.equal(a.answer.length, 1);
  assert.deepEqual(Buffer.concat([cookieIn(a)!.client, cookieIn(a)!.server!]), full, 'a fresh cookie is echoed as it came');
  assert.equal(r.counters.get('nts_unverified_badcookie'), 1);
  assert.equal(r.counters.get('nts_verified_cookie'), 1);
});

test('a cookie made for another address (a forged source replaying it), expired, or from before a restart: BADCOOKIE, no request', async () => {
  const r = rig();
  const nowS = NOW / 1000;
  const forOther = Buffer.concat([CLIENT, r.cookies.make(CLIENT, '198.51.100.54', nowS)]);
  const expired = Buffer.concat([CLIENT, r.cookies.make(CLIENT, RESOLVER, nowS - 3601)]);
  const otherSecret = Buffer.concat([CLIENT, new ServerCookies().make(CLIENT, RESOLVER, nowS)]);
  for (const c of [forOther, expired, otherSecret]) {
    const m = await ask(r.h, query('alice.home.example.', c));
    assert.equal(m.rcode, Rcode.BADCOOKIE);
    assert.deepEqual(r.cookies.check(CLIENT, cookieIn(m)!.server!, RESOLVER, nowS).status, 'valid', 'with a fresh cookie to retry with');
  }
  assert.equal(r.requests.length, 0);
  assert.equal(r.counters.get('cookie_invalid'), 3);
});

test('a valid cookie older than half an hour is renewed in the response (RFC 9018 4.3)', async () => {
  const r = rig();
  const old = r.cookies.make(CLIENT, RESOLVER, NOW / 1000 - 2000);
  const m = await ask(r.h, query('www.home.example.', Buffer.concat([CLIENT, old])));
  const s = cookieIn(m)!.server!;
  assert.notDeepEqual(s, old);
  assert.equal(s.readUInt32BE(4), NOW / 1000, 'stamped now');
});

test('ordinary names are answered to anyone; with a client cookie the answer carries our cookie, never a cached one', async () => {
  const r = rig();
  assert.equal((await ask(r.h, query('www.home.example.'))).answer.length, 1);
  const a = await ask(r.h, query('www.home.example.', CLIENT));
  const b = await ask(r.h, query('www.home.example.', CLIENT), { ...udp, remoteAddress: '192.0.2.77' });
  assert.equal(a.answer.length, 1);
  assert.notDeepEqual(cookieIn(a)!.server, cookieIn(b)!.server, 'the cookie is made per address, not replayed from a cache');
  // NXDOMAIN and errors carry it too.
  const nx = await ask(r.h, query('nope.home.example.', CLIENT));
  assert.equal(nx.rcode, Rcode.NXDOMAIN);
  assert.ok(cookieIn(nx)?.server);
  assert.equal(r.requests.length, 0);
});

test('malformed COOKIE options are FORMERR (RFC 7873 5.2.2)', async () => {
  const r = rig();
  for (const n of [1, 7, 9, 15, 41]) {
    const m = await ask(r.h, query('alice.home.example.', Buffer.alloc(n, 1)));
    assert.equal(m.rcode, Rcode.FORMERR, `${n} octets`);
  }
  assert.equal(r.counters.get('cookie_malformed'), 5);
  assert.equal(r.requests.length, 0);
});

test('nts.verifySource off: unverified UDP reaches the router as before', async () => {
  const r = rig({ verifySource: 'off' });
  const held = r.h.handle(query('alice.home.example.'), udp);
  assert.ok(held instanceof Promise);
  assert.equal(r.requests.length, 1);
  r.requests[0].answer({ status: 'READY', answerAddress: ROUTER, rcId: 1, rcLifetimeMs: 3000 });
  assert.equal(decodeMessage((await held)!).answer.length, 1);
  assert.equal(r.counters.get('nts_verified_off'), 1);
});

test('the answers to unverified lookups are rate limited like ordinary ones (no full reflection)', async () => {
  const rrl = new ResponseRateLimiter({ responsesPerSecond: 2, slip: 2, exempt: [], maxEntries: 100, ipv4PrefixLength: 24, ipv6PrefixLength: 56 });
  const r = rig({ rrl });
  const outs = Array.from({ length: 6 }, (_, i) => r.h.handle(query('alice.home.example.', undefined, i), udp) as Buffer | null);
  assert.deepEqual(outs.map((o) => (o ? (decodeMessage(o).tc ? 'tc' : 'other') : 'drop')), ['tc', 'tc', 'drop', 'tc', 'drop', 'tc']);
  assert.equal(r.counters.get('rrl_dropped'), 2);
  assert.equal(r.requests.length, 0);
});

test('a forged flood over UDP from 10,000 sources: not one NTS request', async () => {
  const r = rig();
  for (let i = 0; i < 10_000; i++) {
    const from = `10.${(i >> 8) & 255}.${i & 255}.1`;
    const c = i % 2 ? Buffer.concat([CLIENT, r.cookies.make(CLIENT, RESOLVER, NOW / 1000)]) : undefined; // half replay the victim's cookie
    const out = r.h.handle(query('alice.home.example.', c, i & 0xffff), { ...udp, remoteAddress: from });
    assert.ok(!(out instanceof Promise));
  }
  assert.equal(r.requests.length, 0);
  assert.equal(r.counters.get('nts_unverified_tc') + r.counters.get('nts_unverified_badcookie'), 10_000);
});
