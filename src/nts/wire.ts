// Value encodings shared by the TLVs (docs/protocol.md 3.1): addresses, FQDNs, text, u64.
// Decoders throw only NtsFormatError; encoders only NtsEncodeError.
import { isIP } from 'node:net';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../dns/codec.js';
import { canonicalName, labelsToName, nameToLabels } from '../dns/name.js';
import { NtsEncodeError, NtsFormatError } from './messages.js';

const FAMILY_V4 = 1;
const FAMILY_V6 = 2;

/** Address text to (family, octets). */
export function addressBytes(address: string): { family: 1 | 2; bytes: Buffer } {
  try {
    const v = isIP(address);
    if (v === 4) return { family: FAMILY_V4, bytes: parseIPv4(address) };
    if (v === 6) return { family: FAMILY_V6, bytes: parseIPv6(address) };
  } catch { /* fall through: e.g. an IPv6 zone index, which has no meaning off-link */ }
  throw new NtsEncodeError(`not an IPv4/IPv6 address: ${JSON.stringify(address)}`);
}

/** family octet + 4/16 octets. */
export function encodeAddr(address: string): Buffer {
  const { family, bytes } = addressBytes(address);
  return Buffer.concat([Buffer.of(family), bytes]);
}

/** Reads family + address at `p`; returns the text and the octets used. */
export function decodeAddrAt(v: Buffer, p: number, what: string): { address: string; bytes: Buffer; used: number } {
  const family = v[p];
  const n = family === FAMILY_V4 ? 4 : family === FAMILY_V6 ? 16 : 0;
  if (n === 0) throw new NtsFormatError(`${what}: address family ${String(family)} is not 1 or 2`);
  if (v.length < p + 1 + n) throw new NtsFormatError(`${what}: address truncated`);
  const bytes = v.subarray(p + 1, p + 1 + n);
  return { address: n === 4 ? formatIPv4(bytes) : formatIPv6(bytes), bytes, used: 1 + n };
}

/** A value that is exactly one address. */
export function decodeAddr(v: Buffer, what: string): string {
  const a = decodeAddrAt(v, 0, what);
  if (a.used !== v.length) throw new NtsFormatError(`${what}: wrong length ${v.length}`);
  return a.address;
}

/** Canonical (lowercase) uncompressed DNS wire name. */
export function encodeFqdn(name: string): Buffer {
  let labels: Buffer[];
  try {
    labels = nameToLabels(canonicalName(name));
  } catch (e) {
    throw new NtsEncodeError(`bad FQDN ${JSON.stringify(name)}: ${(e as Error).message}`);
  }
  return Buffer.concat([...labels.flatMap((l) => [Buffer.of(l.length), l]), Buffer.of(0)]);
}

/** Strict: exactly one uncompressed name filling v, at most 255 octets, no A-Z. */
export function decodeFqdn(v: Buffer): string {
  if (v.length < 1 || v.length > 255) throw new NtsFormatError(`FQDN length ${v.length} not in 1..255`);
  const labels: Buffer[] = [];
  let p = 0;
  for (;;) {
    if (p >= v.length) throw new NtsFormatError('FQDN lacks the root label');
    const len = v[p];
    if (len === 0) break;
    if (len > 63) throw new NtsFormatError('FQDN label longer than 63 octets (or compressed)');
    if (p + 1 + len > v.length) throw new NtsFormatError('FQDN label runs past the value');
    const label = v.subarray(p + 1, p + 1 + len);
    for (const b of label) if (b >= 0x41 && b <= 0x5a) throw new NtsFormatError('FQDN is not lowercase');
    labels.push(label);
    p += 1 + len;
  }
  if (p !== v.length - 1) throw new NtsFormatError('octets after the FQDN root label');
  return labelsToName(labels);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeText(v: Buffer, max: number, what: string): string {
  if (v.length > max) throw new NtsFormatError(`${what} longer than ${max} octets`);
  try {
    return utf8.decode(v);
  } catch {
    throw new NtsFormatError(`${what} is not UTF-8`);
  }
}

export function encodeText(s: string, max: number, what: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > max) throw new NtsEncodeError(`${what} longer than ${max} octets`);
  return b;
}

/** u64 limited to 2^53-1 so that a JS number holds it exactly (docs/protocol.md section 1). */
export function readU64(v: Buffer, p: number, what: string): number {
  const n = v.readBigUInt64BE(p);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new NtsFormatError(`${what} exceeds 2^53-1`);
  return Number(n);
}

export function writeU64(n: number, what: string): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new NtsEncodeError(`${what} must be an integer in 0..2^53-1, got ${n}`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function u8(n: number, what: string): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xff) throw new NtsEncodeError(`${what} must be 0..255, got ${n}`);
  return Buffer.of(n);
}

export function u16(n: number, what: string): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new NtsEncodeError(`${what} must be 0..65535, got ${n}`);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function u32(n: number, what: string): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new NtsEncodeError(`${what} must be 0..2^32-1, got ${n}`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Checks a fixed-length value before reading it. */
export function need(v: Buffer, n: number, what: string): Buffer {
  if (v.length !== n) throw new NtsFormatError(`${what}: length ${v.length}, expected ${n}`);
  return v;
}
