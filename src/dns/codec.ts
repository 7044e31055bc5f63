// DNS wire codec (RFC 1035 4, RFC 2136, RFC 3597, RFC 6891, RFC 8945).
// Decoding is strict (anything malformed is DnsFormatError); trailing bytes after the last record
// are tolerated and ignored, as BIND does (they are outside any TSIG MAC anyway).
import { RRClass, RRType } from './constants.js';
import { ESCAPE, labelToString, nameToLabels } from './name.js';
import { DnsEncodeError, DnsFormatError, type Edns, type EdnsOption, type Message, type Question, type RData, type ResourceRecord } from './types.js';

type Hdr = { id: number; opcode: number; qr: boolean } | undefined;

// ---------------------------------------------------------------- decoding

let namePos = 0; // end of the last name read by readName (avoids allocating a result object)

/**
 * Reads a possibly compressed name at pos; sets namePos to the byte after it. Each pointer must go
 * strictly backwards from where the current run of labels began, which rules out loops and
 * forward pointers; targets inside the header (< 12) are out of range.
 */
function readName(buf: Buffer, pos: number, limit: number, hdr: Hdr, minPtr = 12): string {
  // Plain names (the usual case) are gathered with their dots in NB and decoded in one call;
  // from the first label needing escapes on, the string is built label by label.
  let n = 0;
  let s: string | undefined;
  let wire = 1;
  let runStart = pos;
  let end = -1;
  let hops = 0;
  for (;;) {
    if (pos >= limit) throw new DnsFormatError('name runs past end of data', hdr);
    const len = buf[pos];
    if (len === 0) { pos++; break; }
    if (len >= 0xc0) {
      if (pos + 1 >= limit) throw new DnsFormatError('truncated compression pointer', hdr);
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (end < 0) end = pos + 2;
      // Also cap the hops: chains of bare pointers would otherwise cost O(message size) per name.
      if (target >= runStart || target < minPtr || ++hops > 127) throw new DnsFormatError('bad compression pointer', hdr);
      pos = runStart = target;
      limit = buf.length; // pointer targets may lie anywhere earlier in the message
      continue;
    }
    if (len > 63) throw new DnsFormatError('bad label type', hdr);
    wire += len + 1;
    if (wire > 255) throw new DnsFormatError('name longer than 255 octets', hdr);
    const from = pos + 1, to = from + len;
    if (to > limit) throw new DnsFormatError('label runs past end of data', hdr);
    if (s === undefined) {
      let i = from;
      for (; i < to; i++) { const c = buf[i]; if (ESCAPE[c] !== 0) break; NB[n + i - from] = c; }
      if (i === to) { n += len; NB[n++] = 0x2e; } else s = latin1(NB, 0, n) + labelToString(buf, from, to) + '.';
    } else s += labelToString(buf, from, to) + '.';
    pos = to;
  }
  namePos = end < 0 ? pos : end;
  return s ?? (n === 0 ? '.' : latin1(NB, 0, n));
}
const NB = Buffer.allocUnsafe(256);
// Buffer#latin1Slice skips toString()'s argument handling; it is internal, so fall back if absent.
type L1 = { latin1Slice?: (start: number, end: number) => string };
const latin1: (b: Buffer, start: number, end: number) => string = typeof (Buffer.prototype as L1).latin1Slice === 'function'
  ? (b, start, end) => (b as L1).latin1Slice!(start, end)
  : (b, start, end) => b.toString('latin1', start, end);

/** A copy, so that decoded messages do not pin the (possibly large) receive buffer. */
function copyOut(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  if (end - start > 32) buf.copy(out, 0, start, end);
  else for (let i = start; i < end; i++) out[i - start] = buf[i]; // Buffer#copy costs more for small runs
  return out;
}

const u16 = (b: Buffer, p: number) => (b[p] << 8) | b[p + 1];
const u32 = (b: Buffer, p: number) => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;

