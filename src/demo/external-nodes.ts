// What the external nodes do: look a name up through the (shared) resolver, then talk to the
// answered address from their own 127.0.0.2x address. Every step is put on the timeline as
// the EN (or its resolver) saw it; the results feed the verdicts.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Resources } from './resources.js';
import { StubResolver, type LookupResult, type StubEvent } from './stub-resolver.js';
import type { Recorder } from './timeline.js';
import { EN_ADDRESS, RESOLVER_ADDRESS, type EnName } from './topology.js';

export interface EnContext {
  rec: Recorder;
  res: Resources;
  dns: { host: string; port: number };
}

const hex = (id: number) => `0x${id.toString(16).padStart(4, '0')}`;

/** The resolver looks `fqdn` up for `en`; `onFirstQuery` fires when the first query has left. */
export async function lookup(ctx: EnContext, en: EnName, fqdn: string, onFirstQuery?: () => void): Promise<LookupResult> {
  const say = (e: StubEvent) => {
    const data = { ...e, en, name: fqdn };
    if (e.type === 'query-sent') {
      const text = e.attempt === 1
        ? `query #1 A ${fqdn} for ${en} (id ${hex(e.id)} from ${e.from}:${e.port})`
        : `no answer yet: retry #${e.attempt}, new id ${hex(e.id)} from new port ${e.from}:${e.port}; #${e.attempt - 1} abandoned`;
      ctx.rec.emit('resolver', e.attempt === 1 ? 'dns-query' : 'dns-retry', text, data);
      if (e.attempt === 1) onFirstQuery?.();
    } else if (e.type === 'answer') {
      const rr = e.addresses.length > 0 ? `A ${e.addresses.join(', ')} TTL ${e.ttl}` : 'no address';
      ctx.rec.emit('resolver', 'dns-answer', `answer to #${e.attempt}${e.tcp ? ' over TCP' : ''} (id ${hex(e.id)}): ${e.rcode} ${rr} → ${en}`, data);
    } else if (e.type === 'truncated') {
      ctx.rec.emit('resolver', 'dns-truncated', `TC=1 to #${e.attempt} (id ${hex(e.id)}): the server wants proof of our address, asking again over TCP`, data);
    } else {
      ctx.rec.emit('resolver', 'dns-timeout', `gave up after ${e.attempts} queries: ${en} gets no answer`, data);
    }
  };
  const stub = new StubResolver({ server: ctx.dns, bindAddress: RESOLVER_ADDRESS, onEvent: say });
  const untrack = ctx.res.add(`resolver for ${en}`, () => stub.close());
  try {
    return await stub.lookupA(fqdn);
  } finally {
    untrack();
  }
}

export interface TcpOutcome {
  body?: string;
  error?: string;
  /** The EN's source port: what alice must have seen in the PROXY header. */
  localPort?: number;
}

/** Connects from the EN's address, reads the whole reply; never rejects. */
export function tcpHello(ctx: EnContext, en: EnName, host: string, port: number, why = ''): Promise<TcpOutcome> {
  const from = EN_ADDRESS[en];
  ctx.rec.emit(en, 'tcp-connect', `TCP connect ${from} → ${host}:${port}${why}`, { en, from, host, port });
  return new Promise((resolve) => {
    const s = net.connect({ host, port, localAddress: from });
    let body = '';
    let localPort: number | undefined;
    let settled = false;
    const done = (o: TcpOutcome) => {
      if (settled) return;
      settled = true;
      untrack();
      clearTimeout(timer);
      s.destroy();
      resolve(o);
    };
    const untrack = ctx.res.add(`${en} tcp`, () => done({ error: 'stopped', localPort }));
    const timer = setTimeout(() => {
      ctx.rec.emit(en, 'tcp-timeout', 'no reply within 3 s', { en });
      done({ error: 'timeout', localPort });
    }, 3000);
    s.on('connect', () => (localPort = s.localPort));
    s.on('data', (d) => (body += d.toString()));
    s.on('end', () => {
      ctx.rec.emit(en, 'tcp-reply', `reply: "${body}"`, { en, body, localPort });
      done({ body, localPort });
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? e.message;
      ctx.rec.emit(en, 'tcp-refused', `connection failed: ${code}${code === 'ECONNRESET' ? ' (reset by the router)' : ''}`, { en, error: code, localPort });
      done({ error: code, localPort });
    });
  });
}

export interface UdpOutcome {
  reply?: string;
  /** Where the reply came from: must be the router's global address:port, as through a NAT. */
  from?: string;
  error?: string;
}

/** One datagram from the EN's address and the first reply to it (1 s timeout). */
export function udpPing(ctx: EnContext, en: EnName, host: string, port: number, payload: string): Promise<UdpOutcome> {
  const sock = dgram.createSocket('udp4');
  const close = () => {
    try {
      sock.close();
    } catch { /* already closed */ }
  };
  let stop = () => {};
  const untrack = ctx.res.add(`${en} udp`, () => stop());
  return new Promise<UdpOutcome>((resolve) => {
    stop = () => {
      clearTimeout(timer);
      resolve({ error: 'stopped' });
    };
    const timer = setTimeout(() => {
      ctx.rec.emit(en, 'udp-timeout', 'no UDP reply within 1 s', { en });
      resolve({ error: 'timeout' });
    }, 1000);
    sock.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: e.message });
    });
    sock.on('message', (m, r) => {
      clearTimeout(timer);
      const from = `${r.address}:${r.port}`;
      ctx.rec.emit(en, 'udp-reply', `UDP reply from ${from}: "${m.toString()}"`, { en, reply: m.toString(), from });
      resolve({ reply: m.toString(), from });
    });
    sock.bind(0, EN_ADDRESS[en], () => {
      ctx.rec.emit(en, 'udp-send', `UDP ${EN_ADDRESS[en]}:${sock.address().port} → ${host}:${port}: "${payload}"`, { en, host, port, payload });
      sock.send(payload, port, host);
    });
  }).finally(() => {
    untrack();
    close();
  });
}
