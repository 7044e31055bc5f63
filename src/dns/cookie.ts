// The DNS COOKIE option (RFC 7873 section 4): a client cookie of 8 octets, optionally followed by
// a server cookie of 8 to 32 octets. Any other length is FORMERR (5.2.2).
import { EdnsOptionCode } from './constants.js';
import { DnsEncodeError, DnsFormatError, type Edns, type EdnsOption } from './types.js';

export interface CookieOption {
  client: Buffer;
  server?: Buffer;
}

export function parseCookie(data: Buffer): CookieOption {
  const n = data.length;
  if (n === 8) return { client: Buffer.from(data) };
  if (n < 16 || n > 40) throw new DnsFormatError(`COOKIE option of ${n} octets: 8 (client) or 16..40 (client + server) expected`);
  return { client: Buffer.from(data.subarray(0, 8)), server: Buffer.from(data.subarray(8)) };
}

export function encodeCookie(c: CookieOption): EdnsOption {
  if (c.client.length !== 8) throw new DnsEncodeError(`client cookie must be 8 octets, got ${c.client.length}`);
  if (c.server && (c.server.length < 8 || c.server.length > 32)) throw new DnsEncodeError(`server cookie must be 8..32 octets, got ${c.server.length}`);
  return { code: EdnsOptionCode.COOKIE, data: c.server ? Buffer.concat([c.client, c.server]) : Buffer.from(c.client) };
}

/** The first COOKIE option of a message, parsed; later ones are ignored (RFC 7873 5.2). */
export function cookieOf(edns: Edns | undefined): CookieOption | undefined {
  const o = edns?.options.find((x) => x.code === EdnsOptionCode.COOKIE);
  return o && parseCookie(o.data);
}
