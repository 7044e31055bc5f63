// TLV bodies per message type (docs/protocol.md section 3). Senders write TLVs in table order;
// receivers accept any order, skip unknown non-critical TLVs and reject everything else odd.
import {
  AckStatusCode, ModeCode, NtsEncodeError, NtsFormatError, StatusCode, TLV_CRITICAL, Tlv,
  type AckStatus, type MessageType, type NtsMessage, type NtsMode, type NtsRegister, type NtsRegisterAck,
  type NtsRequest, type NtsResponse, type NtsStatus,
} from './messages.js';
import {
  addressBytes, decodeAddr, decodeAddrAt, decodeFqdn, decodeText, encodeAddr, encodeFqdn, encodeText, need,
  readU64, u16, u32, u8, writeU64,
} from './wire.js';

// Distributes over the union, so each message type keeps its own body field.
type Body = NtsMessage extends infer M ? (M extends NtsMessage ? Omit<M, 'keyId' | 'timestamp' | 'id' | 'flags'> : never) : never;
const MAX_REASON = 255;

const KNOWN: Record<MessageType, Set<number>> = {
  REQUEST: new Set([Tlv.FQDN, Tlv.QTYPE, Tlv.MODE, Tlv.TIME_LEFT, Tlv.RESOLVER, Tlv.CLIENT_SUBNET, Tlv.EN_ADDRESS, Tlv.LEASE]),
  RESPONSE: new Set([Tlv.STATUS, Tlv.ANSWER_ADDRESS, Tlv.RC_ID, Tlv.RC_LIFETIME, Tlv.RETRY_AFTER, Tlv.REASON]),
  REGISTER: new Set([Tlv.ROUTER_ID, Tlv.GLOBAL_ADDRESS, Tlv.SEQUENCE, Tlv.BOOT_ID, Tlv.KEEPALIVE_INTERVAL]),
  KEEPALIVE: new Set([Tlv.ROUTER_ID, Tlv.GLOBAL_ADDRESS, Tlv.SEQUENCE, Tlv.BOOT_ID, Tlv.KEEPALIVE_INTERVAL]),
  REGISTER_ACK: new Set([Tlv.STATUS, Tlv.SEQUENCE, Tlv.REASON]),
};

const STATUS_BY_CODE = invert(StatusCode);
const ACK_BY_CODE = invert(AckStatusCode);
const MODE_BY_CODE = invert(ModeCode);

// ------------------------------------------------------------------------------ decode

/** Known TLVs of a body: one value each, except GLOBAL_ADDRESS which may repeat. */
class Tlvs {
  private readonly m = new Map<number, Buffer[]>();
  constructor(type: MessageType, body: Buffer) {
    const known = KNOWN[type];
    let p = 0;
    while (p < body.length) {
      if (p + 4 > body.length) throw new NtsFormatError('truncated TLV header');
      const t = body.readUInt16BE(p);
      const len = body.readUInt16BE(p + 2);
      if (p + 4 + len > body.length) throw new NtsFormatError(`TLV 0x${t.toString(16)} runs past the body`);
      const v = body.subarray(p + 4, p + 4 + len);
      p += 4 + len;
      if (!known.has(t)) {
        if (t & TLV_CRITICAL) throw new NtsFormatError(`unknown critical TLV 0x${t.toString(16)}`);
        continue;
      }
      const list = this.m.get(t) ?? [];
      if (list.length > 0 && t !== Tlv.GLOBAL_ADDRESS) throw new NtsFormatError(`TLV 0x${t.toString(16)} repeated`);
      list.push(v);
      this.m.set(t, list);
    }
  }
  opt(t: number): Buffer | undefined { return this.m.get(t)?.[0]; }
  req(t: number): Buffer {
    const v = this.opt(t);
    if (!v) throw new NtsFormatError(`required TLV 0x${t.toString(16)} missing`);
    return v;
  }
  all(t: number): Buffer[] { return this.m.get(t) ?? []; }
  forbid(t: number, why: string): void {
    if (this.m.has(t)) throw new NtsFormatError(`TLV 0x${t.toString(16)} not allowed ${why}`);
  }
}

