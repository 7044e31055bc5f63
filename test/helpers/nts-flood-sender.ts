// The attacker of test/nts-flood.test.ts, as a child process (so the test process's CPU time is
// the router's): sends bursts of forged, replayed, stale and oversized NTS datagrams to the
// router on 127.0.0.1 when told to over IPC, and counts what comes back. It stops by itself
// when the parent goes away or after a hard limit.
import dgram from 'node:dgram';
import { prng } from './prng.js';
import { floodDatagrams, type FloodKind } from './nts-fuzz.js';

export type ToSender =
  | { cmd: 'init'; port: number; key: string; seed: number }
  /** Waits for every send's callback before answering. */
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
let datagram: (kind: FloodKind) => Buffer = () => Buffer.alloc(0);

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
        datagram = floodDatagrams(Buffer.from(m.key, 'hex'), prng(m.seed), Date.now);
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
