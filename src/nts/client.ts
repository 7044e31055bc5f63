// The NTSv2 server's side of the protocol, sans-I/O (docs/protocol.md 5.1 and 6): builds
// REQUESTs, says when to retransmit the same bytes and when a request has failed, matches
// RESPONSEs to pending ids, and reads REGISTER/KEEPALIVE. Time is always an argument.
import { randomMessageId } from './message-id.js';
import { NtsVerifier, type KeyLookup, type VerifierCounters } from './auth.js';
import { encodeMessage } from './codec.js';
import {
  DEFAULT_WINDOW_MS, NtsEncodeError, type AckStatus, type NtsMessage, type NtsRequest, type NtsResponse,
  type VerifyFailure,
} from './messages.js';

export interface NtsClientOptions {
  keys: KeyLookup;
  windowMs?: number;
  /** First retransmission after this many ms (default 200); the interval doubles ... */
  initialRtoMs?: number;
  /** ... up to this (default 1000): bounds the cost of a lost final RESPONSE. */
  maxRtoMs?: number;
  maxReplayEntriesPerKey?: number;
  /** 16 hex digits; default 8 octets from the CSPRNG. Injected by tests only. */
  randomId?: () => string;
}

export type NtsRequestParams = Omit<NtsRequest, 'timeLeftMs'> & {
  /** The router's key id (its router id). */
  keyId: string;
  /** Absolute, same clock as nowMs: no retransmission at or after it; poll() fails the request then. */
  deadlineMs: number;
  /** Reported to the router; default deadlineMs - nowMs (subtract the one-way delay if known). */
  timeLeftMs?: number;
  /**
   * The message id (16 hex digits), when the caller logs it before sending (the server's
   * request id, docs/operations.md); default a fresh random one. Refused if already pending.
   */
  id?: string;
};

export type ClientDrop = VerifyFailure | 'unmatched' | 'wrong-router' | 'unexpected-type';

export type ClientEvent =
  | { kind: 'response'; id: string; keyId: string; response: NtsResponse; timestamp: number }
  /** current=false: older than an announcement already seen from that router; acknowledge, ignore. */
  | { kind: 'register'; msg: Extract<NtsMessage, { type: 'REGISTER' | 'KEEPALIVE' }>; current: boolean }
  | { kind: 'dropped'; reason: ClientDrop };

export interface PollResult {
  resend: { id: string; keyId: string; datagram: Buffer }[];
  failed: { id: string; keyId: string }[];
}

interface Pending {
  keyId: string;
  datagram: Buffer;
  deadline: number;
  /** Next retransmission; Infinity when the next one would be at or after the deadline. */
  nextSend: number;
  rto: number;
}

export interface ClientCounters {
  sent: number; resent: number; responses: number; failed: number; registers: number;
  unmatched: number; 'wrong-router': number; 'unexpected-type': number;
}

export class NtsClientCore {
  readonly verifier: NtsVerifier;
  readonly counters: ClientCounters = {
    sent: 0, resent: 0, responses: 0, failed: 0, registers: 0, unmatched: 0, 'wrong-router': 0, 'unexpected-type': 0,
  };
  private readonly pending = new Map<string, Pending>();
  private readonly announcements = new Map<string, { bootId: number; sequence: number }>();
  private readonly initialRto: number;
  private readonly maxRto: number;
  private readonly randomId: () => string;

  constructor(private readonly opts: NtsClientOptions) {
    this.verifier = new NtsVerifier(opts.keys, { windowMs: opts.windowMs ?? DEFAULT_WINDOW_MS, maxEntriesPerKey: opts.maxReplayEntriesPerKey });
    this.initialRto = opts.initialRtoMs ?? 200;
    this.maxRto = opts.maxRtoMs ?? 1000;
    if (!(this.initialRto > 0 && this.maxRto >= this.initialRto)) throw new RangeError('need 0 < initialRtoMs <= maxRtoMs');
    this.randomId = opts.randomId ?? (() => randomMessageId());
  }

  /** A new REQUEST to send now. Throws NtsEncodeError on bad parameters or an unknown key id. */
  request(nowMs: number, params: NtsRequestParams): { id: string; datagram: Buffer } {
    const { keyId, deadlineMs, timeLeftMs, id: chosen, ...fields } = params;
    if (!(deadlineMs > nowMs)) throw new NtsEncodeError(`deadline ${deadlineMs} is not after now ${nowMs}`);
    if (chosen !== undefined && !/^[0-9a-f]{16}$/.test(chosen)) throw new NtsEncodeError(`message id ${JSON.stringify(chosen)} is not 16 lower-case hex digits`);
    if (chosen !== undefined && this.pending.has(chosen)) throw new NtsEncodeError(`message id ${chosen} is already pending`);
    // The same bytes are resent, so they must stay inside the router's window (5.1 item 5).
    const deadline = Math.min(deadlineMs, nowMs + this.verifier.windowMs);
    const id = chosen ?? this.freshId();
    const request: NtsRequest = { ...fields, timeLeftMs: Math.round(timeLeftMs ?? deadline - nowMs) };
    const datagram = encodeMessage({ type: 'REQUEST', keyId, timestamp: nowMs, id, request }, this.key(keyId));
    const first = nowMs + this.initialRto;
    this.pending.set(id, { keyId, datagram, deadline, nextSend: first < deadline ? first : Infinity, rto: this.initialRto });
    this.counters.sent++;
    return { id, datagram };
  }

