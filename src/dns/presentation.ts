// Single records in zone-file presentation form (RFC 1035 5.1, RFC 3597 generic "\# len hex").
// No $ORIGIN/$TTL: every name must be absolute, a missing TTL means 0, a missing class IN.
import { decodeRdata, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './codec.js';
import { RRClass, RRType, Rcode, classToString, rcodeToString, typeFromString, typeToString } from './constants.js';
import { nameToLabels } from './name.js';
import { DnsEncodeError, DnsFormatError, type RData, type ResourceRecord } from './types.js';

interface Token { raw: string; quoted: boolean }

/** Splits on blanks; keeps escapes in raw; "(" ")" are layout only, ";" starts a comment. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '(' || c === ')') { i++; continue; }
    if (c === ';') break;
    let raw = '';
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) raw += text[i++];
        raw += text[i++];
      }
      if (i >= n) throw new DnsEncodeError('unterminated quoted string');
      i++;
      out.push({ raw, quoted: true });
      continue;
    }
    while (i < n && !' \t\n\r();"'.includes(text[i])) {
      if (text[i] === '\\' && i + 1 < n) raw += text[i++];
      raw += text[i++];
    }
    out.push({ raw, quoted: false });
  }
  return out;
}

/** Bytes of a character-string with "\c" and "\DDD" escapes; other characters as UTF-8. */
function unescapeString(raw: string): Buffer {
  const parts: Buffer[] = [];
  let lit = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '\\') { lit += raw[i]; continue; }
    const m = /^\d{3}/.exec(raw.slice(i + 1, i + 4));
    if (m) {
      const v = Number(m[0]);
      if (v > 255) throw new DnsEncodeError(`bad escape \\${m[0]}`);
      parts.push(Buffer.from(lit, 'utf8'), Buffer.from([v]));
      lit = '';
      i += 3;
    } else if (/\d/.test(raw[i + 1] ?? '')) {
      throw new DnsEncodeError(`bad escape in "${raw}"`);
    } else if (i + 1 < raw.length) {
      lit += raw[++i];
    } else {
      throw new DnsEncodeError(`dangling backslash in "${raw}"`);
    }
  }
  parts.push(Buffer.from(lit, 'utf8'));
  const b = Buffer.concat(parts);
  if (b.length > 255) throw new DnsEncodeError('character-string longer than 255 octets');
  return b;
}

function quoteString(b: Buffer): string {
  let s = '"';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c < 0x20 || c > 0x7e) s += '\\' + String(c).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s + '"';
}

function absoluteName(t: Token | undefined, what: string): string {
  if (!t || t.quoted) throw new DnsEncodeError(`missing ${what}`);
  const s = t.raw;
  let bs = 0;
  for (let i = s.length - 2; i >= 0 && s[i] === '\\'; i--) bs++;
  if (!s.endsWith('.') || bs % 2 === 1) throw new DnsEncodeError(`${what} "${s}" is not absolute (no trailing dot)`);
  nameToLabels(s); // validates
  return s;
}

function int(t: Token | undefined, max: number, what: string): number {
  if (!t || !/^\d+$/.test(t.raw)) throw new DnsEncodeError(`bad or missing ${what}${t ? ` "${t.raw}"` : ''}`);
  const v = Number(t.raw);
  if (v > max) throw new DnsEncodeError(`${what} ${v} out of range`);
  return v;
}

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
/** Seconds: "3600" or BIND-style "1h30m". */
function ttlValue(raw: string): number | undefined {
  let v: number;
  if (/^\d+$/.test(raw)) v = Number(raw);
  else if (/^(\d+[smhdw])+$/i.test(raw)) {
    v = 0;
    for (const m of raw.matchAll(/(\d+)([smhdw])/gi)) v += Number(m[1]) * UNIT[m[2].toLowerCase()];
  } else return undefined;
  return v <= 0xffffffff ? v : undefined;
}
function ttlField(t: Token | undefined, what: string): number {
  const v = t && !t.quoted ? ttlValue(t.raw) : undefined;
  if (v === undefined) throw new DnsEncodeError(`bad or missing ${what}${t ? ` "${t.raw}"` : ''}`);
  return v;
}

