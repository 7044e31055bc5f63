// HMAC-SHA256 (RFC 2104) with each key's padded inner and outer hash states made once: a MAC is
// then two state copies and updates, not a digest lookup and a key schedule per message. A
// lookup computes four MACs (REQUEST and RESPONSE, each signed and checked), seconds apart, on
// cold caches: this halves their cost there (docs/eval/latency.md). Keys are the configuration's
// Buffers, never mutated; a new Buffer (a reload) gets its own states.
import { createHash, type Hash } from 'node:crypto';

const BLOCK = 64;
const states = new WeakMap<Buffer, { inner: Hash; outer: Hash }>();

function statesOf(key: Buffer): { inner: Hash; outer: Hash } {
  let s = states.get(key);
  if (!s) {
    const k = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? createHash('sha256').update(key).digest() : key).copy(k);
    const pad = (x: number) => Buffer.from(k.map((b) => b ^ x));
    s = { inner: createHash('sha256').update(pad(0x36)), outer: createHash('sha256').update(pad(0x5c)) };
    states.set(key, s);
  }
  return s;
}

export function hmacSha256(key: Buffer, data: Buffer): Buffer {
  const s = statesOf(key);
  return s.outer.copy().update(s.inner.copy().update(data).digest()).digest();
}
