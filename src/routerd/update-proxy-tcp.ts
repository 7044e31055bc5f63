// TCP side of the DNS UPDATE proxy: one upstream connection per client connection. Bytes are
// relayed as they come (unchanged, so TSIG stays valid); a frame parser beside the relay shows
// each whole message (RFC 1035 4.2.2 length prefix) to the snooper. A server message is shown
// before its chunk is written to the client, so a NOERROR reaches the client only after the
// PHL has learned from it.
import net from 'node:net';
import type { HostPort } from '../util/addr.js';
import { listenTracked } from '../util/net.js';

export interface TcpRelayOptions {
  listen: HostPort;
  server: HostPort;
  idleTimeoutMs: number;
  maxConnections: number;
  /** A whole message from the client (`flow` is unique per connection). */
  onRequest(flow: string, address: string, msg: Buffer): void;
  /** A whole message from the server on that connection. */
  onResponse(flow: string, msg: Buffer): void;
  count(name: string): void;
  onError(event: string, fields: Record<string, unknown>): void;
}

/** Collects 2-byte-length-prefixed messages from a byte stream. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, each: (msg: Buffer) => void): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 2) {
      const n = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + n) break;
      each(this.buf.subarray(2, 2 + n));
      this.buf = this.buf.subarray(2 + n);
    }
  }
}

export async function listenTcpRelay(o: TcpRelayOptions): Promise<net.Server> {
  const conns = new Set<net.Socket>(); // both sides, for close()
  let clients = 0;
  let seq = 0;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    if (clients >= o.maxConnections) {
      o.count('tcp-rejected-limit');
      client.destroy();
      return;
    }
    conns.add(client);
    clients++;
    o.count('tcp-connections');
    const flow = `tcp#${++seq}`;
    const address = client.remoteAddress ?? '';
    const upstream = net.connect({ host: o.server.host, port: o.server.port, allowHalfOpen: true, noDelay: true });
    conns.add(upstream);
    const fromClient = new FrameReader();
    const fromServer = new FrameReader();
    // Each side forwards to the other with backpressure; a message is inspected before it leaves.
    const relay = (from: net.Socket, to: net.Socket, inspect: (chunk: Buffer) => void) => {
      from.on('data', (chunk: Buffer) => {
        try {
          inspect(chunk);
        } catch (e) {
          o.count('internal-errors'); // never let learning break the relay
          o.onError('learning-internal-error', { flow, error: (e as Error).stack });
        }
        if (to.writable && !to.write(chunk)) from.pause();
      });
      to.on('drain', () => from.resume());
      from.on('end', () => to.end());
    };
    relay(client, upstream, (c) => fromClient.push(c, (m) => o.onRequest(flow, address, m)));
    relay(upstream, client, (c) => fromServer.push(c, (m) => o.onResponse(flow, m)));
    client.setTimeout(o.idleTimeoutMs, () => {
      o.count('tcp-idle-closed');
      client.destroy();
    });
    upstream.on('error', (e) => {
      o.count('tcp-upstream-errors');
      o.onError('learning-upstream-error', { flow, transport: 'tcp', error: e.message });
    });
    client.on('error', () => o.count('tcp-client-errors'));
    // Whichever side goes first takes the other with it (a client without its server is useless).
    upstream.on('close', () => { conns.delete(upstream); client.end(); });
    client.on('close', () => { conns.delete(client); clients--; upstream.destroy(); });
  });
  await listenTracked(server, o.listen, conns);
  server.on('error', (e) => o.onError('learning-tcp-error', { error: e.message }));
  return server;
}
