// PROXY protocol version 2 (HAProxy's proxy-protocol.txt, section 2.2), binary form: the
// userspace relay cannot keep the EN's source address (the IN sees the relay), so it can put
// this header in front of a TCP stream and an IN that speaks it (nginx `proxy_protocol`,
// HAProxy `accept-proxy`, ...) learns the EN's real address and port. The decoder is for INs
// written in TypeScript (demo, tests).
import { isIP } from 'node:net';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../dns/codec.js';
import type { Proto } from '../router/index.js';

/** 12-octet signature that starts every v2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const VERSION_PROXY = 0x21; // version 2, command PROXY
const VERSION_LOCAL = 0x20; // version 2, command LOCAL (health checks; no addresses)
const FAMILY_INET = 0x10;
const FAMILY_INET6 = 0x20;
const TRANSPORT_STREAM = 0x01;
const TRANSPORT_DGRAM = 0x02;

export interface ProxyAddresses {
  proto: Proto;
  /** The EN: original source. */
  src: string;
  srcPort: number;
  /** The router's global address and port the EN connected to. */
  dst: string;
  dstPort: number;
}

export type ProxyDecodeResult =
  | { kind: 'incomplete' }
  | { kind: 'not-proxy' }
  | { kind: 'header'; command: 'PROXY' | 'LOCAL'; addresses?: ProxyAddresses; length: number };

/** "::ffff:192.0.2.1" -> "192.0.2.1" (Node reports IPv4 peers so on dual-stack sockets). */
function unmapV4(a: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a;
}

export function encodeProxyV2(a: ProxyAddresses): Buffer {
  let src = unmapV4(a.src);
  let dst = unmapV4(a.dst);
  const v6 = isIP(src) === 6 || isIP(dst) === 6;
  // Both addresses must be of one family: widen an IPv4 one to its IPv4-mapped IPv6 form.
  if (v6 && isIP(src) === 4) src = `::ffff:${src}`;
  if (v6 && isIP(dst) === 4) dst = `::ffff:${dst}`;
  const addrs = v6 ? Buffer.concat([parseIPv6(src), parseIPv6(dst)]) : Buffer.concat([parseIPv4(src), parseIPv4(dst)]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(a.srcPort, 0);
  ports.writeUInt16BE(a.dstPort, 2);
  const head = Buffer.alloc(4);
  head[0] = VERSION_PROXY;
  head[1] = (v6 ? FAMILY_INET6 : FAMILY_INET) | (a.proto === 'tcp' ? TRANSPORT_STREAM : TRANSPORT_DGRAM);
  head.writeUInt16BE(addrs.length + ports.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, head, addrs, ports]);
}

/**
 * Reads a v2 header at the start of `buf`. `length` is the header's full size (the payload
 * starts there). TLVs after the address block are skipped; unknown families decode without
 * addresses (the spec tells receivers to accept them and use the real connection's addresses).
 */
export function decodeProxyV2(buf: Buffer): ProxyDecodeResult {
  const sigPart = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  if (!buf.subarray(0, sigPart).equals(PROXY_V2_SIGNATURE.subarray(0, sigPart))) return { kind: 'not-proxy' };
  if (buf.length < 16) return { kind: 'incomplete' };
  const ver = buf[12];
  if (ver !== VERSION_PROXY && ver !== VERSION_LOCAL) return { kind: 'not-proxy' };
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return { kind: 'incomplete' };
  const command = ver === VERSION_PROXY ? 'PROXY' : 'LOCAL';
  const fam = buf[13] & 0xf0;
  const transport = buf[13] & 0x0f;
  const n = fam === FAMILY_INET ? 4 : fam === FAMILY_INET6 ? 16 : 0;
  const proto: Proto | undefined = transport === TRANSPORT_STREAM ? 'tcp' : transport === TRANSPORT_DGRAM ? 'udp' : undefined;
  if (command === 'LOCAL' || n === 0 || !proto || length < 16 + 2 * n + 4) return { kind: 'header', command, length };
  const fmt = n === 4 ? formatIPv4 : formatIPv6;
  const p = 16 + 2 * n;
  return {
    kind: 'header', command, length,
    addresses: { proto, src: fmt(buf, 16), dst: fmt(buf, 16 + n), srcPort: buf.readUInt16BE(p), dstPort: buf.readUInt16BE(p + 2) },
  };
}
