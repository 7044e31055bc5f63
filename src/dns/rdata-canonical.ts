// RDATA <-> uncompressed wire bytes, for equality (RFC 4034 6.2 canonical form) and for storage.
// The codec has no standalone RDATA encoder (its writer compresses into a message), hence this one.
import { RRType } from './constants.js';
import { decodeRdata as codecDecodeRdata, parseIPv4, parseIPv6 } from './codec.js';
import { nameToWire } from './name.js';
import { DnsEncodeError, type RData } from './types.js';

type Typed = Exclude<RData['kind'], 'empty' | 'unknown' | 'TSIG'>;
const KIND_OF_TYPE = new Map<number, Typed>([
  [RRType.A, 'A'], [RRType.AAAA, 'AAAA'], [RRType.NS, 'NS'], [RRType.CNAME, 'CNAME'], [RRType.PTR, 'PTR'],
  [RRType.SOA, 'SOA'], [RRType.MX, 'MX'], [RRType.TXT, 'TXT'], [RRType.SRV, 'SRV'],
]);

/** True for types this module knows the RDATA layout of (anything else is RFC 3597 opaque). */
export function isKnownRdataType(type: number): boolean {
  return KIND_OF_TYPE.has(type);
}

/**
 * Uncompressed wire form of one RDATA. canonical=true lowercases embedded names (RFC 4034 6.2; all
 * name-bearing types known here are in its list) and re-reads RFC 3597 "\#" data of known types,
 * so that equal data gives equal bytes. Throws DnsEncodeError on data that cannot be encoded
 * or whose kind does not match type.
 */
export function encodeRdata(type: number, rdata: RData, canonical = false): Buffer {
  if (rdata.kind === 'empty') return Buffer.alloc(0);
  if (rdata.kind === 'unknown') {
    if (!canonical || !KIND_OF_TYPE.has(type)) return Buffer.from(rdata.data);
    const typed = decodeRdata(type, rdata.data);
    if (typed.kind === 'unknown') return Buffer.from(rdata.data); // malformed: compare as bytes
    return encodeRdata(type, typed, true);
  }
  const expect = KIND_OF_TYPE.get(type);
  if (expect !== rdata.kind) throw new DnsEncodeError(`RDATA of kind ${rdata.kind} given for type ${type}`);
  const name = (n: string): Buffer => nameWire(n, canonical);
  switch (rdata.kind) {
    case 'A': return parseIPv4(rdata.address);
    case 'AAAA': return parseIPv6(rdata.address);
    case 'NS': return name(rdata.target);
    case 'CNAME': return name(rdata.target);
    case 'PTR': return name(rdata.target);
    case 'MX': return Buffer.concat([u16(rdata.preference), name(rdata.exchange)]);
    case 'SRV':
      return Buffer.concat([u16(rdata.priority), u16(rdata.weight), u16(rdata.port), name(rdata.target)]);
    case 'SOA': {
      const tail = Buffer.alloc(20);
      [rdata.serial, rdata.refresh, rdata.retry, rdata.expire, rdata.minimum].forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new DnsEncodeError(`SOA field out of range: ${v}`);
        tail.writeUInt32BE(v, i * 4);
      });
      return Buffer.concat([name(rdata.mname), name(rdata.rname), tail]);
    }
    case 'TXT': {
      const parts: Buffer[] = [];
      for (const s of rdata.strings) {
        if (s.length > 255) throw new DnsEncodeError('TXT string longer than 255 octets');
        parts.push(Buffer.from([s.length]), s);
      }
      return Buffer.concat(parts);
    }
    default:
      throw new DnsEncodeError(`RDATA kind ${(rdata as { kind: string }).kind} is not zone data`);
  }
}

/**
 * The reverse of encodeRdata (the codec's standalone decoder). Never throws: malformed data of a
 * known type comes back as { kind: 'unknown' } (RFC 3597), zero length as { kind: 'empty' }.
 */
export function decodeRdata(type: number, data: Buffer): RData {
  try {
    return codecDecodeRdata(type, data);
  } catch {
    return { kind: 'unknown', data: Buffer.from(data) };
  }
}

// Cache of canonical keys; zone records are frozen, so an RDATA object's key never changes.
const keyCache = new WeakMap<object, { type: number; key: string }>();

/** A string equal for two RDATAs of the same type exactly when they are canonically equal. */
export function rdataKey(type: number, rdata: RData): string {
  const hit = keyCache.get(rdata);
  if (hit && hit.type === type) return hit.key;
  const key = encodeRdata(type, rdata, true).toString('latin1');
  keyCache.set(rdata, { type, key });
  return key;
}

export function rdataEqual(type: number, a: RData, b: RData): boolean {
  return a === b || rdataKey(type, a) === rdataKey(type, b);
}

function nameWire(name: string, lower: boolean): Buffer {
  const w = nameToWire(name);
  // Length octets are <= 63, below 'A', so lowercasing the whole buffer touches only label bytes.
  if (lower) for (let i = 0; i < w.length; i++) if (w[i] >= 0x41 && w[i] <= 0x5a) w[i] |= 0x20;
  return w;
}

function u16(v: number): Buffer {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new DnsEncodeError(`16-bit field out of range: ${v}`);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

