// Building blocks for NTS fuzzing and flooding (test/nts-fuzz.test.ts, test/nts-flood.test.ts):
// valid seed messages of every type, a datagram split into header fields and raw TLVs, and
// seeded mutators. Byte mutators keep the MAC (a forger without the key); structural mutators
// re-sign (a key holder sending odd messages), so they reach the TLV parser and the window,
// replay and type checks behind the MAC.
import { randomBytes } from 'node:crypto';
import { computeMac, decodeFrame, encodeMessage } from '../../src/nts/codec.js';
import { Tlv, type NtsMessage } from '../../src/nts/messages.js';

export const FUZZ_KEY = Buffer.alloc(32, 0x4b);
/** A second router known to the NTSv2 server only (wrong-router at the client). */
export const FUZZ_KEY2 = Buffer.alloc(32, 0x4c);
export const WINDOW_MS = 30_000;

/** An integer in [0, n). */
export type Rnd = (n: number) => number;

export const hex16 = (rnd: Rnd): string => {
  let s = '';
  for (let i = 0; i < 4; i++) s += rnd(0x10000).toString(16).padStart(4, '0');
  return s;
};

/** REQUESTs with and without every optional TLV, for names the router knows and one it does not. */
export function requestSamples(ts: number, id: (i: number) => string, keyId = 'gw1'): NtsMessage[] {
  const base = { fqdn: 'alice.home.example.', qtype: 1, timeLeftMs: 1800, resolver: { address: '198.51.100.53', port: 40000 } };
  const reqs = [
    { ...base, mode: 'any' as const },
    { ...base, mode: 'any' as const, leaseMs: 65_000 },
    { ...base, fqdn: 'bob.home.example.', mode: 'any' as const, clientSubnet: { address: '203.0.113.0', prefixLength: 24 } },
    { ...base, mode: 'prefix' as const, clientSubnet: { address: '203.0.113.0', prefixLength: 24 }, leaseMs: 5000 },
    { ...base, mode: 'prefix' as const, clientSubnet: { address: '2001:db8:a::', prefixLength: 48 } },
    { ...base, mode: 'source' as const, enAddress: '203.0.113.7' },
    { ...base, fqdn: 'bob.home.example.', mode: 'source' as const, enAddress: '2001:db8::7', resolver: { address: '2001:db8::53', port: 53 } },
    { ...base, qtype: 28, mode: 'any' as const },
    { ...base, fqdn: 'nobody.home.example.', mode: 'any' as const, timeLeftMs: 9500 },
  ];
  return reqs.map((request, i) => ({ type: 'REQUEST', keyId, timestamp: ts, id: id(i), request }));
}

/** RESPONSE, REGISTER, KEEPALIVE and REGISTER_ACK samples (what the router sends, and the ACK it receives). */
export function otherSamples(ts: number, id: (i: number) => string): NtsMessage[] {
  const reg = { routerId: 'gw1', addresses: ['192.0.2.1', '2001:db8::1'], sequence: 3, bootId: ts - 5000, keepaliveIntervalMs: 10_000 };
  return [
    { type: 'RESPONSE', keyId: 'gw1', timestamp: ts, id: id(0), response: { status: 'READY', answerAddress: '192.0.2.1', rcId: 7, rcLifetimeMs: 3000 } },
    { type: 'RESPONSE', keyId: 'gw1', timestamp: ts, id: id(1), response: { status: 'QUEUE_FULL', retryAfterMs: 250, reason: 'queue full' } },
    { type: 'RESPONSE', keyId: 'gw1', timestamp: ts, id: id(2), response: { status: 'UNKNOWN_HOST' } },
    { type: 'REGISTER', keyId: 'gw1', timestamp: ts, id: id(3), register: reg },
    { type: 'KEEPALIVE', keyId: 'gw1', timestamp: ts, id: id(4), register: { ...reg, sequence: 4 } },
    { type: 'REGISTER_ACK', keyId: 'gw1', timestamp: ts, id: id(5), ack: { status: 'REJECTED', sequence: 3, reason: 'addresses differ' } },
  ];
}

/** A datagram taken apart: header octets 0..5 and fields, TLVs as raw (type, value). */
export interface Parts {
  head: Buffer; // magic, version, type, flags (5 octets)
  keyId: string;
  timestamp: bigint;
  id: Buffer;
  tlvs: { t: number; v: Buffer; len?: number }[];
}

export function split(buf: Buffer): Parts {
  const f = decodeFrame(buf);
  const tlvs: Parts['tlvs'] = [];
  for (let p = 0; p < f.body.length;) {
    const len = f.body.readUInt16BE(p + 2);
    tlvs.push({ t: f.body.readUInt16BE(p), v: Buffer.from(f.body.subarray(p + 4, p + 4 + len)) });
    p += 4 + len;
  }
  return { head: Buffer.from(buf.subarray(0, 5)), keyId: f.keyId, timestamp: BigInt(f.timestamp), id: Buffer.from(f.id, 'hex'), tlvs };
}

