// TSIG (RFC 8945): signing and verifying DNS messages with shared-secret HMACs.
// Verification always works on the RAW received bytes (msg.tsig.offset marks where the TSIG RR
// starts), never on a re-encoding. Every request is one message, also when several are pipelined
// on one TCP connection (RFC 7766): each is verified on its own and each response is signed over
// its own request MAC. Multi-message responses (zone transfers, 4.3.2/5.3.1) are not produced:
// ntss serves no AXFR/IXFR.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Rcode, RRClass, RRType } from './constants.js';
import { canonicalName, nameToLabels } from './name.js';
import { DnsEncodeError, type Message } from './types.js';

export type TsigAlgorithm = 'hmac-sha1' | 'hmac-sha224' | 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';

export interface TsigKey {
  /** Canonical (lowercase), absolute: "alice-key." */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
  /** Local truncation policy for this key (RFC 8945 5.2.4): shortest MAC accepted in a request.
   *  Default: the full length (a truncated, otherwise valid MAC gets BADTRUNC). */
  minMacLength?: number;
}

const HASHES: Record<TsigAlgorithm, { hash: string; len: number }> = {
  'hmac-sha1': { hash: 'sha1', len: 20 },
  'hmac-sha224': { hash: 'sha224', len: 28 },
  'hmac-sha256': { hash: 'sha256', len: 32 },
  'hmac-sha384': { hash: 'sha384', len: 48 },
  'hmac-sha512': { hash: 'sha512', len: 64 },
};

/** Known (RFC 8945 section 6) but not implemented here: requests using it get BADKEY (5.2.1). */
export const HMAC_MD5_NAME = 'hmac-md5.sig-alg.reg.int.';
export const DEFAULT_FUDGE = 300;

/** "hmac-sha256." (any case, trailing dot optional) -> 'hmac-sha256'; undefined for unknown or
 *  unimplemented algorithms (hmac-md5.sig-alg.reg.int., gss-tsig, ...). */
export function algorithmFromName(wireName: string): TsigAlgorithm | undefined {
  const n = wireName.toLowerCase().replace(/\.$/, '');
  return Object.hasOwn(HASHES, n) ? (n as TsigAlgorithm) : undefined;
}

/** The algorithm's name on the wire (absolute): "hmac-sha256." */
export function algorithmWireName(alg: TsigAlgorithm): string {
  return `${alg}.`;
}

/** Full HMAC output length in octets. */
export function macLength(alg: TsigAlgorithm): number {
  return HASHES[alg].len;
}

/** RFC 8945 5.2.2.1 rule 3: the shortest MAC anyone may send, max(10, half the output length). */
export function minAllowedMacLength(alg: TsigAlgorithm): number {
  return Math.max(10, Math.ceil(HASHES[alg].len / 2));
}

// ---- wire helpers ------------------------------------------------------------------------------

/** Uncompressed wire form with ASCII letters lowercased (RFC 4034 6.2 canonical form). */
function canonicalWire(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of nameToLabels(name)) {
    if (label.length === 0) continue; // root label, if the name module returns it
    const l = Buffer.from(label);
    for (let i = 0; i < l.length; i++) if (l[i] >= 0x41 && l[i] <= 0x5a) l[i] |= 0x20;
    parts.push(Buffer.from([l.length]), l);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** 48-bit unsigned big-endian (Time Signed; BADTIME Other Data). */
export function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(Math.max(0, Math.floor(n)), 0, 6);
  return b;
}

interface TsigFields {
  nameWire: Buffer;
  algWire: Buffer;
  timeSigned: number;
  fudge: number;
  error: number;
  other: Buffer;
}

/** RFC 8945 4.3.3 "TSIG Variables". class/ttl as received (always ANY/0 when we sign). */
function variables(f: TsigFields, cls: number = RRClass.ANY, ttl = 0): Buffer {
  const fixed = Buffer.alloc(2 + 4);
  fixed.writeUInt16BE(cls, 0);
  fixed.writeUInt32BE(ttl >>> 0, 2);
  const tail = Buffer.alloc(6 + 2 + 2 + 2);
  tail.writeUIntBE(f.timeSigned, 0, 6);
  tail.writeUInt16BE(f.fudge, 6);
  tail.writeUInt16BE(f.error, 8);
  tail.writeUInt16BE(f.other.length, 10);
  return Buffer.concat([f.nameWire, fixed, f.algWire, tail, f.other]);
}

