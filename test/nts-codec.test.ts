import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { decodeFrame, decodeMessage, encodeMessage } from '../src/nts/codec.js';
import { NtsVerifier } from '../src/nts/auth.js';
import { NtsEncodeError, NtsFormatError, type NtsMessage } from '../src/nts/messages.js';
import { prng } from './helpers/prng.js';
import { mutateBytes } from './helpers/nts-fuzz.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
const T0 = 1_700_000_000_000;
const hdr = (id: string) => ({ keyId: 'gw1', timestamp: T0, id, flags: 0 });

const SAMPLES: NtsMessage[] = [
  {
    ...hdr('0000000000000001'), type: 'REQUEST',
    request: {
      fqdn: 'alice.home.example.', qtype: 1, mode: 'any', timeLeftMs: 1800,
      resolver: { address: '198.51.100.53', port: 40000 }, clientSubnet: { address: '203.0.113.0', prefixLength: 24 },
    },
  },
  {
    ...hdr('0000000000000002'), type: 'REQUEST',
    request: {
      fqdn: 'bob.home.example.', qtype: 28, mode: 'source', timeLeftMs: 0,
      resolver: { address: '2001:db8::53', port: 53 }, clientSubnet: { address: '2001:db8:a::', prefixLength: 48 },
      enAddress: '2001:db8::7',
    },
  },
  {
    ...hdr('00000000000000ff'), type: 'RESPONSE',
    response: { status: 'READY', answerAddress: '192.0.2.1', rcId: 2 ** 53 - 1, rcLifetimeMs: 400 },
  },
  {
    ...hdr('ffffffffffffffff'), type: 'RESPONSE',
    response: { status: 'QUEUE_FULL', retryAfterMs: 250, reason: 'queue of 250 full — try later' },
  },
  { ...hdr('1111111111111111'), type: 'RESPONSE', response: { status: 'UNKNOWN_HOST' } },
  {
    ...hdr('2222222222222222'), type: 'REGISTER',
    register: { routerId: 'gw1', addresses: ['192.0.2.1', '192.0.2.2', '2001:db8::1'], sequence: 0, bootId: T0 - 5000, keepaliveIntervalMs: 10_000 },
  },
  {
    ...hdr('3333333333333333'), type: 'KEEPALIVE',
    register: { routerId: 'gw1', addresses: ['192.0.2.1'], sequence: 17, bootId: T0 - 5000, keepaliveIntervalMs: 10_000 },
  },
  { ...hdr('2222222222222222'), type: 'REGISTER_ACK', ack: { status: 'ACCEPTED', sequence: 0 } },
  { ...hdr('4444444444444444'), type: 'REGISTER_ACK', ack: { status: 'REJECTED', sequence: 3, reason: 'addresses differ from the configuration' } },
  {
    ...hdr('0000000000000003'), type: 'REQUEST',
    request: {
      fqdn: 'carol.home.example.', qtype: 1, mode: 'prefix', timeLeftMs: 9000,
      resolver: { address: '198.51.100.53', port: 53 }, clientSubnet: { address: '198.51.100.0', prefixLength: 24 },
      leaseMs: 65_000,
    },
  },
];

/** Rebuilds a datagram around a new body with a correct MAC (to test body rules past the MAC). */
function withBody(buf: Buffer, body: Buffer, key = KEY): Buffer {
  const l = buf[5];
  const head = Buffer.from(buf.subarray(0, 24 + l));
  head.writeUInt16BE(body.length, 22 + l);
  const input = Buffer.concat([head, body]);
  return Buffer.concat([input, createHmac('sha256', key).update(input).digest()]);
}
const bodyOf = (buf: Buffer) => decodeFrame(buf).body;
const tlv = (t: number, v: Buffer) => Buffer.concat([Buffer.from([t >> 8, t & 0xff, v.length >> 8, v.length & 0xff]), v]);