/** Reassembles parts with a correct body length and a MAC under `key` (a TLV's `len` may lie). */
export function join(p: Parts, key: Buffer): Buffer {
  const body = Buffer.concat(p.tlvs.flatMap(({ t, v, len }) => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(t & 0xffff, 0);
    h.writeUInt16BE((len ?? v.length) & 0xffff, 2);
    return [h, v];
  }));
  const kid = Buffer.from(p.keyId, 'latin1');
  const fixed = Buffer.alloc(1 + kid.length + 18); // L, key id, timestamp, id, B
  fixed[0] = kid.length & 0xff;
  kid.copy(fixed, 1);
  fixed.writeBigUInt64BE(BigInt.asUintN(64, p.timestamp), 1 + kid.length);
  p.id.copy(fixed, 9 + kid.length, 0, 8);
  fixed.writeUInt16BE(body.length & 0xffff, 17 + kid.length);
  const input = Buffer.concat([p.head, fixed, body]);
  return Buffer.concat([input, computeMac(key, input)]);
}

const EDGE_LENGTHS = [0, 1, 2, 3, 4, 5, 8, 17, 255, 256, 0x7fff, 0xfffe, 0xffff];
const ALL_TLVS = Object.values(Tlv) as number[];

/**
 * Byte-level damage without the key: flips, sets, truncation, extension, insertion, deletion,
 * TLV length fields set to edge values, header fields (timestamp, id, key id, type, version),
 * and splicing with another datagram. The MAC stays what it was.
 */
export function mutateBytes(src: Buffer, other: Buffer, rnd: Rnd): Buffer {
  let b = Buffer.from(src);
  const l = src[5];
  const edits = 1 + rnd(3);
  for (let k = 0; k < edits; k++) {
    const at = rnd(b.length);
    switch (rnd(12)) {
      case 0: b[at] ^= 1 << rnd(8); break;
      case 1: b[at] = rnd(256); break;
      case 2: b = b.subarray(0, rnd(b.length)); break;
      case 3: b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + rnd(40) }, () => rnd(256)))]); break;
      case 4: b = Buffer.concat([b.subarray(0, at), Buffer.of(rnd(256)), b.subarray(at)]); break;
      case 5: b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rnd(4))]); break;
      case 6: { // a TLV length field (body TLV headers start at 24 + L) to an edge value
        const p = tlvOffsets(b, l);
        if (p.length) b.writeUInt16BE(EDGE_LENGTHS[rnd(EDGE_LENGTHS.length)], p[rnd(p.length)] + 2);
        break;
      }
      case 7: if (b.length >= 14 + l) b.writeBigUInt64BE(BigInt.asUintN(64, b.readBigUInt64BE(6 + l) + BigInt(rnd(2e6) - 1e6)), 6 + l); break; // timestamp
      case 8: if (b.length >= 22 + l) b[14 + l + rnd(8)] = rnd(256); break; // message id
      case 9: if (b.length > 6) b[6 + rnd(Math.max(1, l))] = 0x21 + rnd(94); break; // key id
      case 10: b[rnd(6)] = [0, 1, 2, 3, 4, 5, 6, 0x4e, 0x54, 0xff][rnd(10)]; break; // magic/version/type/flags/L
      default: { // splice: a prefix of this one, a suffix of the other
        const cut = rnd(Math.min(b.length, other.length) + 1);
        b = Buffer.concat([b.subarray(0, cut), other.subarray(cut)]);
      }
    }
    if (b.length === 0) break;
  }
  return b;
}

/** Where TLV headers start in a (possibly damaged) datagram, following the declared lengths. */
function tlvOffsets(b: Buffer, l: number): number[] {
  const out: number[] = [];
  if (b.length < 24 + l) return out;
  const end = Math.min(b.length, 24 + l + b.readUInt16BE(22 + l));
  for (let p = 24 + l; p + 4 <= end && out.length < 32; p += 4 + b.readUInt16BE(p + 2)) out.push(p);
  return out;
}

export interface HeaderChoices {
  /** The receiver's clock, to place timestamps just inside and just outside the window. */
  now: number;
  /** Ids to reuse (a key holder's replays); fresh random ids otherwise. */
  ids: Buffer[];
}

/**
 * Structural damage by a key holder, re-signed with `key` by the caller (join): TLVs dropped,
 * duplicated, reordered, retyped, with values damaged or lengths lying, unknown (critical or not)
 * TLVs inserted, bodies spliced; header timestamps at and past the window edges, ids fresh or
 * reused, type and flags changed.
 */
