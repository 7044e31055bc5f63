// RFC 8945 checks on real bytes: MAC truncation (5.2.2.1, 5.2.4) and the last-time-signed replay
// check (5.2.3). Every message is signed by our signer and then mutated on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { Opcode, Rcode, RRClass, RRType } from '../src/dns/constants.js';
import {
  macLength, minAllowedMacLength, signMessage, tsigForResponse, u48, verifyRequest, verifyResponse,
  type TsigAlgorithm, type TsigKey, type TsigVerification, type VerifyOptions,
} from '../src/dns/tsig.js';
import { LastTimeSigned } from '../src/dns/tsig-replay.js';
import { newMessage, type Message } from '../src/dns/types.js';

const NOW = 1_800_000_000;
const ALGS: TsigAlgorithm[] = ['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'];
const keyFor = (algorithm: TsigAlgorithm, name = 'k.example.'): TsigKey => ({ name, algorithm, secret: Buffer.from(`secret for ${algorithm} ${name}`) });
const ring = (...keys: TsigKey[]) => (n: string) => keys.find((k) => k.name === n);

function updateRequest(id = 0x2345, host = 'h'): Buffer {
  return encodeMessage(newMessage({
    id, opcode: Opcode.UPDATE,
    question: [{ name: 'example.test.', type: RRType.SOA, class: RRClass.IN }],
    authority: [{ name: `${host}.example.test.`, type: RRType.A, class: RRClass.IN, ttl: 60, rdata: { kind: 'A', address: '192.0.2.7' } }],
  }));
}
const answerFor = (req: Message, rcode: number): Message =>
  ({ ...req, qr: true, rcode, answer: [], authority: [], additional: [], edns: undefined, tsig: undefined });

/** The MAC field's offset and length in a message whose TSIG RR our signer wrote (uncompressed). */
function macField(raw: Buffer): { at: number; len: number } {
  const m = decodeMessage(raw);
  const d = m.tsig!.rr.rdata;
  const len = d.mac.length;
  return { at: raw.length - 6 - d.other.length - len, len };
}

/** Rewrites the TSIG MAC on the wire (MAC Size and RDLENGTH follow), nothing else. */
function withMac(raw: Buffer, mac: Buffer): Buffer {
  const { at, len } = macField(raw);
  const out = Buffer.concat([raw.subarray(0, at), mac, raw.subarray(at + len)]);
  out.writeUInt16BE(mac.length, at - 2); // MAC Size
  // RDLENGTH: after the owner name (uncompressed), TYPE, CLASS and TTL
  const off = decodeMessage(raw).tsig!.offset;
  let i = off;
  while (raw[i] !== 0) i += raw[i] + 1;
  const rdlenAt = i + 1 + 8;
  out.writeUInt16BE(raw.readUInt16BE(rdlenAt) - len + mac.length, rdlenAt);
  return out;
}

const kindOf = (v: TsigVerification) => (v.status === 'error' ? v.kind : v.status);
const verify = (raw: Buffer, key: TsigKey, now = NOW, o: VerifyOptions = {}) =>
  verifyRequest(raw, decodeMessage(raw), ring(key), now, { allowSha1: true, ...o });

test('withMac rewrites only the MAC: the full MAC put back verifies, the wire stays decodable', () => {
  const key = keyFor('hmac-sha256');
  const { message, mac } = signMessage(updateRequest(), key, { nowSeconds: NOW });
  assert.deepEqual(withMac(message, mac), message);
  assert.equal(kindOf(verify(withMac(message, mac), key)), 'ok');
  const cut = withMac(message, mac.subarray(0, 20));
  assert.equal(cut.length, message.length - 12);
  assert.deepEqual(decodeMessage(cut).tsig!.rr.rdata.mac, mac.subarray(0, 20));
});

