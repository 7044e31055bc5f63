// EDNS option helpers; EDNS Client Subnet per RFC 7871 section 6.
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './codec.js';
import { EdnsOptionCode } from './constants.js';
import { DnsEncodeError, DnsFormatError, type ClientSubnet, type Edns, type EdnsOption } from './types.js';

export function findOption(edns: Edns | undefined, code: number): EdnsOption | undefined {
  return edns?.options.find((o) => o.code === code);
}

/**
 * Parses ECS option data. Every violation of section 6 is FORMERR: family not 1/2, prefixes beyond
 * the address width, ADDRESS not exactly ceil(SOURCE/8) octets, or non-zero bits past SOURCE
 * (6: "SHOULD return FORMERR"; 7.2.1: a wrongly formatted option "MUST be rejected" with FORMERR).
 * SCOPE PREFIX-LENGTH "MUST be set to 0" in queries, so with inQuery (the default: this is an
 * authoritative server) a non-zero scope is FORMERR too, as BIND does; pass false for responses.
 */
export function parseClientSubnet(data: Buffer, inQuery = true): ClientSubnet {
  if (data.length < 4) throw new DnsFormatError('ECS option shorter than 4 octets');
  const family = data.readUInt16BE(0);
  if (family !== 1 && family !== 2) throw new DnsFormatError(`ECS family ${family} is not 1 or 2`);
  const width = family === 1 ? 4 : 16;
  const source = data[2], scope = data[3];
  if (source > width * 8 || scope > width * 8) throw new DnsFormatError('ECS prefix length exceeds address width');
  if (inQuery && scope !== 0) throw new DnsFormatError('ECS SCOPE PREFIX-LENGTH must be 0 in queries');
  const addrLen = data.length - 4;
  if (addrLen !== Math.ceil(source / 8)) throw new DnsFormatError('ECS ADDRESS length does not match SOURCE PREFIX-LENGTH');
  if (source % 8 !== 0 && (data[data.length - 1] & (0xff >> (source % 8))) !== 0) {
    throw new DnsFormatError('ECS ADDRESS has bits set beyond SOURCE PREFIX-LENGTH');
  }
  const full = Buffer.alloc(width);
  data.copy(full, 0, 4);
  return { family, sourcePrefix: source, scopePrefix: scope, address: family === 1 ? formatIPv4(full) : formatIPv6(full) };
}

/** ECS option with ADDRESS cut to ceil(sourcePrefix/8) octets and bits past the prefix cleared. */
export function encodeClientSubnet(ecs: ClientSubnet): EdnsOption {
  if (ecs.family !== 1 && ecs.family !== 2) throw new DnsEncodeError(`ECS family ${String(ecs.family)} is not 1 or 2`);
  const addr = ecs.family === 1 ? parseIPv4(ecs.address) : parseIPv6(ecs.address);
  const bits = addr.length * 8;
  for (const [v, what] of [[ecs.sourcePrefix, 'source'], [ecs.scopePrefix, 'scope']] as const) {
    if (!Number.isInteger(v) || v < 0 || v > bits) throw new DnsEncodeError(`ECS ${what} prefix ${v} out of range`);
  }
  const n = Math.ceil(ecs.sourcePrefix / 8);
  const data = Buffer.alloc(4 + n);
  data.writeUInt16BE(ecs.family, 0);
  data[2] = ecs.sourcePrefix;
  data[3] = ecs.scopePrefix;
  addr.copy(data, 4, 0, n);
  if (ecs.sourcePrefix % 8 !== 0) data[3 + n] &= 0xff << (8 - (ecs.sourcePrefix % 8));
  return { code: EdnsOptionCode.ECS, data };
}
