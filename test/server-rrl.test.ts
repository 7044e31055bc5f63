// Response rate limiting (rrl.ts): token buckets per client network and response identity,
// slip, exemptions, the LRU bound; and through the handler (cache hits included, TCP and valid
// cookies not limited).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage } from '../src/dns/codec.js';
import { RRType } from '../src/dns/constants.js';
import { parsePrefix, type Prefix } from '../src/server/prefix-table.js';
import { ResponseRateLimiter, rrlIdentity, type RrlOptions } from '../src/server/rrl.js';
import { CLIENT, NOW, ask, query, rig, udp } from './helpers/handler-rig.js';

const p = (s: string) => parsePrefix(s) as Prefix;
const opts = (o: Partial<RrlOptions> = {}): RrlOptions => ({
  responsesPerSecond: 5, slip: 2, exempt: [p('127.0.0.0/8')], maxEntries: 1000, ipv4PrefixLength: 24, ipv6PrefixLength: 56, ...o,
});
const WWW = rrlIdentity('answer', 'www.home.example.', RRType.A, 'home.example.');

test('a bucket per /24 and name: rate responses, then every slip-th over the limit TC, the rest dropped; refilled with time', () => {
  const r = new ResponseRateLimiter(opts());
  const seq = (n: number, addr: string, t: number, id = WWW) => Array.from({ length: n }, () => r.check(t, addr, id));
  assert.deepEqual(seq(9, '198.51.100.7', NOW), ['send', 'send', 'send', 'send', 'send', 'drop', 'slip', 'drop', 'slip']);
  assert.deepEqual(seq(1, '198.51.100.200', NOW), ['drop'], 'the same /24 shares the bucket');
  assert.deepEqual(seq(1, '198.51.101.7', NOW), ['send'], 'another /24 has its own');
  assert.deepEqual(seq(1, '198.51.100.7', NOW, rrlIdentity('answer', 'other.home.example.', RRType.A, 'home.example.')), ['send'], 'another name too');
  assert.deepEqual(seq(2, '198.51.100.7', NOW + 200), ['send', 'slip'], '200 ms at 5/s is one token');
  assert.deepEqual(seq(6, '198.51.100.7', NOW + 5000), ['send', 'send', 'send', 'send', 'send', 'drop'], 'never more than one second of burst');
  assert.deepEqual(seq(10, '127.0.0.1', NOW).filter((v) => v !== 'send'), [], 'exempt: loopback');
  // NXDOMAIN counts per zone: a random-subdomain flood is one bucket.
  const nx = (n: string) => rrlIdentity('nxdomain', n, RRType.A, 'home.example.');
  assert.equal(nx('a.home.example.'), nx('b.home.example.'));
  const r0 = new ResponseRateLimiter(opts({ slip: 0 }));
  assert.deepEqual(Array.from({ length: 7 }, () => r0.check(NOW, '2001:db8:1:2::1', WWW)).slice(5), ['drop', 'drop'], 'slip 0: all dropped');
  assert.equal(r0.check(NOW, '2001:db8:1:ff::9', WWW), 'drop', 'IPv6: the same /56');
  assert.equal(r0.check(NOW, '2001:db8:1:100::9', WWW), 'send', 'another /56');
  assert.equal(new ResponseRateLimiter(opts({ responsesPerSecond: 0 })).check(NOW, '198.51.100.7', WWW), 'send', '0: off');
});

test('the table is bounded: least recently used buckets go, counted', () => {
  const r = new ResponseRateLimiter(opts({ maxEntries: 100 }));
  for (let i = 0; i < 10_000; i++) r.check(NOW, `10.${i >> 8 & 255}.${i & 255}.1`, WWW);
  assert.equal(r.size, 100);
  assert.equal(r.evictions, 9_900);
  assert.throws(() => new ResponseRateLimiter(opts({ maxEntries: 0 })), RangeError);
});

test('through the handler: UDP answers limited (cache hits too), slips are TC=1 with no answer; TCP and valid cookies are not limited', async () => {
  const r = rig({ rrl: new ResponseRateLimiter(opts()) });
  const from = { ...udp, remoteAddress: '192.0.2.9' };
  const outs: string[] = [];
  for (let i = 0; i < 9; i++) {
    const out = r.h.handle(query('www.home.example.', undefined, i), from) as Buffer | null;
    if (!out) outs.push('drop');
    else outs.push(decodeMessage(out).tc ? 'tc' : 'answer');
  }
  assert.deepEqual(outs, ['answer', 'answer', 'answer', 'answer', 'answer', 'drop', 'tc', 'drop', 'tc'], 'the second query on is a cache hit: limited the same');
  assert.equal(r.counters.get('rrl_dropped'), 2);
  assert.equal(r.counters.get('rrl_slipped'), 2);
  assert.equal((await ask(r.h, query('www.home.example.'), { ...from, transport: 'tcp' })).answer.length, 1, 'TCP: never limited');
  const cookie = Buffer.concat([CLIENT, r.cookies.make(CLIENT, from.remoteAddress, NOW / 1000)]);
  for (let i = 0; i < 5; i++) assert.equal((await ask(r.h, query('www.home.example.', cookie), from)).answer.length, 1, 'a valid cookie: not limited');
});
