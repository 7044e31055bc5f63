// Domain names in presentation form (RFC 1035 5.1). Every name is absolute; a missing trailing dot
// is tolerated on input and treated as if present (there is no origin to append here).
import { DnsEncodeError } from './types.js';

// Bytes that labelsToName writes as "\c" (same set as BIND's dns_name_totext) ...
const SPECIAL = new Set([0x22, 0x24, 0x28, 0x29, 0x2e, 0x3b, 0x40, 0x5c]); // " $ ( ) . ; @ \
// ... and per-byte escaping class: 0 = literal, 1 = "\c", 2 = "\DDD" (exported for the decoder).
export const ESCAPE = new Uint8Array(256);
const ESC = ESCAPE;
for (let b = 0; b < 256; b++) ESC[b] = b <= 0x20 || b >= 0x7f ? 2 : SPECIAL.has(b) ? 1 : 0;

/** One label's bytes in presentation form. */
export function labelToString(buf: Uint8Array, start = 0, end = buf.length): string {
  let plain = true;
  for (let i = start; i < end; i++) if (ESC[buf[i]] !== 0) { plain = false; break; }
  if (plain) return Buffer.prototype.toString.call(buf, 'latin1', start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const b = buf[i];
    const e = ESC[b];
    if (e === 0) s += String.fromCharCode(b);
    else if (e === 1) s += '\\' + String.fromCharCode(b);
    else s += '\\' + (b < 10 ? '00' : b < 100 ? '0' : '') + b;
  }
  return s;
}

export function labelsToName(labels: Buffer[]): string {
  if (labels.length === 0) return '.';
  let s = '';
  for (const l of labels) s += labelToString(l) + '.';
  return s;
}

// Plain names (the usual case) skip the escape parser.
const PLAIN = /^(?:[A-Za-z0-9_*-]{1,63}\.)*[A-Za-z0-9_*-]{1,63}\.?$/;

/**
 * Labels of a name. Accepts "\." "\\" "\DDD" and "\c"; non-ASCII characters become UTF-8 bytes.
 * Throws DnsEncodeError on an empty name, an empty label (other than the root "."),
 * a label over 63 octets, or a wire length over 255.
 */
export function nameToLabels(name: string): Buffer[] {
  if (name === '.') return [];
  if (name.length === 0) throw new DnsEncodeError('empty name');
  let labels: Buffer[];
  if (PLAIN.test(name)) {
    const parts = name.split('.');
    if (parts[parts.length - 1] === '') parts.pop();
    labels = parts.map((p) => Buffer.from(p, 'latin1'));
  } else {
    labels = [];
    let cur: number[] = [];
    const n = name.length;
    let i = 0;
    let endedWithDot = false;
    while (i < n) {
      const c = name.charCodeAt(i);
      endedWithDot = false;
      if (c === 0x2e) { // unescaped dot ends a label
        if (cur.length === 0) throw new DnsEncodeError(`empty label in name "${name}"`);
        pushLabel(labels, cur, name);
        cur = [];
        endedWithDot = true;
        i++;
      } else if (c === 0x5c) { // backslash
        if (i + 1 >= n) throw new DnsEncodeError(`dangling backslash in name "${name}"`);
        const d = name.charCodeAt(i + 1);
        if (d >= 0x30 && d <= 0x39) {
          const m = /^\d{3}/.exec(name.slice(i + 1, i + 4));
          const v = m ? Number(m[0]) : 256;
          if (v > 255) throw new DnsEncodeError(`bad \\DDD escape in name "${name}"`);
          cur.push(v);
          i += 4;
        } else {
          i += 1;
          i = pushChar(cur, name, i);
        }
      } else {
        i = pushChar(cur, name, i);
      }
    }
    if (cur.length > 0) pushLabel(labels, cur, name);
    else if (!endedWithDot) throw new DnsEncodeError(`empty name "${name}"`);
  }
  let wire = 1;
  for (const l of labels) {
    if (l.length > 63) throw new DnsEncodeError(`label longer than 63 octets in "${name}"`);
    wire += l.length + 1;
  }
  if (wire > 255) throw new DnsEncodeError(`name longer than 255 octets: "${name.slice(0, 40)}..."`);
  return labels;
}

function pushLabel(labels: Buffer[], cur: number[], name: string): void {
  if (cur.length > 63) throw new DnsEncodeError(`label longer than 63 octets in "${name}"`);
  labels.push(Buffer.from(cur));
}

/** Appends the UTF-8 bytes of the character at i, returns the index after it. */
function pushChar(cur: number[], s: string, i: number): number {
  const cp = s.codePointAt(i)!;
  const len = cp > 0xffff ? 2 : 1;
  if (cp < 0x80) cur.push(cp);
  else for (const b of Buffer.from(s.slice(i, i + len), 'utf8')) cur.push(b);
  return i + len;
}

/** Uncompressed wire form (case preserved). */
export function nameToWire(name: string): Buffer {
  const labels = nameToLabels(name);
  const out = Buffer.allocUnsafe(wireLength(labels));
  let p = 0;
  for (const l of labels) { out[p++] = l.length; l.copy(out, p); p += l.length; }
  out[p] = 0;
  return out;
}

/** Uncompressed wire length of a name (or of its labels). */
export function wireLength(name: string | Buffer[]): number {
  const labels = typeof name === 'string' ? nameToLabels(name) : name;
  let n = 1;
  for (const l of labels) n += l.length + 1;
  return n;
}

/**
 * ASCII-lowercased, with the trailing dot, in the escape form labelsToName produces, so that equal
 * names give equal strings. Throws DnsEncodeError on names nameToLabels rejects (except that the
 * plain-name fast path does not check the 255-octet total).
 */
export function canonicalName(name: string): string {
  if (PLAIN.test(name)) {
    const l = name.toLowerCase();
    return l.endsWith('.') ? l : l + '.';
  }
  if (name === '.') return name;
  const labels = nameToLabels(name);
  for (const l of labels) for (let i = 0; i < l.length; i++) if (l[i] >= 0x41 && l[i] <= 0x5a) l[i] |= 0x20;
  return labelsToName(labels);
}

/** True when name is parent or below it (case-insensitive). */
export function isSubdomain(name: string, parent: string): boolean {
  const n = canonicalName(name);
  const p = canonicalName(parent);
  if (p === '.' || n === p) return true;
  if (n.length <= p.length || !n.endsWith(p)) return false;
  // The byte before the suffix must be a real label separator, not an escaped "\.".
  let i = n.length - p.length - 1;
  if (n.charCodeAt(i) !== 0x2e) return false;
  let bs = 0;
  while (--i >= 0 && n.charCodeAt(i) === 0x5c) bs++;
  return bs % 2 === 0;
}
