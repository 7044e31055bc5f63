// UDP listener: one datagram in, at most one datagram out.
import dgram from 'node:dgram';
import type { HostPort } from '../util/addr.js';
import type { Logger } from '../util/log.js';
import type { Counters } from '../util/counters.js';
import type { RequestContext } from './handler.js';

export type Handle = (raw: Buffer, ctx: RequestContext) => Buffer | null | Promise<Buffer | null>;

export async function listenUdp(at: HostPort, handle: Handle, counters: Counters, log: Logger): Promise<dgram.Socket> {
  const sock = dgram.createSocket({
    type: at.family === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20,
    // Peers are always IP literals: skip dns.lookup and its nextTick on every send (measured
    // +15-45% queries per CPU-second in bench/dns-qps).
    lookup: (host, _opts, cb) => (cb as (e: null, a: string, f: number) => void)(null, host, at.family),
  });
  const send = (out: Buffer | null, port: number, address: string) => {
    if (!out) return;
    try {
      // No callback: a failed send is emitted as 'error' (counted below), without a second
      // nextTick per answer.
      sock.send(out, port, address);
    } catch {
      // A held answer released after close(): the socket is gone, the answer with it.
      counters.inc('udp_send_errors');
    }
  };
  sock.on('message', (raw, rinfo) => {
    let out: Buffer | null | Promise<Buffer | null>;
    try {
      out = handle(raw, { transport: 'udp', remoteAddress: rinfo.address, remotePort: rinfo.port });
    } catch (e) {
      // A bug must cost one answer, not the daemon.
      counters.inc('internal_errors');
      log.error('internal-error', { transport: 'udp', from: rinfo.address, error: (e as Error).stack });
      return;
    }
    if (out instanceof Promise) {
      out.then((o) => send(o, rinfo.port, rinfo.address), (e) => {
        counters.inc('internal_errors');
        log.error('internal-error', { transport: 'udp', error: (e as Error).stack });
      });
    } else send(out, rinfo.port, rinfo.address);
  });
  sock.on('error', (e) => {
    counters.inc('udp_send_errors');
    log.warn('udp-error', { listen: `${at.host}:${at.port}`, error: e.message });
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(at.port, at.host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return sock;
}