/** Decodes RDATA of a known type occupying buf[pos, pos+len). Names may be compressed. */
function readRdata(type: number, buf: Buffer, pos: number, len: number, hdr: Hdr, minPtr = 12): RData {
  if (len === 0) return { kind: 'empty' };
  const end = pos + len;
  let rd: RData;
  const need = (n: number) => { if (end - pos < n) throw new DnsFormatError(`truncated ${type} rdata`, hdr); };
  switch (type) {
    case RRType.A:
      if (len !== 4) throw new DnsFormatError('A rdata is not 4 octets', hdr);
      return { kind: 'A', address: formatIPv4(buf, pos) };
    case RRType.AAAA:
      if (len !== 16) throw new DnsFormatError('AAAA rdata is not 16 octets', hdr);
      return { kind: 'AAAA', address: formatIPv6(buf, pos) };
    case RRType.NS: case RRType.CNAME: case RRType.PTR: {
      const target = readName(buf, pos, end, hdr, minPtr);
      pos = namePos;
      rd = type === RRType.NS ? { kind: 'NS', target } : type === RRType.CNAME ? { kind: 'CNAME', target } : { kind: 'PTR', target };
      break;
    }
    case RRType.SOA: {
      const mname = readName(buf, pos, end, hdr, minPtr);
      const rname = readName(buf, namePos, end, hdr, minPtr);
      pos = namePos;
      need(20);
      rd = { kind: 'SOA', mname, rname, serial: u32(buf, pos), refresh: u32(buf, pos + 4), retry: u32(buf, pos + 8), expire: u32(buf, pos + 12), minimum: u32(buf, pos + 16) };
      pos += 20;
      break;
    }
    case RRType.MX: {
      need(3);
      const preference = u16(buf, pos);
      rd = { kind: 'MX', preference, exchange: readName(buf, pos + 2, end, hdr, minPtr) };
      pos = namePos;
      break;
    }
    case RRType.SRV: {
      need(7);
      const priority = u16(buf, pos), weight = u16(buf, pos + 2), port = u16(buf, pos + 4);
      rd = { kind: 'SRV', priority, weight, port, target: readName(buf, pos + 6, end, hdr, minPtr) };
      pos = namePos;
      break;
    }
    case RRType.TXT: {
      const strings: Buffer[] = [];
      while (pos < end) {
        const l = buf[pos];
        if (pos + 1 + l > end) throw new DnsFormatError('TXT string overruns rdata', hdr);
        strings.push(copyOut(buf, pos + 1, pos + 1 + l));
        pos += 1 + l;
      }
      rd = { kind: 'TXT', strings };
      break;
    }
    case RRType.TSIG: {
      const algorithm = readName(buf, pos, end, hdr, minPtr);
      pos = namePos;
      need(10);
      const timeSigned = u16(buf, pos) * 0x100000000 + u32(buf, pos + 2);
      const fudge = u16(buf, pos + 6);
      const macLen = u16(buf, pos + 8);
      pos += 10;
      need(macLen + 6);
      const mac = copyOut(buf, pos, pos + macLen);
      pos += macLen;
      const originalId = u16(buf, pos), error = u16(buf, pos + 2), otherLen = u16(buf, pos + 4);
      pos += 6;
      need(otherLen);
      rd = { kind: 'TSIG', algorithm, timeSigned, fudge, mac, originalId, error, other: copyOut(buf, pos, pos + otherLen) };
      pos += otherLen;
      break;
    }
    default:
      return { kind: 'unknown', data: copyOut(buf, pos, end) };
  }
  if (pos !== end) throw new DnsFormatError(`rdata of type ${type} does not fill RDLENGTH`, hdr);
  return rd;
}

/** RDATA of a record standing alone (no message around it, so compression pointers are invalid). */
export function decodeRdata(type: number, data: Buffer): RData {
  return readRdata(type, data, 0, data.length, undefined, Infinity);
}

export function readHeaderId(buf: Buffer): number {
  return buf.length >= 2 ? u16(buf, 0) : 0;
}

/** id, opcode and qr of a buffer with at least 12 bytes, else undefined. */
export function peekHeader(buf: Buffer): { id: number; opcode: number; qr: boolean } | undefined {
  if (buf.length < 12) return undefined;
  return { id: u16(buf, 0), opcode: (buf[2] >> 3) & 0xf, qr: (buf[2] & 0x80) !== 0 };
}