export function decodeBodyOf(type: MessageType, body: Buffer, keyId: string): Body {
  const t = new Tlvs(type, body);
  switch (type) {
    case 'REQUEST': return { type, request: decodeRequest(t) };
    case 'RESPONSE': return { type, response: decodeResponse(t) };
    case 'REGISTER':
    case 'KEEPALIVE': return { type, register: decodeRegister(t, keyId) };
    case 'REGISTER_ACK': return { type, ack: decodeAck(t) };
  }
}

function decodeRequest(t: Tlvs): NtsRequest {
  const mode = MODE_BY_CODE.get(need(t.req(Tlv.MODE), 1, 'MODE')[0]) as NtsMode | undefined;
  if (!mode) throw new NtsFormatError('unknown MODE');
  // RESOLVER is family, port, address: the address is read as family + octets after the port.
  const r = t.req(Tlv.RESOLVER);
  if (r.length < 3) throw new NtsFormatError('RESOLVER too short');
  const resolverAddr = decodeAddr(Buffer.concat([r.subarray(0, 1), r.subarray(3)]), 'RESOLVER');
  const req: NtsRequest = {
    fqdn: decodeFqdn(t.req(Tlv.FQDN)),
    qtype: need(t.req(Tlv.QTYPE), 2, 'QTYPE').readUInt16BE(0),
    mode,
    timeLeftMs: need(t.req(Tlv.TIME_LEFT), 4, 'TIME_LEFT').readUInt32BE(0),
    resolver: { address: resolverAddr, port: r.readUInt16BE(1) },
  };
  const cs = t.opt(Tlv.CLIENT_SUBNET);
  if (cs) req.clientSubnet = decodeSubnet(cs);
  if (mode === 'source') req.enAddress = decodeAddr(t.req(Tlv.EN_ADDRESS), 'EN_ADDRESS');
  else t.forbid(Tlv.EN_ADDRESS, `with MODE ${mode}`);
  if (mode === 'prefix' && !req.clientSubnet) throw new NtsFormatError('MODE prefix needs CLIENT_SUBNET');
  const lease = t.opt(Tlv.LEASE);
  if (lease) req.leaseMs = need(lease, 4, 'LEASE').readUInt32BE(0);
  return req;
}

function decodeSubnet(v: Buffer): { address: string; prefixLength: number } {
  const width = v[0] === 1 ? 4 : 16;
  need(v, 2 + width, 'CLIENT_SUBNET');
  const prefix = v[1];
  if (prefix > width * 8) throw new NtsFormatError('CLIENT_SUBNET prefix exceeds the address width');
  const a = decodeAddrAt(Buffer.concat([v.subarray(0, 1), v.subarray(2)]), 0, 'CLIENT_SUBNET');
  for (let bit = prefix; bit < width * 8; bit++) {
    if (a.bytes[bit >> 3] & (0x80 >> (bit & 7))) throw new NtsFormatError('CLIENT_SUBNET has bits set past the prefix');
  }
  return { address: a.address, prefixLength: prefix };
}

function decodeResponse(t: Tlvs): NtsResponse {
  // Unknown codes mean failure (section 3.3): a newer router's new status must not look like READY.
  const status: NtsStatus = (STATUS_BY_CODE.get(need(t.req(Tlv.STATUS), 1, 'STATUS')[0]) as NtsStatus) ?? 'INTERNAL';
  const res: NtsResponse = { status };
  if (status === 'READY') {
    res.answerAddress = decodeAddr(t.req(Tlv.ANSWER_ADDRESS), 'ANSWER_ADDRESS');
    res.rcId = readU64(need(t.req(Tlv.RC_ID), 8, 'RC_ID'), 0, 'RC_ID');
    res.rcLifetimeMs = need(t.req(Tlv.RC_LIFETIME), 4, 'RC_LIFETIME').readUInt32BE(0);
    t.forbid(Tlv.RETRY_AFTER, 'with READY');
    t.forbid(Tlv.REASON, 'with READY');
  } else {
    for (const x of [Tlv.ANSWER_ADDRESS, Tlv.RC_ID, Tlv.RC_LIFETIME]) t.forbid(x, `with ${status}`);
    const ra = t.opt(Tlv.RETRY_AFTER);
    if (ra) res.retryAfterMs = need(ra, 4, 'RETRY_AFTER').readUInt32BE(0);
    const reason = t.opt(Tlv.REASON);
    if (reason) res.reason = decodeText(reason, MAX_REASON, 'REASON');
  }
  return res;
}

