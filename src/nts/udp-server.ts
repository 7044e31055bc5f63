// The router's NTS socket: a thin UDP adapter around NtsServerCore. The only place on the
// router side that touches a socket or the clock.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { literalLookup } from '../util/net.js';
import { NtsServerCore, type IncomingRequest, type NtsServerOptions, type Peer } from './server.js';
import type { NtsRegister, NtsRegisterAck, NtsResponse } from './messages.js';

export interface NtsUdpServerOptions extends NtsServerOptions {
  host: string;
  /** 0 for an ephemeral port (tests). */
  port: number;
  /** Every new request must eventually be answered with respond() (docs/protocol.md 5.2). */
  onRequest: (req: IncomingRequest) => void;
  onAck?: (ack: { keyId: string; id: string; ack: NtsRegisterAck }) => void;
  /** A callback threw or a send failed: reported, never fatal. */
  onError?: (err: Error) => void;
  now?: () => number;
}

export class NtsUdpServer {
  readonly core: NtsServerCore;
  private readonly now: () => number;

  private constructor(private readonly socket: dgram.Socket, private readonly opts: NtsUdpServerOptions) {
    this.core = new NtsServerCore(opts);
    this.now = opts.now ?? Date.now;
    socket.on('message', (buf, rinfo) => this.onMessage(buf, { address: rinfo.address, port: rinfo.port }));
    socket.on('error', (e) => this.report(e));
  }

  static async open(opts: NtsUdpServerOptions): Promise<NtsUdpServer> {
    const socket = dgram.createSocket({ type: isIP(opts.host) === 6 ? 'udp6' : 'udp4' , lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new NtsUdpServer(socket, opts);
  }

  address(): Peer {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Sends (and caches) the RESPONSE to where the request's latest copy came from. */
  respond(requestId: string, response: NtsResponse, to?: Peer): void {
    const peer = to ?? this.core.peer(requestId);
    const datagram = this.core.respond(this.now(), requestId, response);
    if (peer) this.send(datagram, peer);
  }

  /** Sends a REGISTER/KEEPALIVE to the NTSv2 server; the ACK arrives through onAck. */
  announce(to: Peer, type: 'REGISTER' | 'KEEPALIVE', register: NtsRegister): string {
    const { id, datagram } = this.core.announce(this.now(), type, register);
    this.send(datagram, to);
    return id;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private onMessage(buf: Buffer, from: Peer): void {
    try {
      const ev = this.core.receive(this.now(), buf, from);
      switch (ev.kind) {
        case 'new-request': this.opts.onRequest(ev.request); break;
        case 'resend': this.send(ev.datagram, from); break;
        case 'register-ack': this.opts.onAck?.(ev); break;
        default: break; // duplicate-pending and drops: silence, counted by the core
      }
    } catch (e) {
      this.report(e as Error);
    }
  }

  private send(datagram: Buffer, to: Peer): void {
    this.socket.send(datagram, to.port, to.address, (err) => {
      if (err) this.report(err);
    });
  }

  private report(e: Error): void {
    this.opts.onError?.(e);
  }
}