export function decodeMessage(buf: Buffer): Message {
  const hdr = peekHeader(buf);
  if (!hdr) throw new DnsFormatError('message shorter than the 12-byte header');
  const f = buf[2], g = buf[3];
  const qd = u16(buf, 4), an = u16(buf, 6), ns = u16(buf, 8), ar = u16(buf, 10);
  // Every question takes >= 5 bytes and every RR >= 11: reject absurd counts before looping.
  if (qd * 5 + (an + ns + ar) * 11 > buf.length - 12) throw new DnsFormatError('section counts exceed message length', hdr);
  const msg: Message = {
    id: hdr.id, qr: hdr.qr, opcode: hdr.opcode, aa: (f & 4) !== 0, tc: (f & 2) !== 0, rd: (f & 1) !== 0,
    ra: (g & 0x80) !== 0, z: (g & 0x40) !== 0, ad: (g & 0x20) !== 0, cd: (g & 0x10) !== 0, rcode: g & 0xf,
    question: [], answer: [], authority: [], additional: [],
  };
  let pos = 12;
  for (let i = 0; i < qd; i++) {
    const name = readName(buf, pos, buf.length, hdr);
    pos = namePos;
    if (pos + 4 > buf.length) throw new DnsFormatError('truncated question', hdr);
    msg.question.push({ name, type: u16(buf, pos), class: u16(buf, pos + 2) });
    pos += 4;
  }
  const sections = [msg.answer, msg.authority, msg.additional];
  const counts = [an, ns, ar];
  for (let s = 0; s < 3; s++) {
    const list = sections[s];
    for (let i = 0; i < counts[s]; i++) {
      const start = pos;
      const name = readName(buf, pos, buf.length, hdr);
      pos = namePos;
      if (pos + 10 > buf.length) throw new DnsFormatError('truncated resource record', hdr);
      const type = u16(buf, pos), cls = u16(buf, pos + 2), ttl = u32(buf, pos + 4), rdlen = u16(buf, pos + 8);
      pos += 10;
      if (pos + rdlen > buf.length) throw new DnsFormatError('RDLENGTH overruns message', hdr);
      if (type === RRType.OPT) {
        if (s !== 2 || msg.edns || name !== '.') throw new DnsFormatError('misplaced or duplicate OPT record', hdr);
        msg.edns = readOpt(buf, pos, rdlen, cls, ttl, hdr);
        msg.rcode |= (ttl >>> 24) << 4;
      } else if (type === RRType.TSIG) {
        if (s !== 2 || i !== ar - 1 || cls !== RRClass.ANY || rdlen === 0) throw new DnsFormatError('TSIG record is not last in additional or malformed', hdr);
        const rdata = readRdata(type, buf, pos, rdlen, hdr) as Extract<RData, { kind: 'TSIG' }>;
        msg.tsig = { rr: { name, type, class: cls, ttl, rdata }, offset: start };
      } else {
        list.push({ name, type, class: cls, ttl, rdata: readRdata(type, buf, pos, rdlen, hdr) });
      }
      pos += rdlen;
    }
  }
  return msg;
}

function readOpt(buf: Buffer, pos: number, len: number, cls: number, ttl: number, hdr: Hdr): Edns {
  const end = pos + len;
  const options: EdnsOption[] = [];
  while (pos < end) {
    if (pos + 4 > end) throw new DnsFormatError('truncated EDNS option', hdr);
    const code = u16(buf, pos), olen = u16(buf, pos + 2);
    pos += 4;
    if (pos + olen > end) throw new DnsFormatError('EDNS option overruns OPT rdata', hdr);
    options.push({ code, data: copyOut(buf, pos, pos + olen) });
    pos += olen;
  }
  const flags = ttl & 0xffff;
  return { udpSize: cls, version: (ttl >>> 16) & 0xff, dnssecOk: (flags & 0x8000) !== 0, flags, options };
}

// ---------------------------------------------------------------- addresses

export function formatIPv4(b: Uint8Array, p = 0): string {
  return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
}

/** RFC 5952 text: lowercase, longest run (>= 2) of zero groups as "::". */
export function formatIPv6(b: Uint8Array, p = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[p + 2 * i] << 8) | b[p + 2 * i + 1]);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best === 0 && bestLen === 5 && g[5] === 0xffff) return `::ffff:${formatIPv4(b, p + 12)}`; // mapped IPv4
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) { out += '::'; i += bestLen - 1; continue; }
    out += (out === '' || out.endsWith(':') ? '' : ':') + g[i].toString(16);
  }
  return out;
}