function decodeRegister(t: Tlvs, keyId: string): NtsRegister {
  const routerId = decodeText(t.req(Tlv.ROUTER_ID), 64, 'ROUTER_ID');
  if (routerId !== keyId) throw new NtsFormatError('ROUTER_ID differs from the key id');
  const addrs = t.all(Tlv.GLOBAL_ADDRESS);
  if (addrs.length === 0) throw new NtsFormatError('no GLOBAL_ADDRESS');
  return {
    routerId,
    addresses: addrs.map((a) => decodeAddr(a, 'GLOBAL_ADDRESS')),
    sequence: readU64(need(t.req(Tlv.SEQUENCE), 8, 'SEQUENCE'), 0, 'SEQUENCE'),
    bootId: readU64(need(t.req(Tlv.BOOT_ID), 8, 'BOOT_ID'), 0, 'BOOT_ID'),
    keepaliveIntervalMs: need(t.req(Tlv.KEEPALIVE_INTERVAL), 4, 'KEEPALIVE_INTERVAL').readUInt32BE(0),
  };
}

function decodeAck(t: Tlvs): NtsRegisterAck {
  const status: AckStatus = (ACK_BY_CODE.get(need(t.req(Tlv.STATUS), 1, 'STATUS')[0]) as AckStatus) ?? 'REJECTED';
  const ack: NtsRegisterAck = { status, sequence: readU64(need(t.req(Tlv.SEQUENCE), 8, 'SEQUENCE'), 0, 'SEQUENCE') };
  const reason = t.opt(Tlv.REASON);
  if (reason) ack.reason = decodeText(reason, MAX_REASON, 'REASON');
  return ack;
}

// ------------------------------------------------------------------------------ encode