export function mutateParts(src: Parts, other: Parts, rnd: Rnd, h: HeaderChoices): Parts {
  const p: Parts = { head: Buffer.from(src.head), keyId: src.keyId, timestamp: BigInt(h.now), id: Buffer.from(src.id), tlvs: src.tlvs.map((x) => ({ ...x })) };
  // Ids: mostly fresh (so accepted bodies reach the scheduler), sometimes reused (replay paths).
  const r = rnd(20);
  if (r < 16) p.id = Buffer.from(hex16(rnd), 'hex');
  else if (r < 19 && h.ids.length) p.id = h.ids[rnd(h.ids.length)];
  const edits = rnd(4);
  for (let k = 0; k < edits; k++) {
    const n = p.tlvs.length;
    const i = n ? rnd(n) : 0;
    switch (rnd(15)) {
      case 0: if (n) p.tlvs.splice(i, 1); break; // drop
      case 1: if (n) p.tlvs.splice(rnd(n + 1), 0, { ...p.tlvs[i] }); break; // duplicate
      case 2: if (n > 1) { const j = rnd(n); [p.tlvs[i], p.tlvs[j]] = [p.tlvs[j], p.tlvs[i]]; } break; // reorder
      case 3: if (n) p.tlvs[i] = { t: ALL_TLVS[rnd(ALL_TLVS.length)], v: p.tlvs[i].v }; break; // retype
      case 4: if (n && p.tlvs[i].v.length) { const v = Buffer.from(p.tlvs[i].v); v[rnd(v.length)] ^= 1 << rnd(8); p.tlvs[i] = { ...p.tlvs[i], v }; } break;
      case 5: if (n && p.tlvs[i].v.length) { const v = Buffer.from(p.tlvs[i].v); v[rnd(v.length)] = [0, 1, 2, 3, 0x41, 0x5a, 0x7f, 0x80, 0xc0, 0xff][rnd(10)]; p.tlvs[i] = { ...p.tlvs[i], v }; } break;
      case 6: if (n) p.tlvs[i] = { ...p.tlvs[i], v: p.tlvs[i].v.subarray(0, rnd(p.tlvs[i].v.length + 1)) }; break; // shorten
      case 7: if (n) p.tlvs[i] = { ...p.tlvs[i], v: Buffer.concat([p.tlvs[i].v, Buffer.alloc(1 + rnd(3), rnd(256))]) }; break; // lengthen
      case 8: if (n) p.tlvs[i] = { ...p.tlvs[i], len: EDGE_LENGTHS[rnd(EDGE_LENGTHS.length)] }; break; // length lies
      case 9: p.tlvs.splice(rnd(n + 1), 0, { t: (rnd(2) ? 0x8000 : 0) | (0x40 + rnd(0x100)), v: Buffer.alloc(rnd(6), rnd(256)) }); break; // unknown
      case 10: if (other.tlvs.length) p.tlvs.splice(rnd(n + 1), 0, { ...other.tlvs[rnd(other.tlvs.length)] }); break; // splice
      case 11: { // timestamps at and beyond the window edges, and absurd ones
        const w = BigInt(WINDOW_MS);
        const now = BigInt(h.now);
        const opts = [now - w, now + w, now - w - 1n, now + w + 1n, now - 2n * w, 0n, (1n << 53n) - 1n, 1n << 53n, (1n << 64n) - 1n];
        p.timestamp = opts[rnd(opts.length)];
        break;
      }
      case 12: p.head[3] = 1 + rnd(6); break; // another type (6 is unknown)
      case 13: p.keyId = ['gw2', 'gw1 ', 'GW1', 'g', 'x'.repeat(64)][rnd(5)]; break; // another key id (signed by the caller)
      default: p.head[2 + rnd(2)] = rnd(4); p.head[4] = rnd(256); // version or type 0..3; flags
    }
  }
  return p;
}

export type FloodKind = 'legit' | 'replay' | 'random-mac' | 'unknown-key' | 'wrong-key' | 'garbage' | 'stale' | 'future' | 'oversized';

/**
 * What an attacker sends (test/nts-flood.test.ts): `legit` and `replay` are one genuine REQUEST
 * for alice signed with `key` at the first call; the rest are forgeries, or genuinely signed
 * requests outside the window (a captured request held back, or one sent ahead).
 */
export function floodDatagrams(key: Buffer, next: () => number, now: () => number): (kind: FloodKind) => Buffer {
  const rnd: Rnd = (n) => Math.floor(next() * n);
  const wrongKey = randomBytes(32);
  const request = (ts: number, k: Buffer, keyId = 'gw1') => encodeMessage(requestSamples(ts, () => hex16(rnd), keyId)[0], k);
  const legit = request(now(), key);
  return (kind) => {
    switch (kind) {
      case 'legit':
      case 'replay': return legit;
      case 'random-mac': {
        const b = Buffer.from(legit);
        randomBytes(32).copy(b, b.length - 32);
        return b;
      }
      case 'unknown-key': return request(now(), wrongKey, `gw${2 + rnd(1000)}`);
      case 'wrong-key': return request(now(), wrongKey);
      case 'garbage': return randomBytes(1 + rnd(300));
      case 'stale': return request(now() - WINDOW_MS - 1 - rnd(10 * WINDOW_MS), key);
      case 'future': return request(now() + WINDOW_MS + 1000 + rnd(10 * WINDOW_MS), key);
      case 'oversized': {
        // A frame whose lengths agree, a body of 1200..60000 octets, and a MAC that is not one.
        const body = 1200 + rnd(60_000 - 1200);
        const b = Buffer.alloc(56 + 3 + body);
        legit.copy(b, 0, 0, 24 + 3);
        b.writeUInt16BE(body, 22 + 3);
        randomBytes(32).copy(b, b.length - 32);
        return b;
      }
    }
  };
}
