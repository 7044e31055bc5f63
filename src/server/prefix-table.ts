// Address prefixes ("198.51.100.0/24", "2001:db8::53", ...) and a longest-prefix-match table
// over them. Used to find the configured profile of the resolver a query came from.
import { isIP } from 'node:net';
import { parseIPv4, parseIPv6 } from '../dns/codec.js';

export interface Prefix {
  family: 4 | 6;
  /** Network address bytes (4 or 16), bits past `length` zero. */
  bytes: Buffer;
  length: number;
}

/** "ADDR/LEN" or a bare address (a host prefix). Returns an error text when malformed or when
 *  host bits are set (a likely typo: "198.51.100.1/24" is refused, naming 198.51.100.0/24). */
export function parsePrefix(s: string): Prefix | string {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const ip = isIP(addr);
  if (ip === 0) return `expected "ADDRESS/LENGTH" or an address, got ${JSON.stringify(s)}`;
  const fam: 4 | 6 = ip === 4 ? 4 : 6;
  const bits = fam === 4 ? 32 : 128;
  let length = bits;
  if (slash >= 0) {
    const t = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(t) || Number(t) > bits) return `prefix length must be 0..${bits}, got ${JSON.stringify(t)}`;
    length = Number(t);
  }
  const bytes = fam === 4 ? parseIPv4(addr) : parseIPv6(addr);
  const net = masked(bytes, length);
  if (!net.equals(bytes)) return `${s} has bits set past /${length}; the network is ${formatPrefix({ family: fam, bytes: net, length })}`;
  return { family: fam, bytes: net, length };
}

export function formatPrefix(p: Prefix): string {
  const a = p.family === 4 ? [...p.bytes].join('.') : ipv6Text(p.bytes);
  return `${a}/${p.length}`;
}

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

function masked(bytes: Buffer, length: number): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    out[i] &= keep === 8 ? 0xff : (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/** Address text to bytes; IPv4-mapped IPv6 (dual-stack sockets) counts as IPv4. */
export function addressBytes(address: string): { family: 4 | 6; bytes: Buffer } | undefined {
  const fam = isIP(address);
  if (fam === 4) return { family: 4, bytes: parseIPv4(address) };
  if (fam !== 6) return undefined;
  let b: Buffer;
  try {
    b = parseIPv6(address);
  } catch {
    return undefined; // a scoped address (fe80::1%eth0): isIP accepts it, the parser does not
  }
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped ? { family: 4, bytes: Buffer.from(b.subarray(12)) } : { family: 6, bytes: b };
}

/**
 * The network an address belongs to at these prefix lengths, as a map key ("4:c63364/24"): what
 * one sender plausibly controls (RRL's buckets, the gateway's per-resolver share).
 */
export function networkOf(address: string, ipv4Length: number, ipv6Length: number): string | undefined {
  const a = addressBytes(address);
  if (!a) return undefined;
  const len = a.family === 4 ? ipv4Length : ipv6Length;
  return `${a.family}:${masked(a.bytes, len).subarray(0, Math.ceil(len / 8)).toString('hex')}/${len}`;
}

/**
 * Longest prefix wins. One map per (family, length), probed from the longest length down:
 * at most 33 or 129 lookups whatever the number of prefixes.
 */
export class PrefixTable<T> {
  private readonly byLength = new Map<string, Map<string, T>>();
  private lengths: { family: 4 | 6; length: number }[] = [];

  /** False when exactly this prefix is already present (the caller reports the duplicate). */
  add(p: Prefix, value: T): boolean {
    const k = `${p.family}/${p.length}`;
    let m = this.byLength.get(k);
    if (!m) {
      m = new Map();
      this.byLength.set(k, m);
      this.lengths.push({ family: p.family, length: p.length });
      this.lengths.sort((a, b) => b.length - a.length);
    }
    const key = p.bytes.toString('hex');
    if (m.has(key)) return false;
    m.set(key, value);
    return true;
  }

  get size(): number {
    let n = 0;
    for (const m of this.byLength.values()) n += m.size;
    return n;
  }

  lookup(address: string): T | undefined {
    if (this.lengths.length === 0) return undefined;
    const a = addressBytes(address);
    if (!a) return undefined;
    for (const { family, length } of this.lengths) {
      if (family !== a.family) continue;
      const v = this.byLength.get(`${family}/${length}`)!.get(masked(a.bytes, length).toString('hex'));
      if (v !== undefined) return v;
    }
    return undefined;
  }
}
