// The whole NTSSv2 flow through real processes and sockets on loopback: the real `ntss server`
// (child process), the router daemon with its userspace relay, BIND's dig as the EN's
// resolver stand-in, and a test EN connecting from its own address. Then a replayed NTS
// request against the running router.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { parseRouterConfig } from '../src/config/router-config.js';
import { encodeMessage as encodeNts } from '../src/nts/index.js';
import { startRouter } from '../src/routerd/index.js';
import { memoryLogger } from '../src/util/log.js';
import { baseConfig, dig, parseDig, startServer, waitFor } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';
import { digAt, resolverFor } from './helpers/resolver.js';

const GA = '127.0.0.2';
const ALICE = '127.0.0.10';
const EN = '127.0.0.41';
const KEY = randomBytes(32);

/** alice's service: greets whoever connects (the relay, on loopback). */
async function alice(): Promise<{ port: number; seen: number; close: () => Promise<void> }> {
  const state = { seen: 0 };
  const server = net.createServer((s) => {
    state.seen++;
    s.end('hello from alice');
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, ALICE, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return { port, get seen() { return state.seen; }, close: () => new Promise((r) => server.close(() => r())) };
}

/** alice's service behind a real router daemon with its userspace relay; closed after the test. */
async function aliceBehindRouter(t: TestContext) {
  const svc = await alice();
  t.after(() => svc.close());
  const log = memoryLogger();
  const router = await startRouter(parseRouterConfig({
    id: 'gw1', key: KEY.toString('base64'),
    nts: { listen: '127.0.0.1:0' },
    globalAddresses: [GA],
    phl: [{ name: 'alice.home.example.', address: ALICE }],
    scheduler: { holdMs: 200, rcTimeoutMs: 2000 },
    dataplane: { type: 'userspace', ports: [`tcp/${svc.port}`] },
  }), log);
  t.after(() => router.close());
  return { svc, log, router };
}

/** Connects from the EN's own address; resolves with what came back, or the error code. */
function connect(port: number, from = EN): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = net.connect({ host: GA, port, localAddress: from });
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', (e) => resolve(`error:${(e as NodeJS.ErrnoException).code}`));
  });
}

test('dig through the real server waits for the router; the EN then reaches alice; without a lookup it does not; a replayed NTS request opens nothing', { timeout: 30_000 }, async (t) => {
  if (!needTools(t, 'dig')) return;
  const { svc, log, router } = await aliceBehindRouter(t);
  // The zone: alice's A is the router's global address (as after her registration).
  // dig keeps nothing: the resolver stand-in is configured as what it behaves like (no TTL floor).
  const config = baseConfig({
    routers: [{ id: 'gw1', addresses: [GA], nts: `127.0.0.1:${router.nts.port}`, key: KEY.toString('base64') }],
    resolvers: [{ prefixes: ['127.0.0.0/8'], profile: 'unbound' }],
    nts: { enCacheMs: 0 }, // nor does the test's EN keep the answer
  });
  config.zone.records!.push(`alice.home.example. 300 IN A ${GA}`);
  const srv = await startServer(t, { config });

  // 1. The resolver stand-in asks; the answer comes only after the router's READY.
  const r = parseDig((await dig(srv.port, ['alice.home.example.', 'A'])).stdout);
  assert.equal(r.status, 'NOERROR', r.raw);
  assert.deepEqual(r.answer.map((a) => [a.ttl, a.rdata]), [[0, GA]], r.raw);
  assert.equal(router.scheduler.activeRcs().length, 1, 'the RC exists before the EN knows the address');
  assert.ok(srv.events().some((e) => e.event === 'nts-ready'), 'the server logged the NTS READY');

  // 2. The EN's first packet: mapped to alice.
  assert.equal(await connect(svc.port), 'hello from alice');
  assert.equal(svc.seen, 1);
  assert.equal(log.lines.filter((l) => l.includes('"mapping-created"')).length, 1, 'one NAT mapping, made by the first packet');

  // 3. After the hold, no RC: a connection without a lookup is not forwarded.
  await waitFor('the RC to go after its hold', () => router.scheduler.activeRcs().length === 0, 3000);
  assert.match(await connect(svc.port), /^error:/);
  assert.equal(svc.seen, 1, 'alice saw nothing more');

  // 4. A captured-and-replayed NTS request (same bytes, then same id re-signed later) opens nothing new.
  const request = encodeNts({
    type: 'REQUEST', keyId: 'gw1', timestamp: Date.now(), id: randomBytes(8).toString('hex'),
    request: { fqdn: 'alice.home.example.', qtype: 1, mode: 'any', timeLeftMs: 1500, resolver: { address: '127.0.0.53', port: 5353 } },
  } as never, KEY);
  const sock = dgram.createSocket('udp4');
  t.after(() => sock.close());
  const replies: Buffer[] = [];
  sock.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const send = (b: Buffer) => sock.send(b, router.nts.port, '127.0.0.1');
  send(request);
  await waitFor('the first READY', () => replies.length === 1, 3000);
  const created = () => log.lines.filter((l) => l.includes('"rc-created"')).length;
  const rcsBefore = created();
  await waitFor('that RC to expire', () => router.scheduler.activeRcs().length === 0, 5000);
  send(request); // the same bytes again: the cached answer at most, never a new RC
  send(request);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(router.scheduler.activeRcs().length, 0, 'a replayed request creates no RC');
  assert.equal(created(), rcsBefore);
  const counters = router.counters.snapshot();
  assert.ok(Object.entries(counters).some(([k, v]) => /resend|replay|duplicate/.test(k) && v > 0), `replay counted: ${JSON.stringify(counters)}`);
});

test('NTSS v1: dig from the EN through `ntss resolver` (a plain authoritative behind it): the RC is the EN\'s alone', { timeout: 30_000 }, async (t) => {
  if (!needTools(t, 'dig')) return;
  const { svc, log, router } = await aliceBehindRouter(t);
  // v1: the authoritative is an ordinary DNS server (no routers configured: alice's A is plain data).
  const config = baseConfig({});
  config.zone.records!.push(`alice.home.example. 300 IN A ${GA}`);
  const srv = await startServer(t, { config });
  const resolver = await resolverFor([`127.0.0.1:${srv.port}`], {
    routers: [{ id: 'gw1', addresses: [GA], nts: `127.0.0.1:${router.nts.port}`, key: KEY.toString('base64') }],
  });
  t.after(() => resolver.close());

  const r = await digAt(resolver.udp[0]!.port, ['alice.home.example.', 'A'], EN);
  assert.deepEqual(r.answer.map((a) => [a.ttl, a.rdata]), [[0, GA]], r.raw);
  const rcs = router.scheduler.activeRcs();
  assert.deepEqual(rcs.map((rc) => [rc.source, rc.keys.map((k) => k.source)]), [['source', [`${EN}/32`]]], 'the RC is keyed on the EN that asked');
  // Another host cannot use it, even during the RC; the EN can.
  assert.match(await connect(svc.port, '127.0.0.42'), /^error:/);
  assert.equal(await connect(svc.port), 'hello from alice');
  assert.equal(svc.seen, 1);
});