function expectFormatError(f: () => unknown, reason: 'malformed' | 'bad-version' = 'malformed'): void {
  assert.throws(f, (e: unknown) => e instanceof NtsFormatError && e.reason === reason);
}

test('every message type round-trips', () => {
  for (const m of SAMPLES) {
    const buf = encodeMessage(m, KEY);
    const d = decodeMessage(buf);
    assert.deepEqual(d.msg, m, m.type);
    assert.deepEqual(d.mac, createHmac('sha256', KEY).update(d.macInput).digest());
    assert.equal(d.macInput.length + 32, buf.length);
  }
});

test('header layout matches docs/protocol.md section 2', () => {
  const buf = encodeMessage(SAMPLES[0], KEY);
  assert.equal(buf.toString('latin1', 0, 2), 'NT');
  assert.equal(buf[2], 1);
  assert.equal(buf[3], 1); // REQUEST
  assert.equal(buf[4], 0);
  assert.equal(buf[5], 3);
  assert.equal(buf.toString('latin1', 6, 9), 'gw1');
  assert.equal(buf.readBigUInt64BE(9), BigInt(T0));
  assert.equal(buf.toString('hex', 17, 25), '0000000000000001');
  const bodyLen = buf.readUInt16BE(25);
  assert.equal(buf.length, 56 + 3 + bodyLen);
  // First TLV is FQDN in wire form, lowercase.
  assert.equal(buf.readUInt16BE(27), 0x0001);
  assert.deepEqual(buf.subarray(31, 31 + buf.readUInt16BE(29)), Buffer.from('\x05alice\x04home\x07example\x00', 'latin1'));
});

test('names are lowercased when encoded; uppercase on the wire is malformed', () => {
  const m = structuredClone(SAMPLES[0]) as Extract<NtsMessage, { type: 'REQUEST' }>;
  m.request.fqdn = 'ALICE.Home.Example';
  const buf = encodeMessage(m, KEY);
  assert.equal((decodeMessage(buf).msg as typeof m).request.fqdn, 'alice.home.example.');
  const body = Buffer.from(bodyOf(buf));
  body[5] = 0x41; // 'a' of alice -> 'A'
  expectFormatError(() => decodeMessage(withBody(buf, body)));
});

test('unknown TLVs: skipped unless critical', () => {
  const buf = encodeMessage(SAMPLES[2], KEY);
  const extra = tlv(0x0777, Buffer.from('future'));
  assert.deepEqual(decodeMessage(withBody(buf, Buffer.concat([extra, bodyOf(buf)]))).msg, SAMPLES[2]);
  expectFormatError(() => decodeMessage(withBody(buf, Buffer.concat([bodyOf(buf), tlv(0x8777, Buffer.alloc(0))]))));
  // A TLV known elsewhere but not in this message type counts as unknown.
  assert.deepEqual(decodeMessage(withBody(buf, Buffer.concat([bodyOf(buf), tlv(0x0002, Buffer.of(0, 1))]))).msg, SAMPLES[2]);
});

