// Forwarding to the configured upstream servers: each in order, `rounds` passes over the list,
// one UDP try per server with a timeout, over TCP when the UDP answer is truncated (TC=1),
// never past the caller's deadline. Every try has a fresh random id and a fresh source port
// on a connected socket, so a spoofed answer has to guess 32 bits and come from the server's
// address (RFC 5452). The pure parts (query bytes, answer matching) are exported for tests.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeMessage, encodeMessage } from '../dns/codec.js';
import { Opcode, Rcode } from '../dns/constants.js';
import { canonicalName } from '../dns/name.js';
import { newMessage, type Message, type Question } from '../dns/types.js';
import { formatHostPort, type HostPort } from '../util/addr.js';
import type { Counters } from '../util/counters.js';
import type { Logger } from '../util/log.js';

export interface UpstreamOptions {
  servers: HostPort[];
  /** One UDP try. */
  timeoutMs: number;
  /** Passes over the server list. */
  rounds: number;
  /** One TCP try (connect, send, read). */
  tcpTimeoutMs: number;
  /** EDNS payload size we offer upstream. */
  udpSize: number;
  /** Source address of upstream queries (a multi-homed host); default: the OS's choice. */
  sourceAddress?: string;
  now?: () => number;
}

export type UpstreamOutcome =
  | { ok: true; message: Message; bytes: number; server: string; tcp: boolean }
  | { ok: false; reason: 'timeout' | 'deadline' | 'bad-rcode' | 'closed'; rcode?: number };

/** The query we send: our id, recursion desired, EDNS without DO (we do not validate DNSSEC). */
export function forwardQuery(q: Question, id: number, udpSize: number): Buffer {
  return encodeMessage(newMessage({
    id, rd: true, question: [{ name: canonicalName(q.name), type: q.type, class: q.class }],
    edns: { udpSize, version: 0, dnssecOk: false, flags: 0, options: [] },
  }));
}

/** The decoded response if it answers exactly our query, else undefined (ignored, not fatal). */
export function matchResponse(raw: Buffer, id: number, q: Question): Message | undefined {
  let m: Message;
  try {
    m = decodeMessage(raw);
  } catch {
    return undefined;
  }
  if (!m.qr || m.id !== id || m.opcode !== Opcode.QUERY || m.question.length !== 1) return undefined;
  const a = m.question[0];
  return a.type === q.type && a.class === q.class && canonicalName(a.name) === canonicalName(q.name) ? m : undefined;
}

type Try = { message: Message; bytes: number } | undefined;

/** A try with less time than this left cannot get an answer back: the deadline has come. */
const MIN_TRY_MS = 10;

export class Upstream {
  private readonly active = new Set<() => void>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: UpstreamOptions, private readonly counters: Counters, private readonly log: Logger) {
    this.now = opts.now ?? Date.now;
  }

  /** Resolves with the first NOERROR/NXDOMAIN answer, or why there is none. Never rejects. */
  async query(q: Question, deadlineMs: number): Promise<UpstreamOutcome> {
    let failure: UpstreamOutcome = { ok: false, reason: 'timeout' };
    for (let round = 0; round < this.opts.rounds; round++) {
      for (const server of this.opts.servers) {
        const left = () => deadlineMs - this.now();
        if (left() < MIN_TRY_MS) return { ok: false, reason: 'deadline' };
        let got = await this.udp(server, q, Math.min(this.opts.timeoutMs, left()));
        let tcp = false;
        if (got?.message.tc) {
          this.counters.inc('upstream_tcp_fallbacks');
          tcp = true;
          got = left() >= MIN_TRY_MS ? await this.tcp(server, q, Math.min(this.opts.tcpTimeoutMs, left())) : undefined;
        }
        if (this.closed) return { ok: false, reason: 'closed' };
        const name = formatHostPort(server);
        if (!got) {
          this.counters.inc('upstream_timeouts');
          this.log.debug('upstream-timeout', { server: name, name: q.name, type: q.type, tcp });
          continue;
        }
        const rcode = got.message.rcode;
        if (rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN) return { ok: true, ...got, server: name, tcp };
        // SERVFAIL, REFUSED, ...: this server cannot help with this name; another may.
        this.counters.inc('upstream_bad_rcode');
        this.log.debug('upstream-rcode', { server: name, name: q.name, type: q.type, rcode });
        failure = { ok: false, reason: 'bad-rcode', rcode };
      }
    }
    return failure;
  }

  /** Ends every try in flight; their queries resolve { ok: false, reason: 'closed' }. */
  close(): void {
    this.closed = true;
    for (const cancel of [...this.active]) cancel();
  }

  /** Runs one try: `start` wires the socket and calls `finish`; timeout and close end it too. */
  private attempt(timeoutMs: number, start: (finish: (t: Try) => void) => () => void): Promise<Try> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise<Try>((resolve) => {
      let done = false;
      let release = () => {};
      const finish = (t: Try) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.active.delete(cancel);
        release();
        resolve(t);
      };
      const cancel = () => finish(undefined);
      const timer = setTimeout(cancel, timeoutMs);
      this.active.add(cancel);
      release = start(finish);
    });
  }

  private udp(server: HostPort, q: Question, timeoutMs: number): Promise<Try> {
    return this.attempt(timeoutMs, (finish) => {
      const id = randomInt(0x10000);
      const sock = dgram.createSocket(server.family === 6 ? 'udp6' : 'udp4');
      // Connected: the kernel drops datagrams from other sources, and an ICMP port
      // unreachable ends the try at once (ECONNREFUSED) instead of at the timeout.
      sock.on('error', () => finish(undefined));
      sock.on('message', (raw) => {
        const m = matchResponse(raw, id, q);
        if (m) finish({ message: m, bytes: raw.length });
        else this.counters.inc('upstream_mismatched');
      });
      const go = () => sock.connect(server.port, server.host, () => {
        this.counters.inc('upstream_queries');
        try {
          sock.send(forwardQuery(q, id, this.opts.udpSize));
        } catch {
          finish(undefined); // closed (timeout or shutdown) before the connect completed
        }
      });
      if (this.opts.sourceAddress) sock.bind({ address: this.opts.sourceAddress, port: 0 }, go);
      else go();
      return () => {
        try {
          sock.close();
        } catch { /* closed by an error already */ }
      };
    });
  }

  private tcp(server: HostPort, q: Question, timeoutMs: number): Promise<Try> {
    return this.attempt(timeoutMs, (finish) => {
      const id = randomInt(0x10000);
      const sock = net.connect({ host: server.host, port: server.port, noDelay: true, localAddress: this.opts.sourceAddress });
      let buf = Buffer.alloc(0);
      sock.on('connect', () => {
        this.counters.inc('upstream_tcp_queries');
        const query = forwardQuery(q, id, this.opts.udpSize);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const raw = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + raw.length);
          const m = matchResponse(raw, id, q);
          if (m) return finish({ message: m, bytes: raw.length });
          this.counters.inc('upstream_mismatched');
        }
      });
      sock.on('error', () => finish(undefined));
      sock.on('close', () => finish(undefined));
      return () => sock.destroy();
    });
  }
}