/** The message part of the digest: header with ID := original ID and ARCOUNT - 1, then the
 *  bytes up to the TSIG RR. `end` is where the TSIG RR starts (or the message end when signing). */
function messageDigestPart(raw: Buffer, end: number, originalId: number, arcountDelta: number): Buffer[] {
  const header = Buffer.from(raw.subarray(0, 12));
  header.writeUInt16BE(originalId, 0);
  header.writeUInt16BE(header.readUInt16BE(10) + arcountDelta, 10);
  return [header, raw.subarray(12, end)];
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(HASHES[key.algorithm].hash, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

function requestMacPart(requestMac: Buffer | undefined): Buffer[] {
  return requestMac ? [u16(requestMac.length), requestMac] : [];
}

/** The TSIG RR: owner = key name, uncompressed, CLASS ANY, TTL 0. */
function tsigRecord(f: TsigFields, mac: Buffer, originalId: number): Buffer {
  const rdata = Buffer.concat([
    f.algWire, u48(f.timeSigned), u16(f.fudge), u16(mac.length), mac,
    u16(originalId), u16(f.error), u16(f.other.length), f.other,
  ]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(RRType.TSIG, 0);
  fixed.writeUInt16BE(RRClass.ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([f.nameWire, fixed, rdata]);
}

function appendRecord(unsigned: Buffer, rr: Buffer): Buffer {
  const arcount = unsigned.readUInt16BE(10);
  if (arcount === 0xffff) throw new DnsEncodeError('TSIG: ARCOUNT overflow');
  const out = Buffer.concat([unsigned, rr]);
  out.writeUInt16BE(arcount + 1, 10);
  return out;
}

function checkU16(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new DnsEncodeError(`TSIG: bad ${what} ${n}`);
}

// ---- signing -----------------------------------------------------------------------------------

export interface SignOptions {
  nowSeconds: number;
  /** Default 300 (RFC 8945 10: recommended). */
  fudge?: number;
  /** For responses: the request's MAC as received (possibly truncated). */
  requestMac?: Buffer;
  error?: number;
  otherData?: Buffer;
  /** Default: the ID in the message header. */
  originalId?: number;
  /** Send only the first n octets of the MAC (RFC 8945 5.2.2.1 rule 4); default the full MAC. */
  truncateTo?: number;
}

/** Appends a signed TSIG RR to an already encoded message (no TSIG yet) and increments ARCOUNT. */
export function signMessage(unsigned: Buffer, key: TsigKey, opts: SignOptions): { message: Buffer; mac: Buffer } {
  if (unsigned.length < 12) throw new DnsEncodeError('TSIG: message shorter than a header');
  if (!Object.hasOwn(HASHES, key.algorithm)) throw new DnsEncodeError(`TSIG: unsupported algorithm ${key.algorithm}`);
  const originalId = opts.originalId ?? unsigned.readUInt16BE(0);
  const f: TsigFields = {
    nameWire: canonicalWire(key.name),
    algWire: canonicalWire(algorithmWireName(key.algorithm)),
    timeSigned: Math.floor(opts.nowSeconds),
    fudge: opts.fudge ?? DEFAULT_FUDGE,
    error: opts.error ?? 0,
    other: opts.otherData ?? Buffer.alloc(0),
  };
  checkU16('fudge', f.fudge); checkU16('error', f.error); checkU16('original ID', originalId);
  const full = hmac(key, [
    ...requestMacPart(opts.requestMac),
    ...messageDigestPart(unsigned, unsigned.length, originalId, 0),
    variables(f),
  ]);
  const mac = opts.truncateTo === undefined ? full : full.subarray(0, opts.truncateTo);
  return { message: appendRecord(unsigned, tsigRecord(f, mac, originalId)), mac };
}

/** Appends an UNSIGNED TSIG RR (MAC size 0) carrying a TSIG error, as RFC 8945 5.3.2 requires
 *  for BADKEY and BADSIG answers. keyName/algorithmName are echoed from the request. */
export function buildErrorTsig(unsigned: Buffer, opts: {
  keyName: string; algorithmName: string; error: number; nowSeconds: number; fudge?: number; originalId?: number;
}): Buffer {
  if (unsigned.length < 12) throw new DnsEncodeError('TSIG: message shorter than a header');
  const originalId = opts.originalId ?? unsigned.readUInt16BE(0);
  const f: TsigFields = {
    nameWire: canonicalWire(opts.keyName), algWire: canonicalWire(opts.algorithmName),
    timeSigned: Math.floor(opts.nowSeconds), fudge: opts.fudge ?? DEFAULT_FUDGE, error: opts.error, other: Buffer.alloc(0),
  };
  checkU16('fudge', f.fudge); checkU16('error', f.error); checkU16('original ID', originalId);
  return appendRecord(unsigned, tsigRecord(f, Buffer.alloc(0), originalId));
}

// ---- verifying requests (server side) ----------------------------------------------------------

export type TsigVerification =
  | { status: 'unsigned' }
  | { status: 'ok'; key: TsigKey; requestMac: Buffer; timeSigned: number; fudge: number }
  | {
      status: 'error';
      /** Which check failed; names the counter (tsig_<kind>). 'replay' is a BADTIME from the
       *  last-time-signed check (5.2.3), 'formerr' a malformed TSIG or a too short MAC (5.2.2.1). */
      kind: TsigErrorKind;
      /** TSIG error (BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22); 0 when the TSIG is malformed. */
      error: number;
      /** Header rcode to answer with: NOTAUTH for TSIG errors, FORMERR for a malformed TSIG. */
      rcode: number;
      /** true only for BADTIME/BADTRUNC, where the MAC did verify (5.2.3, 5.2.4). */
      signResponse: boolean;
      reason: string;
      key?: TsigKey;           // only when signResponse
      requestMac?: Buffer;     // only when signResponse
      keyName?: string;        // echoed in the unsigned error TSIG (BADKEY/BADSIG)
      algorithmName?: string;
      timeSigned?: number;
      fudge?: number;
    };

export type TsigErrorKind = 'formerr' | 'badkey' | 'badsig' | 'badtime' | 'replay' | 'badtrunc';

export interface VerifyOptions {
  /** hmac-sha1 is refused (BADKEY) unless set. */
  allowSha1?: boolean;
  /** Local truncation policy (5.2.4): shortest accepted MAC, default the full hash length.
   *  The key's own minMacLength, when set, wins. */
  minMacLength?: number;
  /** RFC 8945 5.2.3 (SHOULD): the Time Signed of the last message accepted with this key. A
   *  message signed strictly earlier is answered BADTIME (a replay); an equal time is accepted,
   *  since one client may sign several messages within a second (and retransmit one). */
  lastTimeSigned?: (key: TsigKey) => number | undefined;
}

type TsigRR = NonNullable<Message['tsig']>['rr'];

function formErr(reason: string): TsigVerification {
  return { status: 'error', kind: 'formerr', error: 0, rcode: Rcode.FORMERR, signResponse: false, reason };
}

function hasStrayTsig(msg: Message): boolean {
  return [msg.answer, msg.authority, msg.additional].some((s) => s.some((rr) => rr.type === RRType.TSIG));
}

/** Recomputes the MAC of `raw` (whose TSIG RR starts at offset) and compares the first
 *  mac.length octets in constant time. */
function macMatches(raw: Buffer, offset: number, rr: TsigRR, key: TsigKey, requestMac?: Buffer): boolean {
  const d = rr.rdata;
  const f: TsigFields = {
    nameWire: canonicalWire(rr.name), algWire: canonicalWire(d.algorithm),
    timeSigned: d.timeSigned, fudge: d.fudge, error: d.error, other: d.other,
  };
  const full = hmac(key, [
    ...requestMacPart(requestMac),
    ...messageDigestPart(raw, offset, d.originalId, -1),
    variables(f, rr.class, rr.ttl),
  ]);
  return d.mac.length > 0 && d.mac.length <= full.length && timingSafeEqual(full.subarray(0, d.mac.length), d.mac);
}

/** Structural checks shared by request and response verification; a reason string on failure. */
function malformed(raw: Buffer, msg: Message): string | undefined {
  const t = msg.tsig!;
  if (hasStrayTsig(msg)) return 'TSIG RR not last in the additional section';
  if (t.rr.class !== RRClass.ANY) return 'TSIG class is not ANY';
  if (t.offset < 12 || t.offset >= raw.length || raw.length < 12 || raw.readUInt16BE(10) < 1) return 'TSIG offset/ARCOUNT inconsistent';
  return undefined;
}

/** RFC 8945 5.2: checks in order key (5.2.1), MAC length (5.2.2.1), MAC (5.2.2), time (5.2.3),
 *  truncation policy (5.2.4). Never yields a signable result for an unverified MAC. */
export function verifyRequest(
  raw: Buffer, msg: Message, findKey: (name: string) => TsigKey | undefined, nowSeconds: number, opts: VerifyOptions = {},
): TsigVerification {
  if (!msg.tsig) return hasStrayTsig(msg) ? formErr('TSIG RR not last in the additional section') : { status: 'unsigned' };
  const bad = malformed(raw, msg);
  if (bad) return formErr(bad);
  const { rr, offset } = msg.tsig;
  const d = rr.rdata;
  const echo = { keyName: rr.name, algorithmName: d.algorithm, timeSigned: d.timeSigned, fudge: d.fudge };
  const unsignedErr = (kind: TsigErrorKind, error: number, reason: string): TsigVerification =>
    ({ status: 'error', kind, error, rcode: Rcode.NOTAUTH, signResponse: false, reason, ...echo });

  // 5.2.1 key check
  const alg = algorithmFromName(d.algorithm);
  if (!alg || (alg === 'hmac-sha1' && !opts.allowSha1)) return unsignedErr('badkey', Rcode.BADKEY, `unsupported algorithm ${d.algorithm}`);
  const key = findKey(canonicalName(rr.name));
  if (!key) return unsignedErr('badkey', Rcode.BADKEY, `unknown key ${rr.name}`);
  if (key.algorithm !== alg) return unsignedErr('badkey', Rcode.BADKEY, `key ${rr.name} is not ${d.algorithm}`);

  // 5.2.2.1 MAC size: rule 1 (longer than the hash) and rule 3 (shorter than max(10, half the
  // hash); the zero-length exception is for error responses only) "MUST cause the DNS message to
  // be dropped and RCODE 1 (FORMERR) to be returned": unsigned, since nothing was verified.
  const full = HASHES[alg].len;
  const size = d.mac.length;
  if (size > full) return formErr(`MAC size ${size} > ${full} (RFC 8945 5.2.2.1 rule 1)`);
  if (size < minAllowedMacLength(alg)) return formErr(`MAC size ${size} below the RFC 8945 5.2.2.1 minimum ${minAllowedMacLength(alg)}`);

  // 5.2.2 / 5.2.2.1 rule 4: a truncated MAC is compared with the same first octets of ours.
  if (!macMatches(raw, offset, rr, key)) return unsignedErr('badsig', Rcode.BADSIG, `bad MAC for key ${key.name}`);

  // From here the MAC is verified: error answers are signed and include the request MAC as
  // received (truncated if it was: 5.2.2.1 rule 4).
  const signedErr = (kind: TsigErrorKind, error: number, reason: string): TsigVerification =>
    ({ status: 'error', kind, error, rcode: Rcode.NOTAUTH, signResponse: true, reason, key, requestMac: d.mac, ...echo });
  // 5.2.3 time check: outside the fudge, then the last-time-signed replay check.
  if (Math.abs(nowSeconds - d.timeSigned) > d.fudge) {
    return signedErr('badtime', Rcode.BADTIME, `time signed ${d.timeSigned} outside ${nowSeconds}±${d.fudge}`);
  }
  const last = opts.lastTimeSigned?.(key);
  if (last !== undefined && d.timeSigned < last) {
    return signedErr('replay', Rcode.BADTIME, `time signed ${d.timeSigned} earlier than the last accepted ${last} for key ${key.name} (replay)`);
  }
  // 5.2.4 truncation policy: allowed by 5.2.2.1 but shorter than we accept -> BADTRUNC, signed.
  const policy = Math.min(full, Math.max(minAllowedMacLength(alg), key.minMacLength ?? opts.minMacLength ?? full));
  if (size < policy) return signedErr('badtrunc', Rcode.BADTRUNC, `MAC truncated to ${size} octets, key ${key.name} needs ${policy}`);
  return { status: 'ok', key, requestMac: d.mac, timeSigned: d.timeSigned, fudge: d.fudge };
}

/** Adds the TSIG the response to a request verified as `v` needs (the caller has already set the
 *  header rcode to v.rcode for errors). Signed responses carry the full MAC (5.2.2.1 rule 2: never
 *  shorter than a truncated request's) over the request MAC as received (rule 4). ok -> signed; BADTIME -> signed, Time Signed = the
 *  request's, Other Data = our time; BADTRUNC -> signed; BADKEY/BADSIG -> unsigned error TSIG;
 *  malformed TSIG (FORMERR) and unsigned requests -> unchanged. */
export function tsigForResponse(unsigned: Buffer, v: TsigVerification, nowSeconds: number, fudge = DEFAULT_FUDGE): Buffer {
  if (v.status === 'unsigned') return unsigned;
  if (v.status === 'ok') return signMessage(unsigned, v.key, { nowSeconds, fudge, requestMac: v.requestMac }).message;
  if (v.signResponse && v.key && v.requestMac) {
    if (v.error === Rcode.BADTIME) {
      return signMessage(unsigned, v.key, {
        nowSeconds: v.timeSigned ?? nowSeconds, fudge: v.fudge ?? fudge, requestMac: v.requestMac,
        error: v.error, otherData: u48(nowSeconds),
      }).message;
    }
    return signMessage(unsigned, v.key, { nowSeconds, fudge, requestMac: v.requestMac, error: v.error }).message;
  }
  if (v.error !== 0 && v.keyName !== undefined && v.algorithmName !== undefined) {
    return buildErrorTsig(unsigned, { keyName: v.keyName, algorithmName: v.algorithmName, error: v.error, nowSeconds, fudge });
  }
  return unsigned;
}

// ---- verifying responses (client side) ---------------------------------------------------------

export type TsigResponseVerification =
  /** MAC verified. error != 0 is the server's TSIG error on a signed answer (BADTIME: otherData
   *  holds the server's time, 6 octets; BADTRUNC). */
  | { status: 'ok'; mac: Buffer; timeSigned: number; error: number; otherData: Buffer }
  /** Unsigned TSIG error answer (BADKEY/BADSIG): NOT authenticated, only informative. */
  | { status: 'unsigned-error'; error: number }
  | { status: 'bad'; reason: string };

/** Verifies the TSIG of a response to a request we signed with `key` whose MAC was requestMac. */
export function verifyResponse(
  raw: Buffer, msg: Message, key: TsigKey, requestMac: Buffer, nowSeconds: number,
): TsigResponseVerification {
  if (!msg.tsig) return { status: 'bad', reason: hasStrayTsig(msg) ? 'TSIG RR not last' : 'expected a TSIG' };
  const bad = malformed(raw, msg);
  if (bad) return { status: 'bad', reason: bad };
  const { rr, offset } = msg.tsig;
  const d = rr.rdata;
  if (canonicalName(rr.name) !== canonicalName(key.name) || algorithmFromName(d.algorithm) !== key.algorithm) {
    return { status: 'bad', reason: 'key name or algorithm differs from the request' };
  }
  if (d.mac.length === 0) {
    return d.error === Rcode.BADKEY || d.error === Rcode.BADSIG
      ? { status: 'unsigned-error', error: d.error }
      : { status: 'bad', reason: 'empty MAC' };
  }
  const full = HASHES[key.algorithm].len;
  if (d.mac.length > full || d.mac.length < minAllowedMacLength(key.algorithm)) {
    return { status: 'bad', reason: `MAC size ${d.mac.length} invalid` };
  }
  if (!macMatches(raw, offset, rr, key, requestMac)) return { status: 'bad', reason: 'bad MAC' };
  if (Math.abs(nowSeconds - d.timeSigned) > d.fudge) return { status: 'bad', reason: 'time signed outside fudge' };
  return { status: 'ok', mac: d.mac, timeSigned: d.timeSigned, error: d.error, otherData: d.other };
}
