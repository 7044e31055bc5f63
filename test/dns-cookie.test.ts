// DNS Cookies: SipHash-2-4 against its reference vectors, the COOKIE option codec (RFC 7873),
// RFC 9018 server cookies against Appendix A, and the validity window of RFC 9018 4.3.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sipHash24 } from '../src/dns/siphash.js';
import { encodeCookie, parseCookie } from '../src/dns/cookie.js';
import { DnsFormatError } from '../src/dns/types.js';
import { ServerCookies } from '../src/server/cookies.js';
import { verifySource } from '../src/server/verify-source.js';

const hex = (s: string) => Buffer.from(s, 'hex');

test('SipHash-2-4: the reference implementation\'s vectors (key 00..0f, message 00..n-1)', () => {
  const key = hex('000102030405060708090a0b0c0d0e0f');
  const msg = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i));
  // vectors.h of the SipHash reference code; 15 octets is the paper's worked example.
  const want: Record<number, string> = {
    0: '310e0edd47db6f72', 1: 'fd67dc93c539f874', 2: '5a4fa9d909806c0d', 3: '2d7efbd796666785',
    7: '37d1018bf50002ab', 8: '6224939a79f5f593', 15: 'e545be4961ca29a1', 63: '724506eb4c328a95',
  };
  for (const [n, h] of Object.entries(want)) assert.equal(sipHash24(key, msg(Number(n))).toString('hex'), h, `${n} octets`);
  assert.throws(() => sipHash24(Buffer.alloc(8), Buffer.alloc(0)), RangeError);
});

test('COOKIE option: 8 octets, or 16..40; anything else is FORMERR (RFC 7873 5.2.2)', () => {
  for (const n of [8, 16, 24, 40]) {
    const c = parseCookie(Buffer.alloc(n, 7));
    assert.equal(c.client.length, 8);
    assert.equal(c.server?.length ?? 0, n - 8);
    assert.deepEqual(encodeCookie(c).data, Buffer.alloc(n, 7));
  }
  for (const n of [0, 1, 7, 9, 15, 41, 64]) assert.throws(() => parseCookie(Buffer.alloc(n)), DnsFormatError, `${n} octets`);
  assert.throws(() => encodeCookie({ client: Buffer.alloc(7) }), /client cookie must be 8/);
  assert.throws(() => encodeCookie({ client: Buffer.alloc(8), server: Buffer.alloc(33) }), /8\.\.32/);
});

const S1 = hex('e5e973e5a6b2a43f48e7dc849e37bfcf');

test('RFC 9018 Appendix A: the server cookies of A.1-A.4, byte for byte', () => {
  const s1 = new ServerCookies(S1);
  assert.equal(s1.make(hex('2464c4abcf10c957'), '198.51.100.100', 1559731985).toString('hex'), '010000005cf79f111f8130c3eee29480', 'A.1');
  assert.equal(s1.make(hex('2464c4abcf10c957'), '198.51.100.100', 1559734385).toString('hex'), '010000005cf7a871d4a564a1442aca77', 'A.2');
  assert.equal(s1.make(hex('fc93fc62807ddb86'), '203.0.113.203', 1559734700).toString('hex'), '010000005cf7a9acf73a7810aca2381e', 'A.3');
  const s4 = new ServerCookies(hex('445536bcd2513298075a5d379663c962'));
  assert.equal(s4.make(hex('22681ab97d52c298'), '2001:db8:220:1:59de:d0f4:8769:82b8', 1559741961).toString('hex'), '010000005cf7c609a6bb79d16625507a', 'A.4');
  // The cookies the examples' clients send back: A.2's (issued in A.1, 40 min old: valid, not
  // fresh, so renewed); A.3's with reserved octets set by another implementation (hashed as sent);
  // A.4's made under the old secret (invalid under the new one).
  assert.deepEqual(s1.check(hex('2464c4abcf10c957'), hex('010000005cf79f111f8130c3eee29480'), '198.51.100.100', 1559734385), { status: 'valid', fresh: false });
  const a3 = hex('01abcdef5cf78f71a314227b6679ebf5');
  assert.deepEqual(s1.check(hex('fc93fc62807ddb86'), a3, '203.0.113.203', 0x5cf78f71 + 60), { status: 'valid', fresh: true });
  assert.deepEqual(s1.check(hex('fc93fc62807ddb86'), a3, '203.0.113.204', 0x5cf78f71 + 60), { status: 'invalid', reason: 'hash' }, 'another address');
  const old = hex('010000005cf7c57926556bd0934c72f8');
  assert.deepEqual(new ServerCookies(hex('dd3bdf9344b678b185a6f5cb60fca715')).check(hex('22681ab97d52c298'), old, '2001:db8:220:1:59de:d0f4:8769:82b8', 0x5cf7c579), { status: 'valid', fresh: true });
  assert.deepEqual(s4.check(hex('22681ab97d52c298'), old, '2001:db8:220:1:59de:d0f4:8769:82b8', 0x5cf7c579), { status: 'invalid', reason: 'hash' }, 'after a restart with a new secret');
  // An IPv4-mapped source (dual-stack socket) is the IPv4 client.
  assert.equal(s1.make(hex('2464c4abcf10c957'), '::ffff:198.51.100.100', 1559731985).toString('hex'), '010000005cf79f111f8130c3eee29480');
});

