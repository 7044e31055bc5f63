// TCP relay on one global address:port. Each accepted connection is a first packet: the
// scheduler maps it to an IN (connect to privateAddress:samePort and pipe both ways) or not
// (reset at once, as the kernel's input policy would drop the SYN: the EN sees a refusal).
import net from 'node:net';
import type { Mapping } from '../router/index.js';
import { listenError } from './errors.js';
import { encodeProxyV2 } from './proxy-protocol.js';
import { classifyFlow, type LiveFlow, type RelayContext } from './relay-context.js';

/** RST instead of FIN: what the EN would see from the kernel path on a refused or broken flow. */
function reset(s: net.Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export class TcpRelay {
  private readonly flows = new Set<LiveFlow>();

  private constructor(private readonly server: net.Server, readonly host: string, readonly port: number, private readonly ctx: RelayContext) {
    server.on('connection', (s) => this.accept(s));
    server.on('error', (e) => ctx.log?.error('relay-error', { proto: 'tcp', host, port, error: e.message }));
  }

  static async listen(host: string, port: number, ctx: RelayContext): Promise<TcpRelay> {
    // allowHalfOpen: an EN's FIN is passed on as a FIN to the IN, which may still answer.
    // pauseOnConnect: nothing is read before the scheduler has decided and the pipe is set up.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(listenError(e, 'tcp', host, port)));
      server.listen({ host, port, exclusive: true }, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    return new TcpRelay(server, host, port, ctx);
  }

  mappings(): Mapping[] {
    return [...this.flows].map((f) => f.mapping);
  }

  /** Stops accepting and ends every flow (mapping-closed, reason 'stop'). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const f of [...this.flows]) f.close('stop');
    await closed;
  }

  private accept(en: net.Socket): void {
    const src = en.remoteAddress;
    const srcPort = en.remotePort;
    if (src === undefined || srcPort === undefined) { // already gone
      en.destroy();
      return;
    }
    en.on('error', () => {}); // replaced below if relayed; a refused EN may reset first
    const m = classifyFlow(this.ctx, { proto: 'tcp', src, srcPort, dst: this.host, dstPort: this.port });
    if (!m) {
      reset(en);
      return;
    }
    en.removeAllListeners('error');
    this.relay(en, m);
  }

  private relay(en: net.Socket, m: Mapping): void {
    const { ctx } = this;
    const inn = net.connect({ host: m.privateAddress, port: m.privatePort, localAddress: ctx.lanAddress, allowHalfOpen: true });
    if (ctx.proxyProtocol) {
      // Written before any payload; net.Socket queues it until the connection is up.
      inn.write(encodeProxyV2({ proto: 'tcp', src: m.enAddress, srcPort: m.enPort, dst: m.globalAddress, dstPort: m.globalPort }));
    }
    let connected = false;
    inn.setTimeout(ctx.tcpConnectTimeoutMs);
    inn.once('connect', () => {
      connected = true;
      inn.setTimeout(0);
    });
    inn.once('timeout', () => inn.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));

    let failure: string | undefined;
    let closed = 0;
    const flow: LiveFlow = {
      mapping: m,
      close: (reason) => {
        failure ??= reason;
        en.destroy();
        inn.destroy();
      },
    };
    this.flows.add(flow);
    ctx.emit({ type: 'mapping-opened', mapping: m });

    const onError = (side: 'en' | 'in', other: net.Socket) => (e: NodeJS.ErrnoException) => {
      if (failure === undefined) {
        failure = `error: ${side} ${e.code ?? e.message}`;
        if (side === 'in' && !connected) {
          ctx.count('tcp-in-connect-failed');
          ctx.log?.warn('relay-connect-failed', { to: `${m.privateAddress}:${m.privatePort}`, fqdn: m.fqdn, error: e.code ?? e.message });
        }
      }
      reset(other); // an abort on one side is an abort on the other, as through a NAT
    };
    en.on('error', onError('en', inn));
    inn.on('error', onError('in', en));
    const onClose = () => {
      if (++closed < 2) return;
      this.flows.delete(flow);
      ctx.emit({ type: 'mapping-closed', mapping: m, bytesIn: en.bytesRead, bytesOut: en.bytesWritten, reason: failure ?? 'end' });
    };
    en.once('close', onClose);
    inn.once('close', onClose);
    // pipe() ends the destination when the source ends: each FIN is passed on separately.
    en.pipe(inn);
    inn.pipe(en);
  }
}
