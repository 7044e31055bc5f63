// Which clients the resolver answers. An open resolver is a traffic amplifier, so only the
// configured prefixes get answers; everyone else gets REFUSED (RFC 5358). Prefixes are the
// server's (src/server/prefix-table.ts): one parser, one matcher for both daemons.
import { isIP } from 'node:net';
import { PrefixTable, parsePrefix, type Prefix } from '../server/prefix-table.js';

export { parsePrefix, type Prefix };

/** RFC 1918 plus loopback: a home or office LAN out of the box, nothing from outside. */
export const DEFAULT_ALLOW: readonly string[] = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

export class ClientAcl {
  private readonly table = new PrefixTable<true>();

  constructor(prefixes: readonly Prefix[]) {
    for (const p of prefixes) this.table.add(p, true);
  }

  /** IPv4-mapped IPv6 sources (a dual-stack "::" listener) match the IPv4 prefixes too. */
  allows(address: string): boolean {
    return this.table.lookup(address) === true;
  }
}

/** "::ffff:192.0.2.1" (an IPv4 client on a dual-stack socket) as "192.0.2.1"; others unchanged. */
export function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m && isIP(m[1]) === 4 ? m[1] : address;
}