function classFromString(s: string): number | undefined {
  const u = s.toUpperCase();
  if (u in RRClass) return RRClass[u as keyof typeof RRClass];
  const m = /^CLASS(\d{1,5})$/.exec(u);
  return m && Number(m[1]) <= 0xffff ? Number(m[1]) : undefined;
}

/** "owner [ttl] [class] type rdata" (ttl and class in either order). Throws DnsEncodeError. */
export function parseRecord(text: string): ResourceRecord {
  const toks = tokenize(text);
  const name = absoluteName(toks[0], 'owner name');
  let ttl: number | undefined;
  let cls: number | undefined;
  let i = 1;
  for (;;) {
    const t = toks[i];
    if (!t || t.quoted) break;
    const asTtl = ttl === undefined ? ttlValue(t.raw) : undefined;
    const asClass = cls === undefined ? classFromString(t.raw) : undefined;
    const next = toks[i + 1];
    // "ANY" is both a class and a type: it is the class only if a type can still follow.
    if (asTtl !== undefined) ttl = asTtl;
    else if (asClass !== undefined && next && (typeFromString(t.raw) === undefined || (!next.quoted && (typeFromString(next.raw) !== undefined || ttlValue(next.raw) !== undefined)))) cls = asClass;
    else break;
    i++;
  }
  const tt = toks[i];
  const type = tt && !tt.quoted ? typeFromString(tt.raw) : undefined;
  if (type === undefined) {
    const isField = tt && !tt.quoted && (classFromString(tt.raw) !== undefined || ttlValue(tt.raw) !== undefined) && !toks[i + 1];
    throw new DnsEncodeError(tt && !isField ? `unknown type "${tt.raw}"` : 'missing type');
  }
  return { name, type, class: cls ?? RRClass.IN, ttl: ttl ?? 0, rdata: parseRdata(type, toks.slice(i + 1)) };
}

function parseRdata(type: number, t: Token[]): RData {
  if (t.length === 0) return { kind: 'empty' };
  if (t[0].raw === '\\#' && !t[0].quoted) return parseGeneric(type, t);
  let i = 0;
  const next = () => t[i++];
  let rd: RData;
  switch (type) {
    case RRType.A: rd = { kind: 'A', address: formatIPv4(parseIPv4(next().raw)) }; break; // t[0] exists
    case RRType.AAAA: rd = { kind: 'AAAA', address: formatIPv6(parseIPv6(next().raw)) }; break;
    case RRType.NS: rd = { kind: 'NS', target: absoluteName(next(), 'NS target') }; break;
    case RRType.CNAME: rd = { kind: 'CNAME', target: absoluteName(next(), 'CNAME target') }; break;
    case RRType.PTR: rd = { kind: 'PTR', target: absoluteName(next(), 'PTR target') }; break;
    case RRType.MX: rd = { kind: 'MX', preference: int(next(), 0xffff, 'MX preference'), exchange: absoluteName(next(), 'MX exchange') }; break;
    case RRType.SRV:
      rd = { kind: 'SRV', priority: int(next(), 0xffff, 'SRV priority'), weight: int(next(), 0xffff, 'SRV weight'), port: int(next(), 0xffff, 'SRV port'), target: absoluteName(next(), 'SRV target') };
      break;
    case RRType.SOA:
      rd = {
        kind: 'SOA', mname: absoluteName(next(), 'SOA mname'), rname: absoluteName(next(), 'SOA rname'), serial: int(next(), 0xffffffff, 'SOA serial'),
        refresh: ttlField(next(), 'SOA refresh'), retry: ttlField(next(), 'SOA retry'), expire: ttlField(next(), 'SOA expire'), minimum: ttlField(next(), 'SOA minimum'),
      };
      break;
    case RRType.TXT: rd = { kind: 'TXT', strings: t.map((x) => unescapeString(x.raw)) }; i = t.length; break;
    case RRType.TSIG: {
      const algorithm = absoluteName(next(), 'TSIG algorithm');
      const timeSigned = int(next(), 0xffffffffffff, 'TSIG time');
      const fudge = int(next(), 0xffff, 'TSIG fudge');
      const macLen = int(next(), 0xffff, 'TSIG MAC size');
      const mac = macLen ? base64(next(), macLen, 'TSIG MAC') : Buffer.alloc(0);
      const originalId = int(next(), 0xffff, 'TSIG original id');
      const et = next();
      const error = et && et.raw.toUpperCase() in Rcode ? Rcode[et.raw.toUpperCase() as keyof typeof Rcode] : int(et, 0xffff, 'TSIG error');
      const otherLen = int(next(), 0xffff, 'TSIG other length');
      rd = { kind: 'TSIG', algorithm, timeSigned, fudge, mac, originalId, error, other: otherLen ? base64(next(), otherLen, 'TSIG other data') : Buffer.alloc(0) };
      break;
    }
    default: throw new DnsEncodeError(`type ${typeToString(type)} needs the generic \\# form`);
  }
  if (i < t.length) throw new DnsEncodeError(`trailing data in ${typeToString(type)} rdata: "${t[i].raw}"`);
  return rd;
}

