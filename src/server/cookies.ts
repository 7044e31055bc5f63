// Server cookies per RFC 9018: version 1, three reserved octets, a 32-bit timestamp and an 8-octet
// SipHash-2-4 over client cookie | version | reserved | timestamp | client address, keyed with a
// 16-octet secret. Stateless: nothing is stored per client, so a flood costs no memory here.
// Sans-I/O: the time comes in as an argument (seconds since the epoch).
import { randomBytes } from 'node:crypto';
import { sipHash24 } from '../dns/siphash.js';
import { addressBytes } from './prefix-table.js';

/** RFC 9018 4.3: older than an hour is invalid, more than five minutes ahead too. */
export const COOKIE_MAX_AGE_S = 3600;
export const COOKIE_MAX_AHEAD_S = 300;
/** RFC 9018 4.3: a cookie older than half an hour is replaced by a fresh one in the response. */
export const COOKIE_REFRESH_AGE_S = 1800;

export type ServerCookieCheck =
  | { status: 'valid'; fresh: boolean }
  /** Not ours, another address's, outdated or from before a restart: the client needs a new one. */
  | { status: 'invalid'; reason: 'version' | 'length' | 'hash' | 'expired' | 'future' };

export class ServerCookies {
  readonly secret: Buffer;

  /** Without a secret, a random one: a restart then invalidates every cookie handed out. */
  constructor(secret?: Buffer) {
    if (secret && secret.length !== 16) throw new RangeError(`cookie secret must be 16 octets, got ${secret.length}`);
    this.secret = secret ?? randomBytes(16);
  }

  /** The 16-octet server cookie for this client cookie and address at nowS. */
  make(client: Buffer, address: string, nowS: number, reserved: Buffer = Buffer.alloc(3)): Buffer {
    const head = Buffer.alloc(8);
    head[0] = 1;
    reserved.copy(head, 1, 0, 3);
    head.writeUInt32BE(nowS >>> 0, 4);
    return Buffer.concat([head, this.hash(client, head, address)]);
  }

  check(client: Buffer, server: Buffer, address: string, nowS: number): ServerCookieCheck {
    if (server.length !== 16) return { status: 'invalid', reason: 'length' };
    if (server[0] !== 1) return { status: 'invalid', reason: 'version' };
    // Serial arithmetic (RFC 1982) on the 32-bit timestamp: "age" survives the 2106 wrap.
    const age = ((nowS >>> 0) - server.readUInt32BE(4)) | 0;
    if (age > COOKIE_MAX_AGE_S) return { status: 'invalid', reason: 'expired' };
    if (age < -COOKIE_MAX_AHEAD_S) return { status: 'invalid', reason: 'future' };
    // The reserved octets the client sent are hashed as sent (RFC 9018 A.3).
    if (!this.hash(client, server.subarray(0, 8), address).equals(server.subarray(8))) return { status: 'invalid', reason: 'hash' };
    return { status: 'valid', fresh: age <= COOKIE_REFRESH_AGE_S };
  }

  private hash(client: Buffer, head: Buffer, address: string): Buffer {
    const a = addressBytes(address);
    if (!a) throw new RangeError(`not an IP address: ${JSON.stringify(address)}`);
    return sipHash24(this.secret, Buffer.concat([client, head, a.bytes]));
  }
}
