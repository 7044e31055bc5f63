// The services of an inside host (alice, bob, carol) in the lab: an HTTP server and a UDP echo,
// both answering with the host's name and the client address they saw, and a log (JSON lines)
// of everything that arrived. The scenarios' verdicts come from these answers and logs.
//   node services.js --name alice --log /run/ntss-lab/P/alice-services.log [--http 80] [--udp 7]
// GET /              -> "host=alice local=192.168.50.10 client=198.51.100.11:40312 path=/?tag=x"
//                       (local: the address the connection reached; carol holds a load run's hosts)
// GET /stream?seconds=S&interval=MS -> one "tick" line per interval, then "done" (a long flow)
// A TCP stream that starts with a PROXY v2 header (the userspace data plane's) is unwrapped and
// its EN address reported as the client, with via= naming the relay.
import { appendFileSync } from 'node:fs';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { decodeProxyV2 } from '../dataplane/proxy-protocol.js';

const { values } = parseArgs({
  options: { name: { type: 'string' }, log: { type: 'string' }, http: { type: 'string', default: '80' }, udp: { type: 'string', default: '7' } },
});
const name = values.name ?? 'in';
const now = () => performance.timeOrigin + performance.now(); // wall clock, sub-ms: compared with the EN's `date +%s.%N`
const log = (event: string, fields: Record<string, unknown>) => {
  const line = JSON.stringify({ t: now(), host: name, event, ...fields });
  if (values.log) appendFileSync(values.log, line + '\n');
};
const plain = (a: string | undefined) => (a && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a ?? '?');

interface Peer { client: string; via?: string; acceptedAt: number }
const peers = new WeakMap<net.Socket, Peer>();

const web = http.createServer((req, res) => {
  const p = peers.get(req.socket) ?? { client: `${plain(req.socket.remoteAddress)}:${req.socket.remotePort}`, acceptedAt: now() };
  const url = new URL(req.url ?? '/', 'http://x');
  const local = plain(req.socket.localAddress);
  const who = `host=${name} local=${local} client=${p.client}${p.via ? ` via=${p.via}` : ''}`;
  log('http', { client: p.client, via: p.via, local, path: req.url, acceptedAt: p.acceptedAt });
  res.setHeader('content-type', 'text/plain');
  if (url.pathname !== '/stream') {
    res.end(`${who} path=${req.url}\n`);
    return;
  }
  // A long-running flow: survives (or not) RC removal and router restarts while it runs.
  const seconds = Math.min(Number(url.searchParams.get('seconds') ?? '10'), 600);
  const interval = Math.max(Number(url.searchParams.get('interval') ?? '200'), 10);
  const total = Math.floor((seconds * 1000) / interval);
  let i = 0;
  const timer = setInterval(() => {
    if (i >= total) {
      clearInterval(timer);
      log('stream-end', { client: p.client, path: req.url, ticks: i, complete: true });
      res.end(`done ticks=${i}\n`);
      return;
    }
    res.write(`${who} tick=${++i}\n`);
  }, interval);
  res.on('close', () => {
    if (i < total) log('stream-end', { client: p.client, path: req.url, ticks: i, complete: false });
    clearInterval(timer);
  });
});

const tcp = net.createServer((sock) => {
  const acceptedAt = now();
  let buf = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    const r = decodeProxyV2(buf);
    if (r.kind === 'incomplete') return;
    sock.off('data', onData);
    sock.pause();
    let rest = buf;
    let peer: Peer = { client: `${plain(sock.remoteAddress)}:${sock.remotePort}`, acceptedAt };
    if (r.kind === 'header') {
      rest = buf.subarray(r.length);
      if (r.addresses) peer = { client: `${r.addresses.src}:${r.addresses.srcPort}`, via: peer.client, acceptedAt };
    }
    peers.set(sock, peer);
    log('tcp-accept', { client: peer.client, via: peer.via, acceptedAt });
    if (rest.length > 0) sock.unshift(rest);
    web.emit('connection', sock);
    sock.resume();
  };
  sock.on('data', onData);
  sock.on('error', () => undefined);
});

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => {
  const client = `${rinfo.address}:${rinfo.port}`;
  const data = msg.toString('utf8').trim().slice(0, 200);
  log('udp', { client, data });
  udp.send(`host=${name} client=${client} data=${data}\n`, rinfo.port, rinfo.address);
});

tcp.listen(Number(values.http), '0.0.0.0', () => {
  udp.bind(Number(values.udp), '0.0.0.0', () => {
    log('listening', { http: Number(values.http), udp: Number(values.udp) });
    console.log(`${name}: http on :${values.http}, udp echo on :${values.udp}`);
  });
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
