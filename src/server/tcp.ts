// TCP listener per RFC 7766: 2-byte length framing, several queries per connection,
// pipelining (answers may leave out of order), idle timeout, connection limit.
import net from 'node:net';
import type { HostPort } from '../util/addr.js';
import type { Logger } from '../util/log.js';
import type { Counters } from '../util/counters.js';
import type { Handle } from './udp.js';
import { listenTracked } from '../util/net.js';

export interface TcpOptions {
  idleTimeoutMs: number;
  maxConnections: number;
}

/** Answers queued for a client that pipelines queries but does not read: past this, it goes. */
export const MAX_TCP_BACKLOG_BYTES = 1 << 20;

export async function listenTcp(at: HostPort, handle: Handle, opts: TcpOptions, counters: Counters, log: Logger): Promise<net.Server> {
  const conns = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (sock) => {
    if (conns.size >= opts.maxConnections) {
      counters.inc('tcp_rejected_limit');
      sock.destroy();
      return;
    }
    conns.add(sock);
    counters.inc('tcp_connections');
    sock.setTimeout(opts.idleTimeoutMs, () => {
      counters.inc('tcp_idle_closed');
      sock.destroy();
    });
    const ctx = { transport: 'tcp' as const, remoteAddress: sock.remoteAddress ?? '', remotePort: sock.remotePort ?? 0 };
    const write = (out: Buffer | null) => {
      if (!out || sock.destroyed) return;
      if (sock.writableLength > MAX_TCP_BACKLOG_BYTES) {
        counters.inc('tcp_closed_backlog'); // bounded memory per connection (issue 8)
        sock.destroy();
        return;
      }
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(out.length);
      sock.write(Buffer.concat([len, out]));
    };
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const raw = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        let out: Buffer | null | Promise<Buffer | null>;
        try {
          out = handle(Buffer.from(raw), ctx);
        } catch (e) {
          counters.inc('internal_errors');
          log.error('internal-error', { transport: 'tcp', from: ctx.remoteAddress, error: (e as Error).stack });
          continue;
        }
        if (out instanceof Promise) out.then(write, () => counters.inc('internal_errors'));
        else write(out);
      }
    });
    sock.on('error', () => counters.inc('tcp_errors'));
    sock.on('close', () => conns.delete(sock));
  });
  server.on('error', (e) => log.error('tcp-error', { listen: `${at.host}:${at.port}`, error: e.message }));
  await listenTracked(server, at, conns);
  return server;
}
