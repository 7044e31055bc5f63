// REGISTER / KEEPALIVE towards the NTSv2 server (docs/protocol.md 6). REGISTER at start,
// resent until a REGISTER_ACK comes (200 ms, doubling, capped at the keepalive interval, so a
// server that is down gets one datagram per interval, not a flood); then one KEEPALIVE per
// interval. Three unanswered KEEPALIVEs: the server may have lost us (restart), so REGISTER again.
import type { NtsRegister, NtsRegisterAck } from '../nts/index.js';
import type { Logger } from '../util/log.js';

export interface AnnouncerOptions {
  routerId: string;
  addresses: readonly string[];
  intervalMs: number;
  /** Sends one REGISTER/KEEPALIVE; returns its message id. */
  send(type: 'REGISTER' | 'KEEPALIVE', register: NtsRegister): string;
  count(name: string): void;
  log: Logger;
  now: () => number;
}

export class Announcer {
  private readonly bootId: number;
  private sequence = 0;
  /** Ids sent since the last ACK: an ACK for any of them counts (the RTT may exceed the retry time). */
  private readonly outstanding = new Set<string>();
  private registered = false;
  private missed = 0;
  private retryMs = 200;
  private lastStatus: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: AnnouncerOptions) {
    this.bootId = o.now();
  }

  start(): void {
    this.register();
  }

  /** A REGISTER_ACK arrived (already authenticated and matched to one of our ids by the NTS core). */
  onAck(id: string, ack: NtsRegisterAck): void {
    if (!this.outstanding.has(id) || this.stopped) return; // an answer to an older, already answered announcement
    this.outstanding.clear();
    this.missed = 0;
    this.o.count(`announce.ack.${ack.status}`);
    if (ack.status !== this.lastStatus) {
      const f = { status: ack.status, sequence: ack.sequence, reason: ack.reason };
      if (ack.status === 'ACCEPTED') this.o.log.info('server-ack', f);
      else this.o.log.warn('server-ack', { ...f, hint: 'the server keeps its own routers[] entry for this id; compare its addresses with globalAddresses' });
      this.lastStatus = ack.status;
    }
    if (!this.registered) {
      this.registered = true;
      this.schedule(this.o.intervalMs, () => this.keepalive());
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private register(): void {
    this.registered = false;
    this.announce('REGISTER');
    this.schedule(this.retryMs, () => this.register());
    this.retryMs = Math.min(this.retryMs * 2, this.o.intervalMs);
  }

  private keepalive(): void {
    if (this.outstanding.size > 0 && ++this.missed >= 3) {
      this.o.log.warn('server-unreachable', { missedKeepalives: this.missed, action: 'register again' });
      this.missed = 0;
      this.lastStatus = undefined;
      this.retryMs = 200;
      this.register();
      return;
    }
    this.announce('KEEPALIVE');
    this.schedule(this.o.intervalMs, () => this.keepalive());
  }

  private announce(type: 'REGISTER' | 'KEEPALIVE'): void {
    try {
      this.outstanding.add(this.o.send(type, {
        routerId: this.o.routerId, addresses: [...this.o.addresses], sequence: this.sequence++,
        bootId: this.bootId, keepaliveIntervalMs: this.o.intervalMs,
      }));
      if (this.outstanding.size > 16) this.outstanding.delete(this.outstanding.values().next().value!); // bounded while the server is away
      this.o.count(`announce.${type}`);
    } catch (e) {
      this.o.count('announce.error');
      this.o.log.error('announce-error', { type, error: (e as Error).message });
    }
  }

  private schedule(ms: number, f: () => void): void {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(f, ms);
  }
}