/** Parses dotted-quad s[from..to) into out[p..p+4); false when malformed. */
function ipv4Into(s: string, from: number, to: number, out: Uint8Array, p: number): boolean {
  let octet = 0, digits = 0, k = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return false; // leading zero: rejected like inet_pton
      octet = octet * 10 + c - 0x30;
      if (++digits > 3 || octet > 255) return false;
    } else if (c === 0x2e && digits > 0 && k < 4) {
      out[p + k++] = octet;
      octet = digits = 0;
    } else return false;
  }
  return k === 4;
}

const G = new Uint16Array(8);
/** Parses RFC 4291 2.2 text (with "::" and an optional dotted-quad tail) into out[p..p+16). */
function ipv6Into(s: string, out: Uint8Array, p: number): boolean {
  const n = s.length;
  let i = 0, g = 0, gap = -1;
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let v = 0;
    for (; i < n && i - start < 5; i++) {
      const c = s.charCodeAt(i);
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 87 : c >= 0x41 && c <= 0x46 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
    }
    if (i < n && s.charCodeAt(i) === 0x2e) { // IPv4 tail: two final groups
      if (g > 6 || !ipv4Into(s, start, n, out, p + 12)) return false;
      G[g++] = (out[p + 12] << 8) | out[p + 13];
      G[g++] = (out[p + 14] << 8) | out[p + 15];
      break;
    }
    if (i === start || i - start > 4 || g === 8) return false;
    G[g++] = v;
    if (i === n) break;
    if (s.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = g;
      i++;
    } else if (i === n) return false; // trailing single ":"
  }
  if (gap < 0 ? g !== 8 : g > 7) return false;
  const zeros = 8 - g;
  for (let k = 0, j = 0; k < 8; k++) {
    const v = gap >= 0 && k >= gap && k < gap + zeros ? 0 : G[j++];
    out[p + 2 * k] = v >>> 8;
    out[p + 2 * k + 1] = v & 0xff;
  }
  return true;
}

export function parseIPv4(s: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  if (!ipv4Into(s, 0, s.length, out, 0)) throw new DnsEncodeError(`bad IPv4 address "${s}"`);
  return out;
}

export function parseIPv6(s: string): Buffer {
  const out = Buffer.allocUnsafe(16);
  if (!ipv6Into(s, out, 0)) throw new DnsEncodeError(`bad IPv6 address "${s}"`);
  return out;
}

// ---------------------------------------------------------------- encoding

class Overflow extends Error {}

// Names are parsed once and kept with their uncompressed wire form and the keys of every suffix
// (the latin1 view of the suffix' wire bytes: case-sensitive, so compression never changes case).
type NameInfo = { wire: Buffer; offs: number[]; keys: string[] };
const nameCache = new Map<string, NameInfo>();
function nameInfo(name: string): NameInfo {
  let ni = nameCache.get(name);
  if (ni) return ni;
  const labels = nameToLabels(name);
  let n = 1;
  for (const l of labels) n += l.length + 1;
  const wire = Buffer.allocUnsafe(n);
  const offs: number[] = [];
  let p = 0;
  for (const l of labels) { offs.push(p); wire[p++] = l.length; l.copy(wire, p); p += l.length; }
  wire[p] = 0;
  ni = { wire, offs, keys: offs.map((o) => wire.toString('latin1', o)) };
  if (nameCache.size >= 2048) nameCache.clear();
  nameCache.set(name, ni);
  return ni;
}

const scratch = Buffer.allocUnsafe(0x10000);

