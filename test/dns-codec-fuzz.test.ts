// Robustness: truncated and mutated captures must decode or fail with DnsFormatError only, and
// whatever decodes must encode (or fail with DnsEncodeError) and decode back to the same message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { DnsEncodeError, DnsFormatError, type Message } from '../src/dns/types.js';
import { prng as seededPrng } from './helpers/prng.js';
import { fixtureDir } from './helpers/fixtures.js';

const DIR = fixtureDir('wire');
const FIXTURES = fs.readdirSync(DIR).filter((f) => f.endsWith('.hex')).sort()
  .map((f) => ({ f, buf: Buffer.from(fs.readFileSync(path.join(DIR, f), 'utf8').trim(), 'hex') }));

/** An integer in [0, n) from the shared seeded PRNG. */
function prng(seed: number): (n: number) => number {
  const next = seededPrng(seed);
  return (n) => Math.floor(next() * n);
}

const comparable = (m: Message) => (m.tsig ? { ...m, tsig: { rr: m.tsig.rr } } : m);
const stats = { decoded: 0, formErr: 0, encErr: 0 };

function check(buf: Buffer, what: string): void {
  let m: Message;
  try {
    m = decodeMessage(buf);
  } catch (e) {
    if (!(e instanceof DnsFormatError)) assert.fail(`${what}: decode threw ${String(e)}\n${buf.toString('hex')}`);
    if (buf.length >= 12 && !e.header) assert.fail(`${what}: DnsFormatError without header`);
    stats.formErr++;
    return;
  }
  stats.decoded++;
  let out: Buffer;
  try {
    out = encodeMessage(m);
  } catch (e) {
    if (!(e instanceof DnsEncodeError)) assert.fail(`${what}: encode threw ${String(e)}\n${buf.toString('hex')}`);
    stats.encErr++;
    return;
  }
  let back: Message;
  try {
    back = decodeMessage(out);
  } catch (e) {
    assert.fail(`${what}: re-encoded message does not decode: ${String(e)}\n${buf.toString('hex')}`);
  }
  assert.deepEqual(comparable(back), comparable(m), `${what}: round trip differs\n${buf.toString('hex')}`);
}

function mutate(src: Buffer, rnd: (n: number) => number): Buffer {
  let b = Buffer.from(src);
  const edits = 1 + rnd(4);
  for (let k = 0; k < edits; k++) {
    const at = rnd(b.length + 1);
    switch (rnd(7)) {
      case 0: if (b.length) b[rnd(b.length)] = rnd(256); break; // random byte
      case 1: if (b.length) b[rnd(b.length)] ^= 1 << rnd(8); break; // bit flip
      case 2: b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + rnd(4) }, () => rnd(256))), b.subarray(at)]); break;
      case 3: b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rnd(4))]); break; // delete
      case 4: if (b.length >= 12) b.writeUInt16BE(rnd(6), 4 + 2 * rnd(4)); break; // section count
      case 5: if (b.length > 1) b[rnd(b.length)] = [0xc0, 0x3f, 0x40, 0x00, 0xff][rnd(5)]; break; // pointer / label bytes
      case 6: if (b.length > 13) b[12 + rnd(b.length - 12)] = 0xc0 | rnd(2), b[rnd(b.length)] = rnd(b.length) & 0xff; break;
    }
  }
  return b;
}

test('every truncation of every fixture', () => {
  for (const { f, buf } of FIXTURES) for (let i = 0; i < buf.length; i++) check(buf.subarray(0, i), `${f}[0,${i})`);
});

test('seeded random mutations of every fixture', () => {
  const rnd = prng(0x5eed);
  const per = 100;
  for (const { f, buf } of FIXTURES) for (let k = 0; k < per; k++) check(mutate(buf, rnd), `${f} mutation ${k}`);
  console.log(`fuzz: ${FIXTURES.length} fixtures; decoded ${stats.decoded}, FORMERR ${stats.formErr}, encode errors ${stats.encErr}`);
});

test('random garbage', () => {
  const rnd = prng(42);
  for (let k = 0; k < 3000; k++) {
    const b = Buffer.from(Array.from({ length: rnd(80) }, () => rnd(256)));
    if (b.length >= 12) b.writeUInt16BE(rnd(3), 4), b.writeUInt16BE(rnd(3), 6), b.writeUInt16BE(rnd(3), 10);
    check(b, `garbage ${k}`);
  }
});
