// Receive-side checks of docs/protocol.md section 4, steps 1-7 and 9 (step 8, the message type,
// belongs to the caller, who knows its role, and comes before admit()). The clock is an
// argument; keys come from a lookup function so that configuration reloads need no new verifier.
import { timingSafeEqual } from 'node:crypto';
import { computeMac, decodeBody, decodeFrame, type NtsFrame } from './codec.js';
import { DEFAULT_WINDOW_MS, NtsFormatError, type NtsMessage, type VerifyFailure } from './messages.js';
import { ReplayCache } from './replay-cache.js';

export type KeyLookup = (keyId: string) => Buffer | undefined;

export interface VerifierOptions {
  /** Accepted |now - timestamp|, ms, inclusive. */
  windowMs?: number;
  /** Replay cache bound per key id. */
  maxEntriesPerKey?: number;
}

export type VerifyResult =
  | { ok: true; msg: NtsMessage; mac: Buffer }
  | { ok: false; reason: VerifyFailure };

export type VerifierCounters = Record<VerifyFailure | 'ok', number>;

export class NtsVerifier {
  readonly windowMs: number;
  readonly counters: VerifierCounters = {
    ok: 0, malformed: 0, 'unknown-key': 0, 'bad-mac': 0, stale: 0, replay: 0, 'bad-version': 0,
  };
  private readonly maxEntries: number;
  private readonly caches = new Map<string, ReplayCache>();
  private lastSweep = -Infinity;

  constructor(private readonly keys: KeyLookup, opts: VerifierOptions = {}) {
    this.windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
    this.maxEntries = opts.maxEntriesPerKey ?? 65_536;
    if (!(this.windowMs > 0)) throw new RangeError('windowMs must be positive');
    if (!(this.maxEntries >= 1)) throw new RangeError('maxEntriesPerKey must be at least 1');
  }

  /** Steps 1-7 and 9 (no type check): a message that passes is recorded, so the same datagram never passes twice. */
  verify(buf: Buffer, nowMs: number): VerifyResult {
    const r = this.authenticate(buf, nowMs);
    if (!r.ok) return r;
    const refused = this.admit(r.msg.keyId, r.msg.id, r.msg.timestamp, nowMs);
    if (refused) return { ok: false, reason: refused };
    this.counters.ok++;
    return r;
  }

  /**
   * Steps 1-7 without touching the replay cache: for a receiver (the router) that must tell a
   * retransmission of a request it knows from a replay before it calls admit(). Failures are counted.
   */
  authenticate(buf: Buffer, nowMs: number): VerifyResult {
    let frame: NtsFrame;
    try {
      frame = decodeFrame(buf);
    } catch (e) {
      return this.fail(e instanceof NtsFormatError ? e.reason : 'malformed');
    }
    const key = this.keys(frame.keyId);
    if (!key) return this.fail('unknown-key');
    const expected = computeMac(key, frame.macInput);
    if (!timingSafeEqual(expected, frame.mac)) return this.fail('bad-mac');
    let msg: NtsMessage;
    try {
      msg = decodeBody(frame);
    } catch {
      return this.fail('malformed');
    }
    if (!this.fresh(msg.keyId, msg.timestamp, nowMs)) return this.fail('stale');
    return { ok: true, msg, mac: Buffer.from(frame.mac) };
  }

  /** Step 7: inside the window, and above the key's floor (a window edge too: bounded replay cache). */
  fresh(keyId: string, timestamp: number, nowMs: number): boolean {
    // Written as !(<=) so that a NaN clock fails closed.
    if (!(Math.abs(nowMs - timestamp) <= this.windowMs)) return false;
    return timestamp > (this.caches.get(keyId)?.floor ?? -Infinity);
  }

  /** Step 9 for an authenticated message of a type this role receives: records (keyId, id); returns why it is refused, if it is. */
  admit(keyId: string, id: string, timestamp: number, nowMs: number): 'replay' | 'stale' | null {
    this.sweep(nowMs);
    let c = this.caches.get(keyId);
    if (!c) {
      c = new ReplayCache(this.windowMs, this.maxEntries);
      this.caches.set(keyId, c);
    }
    const refused = c.admit(id, timestamp, nowMs);
    if (refused) this.counters[refused]++;
    return refused;
  }

  /** Counts a drop decided by the caller (e.g. a request id reused with another MAC). */
  count(reason: VerifyFailure): void {
    this.counters[reason]++;
  }

  /** Replay entries held, all keys (for metrics and tests). */
  get replayEntries(): number {
    let n = 0;
    for (const c of this.caches.values()) n += c.size;
    return n;
  }

  private fail(reason: VerifyFailure): VerifyResult {
    this.counters[reason]++;
    return { ok: false, reason };
  }

  /** Expires entries of all keys, at most once a second (admit prunes its own key every time). */
  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweep < 1000) return;
    this.lastSweep = nowMs;
    for (const [k, c] of this.caches) {
      c.prune(nowMs);
      if (c.size === 0 && c.floor === -Infinity) this.caches.delete(k);
    }
  }
}
