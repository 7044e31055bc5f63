// A tiny resolver-side client that asks the authoritative NTSv2 server the way Unbound does
// (shared/design/brief.md, measured): UDP with EDNS, and when no answer comes, a retry with a
// NEW query id from a NEW source port, the old query abandoned (a late answer to it is never
// read). It gives up at Unbound's discard-timeout. So the demo meets the server's hold logic
// exactly as a real resolver would: a held answer must be sent for the latest id to count.
// A truncated answer (TC=1) is asked again over TCP, as Unbound does: the server sends TC to
// a resolver it cannot verify yet (docs/verification.md).
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeMessage, encodeMessage } from '../dns/codec.js';
import { Opcode, RRClass, RRType, rcodeToString } from '../dns/constants.js';
import { canonicalName } from '../dns/name.js';
import { newMessage, type Message } from '../dns/types.js';

/** Unbound 1.17 towards a server it does not know yet: 376, 376, 752, 752, 1504 ms. */
export const UNBOUND_RETRY_INTERVALS_MS: readonly number[] = [376, 376, 752, 752, 1504];
/** Debian's Unbound drops its client's query 1.9 s after it asked (discard-timeout). */
export const UNBOUND_GIVE_UP_MS = 1900;

/** When each attempt is sent, relative to the first (which is at 0): pure, for tests and logs. */
export function sendTimes(intervalsMs: readonly number[], giveUpMs: number): number[] {
  const out = [0];
  let t = 0;
  for (const step of intervalsMs) {
    t += step;
    if (t >= giveUpMs) break;
    out.push(t);
  }
  return out;
}

export type StubEvent =
  | { type: 'query-sent'; attempt: number; id: number; from: string; port: number; elapsedMs: number }
  | { type: 'answer'; attempt: number; id: number; rcode: string; addresses: string[]; ttl?: number; elapsedMs: number; tcp?: boolean }
  | { type: 'truncated'; attempt: number; id: number; elapsedMs: number }
  | { type: 'gave-up'; attempts: number; elapsedMs: number };

export type LookupResult =
  | { status: 'answer'; rcode: string; addresses: string[]; ttl?: number; attempt: number; elapsedMs: number; tcp?: boolean }
  | { status: 'timeout'; attempts: number; elapsedMs: number };

export interface StubResolverOptions {
  server: { host: string; port: number };
  /** The resolver's own address; every attempt binds a fresh port on it. */
  bindAddress: string;
  retryIntervalsMs?: readonly number[];
  giveUpMs?: number;
  /** EDNS payload size advertised (Unbound's default edns-buffer-size). */
  udpSize?: number;
  onEvent?: (e: StubEvent) => void;
}

export class StubResolver {
  private readonly closers = new Set<() => void>();

  constructor(private readonly opts: StubResolverOptions) {}

