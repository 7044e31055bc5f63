// The attacker of test/nts-flood.test.ts, as a child process (so the test process's CPU time is
// the router's): sends bursts of forged, replayed, stale and oversized NTS datagrams to the
// router on 127.0.0.1 when told to over IPC, and counts what comes back. It stops by itself
// when the parent goes away or after a hard limit.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { encodeMessage } from '../../src/nts/codec.js';
import { prng } from './prng.js';
import { hex16, requestSamples, WINDOW_MS } from './nts-fuzz.js';

export type FloodKind = 'legit' | 'replay' | 'random-mac' | 'unknown-key' | 'wrong-key' | 'garbage' | 'stale' | 'future' | 'oversized';
export type ToSender =
  | { cmd: 'init'; port: number; key: string; seed: number }
  | { cmd: 'send'; kind: FloodKind; count: number }
  | { cmd: 'report' }
  | { cmd: 'exit' };
export type FromSender = { sent: number } | { received: string[] };

const HARD_LIMIT_MS = 180_000;
setTimeout(() => process.exit(3), HARD_LIMIT_MS).unref();
process.on('disconnect', () => process.exit(0));

const sock = dgram.createSocket('udp4');
const received: string[] = [];
sock.on('message', (m) => received.push(m.toString('hex')));
let port = 0;
let key: Buffer = Buffer.alloc(0);
let rnd: (n: number) => number = () => 0;
let legit: Buffer = Buffer.alloc(0);
const wrongKey = randomBytes(32);

const request = (ts: number, k: Buffer, keyId = 'gw1') =>
  encodeMessage(requestSamples(ts, () => hex16(rnd), keyId)[0], k);

function datagram(kind: FloodKind): Buffer {
  switch (kind) {
    case 'legit':
    case 'replay': return legit;
    case 'random-mac': {
      const b = Buffer.from(legit);
      randomBytes(32).copy(b, b.length - 32);
      return b;
    }
    case 'unknown-key': return request(Date.now(), wrongKey, `gw${2 + rnd(1000)}`);
    case 'wrong-key': return request(Date.now(), wrongKey);
    case 'garbage': return randomBytes(1 + rnd(300));
    // Genuinely signed (a captured request held back, or sent ahead): the window refuses them.
    case 'stale': return request(Date.now() - WINDOW_MS - 1 - rnd(10 * WINDOW_MS), key);
    case 'future': return request(Date.now() + WINDOW_MS + 1000 + rnd(10 * WINDOW_MS), key);
    case 'oversized': {
      // A frame whose lengths agree, with a body of up to 60000 octets and a MAC that is not one.
      const body = 1200 + rnd(60_000 - 1200);
      const b = Buffer.alloc(56 + 3 + body);
      legit.copy(b, 0, 0, 24 + 3);
      b.writeUInt16BE(body, 22 + 3);
      randomBytes(32).copy(b, b.length - 32);
      return b;
    }
  }
}

function send(kind: FloodKind, count: number): Promise<void> {
  let left = count;
  return new Promise((resolve, reject) => {
    if (count === 0) return resolve();
    for (let i = 0; i < count; i++) {
      sock.send(datagram(kind), port, '127.0.0.1', (err) => {
        if (err) reject(err);
        else if (--left === 0) resolve();
      });
    }
  });
}

process.on('message', (m: ToSender) => {
  void (async () => {
    switch (m.cmd) {
      case 'init':
        port = m.port;
        key = Buffer.from(m.key, 'hex');
        rnd = ((next) => (n: number) => Math.floor(next() * n))(prng(m.seed));
        legit = request(Date.now(), key);
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
        process.send!({ sent: 0 } satisfies FromSender);
        break;
      case 'send':
        await send(m.kind, m.count);
        process.send!({ sent: m.count } satisfies FromSender);
        break;
      case 'report':
        process.send!({ received } satisfies FromSender);
        break;
      case 'exit':
        sock.close(() => process.exit(0));
        break;
    }
  })().catch((e: Error) => {
    console.error(`nts-flood-sender: ${e.stack ?? e.message}`);
    process.exit(2);
  });
});