test('body rules: repeats, missing, forbidden, wrong lengths', () => {
  const req = encodeMessage(SAMPLES[0], KEY);
  const rb = bodyOf(req);
  expectFormatError(() => decodeMessage(withBody(req, Buffer.concat([rb, tlv(0x0002, Buffer.of(0, 1))])))); // QTYPE twice
  expectFormatError(() => decodeMessage(withBody(req, Buffer.concat([rb, tlv(0x0007, Buffer.of(1, 192, 0, 2, 9))])))); // EN with any
  expectFormatError(() => decodeMessage(withBody(req, Buffer.concat([rb, tlv(0x0006, Buffer.of(1, 33, 1, 2, 3, 4))])))); // dup + /33
  const ecsBadBits = tlv(0x0006, Buffer.of(1, 24, 203, 0, 113, 1));
  const noEcs = rb.subarray(0, rb.length - (4 + 6));
  assert.deepEqual((decodeMessage(withBody(req, noEcs)).msg as Extract<NtsMessage, { type: 'REQUEST' }>).request.clientSubnet, undefined);
  expectFormatError(() => decodeMessage(withBody(req, Buffer.concat([noEcs, ecsBadBits]))));
  expectFormatError(() => decodeMessage(withBody(req, Buffer.alloc(0)))); // everything missing
  const ready = encodeMessage(SAMPLES[2], KEY);
  expectFormatError(() => decodeMessage(withBody(ready, tlv(0x0010, Buffer.of(0))))); // READY without address
  expectFormatError(() => decodeMessage(withBody(ready, Buffer.concat([bodyOf(ready), tlv(0x0015, Buffer.from('x'))]))));
  expectFormatError(() => decodeMessage(withBody(ready, Buffer.concat([tlv(0x0010, Buffer.of(0, 0)), bodyOf(ready).subarray(5)]))));
  const reg = encodeMessage(SAMPLES[5], KEY);
  expectFormatError(() => decodeMessage(withBody(reg, Buffer.concat([tlv(0x0020, Buffer.from('gw2')), bodyOf(reg).subarray(7)]))));
});

test('an unknown status reads as INTERNAL, never READY', () => {
  const buf = encodeMessage(SAMPLES[4], KEY);
  const m = decodeMessage(withBody(buf, tlv(0x0010, Buffer.of(200)))).msg;
  assert.deepEqual(m.type === 'RESPONSE' && m.response, { status: 'INTERNAL' });
});

test('another version is bad-version; wrong magic, length or key id is malformed', () => {
  const buf = encodeMessage(SAMPLES[0], KEY);
  const v2 = Buffer.from(buf);
  v2[2] = 2;
  expectFormatError(() => decodeMessage(v2), 'bad-version');
  expectFormatError(() => decodeMessage(Buffer.from('NT\x02', 'latin1')), 'bad-version');
  const magic = Buffer.from(buf);
  magic[0] = 0x4f;
  expectFormatError(() => decodeMessage(magic));
  expectFormatError(() => decodeMessage(Buffer.concat([buf, Buffer.of(0)])));
  const space = Buffer.from(buf);
  space[7] = 0x20;
  expectFormatError(() => decodeMessage(space));
  const noKey = Buffer.from(buf);
  noKey[5] = 0;
  expectFormatError(() => decodeMessage(noKey));
  const v = new NtsVerifier(() => KEY);
  assert.deepEqual(v.verify(v2, T0), { ok: false, reason: 'bad-version' });
  assert.equal(v.counters['bad-version'], 1);
});

test('truncation at every offset: NtsFormatError and a clean malformed', () => {
  const v = new NtsVerifier(() => KEY);
  for (const m of SAMPLES) {
    const buf = encodeMessage(m, KEY);
    for (let n = 0; n < buf.length; n++) {
      const cut = buf.subarray(0, n);
      expectFormatError(() => decodeMessage(cut));
      assert.deepEqual(v.verify(cut, T0), { ok: false, reason: 'malformed' }, `${m.type} cut at ${n}`);
    }
  }
});

test('seeded random mutations: only NtsFormatError escapes, and the verifier never says ok', () => {
  const next = prng(0x5eed);
  const rnd = (n: number) => Math.floor(next() * n);
  const keys = (id: string) => (id === 'gw1' || id === 'gw2' ? KEY : undefined);
  let changed = 0;
  for (const m of SAMPLES) {
    const buf = encodeMessage(m, KEY);
    for (let i = 0; i < 600; i++) {
      const x = mutateBytes(buf, buf, rnd);
      if (x.equals(buf)) continue;
      changed++;
      try {
        decodeMessage(x);
      } catch (e) {
        assert.ok(e instanceof NtsFormatError, `seed 0x5eed, ${m.type} #${i}: ${String(e)}`);
      }
      // A fresh verifier each time: a mutation must fail on its own merits, not as a replay.
      const r = new NtsVerifier(keys).verify(x, T0);
      assert.equal(r.ok, false, `mutated ${m.type} #${i} verified: ${x.toString('hex')}`);
    }
  }
  assert.ok(changed > 5000, `only ${changed} mutations`);
});

