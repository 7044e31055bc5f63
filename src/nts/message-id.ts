// NTS message ids (8 octets, 16 hex digits) from the CSPRNG, drawn 512 at a time: one
// randomBytes call per 512 ids instead of one per lookup on its cold path (docs/eval/latency.md).
import { randomBytes } from 'node:crypto';

const IDS_PER_DRAW = 512;
let pool = Buffer.alloc(0);
let at = 0;

export function randomMessageId(): string {
  if (at + 8 > pool.length) {
    pool = randomBytes(8 * IDS_PER_DRAW);
    at = 0;
  }
  const id = pool.toString('hex', at, at + 8);
  at += 8;
  return id;
}