export function encodeBodyOf(msg: NtsMessage): Buffer {
  const out: Buffer[] = [];
  const put = (t: number, v: Buffer) => {
    if (v.length > 0xffff) throw new NtsEncodeError(`TLV 0x${t.toString(16)} too long`);
    out.push(u16(t, 'TLV type'), u16(v.length, 'TLV length'), v);
  };
  switch (msg.type) {
    case 'REQUEST': {
      const r = msg.request;
      put(Tlv.FQDN, encodeFqdn(r.fqdn));
      put(Tlv.QTYPE, u16(r.qtype, 'qtype'));
      if (!Object.hasOwn(ModeCode, r.mode)) throw new NtsEncodeError(`unknown mode ${String(r.mode)}`);
      put(Tlv.MODE, Buffer.of(ModeCode[r.mode]));
      put(Tlv.TIME_LEFT, u32(r.timeLeftMs, 'timeLeftMs'));
      const ra = encodeAddr(r.resolver.address);
      put(Tlv.RESOLVER, Buffer.concat([ra.subarray(0, 1), u16(r.resolver.port, 'resolver port'), ra.subarray(1)]));
      if (r.clientSubnet) put(Tlv.CLIENT_SUBNET, encodeSubnet(r.clientSubnet));
      if ((r.mode === 'source') !== (r.enAddress !== undefined)) throw new NtsEncodeError('enAddress is required with mode source and only then');
      if (r.enAddress !== undefined) put(Tlv.EN_ADDRESS, encodeAddr(r.enAddress));
      if (r.mode === 'prefix' && !r.clientSubnet) throw new NtsEncodeError('mode prefix needs clientSubnet');
      // Sent only when non-zero: LEASE is critical, and a lease of 0 asks nothing of the router.
      if (r.leaseMs !== undefined && r.leaseMs > 0) put(Tlv.LEASE, u32(r.leaseMs, 'leaseMs'));
      break;
    }
    case 'RESPONSE': {
      const r = msg.response;
      if (!Object.hasOwn(StatusCode, r.status)) throw new NtsEncodeError(`unknown status ${String(r.status)}`);
      put(Tlv.STATUS, Buffer.of(StatusCode[r.status]));
      const ready = r.status === 'READY';
      const readyParts = [r.answerAddress, r.rcId, r.rcLifetimeMs].filter((x) => x !== undefined).length;
      if (ready ? readyParts !== 3 : readyParts !== 0) throw new NtsEncodeError('answerAddress, rcId, rcLifetimeMs go with READY, and only with it');
      if (ready && (r.retryAfterMs !== undefined || r.reason !== undefined)) throw new NtsEncodeError('retryAfterMs/reason not allowed with READY');
      if (ready) {
        put(Tlv.ANSWER_ADDRESS, encodeAddr(r.answerAddress!));
        put(Tlv.RC_ID, writeU64(r.rcId!, 'rcId'));
        put(Tlv.RC_LIFETIME, u32(r.rcLifetimeMs!, 'rcLifetimeMs'));
      }
      if (r.retryAfterMs !== undefined) put(Tlv.RETRY_AFTER, u32(r.retryAfterMs, 'retryAfterMs'));
      if (r.reason !== undefined) put(Tlv.REASON, encodeText(r.reason, MAX_REASON, 'reason'));
      break;
    }
    case 'REGISTER':
    case 'KEEPALIVE': {
      const r = msg.register;
      if (r.routerId !== msg.keyId) throw new NtsEncodeError('routerId must equal the key id');
      if (r.addresses.length === 0) throw new NtsEncodeError('at least one global address expected');
      put(Tlv.ROUTER_ID, encodeText(r.routerId, 64, 'routerId'));
      for (const a of r.addresses) put(Tlv.GLOBAL_ADDRESS, encodeAddr(a));
      put(Tlv.SEQUENCE, writeU64(r.sequence, 'sequence'));
      put(Tlv.BOOT_ID, writeU64(r.bootId, 'bootId'));
      put(Tlv.KEEPALIVE_INTERVAL, u32(r.keepaliveIntervalMs, 'keepaliveIntervalMs'));
      break;
    }
    case 'REGISTER_ACK': {
      const a = msg.ack;
      if (!Object.hasOwn(AckStatusCode, a.status)) throw new NtsEncodeError(`unknown ack status ${String(a.status)}`);
      put(Tlv.STATUS, Buffer.of(AckStatusCode[a.status]));
      put(Tlv.SEQUENCE, writeU64(a.sequence, 'sequence'));
      if (a.reason !== undefined) put(Tlv.REASON, encodeText(a.reason, MAX_REASON, 'reason'));
      break;
    }
    default:
      throw new NtsEncodeError(`unknown message type ${String((msg as { type: unknown }).type)}`);
  }
  return Buffer.concat(out);
}

function encodeSubnet(s: { address: string; prefixLength: number }): Buffer {
  const { family, bytes } = addressBytes(s.address);
  const p = u8(s.prefixLength, 'prefixLength')[0];
  if (p > bytes.length * 8) throw new NtsEncodeError(`prefix /${p} exceeds the address width`);
  const masked = Buffer.from(bytes);
  // Bits past the prefix are cleared, as in ECS: the router must not learn more than the resolver sent.
  for (let bit = p; bit < masked.length * 8; bit++) masked[bit >> 3] &= ~(0x80 >> (bit & 7));
  return Buffer.concat([Buffer.of(family, p), masked]);
}

function invert<K extends string>(o: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(o).map(([k, v]) => [v as number, k as K]));
}