test('random garbage behind a valid magic and version never throws anything else', () => {
  const rnd = prng(42);
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(rnd() * 200);
    const x = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
    if (len > 3) x.write('NT\x01', 0, 'latin1');
    try {
      decodeMessage(x);
    } catch (e) {
      assert.ok(e instanceof NtsFormatError, String(e));
    }
  }
});

test('encoder refuses values that cannot go on the wire', () => {
  const bad: [string, (m: NtsMessage) => void, number][] = [
    ['key id too long', (m) => { m.keyId = 'x'.repeat(65); }, 0],
    ['key id with space', (m) => { m.keyId = 'g w'; }, 0],
    ['short id', (m) => { m.id = 'abcd'; }, 0],
    ['bad address', (m) => { if (m.type === 'REQUEST') m.request.resolver.address = '300.1.1.1'; }, 0],
    ['bad port', (m) => { if (m.type === 'REQUEST') m.request.resolver.port = 70000; }, 0],
    ['prefix too long', (m) => { if (m.type === 'REQUEST') m.request.clientSubnet!.prefixLength = 33; }, 0],
    ['source without EN', (m) => { if (m.type === 'REQUEST') delete m.request.enAddress; }, 1],
    ['READY without address', (m) => { if (m.type === 'RESPONSE') delete m.response.answerAddress; }, 2],
    ['rcId too big', (m) => { if (m.type === 'RESPONSE') m.response.rcId = 2 ** 53; }, 2],
    ['router id differs', (m) => { if (m.type === 'REGISTER') m.register.routerId = 'gw2'; }, 5],
    ['no addresses', (m) => { if (m.type === 'REGISTER') m.register.addresses = []; }, 5],
  ];
  for (const [what, change, i] of bad) {
    const m = structuredClone(SAMPLES[i]);
    change(m);
    assert.throws(() => encodeMessage(m, KEY), NtsEncodeError, what);
  }
});

test('client subnet bits past the prefix are cleared when encoding', () => {
  const m = structuredClone(SAMPLES[0]) as Extract<NtsMessage, { type: 'REQUEST' }>;
  m.request.clientSubnet = { address: '203.0.113.77', prefixLength: 20 };
  const d = decodeMessage(encodeMessage(m, KEY)).msg as typeof m;
  assert.deepEqual(d.request.clientSubnet, { address: '203.0.112.0', prefixLength: 20 });
});

test('LEASE is critical and only sent when > 0; MODE prefix needs CLIENT_SUBNET', () => {
  const base = { fqdn: 'alice.home.example.', qtype: 1, mode: 'any' as const, timeLeftMs: 1000, resolver: { address: '198.51.100.53', port: 53 } };
  const enc = (request: Record<string, unknown>) => encodeMessage({ ...hdr('0000000000000010'), type: 'REQUEST', request } as unknown as NtsMessage, KEY);
  const zero = enc({ ...base, leaseMs: 0 });
  const none = enc(base);
  assert.equal(zero.length, none.length); // a lease of 0 asks nothing: not on the wire
  const withLease = enc({ ...base, leaseMs: 5000 });
  assert.equal(withLease.length, none.length + 8);
  const m = decodeMessage(withLease).msg;
  assert.equal(m.type === 'REQUEST' && m.request.leaseMs, 5000);
  // The type on the wire has the critical bit: a receiver that does not know it must refuse.
  assert.ok(withLease.includes(Buffer.from([0x80, 0x08, 0x00, 0x04, 0x00, 0x00, 0x13, 0x88])));
  assert.throws(() => enc({ ...base, mode: 'prefix' }), NtsEncodeError);
});
