// UDP relay on one global address:port. A datagram from an EN address:port with no flow yet is
// a first packet. Mapped: a flow gets its own socket towards privateAddress:samePort; the IN's
// replies leave through the listening socket, so the EN sees them come from GA:port, as
// through a NAT. Not mapped: dropped (the next datagram asks again, as the kernel path would
// with its drop policy, so a later RC still catches the EN). Flows end after an idle time.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { literalLookup } from '../util/net.js';
import type { Mapping } from '../router/index.js';
import { listenError } from './errors.js';
import { classifyFlow, type LiveFlow, type RelayContext } from './relay-context.js';

interface UdpFlow extends LiveFlow {
  toIn(datagram: Buffer): void;
}

/** SO_RCVBUF asked for the listening socket; the kernel caps it at net.core.rmem_max. */
const LISTEN_RECV_BUFFER = 4 << 20;

/** Datagrams a new flow keeps while its socket connects; more are dropped (counted). */
const MAX_WAITING = 64;

function closeSocket(s: dgram.Socket): void {
  try {
    s.close();
  } catch { /* already closed */ }
}

export class UdpRelay {
  private readonly flows = new Map<string, UdpFlow>();

  private constructor(private readonly socket: dgram.Socket, readonly host: string, readonly port: number, private readonly ctx: RelayContext) {
    socket.on('message', (buf, rinfo) => this.onMessage(buf, rinfo.address, rinfo.port));
    socket.on('error', (e) => ctx.log?.error('relay-error', { proto: 'udp', host, port, error: e.message }));
  }

  static async listen(host: string, port: number, ctx: RelayContext): Promise<UdpRelay> {
    // Every EN's datagrams for this port queue here while the event loop is busy elsewhere (or
    // not scheduled: the host's other work); the default ~208 KiB is ~150 full datagrams.
    // literalLookup: every datagram back to an EN is sent to an address literal; dns.lookup
    // would cost a process.nextTick per datagram.
    const socket = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', recvBufferSize: LISTEN_RECV_BUFFER, lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => reject(listenError(e, 'udp', host, port)));
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.removeAllListeners('error');
        resolve();
      });
    });
    return new UdpRelay(socket, host, port, ctx);
  }

  mappings(): Mapping[] {
    return [...this.flows.values()].map((f) => f.mapping);
  }

  async close(): Promise<void> {
    for (const f of [...this.flows.values()]) f.close('stop');
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private onMessage(buf: Buffer, src: string, srcPort: number): void {
    const key = `${src} ${srcPort}`;
    let f = this.flows.get(key);
    if (!f) {
      if (this.flows.size >= this.ctx.maxUdpFlows) { // asked before classify: no mapping to undo
        this.ctx.count('udp-flow-limit');
        return;
      }
      const m = classifyFlow(this.ctx, { proto: 'udp', src, srcPort, dst: this.host, dstPort: this.port });
      if (!m) return;
      f = this.open(key, m);
    }
    f.toIn(buf);
  }

  private open(key: string, m: Mapping): UdpFlow {
    const { ctx } = this;
    const sock = dgram.createSocket({ type: isIP(m.privateAddress) === 6 ? 'udp6' : 'udp4' });
    if (ctx.lanAddress) sock.bind({ address: ctx.lanAddress, port: 0 });
    let bytesIn = 0;
    let bytesOut = 0;
    let closed = false;
    const onSent = (err: Error | null) => {
      if (err) ctx.count('udp-send-error');
    };
    // Connected to the IN: the kernel hands this socket the IN's datagrams only (nothing else
    // can enter the flow), and a send skips the address lookup an unconnected send() makes
    // per datagram (bench/dataplane: ~half the relay's cost per datagram). Datagrams that
    // arrive while it connects wait, a few at most.
    let waiting: Buffer[] | undefined = [];
    sock.connect(m.privatePort, m.privateAddress, () => {
      const q = waiting ?? [];
      waiting = undefined;
      if (!closed) for (const d of q) sock.send(d, onSent);
    });
    // Idle: the timer fires an idle time after the flow's start and then after the last datagram
    // it had seen; a datagram only notes the time (timer.refresh() per datagram re-sorted the
    // timer list each time).
    let lastActive = performance.now();
    const onIdle = () => {
      const left = lastActive + ctx.udpIdleTimeoutMs - performance.now();
      if (left > 0) timer = setTimeout(onIdle, left);
      else flow.close('idle');
    };
    let timer = setTimeout(onIdle, ctx.udpIdleTimeoutMs);
    const flow: UdpFlow = {
      mapping: m,
      toIn: (d) => {
        bytesIn += d.length;
        lastActive = performance.now();
        if (waiting === undefined) sock.send(d, onSent);
        else if (waiting.length < MAX_WAITING) waiting.push(d);
        else ctx.count('udp-connect-queue-full');
      },
      close: (reason) => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        closeSocket(sock);
        this.flows.delete(key);
        ctx.emit({ type: 'mapping-closed', mapping: m, bytesIn, bytesOut, reason });
      },
    };
    sock.on('message', (d) => {
      bytesOut += d.length;
      lastActive = performance.now();
      this.socket.send(d, m.enPort, m.enAddress, onSent);
    });
    sock.on('error', (e) => {
      ctx.log?.warn('relay-flow-error', { proto: 'udp', to: `${m.privateAddress}:${m.privatePort}`, error: e.message });
      flow.close(`error: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
    });
    this.flows.set(key, flow);
    ctx.emit({ type: 'mapping-opened', mapping: m });
    return flow;
  }
}