class Writer {
  pos = 0;
  comp = new Map<string, number>();
  constructor(readonly limit: number, readonly compress: boolean) {}
  room(n: number): void { if (this.pos + n > this.limit) throw new Overflow(); }
  u8(v: number): void { this.room(1); scratch[this.pos++] = v; }
  u16(v: number): void { this.room(2); scratch[this.pos++] = v >>> 8; scratch[this.pos++] = v & 0xff; }
  u32(v: number): void { this.room(4); scratch.writeUInt32BE(v, this.pos); this.pos += 4; }
  bytes(b: Uint8Array): void { this.room(b.length); scratch.set(b, this.pos); this.pos += b.length; }
  name(name: string, compress: boolean): void {
    const ni = nameInfo(name);
    if (compress && this.compress) {
      for (let i = 0; i < ni.keys.length; i++) {
        const ptr = this.comp.get(ni.keys[i]);
        if (ptr !== undefined) {
          this.room(ni.offs[i] + 2);
          for (let k = 0; k < ni.offs[i]; k++) scratch[this.pos++] = ni.wire[k];
          this.u16(0xc000 | ptr);
          return;
        }
        if (this.pos + ni.offs[i] < 0x4000) this.comp.set(ni.keys[i], this.pos + ni.offs[i]);
      }
    }
    this.bytes(ni.wire);
  }
  question(q: Question): void {
    this.name(q.name, true);
    this.u16(num(q.type, 0xffff, 'type'));
    this.u16(num(q.class, 0xffff, 'class'));
  }
  rr(rr: ResourceRecord, compressOwner = true): void {
    this.name(rr.name, compressOwner);
    this.u16(num(rr.type, 0xffff, 'type'));
    this.u16(num(rr.class, 0xffff, 'class'));
    this.u32(num(rr.ttl, 0xffffffff, 'TTL'));
    const lenPos = this.pos;
    this.u16(0);
    this.rdata(rr);
    const len = this.pos - lenPos - 2;
    if (len > 0xffff) throw new DnsEncodeError('rdata longer than 65535 octets');
    scratch.writeUInt16BE(len, lenPos);
  }
  rdata(rr: ResourceRecord): void {
    const rd = rr.rdata;
    const expect = KIND_TYPE[rd.kind];
    if (expect !== undefined && expect !== rr.type) throw new DnsEncodeError(`rdata kind ${rd.kind} does not match type ${rr.type}`);
    switch (rd.kind) {
      case 'empty': return;
      case 'unknown': return this.bytes(rd.data);
      case 'A':
        this.room(4);
        if (!ipv4Into(rd.address, 0, rd.address.length, scratch, this.pos)) throw new DnsEncodeError(`bad IPv4 address "${rd.address}"`);
        this.pos += 4;
        return;
      case 'AAAA':
        this.room(16);
        if (!ipv6Into(rd.address, scratch, this.pos)) throw new DnsEncodeError(`bad IPv6 address "${rd.address}"`);
        this.pos += 16;
        return;
      case 'NS': case 'CNAME': case 'PTR': return this.name(rd.target, true);
      case 'SOA':
        this.name(rd.mname, true);
        this.name(rd.rname, true);
        for (const v of [rd.serial, rd.refresh, rd.retry, rd.expire, rd.minimum]) this.u32(num(v, 0xffffffff, 'SOA field'));
        return;
      case 'MX': this.u16(num(rd.preference, 0xffff, 'MX preference')); return this.name(rd.exchange, true);
      case 'SRV':
        this.u16(num(rd.priority, 0xffff, 'SRV priority'));
        this.u16(num(rd.weight, 0xffff, 'SRV weight'));
        this.u16(num(rd.port, 0xffff, 'SRV port'));
        return this.name(rd.target, false); // RFC 2782: no compression
      case 'TXT':
        for (const s of rd.strings) {
          if (s.length > 255) throw new DnsEncodeError('TXT string longer than 255 octets');
          this.u8(s.length);
          this.bytes(s);
        }
        return;
      case 'TSIG': {
        this.name(rd.algorithm, false); // RFC 8945 4.2: never compressed
        const t = num(rd.timeSigned, 0xffffffffffff, 'TSIG time');
        this.u16(Math.floor(t / 0x100000000));
        this.u32(t % 0x100000000);
        this.u16(num(rd.fudge, 0xffff, 'TSIG fudge'));
        this.u16(num(rd.mac.length, 0xffff, 'TSIG MAC length'));
        this.bytes(rd.mac);
        this.u16(num(rd.originalId, 0xffff, 'TSIG original id'));
        this.u16(num(rd.error, 0xffff, 'TSIG error'));
        this.u16(num(rd.other.length, 0xffff, 'TSIG other length'));
        return this.bytes(rd.other);
      }
      default: throw new DnsEncodeError(`unknown rdata kind ${(rd as { kind: string }).kind}`);
    }
  }
}

const KIND_TYPE: Record<string, number | undefined> = {
  A: RRType.A, AAAA: RRType.AAAA, NS: RRType.NS, CNAME: RRType.CNAME, PTR: RRType.PTR, SOA: RRType.SOA,
  MX: RRType.MX, TXT: RRType.TXT, SRV: RRType.SRV, TSIG: RRType.TSIG,
};

function num(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new DnsEncodeError(`${what} out of range: ${v}`);
  return v;
}