  /** Retransmissions due and requests whose deadline has come (removed; late answers are dropped). */
  poll(nowMs: number): PollResult {
    const out: PollResult = { resend: [], failed: [] };
    for (const [id, p] of this.pending) {
      if (nowMs >= p.deadline) {
        this.pending.delete(id);
        this.counters.failed++;
        out.failed.push({ id, keyId: p.keyId });
      } else if (nowMs >= p.nextSend) {
        out.resend.push({ id, keyId: p.keyId, datagram: p.datagram });
        this.counters.resent++;
        p.rto = Math.min(p.rto * 2, this.maxRto);
        // From the actual send time: a late timer delays the schedule rather than bunching sends.
        const next = nowMs + p.rto;
        p.nextSend = next < p.deadline ? next : Infinity;
      }
    }
    return out;
  }

  /** When poll() next has something to do, or undefined when nothing is pending. */
  nextTimeout(): number | undefined {
    let t: number | undefined;
    for (const p of this.pending.values()) {
      const due = Math.min(p.nextSend, p.deadline);
      if (t === undefined || due < t) t = due;
    }
    return t;
  }

  /** Gives up a request without a failure count (e.g. the DNS query went away). */
  cancel(id: string): boolean {
    return this.pending.delete(id);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  receive(nowMs: number, buf: Buffer): ClientEvent {
    const v = this.verifier.authenticate(buf, nowMs);
    if (!v.ok) return { kind: 'dropped', reason: v.reason };
    const msg = v.msg;
    // The type before the replay cache (docs/protocol.md 4, step 8 before 9): a reflected copy of
    // our own REQUEST is authentic and carries a pending request's id; recorded, it would turn
    // the router's genuine RESPONSE into a "replay", so one datagram could fail any request.
    if (msg.type === 'REQUEST' || msg.type === 'REGISTER_ACK') return this.drop('unexpected-type');
    const refused = this.verifier.admit(msg.keyId, msg.id, msg.timestamp, nowMs);
    if (refused) return { kind: 'dropped', reason: refused };
    switch (msg.type) {
      case 'RESPONSE': {
        const p = this.pending.get(msg.id);
        if (!p) return this.drop('unmatched');
        // Only the router the request went to may answer it (docs/protocol.md 5.1 item 4).
        if (p.keyId !== msg.keyId) return this.drop('wrong-router');
        this.pending.delete(msg.id);
        this.counters.responses++;
        return { kind: 'response', id: msg.id, keyId: msg.keyId, response: msg.response, timestamp: msg.timestamp };
      }
      case 'REGISTER':
      case 'KEEPALIVE': {
        this.counters.registers++;
        const r = msg.register;
        const last = this.announcements.get(msg.keyId);
        const current = !last || r.bootId > last.bootId || (r.bootId === last.bootId && r.sequence >= last.sequence);
        if (current) this.announcements.set(msg.keyId, { bootId: r.bootId, sequence: r.sequence });
        return { kind: 'register', msg, current };
      }
    }
  }

  /** The REGISTER_ACK for a received REGISTER/KEEPALIVE (same message id, sequence echoed). */
  acknowledge(nowMs: number, msg: { keyId: string; id: string; register: { sequence: number } }, status: AckStatus = 'ACCEPTED', reason?: string): Buffer {
    const ack = { status, sequence: msg.register.sequence, ...(reason !== undefined ? { reason } : {}) };
    return encodeMessage({ type: 'REGISTER_ACK', keyId: msg.keyId, timestamp: nowMs, id: msg.id, ack }, this.key(msg.keyId));
  }

  allCounters(): ClientCounters & VerifierCounters {
    return { ...this.counters, ...this.verifier.counters };
  }

  private drop(reason: 'unmatched' | 'wrong-router' | 'unexpected-type'): ClientEvent {
    this.counters[reason]++;
    return { kind: 'dropped', reason };
  }

  private key(keyId: string): Buffer {
    const k = this.opts.keys(keyId);
    if (!k) throw new NtsEncodeError(`no key configured for key id ${JSON.stringify(keyId)}`);
    return k;
  }

  private freshId(): string {
    for (;;) {
      const id = this.randomId();
      if (!this.pending.has(id)) return id;
    }
  }
}
