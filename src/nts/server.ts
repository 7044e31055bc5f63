// The router's side of the protocol, sans-I/O (docs/protocol.md 5.2 and 6): turns datagrams
// into new requests exactly once, answers retransmissions of answered requests with the cached
// bytes, and builds RESPONSEs and REGISTER/KEEPALIVEs. Time is always an argument.
import { randomMessageId } from './message-id.js';
import { NtsVerifier, type KeyLookup, type VerifierCounters } from './auth.js';
import { encodeMessage } from './codec.js';
import {
  DEFAULT_WINDOW_MS, FIXED_OVERHEAD, MessageTypeCode, NtsEncodeError, type NtsRegister, type NtsRegisterAck, type NtsRequest, type NtsResponse,
  type VerifyFailure,
} from './messages.js';

export interface NtsServerOptions {
  keys: KeyLookup;
  windowMs?: number;
  maxReplayEntriesPerKey?: number;
  /** Request table bound (all keys); the oldest entries go first, which is safe (see evict). */
  maxEntries?: number;
  /** Copies of one cached RESPONSE sent on retransmissions (bounds reflection; default 16). */
  maxResends?: number;
  /** 16 hex digits for REGISTER/KEEPALIVE ids; default from the CSPRNG. */
  randomId?: () => string;
}

export interface Peer {
  address: string;
  port: number;
}

export interface IncomingRequest {
  /** Handle for respond(): key id and message id. */
  requestId: string;
  keyId: string;
  id: string;
  /** Sender's clock. */
  timestamp: number;
  /** Router clock, first receipt. */
  receivedAt: number;
  /** Router clock: receivedAt + TIME_LEFT (docs/protocol.md 5.3). */
  deadlineMs: number;
  from: Peer;
  request: NtsRequest;
}

export type ServerDrop = VerifyFailure | 'unexpected-type' | 'resend-limit' | 'unmatched';

export type ServerEvent =
  | { kind: 'new-request'; request: IncomingRequest }
  | { kind: 'resend'; requestId: string; datagram: Buffer }
  | { kind: 'duplicate-pending'; requestId: string }
  | { kind: 'register-ack'; keyId: string; id: string; ack: NtsRegisterAck }
  | { kind: 'dropped'; reason: ServerDrop };

interface Entry {
  timestamp: number;
  /** The request as first received: a retransmission is this, byte for byte. */
  datagram: Buffer;
  from: Peer;
  response?: Buffer;
  resends: number;
}

export interface ServerCounters {
  /** Every datagram given to receive(): the sum of the other receive outcomes and the verifier's drops. */
  received: number;
  'new-request': number; 'duplicate-pending': number; resend: number; responses: number; 'late-respond': number;
  'register-ack': number; 'unexpected-type': number; 'resend-limit': number; unmatched: number;
}

export class NtsServerCore {
  readonly verifier: NtsVerifier;
  readonly counters: ServerCounters = {
    received: 0, 'new-request': 0, 'duplicate-pending': 0, resend: 0, responses: 0, 'late-respond': 0,
    'register-ack': 0, 'unexpected-type': 0, 'resend-limit': 0, unmatched: 0,
  };
  private readonly table = new Map<string, Entry>(); // insertion order = arrival order
  private readonly announced = new Map<string, number>(); // "keyId id" of our REGISTER/KEEPALIVE -> timestamp
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly maxResends: number;
  private readonly randomId: () => string;
  private lastSweep = -Infinity;

  constructor(private readonly opts: NtsServerOptions) {
    this.windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
    this.verifier = new NtsVerifier(opts.keys, { windowMs: this.windowMs, maxEntriesPerKey: opts.maxReplayEntriesPerKey });
    this.maxEntries = opts.maxEntries ?? 65_536;
    this.maxResends = opts.maxResends ?? 16;
    this.randomId = opts.randomId ?? (() => randomMessageId());
  }

  receive(nowMs: number, buf: Buffer, from: Peer): ServerEvent {
    this.counters.received++;
    this.sweep(nowMs);
    const copy = this.tableCopy(buf, nowMs);
    if (copy) return this.retransmitted(copy.requestId, copy.entry, from);
    const a = this.verifier.authenticate(buf, nowMs);
    if (!a.ok) return { kind: 'dropped', reason: a.reason };
    const msg = a.msg;
    if (msg.type === 'REGISTER_ACK') {
      const refused = this.verifier.admit(msg.keyId, msg.id, msg.timestamp, nowMs);
      if (refused) return { kind: 'dropped', reason: refused };
      if (!this.announced.delete(requestIdOf(msg.keyId, msg.id))) return this.drop('unmatched');
      this.counters['register-ack']++;
      return { kind: 'register-ack', keyId: msg.keyId, id: msg.id, ack: msg.ack };
    }
    // RESPONSE, REGISTER and KEEPALIVE travel to the server only: a reflected datagram ends here.
    if (msg.type !== 'REQUEST') return this.drop('unexpected-type');

    const requestId = requestIdOf(msg.keyId, msg.id);
    const e = this.table.get(requestId);
    if (e) {
      // Same id, other bytes: not a retransmission (which is byte-identical) but a reuse.
      if (!e.datagram.equals(buf)) {
        this.verifier.count('replay');
        return { kind: 'dropped', reason: 'replay' };
      }
      return this.retransmitted(requestId, e, from);
    }
    // Unknown to the table: the replay cache decides (it outlives evicted table entries).
    const refused = this.verifier.admit(msg.keyId, msg.id, msg.timestamp, nowMs);
    if (refused) return { kind: 'dropped', reason: refused };
    this.table.set(requestId, { timestamp: msg.timestamp, datagram: Buffer.from(buf), from, resends: 0 });
    this.evict();
    this.counters['new-request']++;
    return {
      kind: 'new-request',
      request: {
        requestId, keyId: msg.keyId, id: msg.id, timestamp: msg.timestamp, receivedAt: nowMs,
        deadlineMs: nowMs + msg.request.timeLeftMs, from, request: msg.request,
      },
    };
  }