  /** One A lookup, with retries; never rejects on network trouble (that is a timeout). */
  lookupA(name: string): Promise<LookupResult> {
    const { opts } = this;
    const times = sendTimes(opts.retryIntervalsMs ?? UNBOUND_RETRY_INTERVALS_MS, opts.giveUpMs ?? UNBOUND_GIVE_UP_MS);
    const start = performance.now();
    const elapsed = () => performance.now() - start;
    return new Promise<LookupResult>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const usedIds = new Set<number>();
      let current: dgram.Socket | undefined;
      let stream: net.Socket | undefined;
      let attempts = 0;
      let done = false;
      const finish = (r: LookupResult) => {
        if (done) return;
        done = true;
        timers.forEach(clearTimeout);
        if (current) closeQuietly(current);
        stream?.destroy();
        this.closers.delete(abort);
        resolve(r);
      };
      const abort = () => finish({ status: 'timeout', attempts, elapsedMs: elapsed() });
      this.closers.add(abort);

      const answered = (msg: Message, attempt: number, tcp: boolean) => {
        const a = msg.answer.filter((r) => r.type === RRType.A && r.rdata.kind === 'A');
        const addresses = a.map((r) => (r.rdata.kind === 'A' ? r.rdata.address : ''));
        const r = { rcode: rcodeToString(msg.rcode), addresses, ttl: a[0]?.ttl, attempt, elapsedMs: elapsed(), ...(tcp ? { tcp } : {}) };
        opts.onEvent?.({ type: 'answer', id: msg.id, ...r });
        finish({ status: 'answer', ...r });
      };
      // Over TCP the server holds the answer as long as it needs: no UDP retries from here on.
      const overTcp = (attempt: number) => {
        timers.splice(0).forEach(clearTimeout);
        timers.push(setTimeout(() => {
          opts.onEvent?.({ type: 'gave-up', attempts, elapsedMs: elapsed() });
          finish({ status: 'timeout', attempts, elapsedMs: elapsed() });
        }, Math.max(0, (opts.giveUpMs ?? UNBOUND_GIVE_UP_MS) - elapsed())));
        const id = randomInt(0, 0x10000);
        const query = encodeMessage(queryMessage(id, name, opts.udpSize ?? 1232));
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        const sock = net.connect({ host: opts.server.host, port: opts.server.port, localAddress: opts.bindAddress, noDelay: true });
        stream = sock;
        let buf = Buffer.alloc(0);
        sock.on('connect', () => sock.write(Buffer.concat([len, query])));
        sock.on('data', (chunk) => {
          buf = Buffer.concat([buf, chunk]);
          if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
          const msg = tryDecode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          if (msg && msg.qr && msg.id === id && sameQuestion(msg, name)) answered(msg, attempt, true);
          sock.destroy();
        });
        sock.on('error', () => {}); // the give-up timer reports it
      };

      const send = (attempt: number) => {
        if (done) return;
        attempts = attempt;
        let id: number;
        do id = randomInt(0, 0x10000); while (usedIds.has(id)); // a retry's id is always new
        usedIds.add(id);
        const query = encodeMessage(queryMessage(id, name, opts.udpSize ?? 1232));
        const sock = dgram.createSocket('udp4');
        sock.on('error', () => {}); // a send error is a lost datagram: the next attempt covers it
        sock.on('message', (raw, rinfo) => {
          if (done || rinfo.port !== opts.server.port || rinfo.address !== opts.server.host) return;
          const msg = tryDecode(raw);
          if (!msg || !msg.qr || msg.id !== id || !sameQuestion(msg, name)) return; // not our answer: keep waiting
          if (msg.tc) {
            if (stream) return; // already asking over TCP
            opts.onEvent?.({ type: 'truncated', attempt, id, elapsedMs: elapsed() });
            closeQuietly(sock);
            current = undefined;
            return overTcp(attempt);
          }
          answered(msg, attempt, false);
        });
        sock.bind(0, opts.bindAddress, () => {
          if (done) return closeQuietly(sock);
          // The new socket exists before the old one goes, so the port is certainly new; the
          // old query is abandoned, as Unbound does: an answer to it finds a closed port.
          if (current) closeQuietly(current);
          current = sock;
          opts.onEvent?.({ type: 'query-sent', attempt, id, from: opts.bindAddress, port: sock.address().port, elapsedMs: elapsed() });
          sock.send(query, opts.server.port, opts.server.host);
        });
      };
      times.forEach((at, i) => timers.push(setTimeout(() => send(i + 1), at)));
      timers.push(setTimeout(() => {
        opts.onEvent?.({ type: 'gave-up', attempts, elapsedMs: elapsed() });
        finish({ status: 'timeout', attempts, elapsedMs: elapsed() });
      }, opts.giveUpMs ?? UNBOUND_GIVE_UP_MS));
    });
  }

  /** Ends every lookup in progress (as timeouts) and closes their sockets. */
  close(): void {
    for (const c of [...this.closers]) c();
  }
}

/** What a resolver sends to an authoritative server: RD clear, EDNS0, no DO bit. */
function queryMessage(id: number, name: string, udpSize: number): Message {
  return newMessage({
    id, opcode: Opcode.QUERY, rd: false,
    question: [{ name, type: RRType.A, class: RRClass.IN }],
    edns: { udpSize, version: 0, dnssecOk: false, flags: 0, options: [] },
  });
}

function sameQuestion(msg: Message, name: string): boolean {
  const q = msg.question[0];
  return msg.question.length === 1 && q.type === RRType.A && canonicalName(q.name) === canonicalName(name);
}

function tryDecode(raw: Buffer): Message | undefined {
  try {
    return decodeMessage(raw);
  } catch {
    return undefined;
  }
}

function closeQuietly(s: dgram.Socket): void {
  try {
    s.close();
  } catch { /* already closed */ }
}
