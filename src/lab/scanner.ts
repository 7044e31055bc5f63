// A third party in the lab (en3): connects to every global address on the services' port many
// times a second, without any lookup, and reports what answered. Bounded in rate, time, count
// and connections in flight. One JSON line per attempt on stdout, then a summary line.
//   node scanner.js --targets 203.0.113.2,203.0.113.3 [--port 80] [--rate 10] [--seconds 20] [--timeout-ms 500]
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    targets: { type: 'string' }, port: { type: 'string', default: '80' }, rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '20' }, 'timeout-ms': { type: 'string', default: '500' },
  },
});
const targets = (values.targets ?? '').split(',').filter(Boolean);
const port = Number(values.port);
const rate = Math.min(Math.max(Number(values.rate), 0.1), 50); // rounds per second, each to every target
const seconds = Math.min(Math.max(Number(values.seconds), 0.1), 600);
const timeoutMs = Math.min(Math.max(Number(values['timeout-ms']), 50), 5000);
const MAX_IN_FLIGHT = 64;
const wall = () => performance.timeOrigin + performance.now();

let inFlight = 0;
let attempts = 0;
let skipped = 0;
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

function attempt(target: string, n: number): void {
  if (inFlight >= MAX_IN_FLIGHT) {
    skipped++;
    return;
  }
  inFlight++;
  attempts++;
  const t = wall();
  let body = '';
  let settled = false;
  const sock = net.connect({ host: target, port });
  const done = (err?: string) => {
    if (settled) return;
    settled = true;
    inFlight--;
    clearTimeout(timer);
    sock.destroy();
    const host = /host=(\S+)/.exec(body)?.[1];
    const client = /client=(\S+)/.exec(body)?.[1];
    emit({ t, round: n, ms: Math.round(wall() - t), target, ok: host !== undefined, host, client, err: host ? undefined : err ?? 'no answer' });
  };
  const timer = setTimeout(() => done('timeout'), timeoutMs);
  sock.on('connect', () => sock.write(`GET /?tag=scan-${process.pid}-${n} HTTP/1.0\r\nHost: ${target}\r\n\r\n`));
  sock.on('data', (d) => {
    body += d.toString('latin1');
    if (body.length > 4096) done('too long');
  });
  sock.on('end', () => done('closed'));
  sock.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
}

const start = wall();
const rounds = Math.floor(seconds * rate);
let k = 0;
const tick = () => {
  if (k >= rounds) {
    const wait = setInterval(() => {
      if (inFlight > 0) return;
      clearInterval(wait);
      emit({ done: true, attempts, skipped, seconds: (wall() - start) / 1000 });
    }, 20);
    return;
  }
  for (const target of targets) attempt(target, k);
  k++;
  setTimeout(tick, Math.max(0, start + (k * 1000) / rate - wall()));
};
tick();
