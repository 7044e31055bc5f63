// NTS protocol version 1: message model and wire numbers (docs/protocol.md). No logic here.
import { NtssError } from '../util/errors.js';

export const NTS_MAGIC = 0x4e54; // "NT"
export const NTS_VERSION = 1;
export const MAC_LENGTH = 32;
export const MAX_KEY_ID_LENGTH = 64;
/** Fixed octets of a message besides key id and body: 24 header + 32 MAC. */
export const FIXED_OVERHEAD = 56;
export const DEFAULT_WINDOW_MS = 30_000;

export const MessageTypeCode = { REQUEST: 1, RESPONSE: 2, REGISTER: 3, KEEPALIVE: 4, REGISTER_ACK: 5 } as const;
export type MessageType = keyof typeof MessageTypeCode;

export const Tlv = {
  FQDN: 0x0001,
  QTYPE: 0x0002,
  MODE: 0x0003,
  TIME_LEFT: 0x0004,
  RESOLVER: 0x0005,
  CLIENT_SUBNET: 0x0006,
  EN_ADDRESS: 0x0007,
  /** Critical: a router that cannot keep an answer lease must not create the RC. */
  LEASE: 0x8008,
  STATUS: 0x0010,
  ANSWER_ADDRESS: 0x0011,
  RC_ID: 0x0012,
  RC_LIFETIME: 0x0013,
  RETRY_AFTER: 0x0014,
  REASON: 0x0015,
  ROUTER_ID: 0x0020,
  GLOBAL_ADDRESS: 0x0021,
  SEQUENCE: 0x0022,
  BOOT_ID: 0x0023,
  KEEPALIVE_INTERVAL: 0x0024,
} as const;
/** Bit 15 of a TLV type: an unknown TLV with it set makes the message malformed. */
export const TLV_CRITICAL = 0x8000;

export const StatusCode = {
  READY: 0, UNKNOWN_HOST: 1, QUEUE_FULL: 2, TOO_LATE: 3, DENIED: 4, BUSY: 5, INTERNAL: 6, UNSUPPORTED: 7,
} as const;
export type NtsStatus = keyof typeof StatusCode;

export const AckStatusCode = { ACCEPTED: 0, REJECTED: 1 } as const;
export type AckStatus = keyof typeof AckStatusCode;

export const ModeCode = { any: 0, source: 1, prefix: 2 } as const;
/**
 * `any`: NTSSv2 RC for whichever source comes first; `source`: NTSS v1 RC for enAddress only;
 * `prefix`: NTSSv2 RC for sources inside clientSubnet only (a resolver whose ECS the server trusts).
 */
export type NtsMode = keyof typeof ModeCode;

/** REQUEST body. Addresses are IPv4/IPv6 text; fqdn is canonical presentation form ("alice.home.example."). */
export interface NtsRequest {
  fqdn: string;
  qtype: number;
  mode: NtsMode;
  /** ms the client will still wait, measured at the header timestamp. */
  timeLeftMs: number;
  resolver: { address: string; port: number };
  clientSubnet?: { address: string; prefixLength: number };
  enAddress?: string;
  /**
   * ms after the answer leaves the server during which caches downstream (the resolver's TTL
   * floor, the EN's own cache) may still hand it out: the router keeps the address bound to this
   * name that long. Absent: 0 (the answer is used once, at TTL 0).
   */
  leaseMs?: number;
}

/** RESPONSE body. answerAddress, rcId and rcLifetimeMs are present exactly when status is READY. */
export interface NtsResponse {
  status: NtsStatus;
  answerAddress?: string;
  rcId?: number;
  /** ms the RC stays open, counted from the response's header timestamp (router clock). */
  rcLifetimeMs?: number;
  retryAfterMs?: number;
  reason?: string;
}

/** REGISTER and KEEPALIVE body. */
export interface NtsRegister {
  routerId: string;
  addresses: string[];
  sequence: number;
  bootId: number;
  keepaliveIntervalMs: number;
}

export interface NtsRegisterAck {
  status: AckStatus;
  sequence: number;
  reason?: string;
}

export interface NtsHeader {
  keyId: string;
  /** ms since the epoch, sender's clock. */
  timestamp: number;
  /** 8 octets as 16 lowercase hex digits. */
  id: string;
  /** Header flags octet; none defined in version 1 (default 0). */
  flags?: number;
}

export type NtsMessage =
  | (NtsHeader & { type: 'REQUEST'; request: NtsRequest })
  | (NtsHeader & { type: 'RESPONSE'; response: NtsResponse })
  | (NtsHeader & { type: 'REGISTER' | 'KEEPALIVE'; register: NtsRegister })
  | (NtsHeader & { type: 'REGISTER_ACK'; ack: NtsRegisterAck });

export type NtsRequestMessage = Extract<NtsMessage, { type: 'REQUEST' }>;
export type NtsResponseMessage = Extract<NtsMessage, { type: 'RESPONSE' }>;

/** Why a received datagram was dropped by the verifier (docs/protocol.md section 4). */
export type VerifyFailure = 'malformed' | 'unknown-key' | 'bad-mac' | 'stale' | 'replay' | 'bad-version';

/** Thrown by decode on any input that is not a well-formed version-1 message; nothing else escapes. */
export class NtsFormatError extends NtssError {
  constructor(message: string, readonly reason: 'malformed' | 'bad-version' = 'malformed') {
    // No stack trace: a peer's bad datagram is routine (a flood of them is an attack), capturing
    // one cost more than all the checks together (issue 8 fuzz: ~6 us of ~7 per datagram), and
    // the message already says what was wrong with the input.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('NTS_FORMAT', message);
    Error.stackTraceLimit = limit;
    this.name = 'NtsFormatError';
  }
}

/** Thrown by encode on values that cannot be put on the wire (a local bug, not a peer's). */
export class NtsEncodeError extends NtssError {
  constructor(message: string) {
    super('NTS_ENCODE', message);
    this.name = 'NtsEncodeError';
  }
}

export function isValidKeyId(s: string): boolean {
  return /^[\x21-\x7e]{1,64}$/.test(s);
}