test('RFC 9018 4.3 validity: at most an hour old, at most five minutes ahead, renewed after half an hour', () => {
  const s = new ServerCookies(S1);
  const c = hex('0102030405060708');
  const at = 1_790_000_000;
  const issued = (dt: number) => s.make(c, '192.0.2.1', at + dt);
  assert.deepEqual(s.check(c, issued(0), '192.0.2.1', at), { status: 'valid', fresh: true });
  assert.deepEqual(s.check(c, issued(-1800), '192.0.2.1', at), { status: 'valid', fresh: true });
  assert.deepEqual(s.check(c, issued(-1801), '192.0.2.1', at), { status: 'valid', fresh: false });
  assert.deepEqual(s.check(c, issued(-3600), '192.0.2.1', at), { status: 'valid', fresh: false });
  assert.deepEqual(s.check(c, issued(-3601), '192.0.2.1', at), { status: 'invalid', reason: 'expired' });
  assert.deepEqual(s.check(c, issued(300), '192.0.2.1', at), { status: 'valid', fresh: true });
  assert.deepEqual(s.check(c, issued(301), '192.0.2.1', at), { status: 'invalid', reason: 'future' });
  // Across the 32-bit wrap (2106): ten minutes apart, not four billion seconds.
  const wrapped = s.make(c, '192.0.2.1', 0xffffffff - 300);
  assert.deepEqual(s.check(c, wrapped, '192.0.2.1', 0x1_0000_0000 + 300), { status: 'valid', fresh: true });
  // Not ours: other version, other length, a bit flipped, another client cookie.
  const v2 = issued(0);
  v2[0] = 2;
  assert.deepEqual(s.check(c, v2, '192.0.2.1', at), { status: 'invalid', reason: 'version' });
  assert.deepEqual(s.check(c, Buffer.alloc(8, 1), '192.0.2.1', at), { status: 'invalid', reason: 'length' });
  const flipped = issued(0);
  flipped[15] ^= 1;
  assert.deepEqual(s.check(c, flipped, '192.0.2.1', at), { status: 'invalid', reason: 'hash' });
  assert.deepEqual(s.check(hex('0102030405060709'), issued(0), '192.0.2.1', at), { status: 'invalid', reason: 'hash' });
  // A random secret per start: another instance does not accept our cookies.
  assert.equal(new ServerCookies().check(c, issued(0), '192.0.2.1', at).status, 'invalid');
  assert.throws(() => new ServerCookies(Buffer.alloc(15)), /16 octets/);
});

test('verification decisions: TCP, a valid cookie or TSIG verify; otherwise BADCOOKIE with a cookie, TC without', () => {
  const rows: Array<[Parameters<typeof verifySource>, string]> = [
    [['cookie-or-tcp', 'tcp', 'none', false], 'verified:tcp'],
    [['cookie-or-tcp', 'tcp', 'invalid', false], 'verified:tcp'],
    [['cookie-or-tcp', 'udp', 'valid', false], 'verified:cookie'],
    [['cookie-or-tcp', 'udp', 'none', true], 'verified:tsig'],
    [['cookie-or-tcp', 'udp', 'none', false], 'truncate'],
    [['cookie-or-tcp', 'udp', 'client-only', false], 'badcookie'],
    [['cookie-or-tcp', 'udp', 'invalid', false], 'badcookie'],
    [['off', 'udp', 'none', false], 'verified:off'],
    [['off', 'udp', 'invalid', false], 'verified:off'],
  ];
  for (const [args, want] of rows) {
    const d = verifySource(...args);
    assert.equal(d.verdict === 'verified' ? `verified:${d.by}` : d.verdict, want, args.join(' '));
  }
});