function base64(t: Token | undefined, len: number, what: string): Buffer {
  const b = t && /^[A-Za-z0-9+/]*={0,2}$/.test(t.raw) ? Buffer.from(t.raw, 'base64') : undefined;
  if (!b || b.length !== len) throw new DnsEncodeError(`bad or missing ${what}`);
  return b;
}

function parseGeneric(type: number, t: Token[]): RData {
  const len = int(t[1], 0xffff, 'generic rdata length');
  const hex = t.slice(2).map((x) => x.raw).join('');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex) || hex.length !== len * 2) throw new DnsEncodeError(`generic rdata is not ${len} octets of hex`);
  try {
    // RFC 3597 5: for a known type the generic form means the same as the usual one.
    return decodeRdata(type, Buffer.from(hex, 'hex'));
  } catch (e) {
    if (e instanceof DnsFormatError) throw new DnsEncodeError(`generic rdata is not valid ${typeToString(type)}: ${e.message}`);
    throw e;
  }
}

export function rdataToString(rr: ResourceRecord): string {
  const rd = rr.rdata;
  switch (rd.kind) {
    case 'empty': return '';
    case 'A': case 'AAAA': return rd.address;
    case 'NS': case 'CNAME': case 'PTR': return rd.target;
    case 'SOA': return `${rd.mname} ${rd.rname} ${rd.serial} ${rd.refresh} ${rd.retry} ${rd.expire} ${rd.minimum}`;
    case 'MX': return `${rd.preference} ${rd.exchange}`;
    case 'SRV': return `${rd.priority} ${rd.weight} ${rd.port} ${rd.target}`;
    case 'TXT': return rd.strings.map(quoteString).join(' ');
    case 'TSIG': {
      const b64 = (b: Buffer) => (b.length ? ` ${b.toString('base64')}` : '');
      const err = rd.error === 16 ? 'BADSIG' : rcodeToString(rd.error); // 16 is BADSIG in TSIG (RFC 8945)
      return `${rd.algorithm} ${rd.timeSigned} ${rd.fudge} ${rd.mac.length}${b64(rd.mac)} ${rd.originalId} ${err.startsWith('RCODE') ? rd.error : err} ${rd.other.length}${b64(rd.other)}`;
    }
    case 'unknown': return `\\# ${rd.data.length}${rd.data.length ? ' ' + rd.data.toString('hex') : ''}`;
  }
}

/** dig-like: "name<TAB>ttl<TAB>class<TAB>type<TAB>rdata". */
export function recordToString(rr: ResourceRecord): string {
  const rdata = rdataToString(rr);
  return `${rr.name}\t${rr.ttl}\t${classToString(rr.class)}\t${typeToString(rr.type)}${rdata ? '\t' + rdata : ''}`;
}
