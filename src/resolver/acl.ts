// Which clients the resolver answers. An open resolver is a traffic amplifier, so only the
// configured prefixes get answers; everyone else gets REFUSED (RFC 5358).
import { BlockList, isIP } from 'node:net';

/** RFC 1918 plus loopback: a home or office LAN out of the box, nothing from outside. */
export const DEFAULT_ALLOW: readonly string[] = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

export interface Prefix {
  address: string;
  length: number;
  family: 4 | 6;
}

/** "ADDR/LEN" (or a bare address: one host). Returns an error string when malformed. */
export function parsePrefix(s: string): Prefix | string {
  const slash = s.indexOf('/');
  const address = slash < 0 ? s : s.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `expected "ADDRESS/LENGTH" with an IPv4 or IPv6 address, got ${JSON.stringify(s)}`;
  const max = family === 4 ? 32 : 128;
  const text = slash < 0 ? String(max) : s.slice(slash + 1);
  const length = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(length >= 0 && length <= max)) return `prefix length must be 0..${max}, got ${JSON.stringify(text)}`;
  return { address, length, family: family as 4 | 6 };
}

export class ClientAcl {
  private readonly list = new BlockList();

  constructor(prefixes: readonly Prefix[]) {
    for (const p of prefixes) this.list.addSubnet(p.address, p.length, p.family === 4 ? 'ipv4' : 'ipv6');
  }

  /** IPv4-mapped IPv6 sources (a dual-stack "::" listener) match the IPv4 prefixes too. */
  allows(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** "::ffff:192.0.2.1" (an IPv4 client on a dual-stack socket) as "192.0.2.1"; others unchanged. */
export function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m && isIP(m[1]) === 4 ? m[1] : address;
}