function optRecord(msg: Message): ResourceRecord {
  const e = msg.edns!;
  const flags = (num(e.flags, 0xffff, 'EDNS flags') & 0x7fff) | (e.dnssecOk ? 0x8000 : 0);
  const ttl = ((msg.rcode >>> 4) << 24 | num(e.version, 0xff, 'EDNS version') << 16 | flags) >>> 0;
  let len = 0;
  for (const o of e.options) len += 4 + o.data.length;
  const data = Buffer.allocUnsafe(len);
  let p = 0;
  for (const o of e.options) {
    data.writeUInt16BE(num(o.code, 0xffff, 'EDNS option code'), p);
    data.writeUInt16BE(num(o.data.length, 0xffff, 'EDNS option length'), p + 2);
    o.data.copy(data, p + 4);
    p += 4 + o.data.length;
  }
  return { name: '.', type: RRType.OPT, class: num(e.udpSize, 0xffff, 'EDNS UDP size'), ttl, rdata: len ? { kind: 'unknown', data } : { kind: 'empty' } };
}

function encode(msg: Message, limit: number, full: boolean, withOpt: boolean): Buffer {
  const w = new Writer(limit, true);
  const rcode = num(msg.rcode, msg.edns ? 0xfff : 0xf, 'rcode (values > 15 need EDNS)');
  const extra = (withOpt && msg.edns ? 1 : 0) + (withOpt && msg.tsig ? 1 : 0);
  w.u16(num(msg.id, 0xffff, 'id'));
  w.u8((msg.qr ? 0x80 : 0) | num(msg.opcode, 15, 'opcode') << 3 | (msg.aa ? 4 : 0) | (msg.tc || !full ? 2 : 0) | (msg.rd ? 1 : 0));
  w.u8((msg.ra ? 0x80 : 0) | (msg.z ? 0x40 : 0) | (msg.ad ? 0x20 : 0) | (msg.cd ? 0x10 : 0) | (rcode & 0xf));
  w.u16(num(msg.question.length, 0xffff, 'QDCOUNT'));
  w.u16(full ? num(msg.answer.length, 0xffff, 'ANCOUNT') : 0);
  w.u16(full ? num(msg.authority.length, 0xffff, 'NSCOUNT') : 0);
  w.u16(num((full ? msg.additional.length : 0) + extra, 0xffff, 'ARCOUNT'));
  for (const q of msg.question) w.question(q);
  if (full) for (const rr of [...msg.answer, ...msg.authority, ...msg.additional]) w.rr(rr);
  if (withOpt && msg.edns) w.rr(optRecord(msg));
  if (withOpt && msg.tsig) w.rr(msg.tsig.rr, false);
  return copyOut(scratch, 0, w.pos);
}

/**
 * Encodes msg. With maxSize, a message that does not fit comes back truncated (TC=1): question +
 * OPT (+ TSIG as given, whose MAC then is stale: signers should sign after encoding, see
 * appendRecord), or question only if that still does not fit. Throws DnsEncodeError.
 */
export function encodeMessage(msg: Message, opts?: { maxSize?: number }): Buffer {
  const max = opts?.maxSize;
  try {
    return encode(msg, max === undefined ? 0xffff : Math.min(max, 0xffff), true, true);
  } catch (e) {
    if (!(e instanceof Overflow)) throw e;
    if (max === undefined) throw new DnsEncodeError('message longer than 65535 octets');
  }
  for (const withOpt of [true, false]) {
    try {
      return encode(msg, max, false, withOpt);
    } catch (e) {
      if (!(e instanceof Overflow)) throw e;
    }
  }
  return encode(msg, 0xffff, false, false); // header + question cannot shrink further
}

/** Appends one uncompressed RR (e.g. a TSIG computed over buf) and increments ARCOUNT. */
export function appendRecord(buf: Buffer, rr: ResourceRecord): Buffer {
  if (buf.length < 12) throw new DnsEncodeError('not a DNS message');
  const w = new Writer(0xffff - buf.length, false);
  w.rr(rr, false);
  const out = Buffer.concat([buf, scratch.subarray(0, w.pos)]);
  const ar = out.readUInt16BE(10);
  if (ar === 0xffff) throw new DnsEncodeError('ARCOUNT overflow');
  out.writeUInt16BE(ar + 1, 10);
  return out;
}
