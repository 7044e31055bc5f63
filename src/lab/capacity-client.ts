// The load generator's EN side (bench/capacity, capacity.ts): one process per EN namespace plays
// many ENs, each lookup from its own source address. Like a stub: an A query over UDP to the
// lab's resolver (retried after --timeout-ms, --tries in all, as glibc's stub does at 5 s), then
// a TCP connection from the same address to the answer, an HTTP GET, and what the inside host
// said about itself (`local=`: the address the connection reached). Bounded: every lookup
// ends by startAt + at + tries x timeout + connect timeout, and the process exits after that.
//   node capacity-client.js --plan FILE     (JSON: ClientPlan)   -> one JSON line per lookup
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { decodeMessage, encodeMessage } from '../dns/codec.js';
import { newMessage } from '../dns/types.js';

export interface ClientLookup {
  id: number;
  /** Source address (one of the EN's secondary addresses). */
  src: string;
  /** FQDN to look up. */
  name: string;
  /** ms after startAt. */
  at: number;
}

export interface ClientPlan {
  resolver: string;
  /** Wall-clock ms (Date.now()) at which `at` 0 falls; every EN process shares it. */
  startAt: number;
  /** The stub's per-try timeout and its tries (glibc: 5000 ms, 2). */
  timeoutMs: number;
  tries: number;
  connectTimeoutMs: number;
  port: number;
  lookups: ClientLookup[];
}

export interface ClientResult {
  id: number;
  src: string;
  name: string;
  /** Wall-clock ms of the first query, the answer and the completed TCP handshake. */
  tQuery: number;
  tAnswer?: number;
  tConnected?: number;
  tries: number;
  rcode?: number;
  answer?: string;
  /** What the inside host said: the address reached, and the client it saw. */
  reached?: string;
  client?: string;
  error?: string;
}

const wall = () => performance.timeOrigin + performance.now();

function lookup(plan: ClientPlan, l: ClientLookup): Promise<Pick<ClientResult, 'tQuery' | 'tAnswer' | 'tries' | 'rcode' | 'answer' | 'error'>> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const id = (l.id * 7919 + 1) & 0xffff;
    const query = encodeMessage(newMessage({ id, rd: true, question: [{ name: l.name, type: 1, class: 1 }] }));
    let tries = 0;
    let tQuery = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (r: Partial<ClientResult>) => {
      clearTimeout(timer);
      sock.close();
      resolve({ tQuery, tries, ...r });
    };
    const send = () => {
      if (tries >= plan.tries) return done({ error: 'dns-timeout' });
      tries++;
      if (tries === 1) tQuery = wall();
      sock.send(query, 53, plan.resolver, (e) => e && done({ error: `dns-send: ${e.message}` }));
      timer = setTimeout(send, plan.timeoutMs);
    };
    sock.on('error', (e) => done({ error: `dns-socket: ${e.message}` }));
    sock.on('message', (buf) => {
      let m;
      try {
        m = decodeMessage(buf);
      } catch {
        return; // not ours or garbage: keep waiting, as a stub does
      }
      if (m.id !== id || !m.qr) return;
      const a = m.answer.find((r) => r.rdata.kind === 'A');
      const answer = a && a.rdata.kind === 'A' ? a.rdata.address : undefined;
      done({ tAnswer: wall(), rcode: m.rcode, answer, ...(answer ? {} : { error: `dns-rcode-${m.rcode}` }) });
    });
    sock.bind({ address: l.src, port: 0 }, send);
  });
}

function connect(plan: ClientPlan, l: ClientLookup, address: string): Promise<Pick<ClientResult, 'tConnected' | 'reached' | 'client' | 'error'>> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port: plan.port, localAddress: l.src });
    let body = '';
    let tConnected: number | undefined;
    let settled = false;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      const reached = /local=(\S+)/.exec(body)?.[1];
      const client = /client=(\S+)/.exec(body)?.[1];
      resolve({ tConnected, reached, client, ...(reached ? {} : { error: error ?? 'no-answer-from-host' }) });
    };
    const timer = setTimeout(() => done(tConnected === undefined ? 'connect-timeout' : 'http-timeout'), plan.connectTimeoutMs);
    s.on('connect', () => {
      tConnected = wall();
      s.write(`GET /?lookup=${l.id} HTTP/1.0\r\nHost: ${l.name}\r\n\r\n`);
    });
    s.setEncoding('utf8');
    s.on('data', (d: string) => (body += d));
    s.on('end', () => done());
    s.on('error', (e: NodeJS.ErrnoException) => done(`tcp-${e.code ?? e.message}`));
  });
}

async function one(plan: ClientPlan, l: ClientLookup): Promise<ClientResult> {
  const wait = plan.startAt + l.at - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const d = await lookup(plan, l);
  const base = { id: l.id, src: l.src, name: l.name, ...d };
  if (!d.answer) return base;
  return { ...base, ...(await connect(plan, l, d.answer)) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { plan: { type: 'string' } } });
  if (!values.plan) throw new Error('usage: capacity-client.js --plan FILE');
  const plan = JSON.parse(readFileSync(values.plan, 'utf8')) as ClientPlan;
  // A hard bound whatever the network does: the lookups' last possible end, plus a margin.
  const last = Math.max(0, ...plan.lookups.map((l) => l.at));
  const bound = plan.startAt + last + plan.tries * plan.timeoutMs + plan.connectTimeoutMs + 2000 - Date.now();
  setTimeout(() => {
    process.stderr.write('capacity-client: hard time bound reached\n');
    process.exit(3);
  }, Math.max(bound, 1000)).unref();
  const cpu0 = process.cpuUsage();
  await Promise.all(plan.lookups.map(async (l) => process.stdout.write(JSON.stringify(await one(plan, l)) + '\n')));
  // The load generator's own CPU in the run (runPlan adds it up beside the lab's, cpu-usage.ts).
  const cpu = process.cpuUsage(cpu0);
  process.stderr.write(`capacity-client: cpu-ms ${Math.round((cpu.user + cpu.system) / 1000)}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`capacity-client: ${e.message}\n`);
  process.exit(2);
});