for (const alg of ALGS) {
  test(`${alg}: MAC size boundaries (RFC 8945 5.2.2.1 rules 1-4, 5.2.4)`, () => {
    const key = keyFor(alg);
    const full = macLength(alg);
    const min = Math.max(10, Math.ceil(full / 2));
    assert.equal(minAllowedMacLength(alg), min);
    const { message, mac } = signMessage(updateRequest(), key, { nowSeconds: NOW });

    // rule 1: longer than the hash -> FORMERR, answered without TSIG (nothing was verified)
    const long = verify(withMac(message, Buffer.concat([mac, Buffer.from([0])])), key);
    assert.equal(kindOf(long), 'formerr');
    assert.ok(long.status === 'error' && long.rcode === Rcode.FORMERR && !long.signResponse && long.key === undefined);
    const plain = encodeMessage(answerFor(decodeMessage(message), Rcode.FORMERR));
    assert.deepEqual(tsigForResponse(plain, long, NOW), plain);

    // rule 3: below max(10, half) -> FORMERR, even with the right prefix and a lax local policy
    for (const n of [0, 1, min - 1]) {
      const v = verify(withMac(message, mac.subarray(0, n)), { ...key, minMacLength: 1 }, NOW, { minMacLength: 1 });
      assert.equal(kindOf(v), 'formerr', `${n} octets`);
    }
    // rule 4: allowed truncation; the default local policy (full length) answers BADTRUNC, signed
    const bt = verify(withMac(message, mac.subarray(0, min)), key);
    assert.ok(bt.status === 'error' && bt.kind === 'badtrunc' && bt.error === Rcode.BADTRUNC && bt.rcode === Rcode.NOTAUTH && bt.signResponse);
    // a policy (per call or per key) that allows it: verified on the truncated octets
    assert.equal(kindOf(verify(withMac(message, mac.subarray(0, min)), key, NOW, { minMacLength: min })), 'ok');
    assert.equal(kindOf(verify(withMac(message, mac.subarray(0, min)), { ...key, minMacLength: min })), 'ok');
    assert.equal(kindOf(verify(withMac(message, mac.subarray(0, min + 1)), { ...key, minMacLength: min })), 'ok');
    // the key's policy wins over the call's
    assert.equal(kindOf(verify(withMac(message, mac.subarray(0, min)), { ...key, minMacLength: full }, NOW, { minMacLength: min })), 'badtrunc');
    // rule 2: the full MAC is always fine
    assert.equal(kindOf(verify(message, { ...key, minMacLength: min })), 'ok');
  });
}

test('a truncated MAC is compared on its own octets: the leading ones, every bit of them', () => {
  const key: TsigKey = { ...keyFor('hmac-sha256'), minMacLength: 16 };
  const { message, mac } = signMessage(updateRequest(), key, { nowSeconds: NOW });
  const t16 = withMac(message, mac.subarray(0, 16));
  // what our signer sends with truncateTo is the same bytes as cutting the full MAC
  assert.deepEqual(signMessage(updateRequest(), key, { nowSeconds: NOW, truncateTo: 16 }).message, t16);
  assert.equal(kindOf(verify(t16, key)), 'ok');
  // the trailing 16 octets are not a truncated MAC (RFC 2104: initial octets)
  assert.equal(kindOf(verify(withMac(message, mac.subarray(16)), key)), 'badsig');
  // every single-bit flip inside the truncated MAC is caught
  const { at } = macField(t16);
  for (let i = 0; i < 16; i++) {
    for (const bit of [0x01, 0x80]) {
      const b = Buffer.from(t16);
      b[at + i] ^= bit;
      assert.equal(kindOf(verify(b, key)), 'badsig', `octet ${i} bit ${bit}`);
    }
  }
  // so is a change of the message itself (the last octet of the A record's address)
  const b = Buffer.from(t16);
  b[decodeMessage(t16).tsig!.offset - 1] ^= 0x01;
  assert.equal(kindOf(verify(b, key)), 'badsig');
  // a MAC made with another secret, truncated the same way
  const other = signMessage(updateRequest(), { ...key, secret: Buffer.from('another secret') }, { nowSeconds: NOW, truncateTo: 16 }).message;
  assert.equal(kindOf(verify(other, key)), 'badsig');
});

test('responses to a truncated request: full MAC, digest over the truncated request MAC (5.2.2.1 rule 4, 5.3.1)', () => {
  const key: TsigKey = { ...keyFor('hmac-sha512'), minMacLength: 32 };
  const { message, mac } = signMessage(updateRequest(), key, { nowSeconds: NOW, truncateTo: 32 });
  const req = decodeMessage(message);
  assert.equal(mac.length, 32);
  const fullReqMac = signMessage(updateRequest(), key, { nowSeconds: NOW }).mac;
  assert.deepEqual(fullReqMac.subarray(0, 32), mac);
  for (const [now, policy, want] of [[NOW, 32, 0], [NOW, 64, Rcode.BADTRUNC], [NOW + 301, 32, Rcode.BADTIME]] as const) {
    const v = verify(message, { ...key, minMacLength: policy }, now);
    const out = tsigForResponse(encodeMessage(answerFor(req, v.status === 'error' ? v.rcode : 0)), v, now);
    const res = decodeMessage(out);
    assert.equal(res.tsig!.rr.rdata.mac.length, 64, 'our MAC is never truncated');
    assert.equal(res.tsig!.rr.rdata.error, want);
    // (the client's clock is NOW; a BADTIME answer carries the request's Time Signed)
    const r = verifyResponse(out, res, key, mac, NOW);
    assert.ok(r.status === 'ok' && r.error === want, JSON.stringify(r));
    // the digest covers the request MAC as received (length 32): the full one does not verify
    assert.equal(verifyResponse(out, res, key, fullReqMac, NOW).status, 'bad');
  }
});