  /**
   * The RESPONSE for a request, to send to peer(requestId). It is cached for retransmissions.
   * A second respond() for the same request returns the first answer unchanged: the client may
   * already hold it, and two different answers to one id must never exist.
   */
  respond(nowMs: number, requestId: string, response: NtsResponse): Buffer {
    const { keyId, id } = parseRequestId(requestId);
    const e = this.table.get(requestId);
    if (e?.response) return e.response;
    const datagram = encodeMessage({ type: 'RESPONSE', keyId, timestamp: nowMs, id, response }, this.key(keyId));
    this.counters.responses++;
    if (e) e.response = datagram;
    else this.counters['late-respond']++; // entry expired or evicted: any retransmission is refused anyway
    return datagram;
  }

  /** Where the latest copy of a request came from. */
  peer(requestId: string): Peer | undefined {
    return this.table.get(requestId)?.from;
  }

  /** A REGISTER or KEEPALIVE to send; its REGISTER_ACK comes back through receive(). */
  announce(nowMs: number, type: 'REGISTER' | 'KEEPALIVE', register: NtsRegister): { id: string; datagram: Buffer } {
    const keyId = register.routerId;
    const id = this.randomId();
    const datagram = encodeMessage({ type, keyId, timestamp: nowMs, id, register }, this.key(keyId));
    this.announced.set(requestIdOf(keyId, id), nowMs);
    return { id, datagram };
  }

  get size(): number {
    return this.table.size;
  }

  allCounters(): ServerCounters & VerifierCounters {
    return { ...this.counters, ...this.verifier.counters };
  }

  /**
   * A byte-identical copy of a request in the table, still inside the window. Its first copy
   * passed steps 1-6 and 8 (they depend on the bytes only), so only step 7 is checked again;
   * a replay flood then costs no HMAC and no body decode (docs/benchmarks.md: 8 us -> 1.2 us in the core).
   * Anything else takes the full path, with the same outcome as without this shortcut.
   */
  private tableCopy(buf: Buffer, nowMs: number): { requestId: string; entry: Entry } | undefined {
    if (buf.length < FIXED_OVERHEAD + 1 || buf[3] !== MessageTypeCode.REQUEST) return undefined;
    const l = buf[5];
    if (buf.length < 24 + l) return undefined;
    const keyId = buf.toString('latin1', 6, 6 + l);
    const requestId = requestIdOf(keyId, buf.toString('hex', 14 + l, 22 + l));
    const entry = this.table.get(requestId);
    if (!entry || !entry.datagram.equals(buf) || !this.verifier.fresh(keyId, entry.timestamp, nowMs)) return undefined;
    return { requestId, entry };
  }

  /** A retransmission of a known request (5.2): nothing while pending, else the cached RESPONSE, a bounded number of times. */
  private retransmitted(requestId: string, e: Entry, from: Peer): ServerEvent {
    e.from = from; // answer where the latest copy came from
    if (!e.response) {
      this.counters['duplicate-pending']++;
      return { kind: 'duplicate-pending', requestId };
    }
    if (e.resends >= this.maxResends) return this.drop('resend-limit');
    e.resends++;
    this.counters.resend++;
    return { kind: 'resend', requestId, datagram: e.response };
  }

  private drop(reason: 'unexpected-type' | 'resend-limit' | 'unmatched'): ServerEvent {
    this.counters[reason]++;
    return { kind: 'dropped', reason };
  }

  private key(keyId: string): Buffer {
    const k = this.opts.keys(keyId);
    if (!k) throw new NtsEncodeError(`no key configured for key id ${JSON.stringify(keyId)}`);
    return k;
  }

  /**
   * Oldest entries first. Safe: a later copy of an evicted request meets the replay cache
   * (dropped as replay) or its floor (stale); it never becomes a new request.
   */
  private evict(): void {
    for (const k of this.table.keys()) {
      if (this.table.size <= this.maxEntries) break;
      this.table.delete(k);
    }
  }

  /** Entries live until timestamp + window, when every copy is stale (5.2); swept once a second. */
  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweep < 1000) return;
    this.lastSweep = nowMs;
    for (const [k, e] of this.table) if (e.timestamp + this.windowMs < nowMs) this.table.delete(k);
    for (const [k, ts] of this.announced) if (ts + this.windowMs < nowMs) this.announced.delete(k);
  }
}

/** Key ids are printable ASCII without spaces, so a space separates them from the hex id. */
export function requestIdOf(keyId: string, id: string): string {
  return `${keyId} ${id}`;
}

export function parseRequestId(requestId: string): { keyId: string; id: string } {
  const i = requestId.lastIndexOf(' ');
  if (i <= 0) throw new NtsEncodeError(`not a request id: ${JSON.stringify(requestId)}`);
  return { keyId: requestId.slice(0, i), id: requestId.slice(i + 1) };
}
