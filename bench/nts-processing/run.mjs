// NTS processing time per request (issue 9 §2), next to the paper's 360.2 us (NTS server) and
// 265.2 us (NTS router), section 4. Three measurements, all with the built code in dist/:
//  1. router, in-process: NtsServerCore.receive (decode + MAC + replay checks) -> schedulerRequestFor
//     -> RcScheduler.request (an RC is created) -> ntsResponseFor -> NtsServerCore.respond (encode +
//     MAC), timed with process.hrtime.bigint(); the RC is expired (untimed) before the next request.
//  2. router over loopback UDP: the running daemon (startRouter, simulated data plane); client RTT
//     of a REQUEST minus the RTT of an equal-sized UDP echo from a socket in the same process:
//     an estimate, the kernel and event-loop costs of the two paths are not identical.
//  3. server, in-process: DnsHandler.handle of a query for an NTS-managed name until the NTS REQUEST
//     bytes exist (NtsClientCore.request: encode + MAC), plus from the RESPONSE's bytes
//     (NtsClientCore.receive: decode + MAC) to the DNS answer bytes. The router's part in between
//     is done untimed by a real NtsServerCore.
// Usage: node bench/nts-processing/run.mjs [--n 20000] [--warmup 2000] [--json FILE]
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { summarize } from './stats.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const imp = (p) => import(new URL(p, dist).href);
const { schedulerSection } = await imp('config/router-config.js');
const { SimulatedDataPlane } = await imp('dataplane/index.js');
const { NtsClientCore } = await imp('nts/client.js');
const { NtsServerCore } = await imp('nts/server.js');
const { PrivateHostList, RcScheduler } = await imp('router/index.js');
const { ntsResponseFor } = await imp('routerd/events.js');
const { schedulerRequestFor } = await imp('routerd/request.js');
const { startRouter } = await imp('routerd/index.js');
const { createLogger } = await imp('util/log.js');
const { Counters } = await imp('util/counters.js');
const { encodeMessage: encodeDns, decodeMessage: decodeDns } = await imp('dns/codec.js');
const { RRClass, RRType, Rcode } = await imp('dns/constants.js');
const { parseRecord } = await imp('dns/presentation.js');
const { newMessage } = await imp('dns/types.js');
const { Zone } = await imp('dns/zone.js');
const { DnsHandler } = await imp('server/handler.js');
const { NtsGateway } = await imp('server/nts-gateway.js');
const { ResolverProfiles } = await imp('server/resolver-profiles.js');

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '20000' }, warmup: { type: 'string', default: '2000' }, json: { type: 'string' } } });
const N = Number(args.n);
const WARMUP = Number(args.warmup);
if (!Number.isInteger(N) || N < 100 || !Number.isInteger(WARMUP) || WARMUP < 0) {
  console.error('usage: run.mjs [--n INTEGER>=100] [--warmup INTEGER>=0] [--json FILE]');
  process.exit(2);
}
const PAPER = { server: 360.2, router: 265.2 };
const KEY = randomBytes(32);
const keys = (id) => (id === 'gw1' ? KEY : undefined);
const ROUTER_ADDR = '203.0.113.2';
const FQDN = 'alice.home.example.';
const ns = (a, b) => Number(b - a);
const now = () => process.hrtime.bigint();
/** A distinct resolver per request (198.18.0.0/15, documentation-only: nothing is sent there). */
const resolverOf = (i) => `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
const log = (s) => process.stderr.write(`${s}\n`);
/** The daemons' JSON logger at `level`; lines are formatted (their CPU cost counts) and discarded. */
const logger = (level) => createLogger({ format: 'json', level, write: () => {} });

/** 1. The router's request path, sans-I/O, composed as routerd composes it (and test/nts-fuzz.test.ts). */
function routerInProcess() {
  const core = new NtsServerCore({ keys, windowMs: 30_000 });
  const phl = new PrivateHostList();
  phl.setConfigured(FQDN, '192.168.1.10');
  const sched = schedulerSection({ holdMs: 300, rcTimeoutMs: 3000 }); // the daemon's defaults otherwise (reputation on)
  const { trusted: _t, ...reputation } = sched.reputation;
  const scheduler = new RcScheduler({ globalAddresses: ['192.0.2.1'], ...sched, reputation }, phl, () => false);
  const client = new NtsClientCore({ keys, windowMs: 30_000 });
  const from = { address: '127.0.0.1', port: 5300 };
  let t = 1_790_000_000_000;
  const samples = [];
  const statuses = new Map();
  let rcs = 0;
  for (let i = 0; i < WARMUP + N; i++) {
    const { id, datagram } = client.request(t, { keyId: 'gw1', fqdn: FQDN, qtype: 1, mode: 'any', resolver: { address: resolverOf(i), port: 5353 }, deadlineMs: t + 4850, leaseMs: 1000 });
    client.cancel(id);
    const t0 = now();
    const ev = core.receive(t, datagram, from);
    if (ev.kind !== 'new-request') throw new Error(`router in-process: request ${i} was ${ev.kind}`);
    const d = schedulerRequestFor(ev.request);
    if ('unsupported' in d) throw new Error(`router in-process: ${d.unsupported}`);
    let out;
    for (const e of scheduler.request(t, d.request)) {
      if (e.type === 'rc-created') rcs++;
      if (e.type === 'respond') for (const rid of e.requestIds) {
        const res = ntsResponseFor(e, t, scheduler.occupancyEstimateMs);
        out = core.respond(t, rid, res);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }
    const t1 = now();
    if (!out) throw new Error(`router in-process: request ${i} got no RESPONSE at once (queued?)`);
    if (i >= WARMUP) samples.push(ns(t0, t1));
    // Untimed: the RC times out (no first packet) and is removed, so the next request makes its own.
    t += sched.rcTimeoutMs + sched.holdMs + 1;
    scheduler.poll(t);
  }
  if (statuses.get('READY') !== WARMUP + N || rcs !== WARMUP + N) throw new Error(`router in-process: ${rcs} RCs, statuses ${JSON.stringify([...statuses])}`);
  return summarize(samples);
}

/** 2. The router daemon over loopback UDP; RTT minus an equal-sized UDP echo's RTT. */
async function routerLoopback(level) {
  const HOSTS = 64;
  const cfg = {
    file: '(bench)', id: 'gw1', key: KEY,
    nts: { listen: { host: '127.0.0.1', port: 0, family: 4 }, windowMs: 30_000, keepaliveIntervalMs: 30_000 },
    // 64 addresses (the simulated data plane binds none) and 1 ms RCs: every request finds a free
    // address and creates an RC, which times out unused soon after.
    globalAddresses: Array.from({ length: 64 }, (_, i) => `127.0.1.${i + 1}`),
    // 64 hosts in turn: a request never finds its host's RC still there to share (a cheaper path).
    phl: Array.from({ length: HOSTS }, (_, i) => ({ name: `h${i}.home.example.`, address: `127.0.2.${i + 1}` })),
    scheduler: schedulerSection({ holdMs: 0, allowShortHold: true, rcTimeoutMs: 1, minRcTimeoutMs: 1 }),
    dataplane: { type: 'userspace', ports: [{ proto: 'tcp', port: 9 }], udpIdleTimeoutMs: 30_000, proxyProtocol: false },
  };
  const router = await startRouter(cfg, logger(level), Date.now, { dataplane: (c) => new SimulatedDataPlane(c) });
  const sock = dgram.createSocket('udp4');
  const echo = dgram.createSocket('udp4');
  try {
    await new Promise((r) => sock.bind(0, '127.0.0.1', r));
    await new Promise((r) => echo.bind(0, '127.0.0.1', r));
    echo.on('message', (b, ri) => echo.send(b, ri.port, ri.address));
    const echoPort = echo.address().port;
    const client = new NtsClientCore({ keys, windowMs: 30_000 });
    const rtt = [];
    const base = [];
    const statuses = new Map();
    const roundTrip = async (buf, port) => {
      const got = once(sock, 'message');
      const t0 = now();
      sock.send(buf, port, '127.0.0.1');
      const [reply] = await got;
      return { reply, dt: ns(t0, now()) };
    };
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < WARMUP + N; i++) {
      if (Date.now() > deadline) throw new Error(`router loopback: over 60 s after ${i} requests`);
      const t = Date.now();
      const { datagram } = client.request(t, { keyId: 'gw1', fqdn: `h${i % HOSTS}.home.example.`, qtype: 1, mode: 'any', resolver: { address: resolverOf(i), port: 5353 }, deadlineMs: t + 4850, leaseMs: 0 });
      const a = await roundTrip(datagram, router.nts.port);
      const ev = client.receive(Date.now(), a.reply);
      if (ev.kind !== 'response') throw new Error(`router loopback: reply ${i} was ${ev.kind}`);
      statuses.set(ev.response.status, (statuses.get(ev.response.status) ?? 0) + 1);
      const b = await roundTrip(Buffer.alloc(datagram.length, 0x5a), echoPort);
      if (i >= WARMUP && ev.response.status === 'READY') { rtt.push(a.dt); base.push(b.dt); }
      if (i % 16 === 15) await new Promise((r) => setTimeout(r, 2)); // let the 1 ms RCs time out
    }
    const rcs = router.counters.get('event.rc-created');
    if ((statuses.get('READY') ?? 0) < 0.99 * (WARMUP + N) || rcs < 0.99 * (WARMUP + N)) throw new Error(`router loopback: ${rcs} RCs, statuses ${JSON.stringify([...statuses])}`);
    return { rtt: summarize(rtt), echo: summarize(base), statuses: Object.fromEntries(statuses), rcsCreated: rcs };
  } finally {
    sock.close();
    echo.close();
    await router.close();
  }
}

/** 3. The server's NTS step: handler + gateway + NtsClientCore, with the router's part untimed. */
async function serverInProcess(verify, level = 'warn') {
  const client = new NtsClientCore({ keys, windowMs: 30_000 });
  const routerCore = new NtsServerCore({ keys, windowMs: 30_000 });
  let handed; // set by the transport: the time the REQUEST bytes exist, and how to finish
  const transport = {
    request(_router, key, params, o) {
      const { id, datagram } = client.request(Date.now(), { ...params, keyId: key.id, deadlineMs: o.deadlineMs });
      const at = now(); // the bytes a UDP adapter would hand to socket.send now
      return new Promise((resolve) => { handed = { at, id, datagram, resolve }; });
    },
  };
  const counters = new Counters();
  const profiles = new ResolverProfiles({ rules: [] });
  const gateway = new NtsGateway(
    [{ id: 'gw1', addresses: [ROUTER_ADDR], nts: { host: '127.0.0.1', port: 1 }, key: KEY }],
    transport, { profiles, marginMs: 150, refusalHoldMs: 1000, enCacheMs: 0, ecsMinPrefix: 16 },
    counters, logger(level), Date.now,
  );
  const zone = Zone.fromRecords('home.example.', [
    'home.example. 3600 IN SOA ns1.home.example. hostmaster.home.example. 1 3600 600 86400 0',
    'home.example. 3600 IN NS ns1.home.example.',
    `${FQDN} 300 IN A ${ROUTER_ADDR}`,
  ].map(parseRecord));
  const store = { commit() { throw new Error('no updates in this bench'); } };
  const handler = new DnsHandler({
    zone, store, keys: new Map(), routerAddresses: new Set([ROUTER_ADDR]), gateway, profiles, udpMaxPayload: 1232, tsigFudge: 300,
    responseCacheSize: 100, counters, log: logger(level), now: Date.now,
    // 'off': the paper's NTSS has no source verification; 'cookie-or-tcp' (the default) over TCP is
    // the verified path without a cookie to compute (docs/verification.md).
    verifySource: verify ? 'cookie-or-tcp' : 'off',
  });
  const phase1 = [];
  const phase2 = [];
  const total = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const query = encodeDns(newMessage({ id: i & 0xffff, rd: true, question: [{ name: FQDN, type: RRType.A, class: RRClass.IN }] }));
    const ctx = { transport: verify ? 'tcp' : 'udp', remoteAddress: resolverOf(i), remotePort: 5353 };
    handed = undefined;
    const t0 = now();
    const answer = handler.handle(query, ctx);
    // The gateway may reach the transport after a microtask or two.
    for (let k = 0; !handed && k < 100; k++) await Promise.resolve();
    if (!handed) throw new Error(`server: query ${i} sent no NTS REQUEST`);
    const h = handed;
    // Untimed: the router's part (authenticate, READY, encode + MAC).
    const rev = routerCore.receive(Date.now(), h.datagram, { address: '127.0.0.1', port: 1 });
    if (rev.kind !== 'new-request') throw new Error(`server: router saw ${rev.kind}`);
    const respBytes = routerCore.respond(Date.now(), rev.request.requestId, { status: 'READY', answerAddress: ROUTER_ADDR, rcId: i + 1, rcLifetimeMs: 3000 });
    const t2 = now();
    const ev = client.receive(Date.now(), respBytes);
    if (ev.kind !== 'response') throw new Error(`server: RESPONSE was ${ev.kind}`);
    h.resolve(ev.response);
    const out = await answer;
    const t3 = now();
    const msg = decodeDns(out);
    if (msg.rcode !== Rcode.NOERROR || msg.answer.length !== 1 || msg.answer[0].rdata.address !== ROUTER_ADDR) throw new Error(`server: answer ${i} is rcode ${msg.rcode} with ${msg.answer.length} records`);
    if (i >= WARMUP) { phase1.push(ns(t0, h.at)); phase2.push(ns(t2, t3)); total.push(ns(t0, h.at) + ns(t2, t3)); }
  }
  return { total: summarize(total), query: summarize(phase1), response: summarize(phase2) };
}

function machine() {
  const model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return { cpu: model, cores: cpus().length, node: process.version };
}

const started = Date.now();
log(`router in-process: ${WARMUP} + ${N} requests ...`);
const rIn = routerInProcess();
log(`router over loopback UDP: ${WARMUP} + ${N} requests ...`);
const rUdp = await routerLoopback('warn');
log(`router over loopback UDP, info-level logging: ${WARMUP} + ${N} requests ...`);
const rUdpInfo = await routerLoopback('info');
log(`server in-process: ${WARMUP} + ${N} queries ...`);
const sIn = await serverInProcess(false);
log(`server in-process, verified path (TCP): ${WARMUP} + ${N} queries ...`);
const sTcp = await serverInProcess(true);
log(`server in-process, info-level logging: ${WARMUP} + ${N} queries ...`);
const sInfo = await serverInProcess(false, 'info');
const m = machine();
const f = (x) => x.toFixed(1);
/** Percentile-wise difference of the two RTT distributions: an estimate, not a per-request measurement. */
const estimate = (u) => ({ medianUs: u.rtt.medianUs - u.echo.medianUs, p90Us: u.rtt.p90Us - u.echo.p90Us, p99Us: u.rtt.p99Us - u.echo.p99Us, meanUs: u.rtt.meanUs - u.echo.meanUs, n: u.rtt.n });
const udpEst = estimate(rUdp);
const udpInfoEst = estimate(rUdpInfo);
const row = (what, s, paper) => `| ${what} | ${s.n} | ${f(s.medianUs)} | ${f(s.p90Us)} | ${f(s.p99Us)} | ${f(s.meanUs)} | ${paper ? `${paper} us; median ${(s.medianUs / paper).toFixed(3)}x, p99 ${(s.p99Us / paper).toFixed(3)}x` : ''} |`;
const lines = [
  `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}; ${WARMUP} warm-up requests, then ${N} measured per row; ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  '',
  '| what (us per request) | n | median | p90 | p99 | mean | paper (ratio) |',
  '|---|---|---|---|---|---|---|',
  row('server: query -> REQUEST bytes + RESPONSE bytes -> DNS answer (in-process)', sIn.total, PAPER.server),
  row('&nbsp;&nbsp;of which query -> REQUEST bytes', sIn.query),
  row('&nbsp;&nbsp;of which RESPONSE bytes -> DNS answer', sIn.response),
  row('server, verified path (query over TCP, verifySource cookie-or-tcp), same span', sTcp.total, PAPER.server),
  row('server, as the first row with info-level JSON logging (the daemons\' default)', sInfo.total, PAPER.server),
  row('router control plane: REQUEST bytes -> RESPONSE bytes (in-process)', rIn, PAPER.router),
  row('router over loopback UDP: RTT minus echo RTT (estimate; percentile-wise difference)', udpEst, PAPER.router),
  row('router over loopback UDP, info-level JSON logging (estimate as above)', udpInfoEst, PAPER.router),
  row('&nbsp;&nbsp;loopback RTT of a REQUEST to the running router (warn-level run)', rUdp.rtt),
  row('&nbsp;&nbsp;loopback RTT of an equal-sized UDP echo', rUdp.echo),
  '',
  `Loopback: ${rUdp.rcsCreated} RCs created for ${WARMUP + N} requests; statuses ${JSON.stringify(rUdp.statuses)} (only READY round trips are in the rows).`,
];
console.log(lines.join('\n'));
if (args.json) writeFileSync(args.json, JSON.stringify({ machine: m, warmup: WARMUP, n: N, paper: PAPER, server: sIn, serverVerifiedTcp: sTcp, serverInfoLog: sInfo, routerInProcess: rIn, routerLoopback: { ...rUdp, estimate: udpEst }, routerLoopbackInfoLog: { ...rUdpInfo, estimate: udpInfoEst } }, null, 2));
