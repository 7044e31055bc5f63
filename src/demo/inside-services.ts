// alice's and bob's services: a TCP greeter and a UDP echo on the router's relayed ports.
// The userspace relay connects from the router's LAN address, so a plain service would only
// ever see 127.0.0.1; the relay is told to send PROXY v2, and the greeter reads it to learn
// the EN's real address. What each host saw is recorded: the demo's verdicts are built on it.
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeProxyV2 } from '../dataplane/proxy-protocol.js';
import { NtssError } from '../util/errors.js';

export interface Sighting {
  proto: 'tcp' | 'udp';
  /** The socket peer: the relay (router LAN side). */
  peer: string;
  /** The EN as the PROXY v2 header names it ("127.0.0.21:40001"); TCP only. */
  en?: string;
  /** UDP: the datagram's text. */
  payload?: string;
}

export interface InsideService {
  readonly name: string;
  readonly seen: Sighting[];
  close(): Promise<void>;
}

/** No PROXY header within this time: answer with the socket's own peer (not relayed). */
const HEADER_WAIT_MS = 500;

export async function startInsideService(
  name: string, address: string, ports: { tcp: number; udp: number }, onSighting: (s: Sighting) => void,
): Promise<InsideService> {
  const seen: Sighting[] = [];
  const record = (s: Sighting) => {
    seen.push(s);
    onSighting(s);
  };
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((s) => greet(name, s, record));
  tcp.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, r) => {
    record({ proto: 'udp', peer: `${r.address}:${r.port}`, payload: msg.toString() });
    udp.send(`${name}: ${msg.toString()}`, r.port, r.address);
  });
  const closeAll = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (tcp.listening ? tcp.close(() => r()) : r())),
      new Promise<void>((r) => { try { udp.close(() => r()); } catch { r(); } }),
    ]);
  };
  const failed = (proto: string, port: number) => (e: NodeJS.ErrnoException) => new NtssError('DEMO_LISTEN',
    `${name} cannot listen on ${proto} ${address}:${port}: ${e.code ?? e.message}` +
    (e.code === 'EADDRINUSE' ? ` (another ntss demo or service? see "ss -tulpn | grep :${port}")` : ''));
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', (e) => reject(failed('tcp', ports.tcp)(e)));
      tcp.listen({ host: address, port: ports.tcp, exclusive: true }, () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', (e) => reject(failed('udp', ports.udp)(e)));
      udp.bind({ address, port: ports.udp, exclusive: true }, () => resolve());
    });
  } catch (e) {
    await closeAll();
    throw e;
  }
  tcp.on('error', () => {});
  udp.on('error', () => {});
  return { name, seen, close: closeAll };
}

/** Reads the PROXY v2 header (if any), then says hello to whoever the EN really is. */
function greet(name: string, s: net.Socket, record: (s: Sighting) => void): void {
  const peer = `${s.remoteAddress}:${s.remotePort}`;
  let buf = Buffer.alloc(0);
  let answered = false;
  const answer = (en: string | undefined) => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    record({ proto: 'tcp', peer, en });
    s.end(`hello from ${name}, you are ${en ?? peer}`);
  };
  const timer = setTimeout(() => answer(undefined), HEADER_WAIT_MS);
  s.on('error', () => clearTimeout(timer));
  s.on('data', (d) => {
    if (answered) return;
    buf = Buffer.concat([buf, d]);
    const h = decodeProxyV2(buf);
    if (h.kind === 'incomplete') return;
    answer(h.kind === 'header' && h.addresses ? `${h.addresses.src}:${h.addresses.srcPort}` : undefined);
  });
  s.on('end', () => answer(undefined));
}
