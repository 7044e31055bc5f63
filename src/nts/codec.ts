// NTS v1 wire codec (docs/protocol.md sections 2-3). Decoding is split in two so that the
// verifier can check the MAC before it interprets any TLV value: decodeFrame (header, MAC
// position) then decodeBody. decodeMessage does both. Only NtsFormatError leaves a decoder.
import {
  FIXED_OVERHEAD, MAC_LENGTH, MessageTypeCode, NTS_MAGIC, NTS_VERSION, NtsEncodeError, NtsFormatError,
  isValidKeyId, type MessageType, type NtsHeader, type NtsMessage,
} from './messages.js';
import { decodeBodyOf, encodeBodyOf } from './body.js';
import { hmacSha256 } from './hmac.js';

export interface NtsFrame extends Required<NtsHeader> {
  type: MessageType;
  body: Buffer;
  /** Every octet before the MAC. */
  macInput: Buffer;
  mac: Buffer;
}

const TYPE_BY_CODE = new Map<number, MessageType>(
  Object.entries(MessageTypeCode).map(([k, v]) => [v, k as MessageType]),
);

export function computeMac(key: Buffer, macInput: Buffer): Buffer {
  return hmacSha256(key, macInput);
}

/** Header and MAC of a datagram, body not interpreted. */
export function decodeFrame(buf: Buffer): NtsFrame {
  return guard(() => {
    if (!Buffer.isBuffer(buf)) throw new NtsFormatError('not a Buffer');
    if (buf.length < 3 || buf.readUInt16BE(0) !== NTS_MAGIC) throw new NtsFormatError('bad magic');
    if (buf[2] !== NTS_VERSION) throw new NtsFormatError(`unsupported version ${buf[2]}`, 'bad-version');
    if (buf.length < FIXED_OVERHEAD + 1) throw new NtsFormatError(`too short: ${buf.length} octets`);
    const type = TYPE_BY_CODE.get(buf[3]);
    if (!type) throw new NtsFormatError(`unknown message type ${buf[3]}`);
    const flags = buf[4];
    const l = buf[5];
    const keyId = buf.toString('latin1', 6, 6 + l);
    if (!isValidKeyId(keyId)) throw new NtsFormatError('key id empty, over 64 octets or not printable ASCII');
    const bodyLen = buf.length >= 24 + l ? buf.readUInt16BE(22 + l) : -1;
    if (bodyLen < 0 || buf.length !== FIXED_OVERHEAD + l + bodyLen) {
      throw new NtsFormatError(`length ${buf.length} does not match the header`);
    }
    const tsBig = buf.readBigUInt64BE(6 + l);
    if (tsBig > BigInt(Number.MAX_SAFE_INTEGER)) throw new NtsFormatError('timestamp exceeds 2^53-1');
    const end = 24 + l + bodyLen;
    return {
      type, flags, keyId,
      timestamp: Number(tsBig),
      id: buf.toString('hex', 14 + l, 22 + l),
      body: buf.subarray(24 + l, end),
      macInput: buf.subarray(0, end),
      mac: buf.subarray(end, end + MAC_LENGTH),
    };
  });
}

/** The message a frame carries (TLV rules of section 3). */
export function decodeBody(frame: NtsFrame): NtsMessage {
  return guard(() => {
    const header = { keyId: frame.keyId, timestamp: frame.timestamp, id: frame.id, flags: frame.flags };
    return { ...header, ...decodeBodyOf(frame.type, frame.body, frame.keyId) } as NtsMessage;
  });
}

/** Parses a datagram without authenticating it (the verifier does that). */
export function decodeMessage(buf: Buffer): { msg: NtsMessage; macInput: Buffer; mac: Buffer } {
  const frame = decodeFrame(buf);
  return { msg: decodeBody(frame), macInput: frame.macInput, mac: frame.mac };
}

/** Encodes and signs. Throws NtsEncodeError on values that cannot be sent. */
export function encodeMessage(msg: NtsMessage, key: Buffer): Buffer {
  if (!isValidKeyId(msg.keyId)) throw new NtsEncodeError(`bad key id ${JSON.stringify(msg.keyId)}`);
  if (!/^[0-9a-fA-F]{16}$/.test(msg.id)) throw new NtsEncodeError(`message id must be 16 hex digits, got ${JSON.stringify(msg.id)}`);
  if (!Number.isSafeInteger(msg.timestamp) || msg.timestamp < 0) throw new NtsEncodeError(`bad timestamp ${msg.timestamp}`);
  const flags = msg.flags ?? 0;
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new NtsEncodeError(`bad flags ${flags}`);
  if (!Buffer.isBuffer(key) || key.length === 0) throw new NtsEncodeError('empty key');
  const body = encodeBodyOf(msg);
  if (body.length > 0xffff) throw new NtsEncodeError(`body of ${body.length} octets exceeds 65535`);
  const l = msg.keyId.length;
  const out = Buffer.alloc(FIXED_OVERHEAD + l + body.length);
  out.writeUInt16BE(NTS_MAGIC, 0);
  out[2] = NTS_VERSION;
  out[3] = MessageTypeCode[msg.type];
  out[4] = flags;
  out[5] = l;
  out.write(msg.keyId, 6, 'latin1');
  out.writeBigUInt64BE(BigInt(msg.timestamp), 6 + l);
  out.write(msg.id.toLowerCase(), 14 + l, 'hex');
  out.writeUInt16BE(body.length, 22 + l);
  body.copy(out, 24 + l);
  const end = 24 + l + body.length;
  computeMac(key, out.subarray(0, end)).copy(out, end);
  return out;
}

/** Anything but NtsFormatError thrown while decoding is a decoder bug; still report it as malformed. */
function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NtsFormatError) throw e;
    throw new NtsFormatError(`malformed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