test('last time signed (5.2.3): strictly earlier is a signed BADTIME, equal and later pass', () => {
  const alice = keyFor('hmac-sha256', 'alice-key.');
  const bob = keyFor('hmac-sha256', 'bob-key.');
  const store = new LastTimeSigned();
  const check = (raw: Buffer, key: TsigKey, now: number) => {
    const v = verifyRequest(raw, decodeMessage(raw), ring(alice, bob), now, { lastTimeSigned: (k) => store.get(k) });
    if (v.status === 'ok') store.accept(v.key, v.timeSigned);
    return v;
  };
  const at = (t: number, key = alice, id = 1) => signMessage(updateRequest(id), key, { nowSeconds: t });
  const m100 = at(NOW + 100);
  assert.equal(kindOf(check(m100.message, alice, NOW + 100)), 'ok');
  assert.equal(store.get(alice), NOW + 100);
  // the same second again (nsupdate's several messages, a retransmission): accepted
  assert.equal(kindOf(check(at(NOW + 100, alice, 2).message, alice, NOW + 101)), 'ok');
  assert.equal(kindOf(check(m100.message, alice, NOW + 101)), 'ok');
  // one second earlier, well inside the fudge: a replay
  const m99 = at(NOW + 99);
  const v = check(m99.message, alice, NOW + 102);
  assert.ok(v.status === 'error' && v.kind === 'replay' && v.error === Rcode.BADTIME && v.rcode === Rcode.NOTAUTH && v.signResponse, JSON.stringify(v));
  assert.equal(store.get(alice), NOW + 100, 'a refused message moves nothing');
  // answered like any BADTIME: signed, our time in Other Data, verifiable by the client
  const out = tsigForResponse(encodeMessage(answerFor(decodeMessage(m99.message), Rcode.NOTAUTH)), v, NOW + 102);
  const r = verifyResponse(out, decodeMessage(out), alice, m99.mac, NOW + 99);
  assert.ok(r.status === 'ok' && r.error === Rcode.BADTIME && u48(NOW + 102).equals(r.otherData), JSON.stringify(r));
  // per key: bob has signed nothing yet, so his earlier message is fine
  assert.equal(kindOf(check(at(NOW + 50, bob).message, bob, NOW + 102)), 'ok');
  assert.equal(store.get(bob), NOW + 50);
  // only verified messages count: a forged one (bad MAC) far ahead, or one outside the fudge,
  // or a BADTRUNC must not push the clock forward and lock the key's owner out
  const forged = Buffer.from(at(NOW + 250).message);
  forged[forged.length - 10] ^= 1;
  assert.equal(kindOf(check(forged, alice, NOW + 102)), 'badsig');
  assert.equal(kindOf(check(at(NOW + 500).message, alice, NOW + 102)), 'badtime');
  assert.equal(kindOf(check(signMessage(updateRequest(), alice, { nowSeconds: NOW + 200, truncateTo: 16 }).message, alice, NOW + 102)), 'badtrunc');
  assert.equal(store.get(alice), NOW + 100);
  assert.equal(kindOf(check(at(NOW + 101).message, alice, NOW + 102)), 'ok');
  assert.equal(store.get(alice), NOW + 101);
  assert.equal(kindOf(check(m100.message, alice, NOW + 102)), 'replay');
  // outside the fudge wins over replay (both BADTIME; the counter says which)
  assert.equal(kindOf(check(m99.message, alice, NOW + 99 + 301)), 'badtime');
  // names are compared canonically; one entry per key
  store.accept({ ...alice, name: 'ALICE-KEY.' }, NOW + 102);
  assert.equal(store.get(alice), NOW + 102);
  assert.equal(store.size, 2);
});
