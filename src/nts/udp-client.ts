// The NTSv2 server's NTS socket: a thin UDP adapter around NtsClientCore. It owns the socket,
// the real clock and one timer set to the core's next deadline; all decisions are the core's.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { literalLookup } from '../util/net.js';
import type { KeyLookup } from './auth.js';
import { NtsClientCore, type ClientEvent, type NtsRequestParams } from './client.js';
import type { AckStatus, NtsResponse } from './messages.js';
import type { Peer } from './server.js';

export interface NtsUdpClientOptions {
  /** Bind address (default 0.0.0.0); its family decides the socket's. */
  host?: string;
  /** 0 (default) for an ephemeral port; a fixed one when routers send REGISTER here. */
  port?: number;
  /** Keys beyond those passed to request() (for REGISTER from routers). */
  keys?: KeyLookup;
  windowMs?: number;
  initialRtoMs?: number;
  maxRtoMs?: number;
  now?: () => number;
  /** Decides the REGISTER_ACK; default ACCEPTED. */
  onRegister?: (ev: Extract<ClientEvent, { kind: 'register' }>, from: Peer) => { status: AckStatus; reason?: string } | void;
  onError?: (err: Error) => void;
}

export type NtsRequestFields = Omit<NtsRequestParams, 'keyId' | 'deadlineMs'>;
export type NtsResult = NtsResponse | { status: 'TIMEOUT' };

export class NtsUdpClient {
  readonly core: NtsClientCore;
  private readonly keys = new Map<string, Buffer>();
  private readonly waiters = new Map<string, { to: Peer; resolve: (r: NtsResult) => void }>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly socket: dgram.Socket, private readonly opts: NtsUdpClientOptions) {
    this.now = opts.now ?? Date.now;
    this.core = new NtsClientCore({
      keys: (id) => this.keys.get(id) ?? opts.keys?.(id),
      windowMs: opts.windowMs, initialRtoMs: opts.initialRtoMs, maxRtoMs: opts.maxRtoMs,
    });
    socket.on('message', (buf, rinfo) => this.onMessage(buf, { address: rinfo.address, port: rinfo.port }));
    socket.on('error', (e) => opts.onError?.(e));
  }

  static async open(opts: NtsUdpClientOptions = {}): Promise<NtsUdpClient> {
    const host = opts.host ?? '0.0.0.0';
    const socket = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' , lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port ?? 0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new NtsUdpClient(socket, opts);
  }

  address(): Peer {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /**
   * One REQUEST to a router, retransmitted until a RESPONSE or the deadline (absolute ms, the
   * same clock as `now`). Resolves with the router's answer or TIMEOUT; rejects only on bad
   * parameters (NtsEncodeError).
   */
  request(router: { host: string; port: number }, key: { id: string; secret: Buffer }, params: NtsRequestFields, opts: { deadlineMs: number }): Promise<NtsResult> {
    this.keys.set(key.id, key.secret);
    let sent: { id: string; datagram: Buffer };
    try {
      sent = this.core.request(this.now(), { ...params, keyId: key.id, deadlineMs: opts.deadlineMs });
    } catch (e) {
      return Promise.reject(e);
    }
    const to = { address: router.host, port: router.port };
    const result = new Promise<NtsResult>((resolve) => this.waiters.set(sent.id, { to, resolve }));
    this.send(sent.datagram, to);
    this.arm();
    return result;
  }

  /** Stops the timer and the socket; pending requests resolve TIMEOUT. */
  close(): Promise<void> {
    clearTimeout(this.timer);
    for (const [id, w] of this.waiters) {
      this.core.cancel(id);
      w.resolve({ status: 'TIMEOUT' });
    }
    this.waiters.clear();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private onMessage(buf: Buffer, from: Peer): void {
    try {
      const now = this.now();
      const ev = this.core.receive(now, buf);
      if (ev.kind === 'response') {
        // The MAC and key id decide, not the source address (spoofable, and routers may be multihomed).
        const w = this.waiters.get(ev.id);
        this.waiters.delete(ev.id);
        w?.resolve(ev.response);
        this.arm();
      } else if (ev.kind === 'register') {
        const d = this.opts.onRegister?.(ev, from) ?? { status: 'ACCEPTED' as const };
        this.send(this.core.acknowledge(now, ev.msg, d.status, d.reason), from);
      }
    } catch (e) {
      this.opts.onError?.(e as Error);
    }
  }

  /** One timer for the whole core, set to its next deadline. */
  private arm(): void {
    clearTimeout(this.timer);
    const t = this.core.nextTimeout();
    if (t === undefined) return;
    this.timer = setTimeout(() => this.tick(), Math.max(0, t - this.now()));
  }

  private tick(): void {
    const { resend, failed } = this.core.poll(this.now());
    for (const r of resend) {
      const w = this.waiters.get(r.id);
      if (w) this.send(r.datagram, w.to);
    }
    for (const f of failed) {
      this.waiters.get(f.id)?.resolve({ status: 'TIMEOUT' });
      this.waiters.delete(f.id);
    }
    this.arm();
  }

  private send(datagram: Buffer, to: Peer): void {
    // A send error is a lost datagram: the retransmission schedule covers it.
    this.socket.send(datagram, to.port, to.address, (err) => {
      if (err) this.opts.onError?.(err);
    });
  }
}
