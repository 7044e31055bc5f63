// The DNS UPDATE proxy: the router redirects LAN traffic for the NTSv2 server's port 53 here
// (nftables `redirect`, dataplane.md "Snooping DNS UPDATE"). Every message is relayed unchanged
// to one fixed upstream (Node cannot read a redirected TCP connection's original destination),
// the answer goes back to the client, and UPDATEs the server accepted teach the PHL
// name -> the client's LAN address (the decisions are update-proxy-core.ts's).
//
// UDP: one upstream socket per client address:port (so an answer's path names its client), LRU-
// bounded, closed when idle. TCP: update-proxy-tcp.ts.
// Order: the PHL (and its store) changes before the NOERROR is relayed, so when the inside host
// sees its update succeed, the router already knows it.
import dgram from 'node:dgram';
import type net from 'node:net';
import { listenError } from '../dataplane/index.js';
import type { PrivateHostList } from '../router/index.js';
import type { PhlStore } from '../store/phl-store.js';
import { formatHostPort, type HostPort } from '../util/addr.js';
import { Counters } from '../util/counters.js';
import { NtssError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { UpdateSnooper, type PhlChange } from './update-proxy-core.js';
import { listenTcpRelay } from './update-proxy-tcp.js';

export interface UpdateProxyOptions {
  listen: HostPort;
  server: HostPort;
  pendingTimeoutMs: number;
  maxPending: number;
  /** UDP client sessions and TCP connections idle this long are closed. */
  idleTimeoutMs: number;
  /** Bound on UDP client sessions (least recently used goes) and on TCP connections (refused). */
  maxClients: number;
  phl: PrivateHostList;
  /** Without it, learned entries live in memory only. */
  store?: PhlStore;
  log: Logger;
  now: () => number;
}

interface UdpSession {
  sock: dgram.Socket;
  flow: string;
  address: string;
  port: number;
  lastMs: number;
}

export class UpdateProxy {
  private readonly own = new Counters();
  private readonly snooper: UpdateSnooper;
  private readonly sessions = new Map<string, UdpSession>(); // Map order = least recently used first
  private udp!: dgram.Socket;
  private tcp?: net.Server;
  private sweeper?: NodeJS.Timeout;
  private closed = false;

  private constructor(private readonly o: UpdateProxyOptions) {
    this.snooper = new UpdateSnooper({ pendingTimeoutMs: o.pendingTimeoutMs, maxPending: o.maxPending });
  }

  /** Binds UDP, then TCP on the same port (port 0: the port UDP got). Throws NtssError LEARNING_LISTEN. */
  static async start(o: UpdateProxyOptions): Promise<UpdateProxy> {
    const p = new UpdateProxy(o);
    const family = o.listen.family === 6 ? 'udp6' : 'udp4';
    p.udp = dgram.createSocket({ type: family });
    p.udp.on('message', (msg, from) => p.fromClient(msg, from));
    const bindErr = (e: NodeJS.ErrnoException, proto: string, port: number) =>
      new NtssError('LEARNING_LISTEN', listenError(e, proto, o.listen.host, port, 'learning.listen').message);
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => {
        try { p.udp.close(); } catch { /* never bound */ }
        reject(bindErr(e, 'udp', o.listen.port));
      };
      p.udp.once('error', fail);
      p.udp.bind(o.listen.port, o.listen.host, () => {
        p.udp.off('error', fail);
        resolve();
      });
    });
    p.udp.on('error', (e) => p.error('learning-udp-error', { error: e.message }));
    const port = p.udp.address().port;
    try {
      p.tcp = await listenTcpRelay({
        listen: { ...o.listen, port }, server: o.server, idleTimeoutMs: o.idleTimeoutMs, maxConnections: o.maxClients,
        onRequest: (flow, address, m) => p.snooper.request(o.now(), flow, address, m),
        onResponse: (flow, m) => p.apply(p.snooper.response(o.now(), flow, m), 'tcp'),
        count: (n) => p.own.inc(n),
        onError: (event, fields) => p.error(event, fields),
      }).catch((e: NodeJS.ErrnoException) => { throw bindErr(e, 'tcp', port); });
    } catch (e) {
      p.udp.close();
      throw e;
    }
    const every = Math.max(100, Math.min(5000, Math.floor(Math.min(o.idleTimeoutMs, o.pendingTimeoutMs) / 2)));
    p.sweeper = setInterval(() => p.sweep(), every).unref();
    o.log.info('learning-started', {
      listen: formatHostPort({ host: o.listen.host, port }), server: formatHostPort(o.server),
      persisted: o.store ? o.store.path : false,
    });
    return p;
  }

  /** Where the proxy listens (UDP and TCP share the port). */
  address(): { host: string; port: number } {
    const a = this.udp.address();
    return { host: a.address, port: a.port };
  }

  /** Own counters (udp-*, tcp-*, learned, ...) and the snooper's (updates, malformed, ...). */
  counters(): Record<string, number> {
    return { ...this.snooper.counters.snapshot(), ...this.own.snapshot(), 'pending': this.snooper.pendingCount, 'udp-sessions': this.sessions.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const s of this.sessions.values()) s.sock.close();
    this.sessions.clear();
    await Promise.all([
      new Promise<void>((r) => this.udp.close(() => r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }

  private fromClient(msg: Buffer, from: dgram.RemoteInfo): void {
    this.own.inc('udp-requests');
    const key = formatHostPort({ host: from.address, port: from.port });
    let s = this.sessions.get(key);
    if (s) this.sessions.delete(key); // re-inserted below: most recently used last
    else s = this.openSession(key, from);
    s.lastMs = this.o.now();
    this.sessions.set(key, s);
    try {
      this.snooper.request(s.lastMs, s.flow, from.address, msg);
    } catch (e) {
      this.internal(e);
    }
    s.sock.send(msg, this.o.server.port, this.o.server.host, (e) => {
      if (e) this.error('learning-upstream-error', { transport: 'udp', client: key, error: e.message });
    });
  }

  private openSession(key: string, from: dgram.RemoteInfo): UdpSession {
    if (this.sessions.size >= this.o.maxClients) {
      const [oldKey, old] = this.sessions.entries().next().value!;
      this.sessions.delete(oldKey);
      old.sock.close();
      this.own.inc('udp-sessions-evicted');
    }
    const sock = dgram.createSocket({ type: this.o.server.family === 6 ? 'udp6' : 'udp4' });
    const s: UdpSession = { sock, flow: `udp/${key}`, address: from.address, port: from.port, lastMs: 0 };
    sock.on('message', (reply, rinfo) => {
      // Unconnected socket: only the server's datagrams are answers.
      if (rinfo.port !== this.o.server.port || rinfo.address !== this.o.server.host) return this.own.inc('udp-foreign');
      this.own.inc('udp-responses');
      s.lastMs = this.o.now();
      try {
        this.apply(this.snooper.response(s.lastMs, s.flow, reply), 'udp');
      } catch (e) {
        this.internal(e);
      }
      if (!this.closed) this.udp.send(reply, s.port, s.address);
    });
    sock.on('error', (e) => this.error('learning-upstream-error', { transport: 'udp', client: key, error: e.message }));
    return s;
  }

  /** Applies confirmed changes: stored first (durable), then in the PHL, one log line each. */
  private apply(changes: PhlChange[], transport: 'udp' | 'tcp'): void {
    const { phl, store, log } = this.o;
    for (const c of changes) {
      const now = this.o.now();
      if (c.kind === 'learn') {
        const before = phl.lookup(c.fqdn);
        this.persist(() => store?.save(c.fqdn, c.address, now), c.fqdn);
        const effective = phl.learn(now, c.fqdn, c.address);
        this.own.inc('learned');
        log.info('phl-learned', {
          fqdn: c.fqdn, address: c.address, transport, id: c.id,
          previous: before?.source === 'learned' && before.address !== c.address ? before.address : undefined,
          shadowedBy: effective.source === 'configured' ? effective.address : undefined,
        });
      } else {
        this.persist(() => store?.remove(c.fqdn), c.fqdn);
        if (phl.remove(c.fqdn, 'learned')) {
          this.own.inc('forgotten');
          log.info('phl-forgotten', { fqdn: c.fqdn, by: c.address, transport, id: c.id });
        }
      }
    }
  }

  /** A failing disk must not stop learning: the entry still works until the next restart. */
  private persist(f: () => unknown, fqdn: string): void {
    try {
      f();
    } catch (e) {
      this.own.inc('store-errors');
      this.o.log.error('phl-store-error', { fqdn, error: (e as Error).message });
    }
  }

  private sweep(): void {
    const now = this.o.now();
    this.snooper.expire(now);
    for (const [key, s] of this.sessions) {
      if (now - s.lastMs < this.o.idleTimeoutMs) continue;
      this.sessions.delete(key);
      s.sock.close();
      this.own.inc('udp-sessions-idle-closed');
    }
  }

  private internal(e: unknown): void {
    this.own.inc('internal-errors');
    this.o.log.error('learning-internal-error', { error: (e as Error).stack });
  }

  private error(event: string, fields: Record<string, unknown>): void {
    this.own.inc('errors');
    this.o.log.warn(event, fields);
  }
}
