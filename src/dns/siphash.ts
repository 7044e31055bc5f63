// SipHash-2-4 (Aumasson and Bernstein, 2012) with a 16-octet key and a 64-bit output, as RFC 9018
// uses it for DNS server cookies. Small inputs only (a cookie hash covers at most 36 octets), so
// 64-bit arithmetic on BigInt is fast enough and keeps the code next to the paper's pseudocode.
const MASK = (1n << 64n) - 1n;

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & MASK;
}

/** The 8-octet tag, little-endian as in the reference implementation's output. */
export function sipHash24(key: Buffer, data: Buffer): Buffer {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 octets, got ${key.length}`);
  const k0 = key.readBigUInt64LE(0);
  const k1 = key.readBigUInt64LE(8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & MASK; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & MASK; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & MASK; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const compress = (m: bigint) => {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  };
  const full = data.length - (data.length % 8);
  for (let i = 0; i < full; i += 8) compress(data.readBigUInt64LE(i));
  // The last block: the remaining octets, and the message length mod 256 in the top octet.
  let last = BigInt(data.length & 0xff) << 56n;
  for (let i = full; i < data.length; i++) last |= BigInt(data[i]) << BigInt(8 * (i - full));
  compress(last);
  v2 ^= 0xffn;
  round(); round(); round(); round();
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(v0 ^ v1 ^ v2 ^ v3);
  return out;
}
