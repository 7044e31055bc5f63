// PHL learning end to end on loopback: the real NTSv2 server in-process (127.0.0.1), the router
// with its UPDATE proxy on 127.0.0.3, and BIND's nsupdate sending from bound inside-host
// addresses (127.0.0.1x) through the proxy, over UDP and TCP.
import { ALL_SERVICES } from '../src/router/claims.js';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { validate } from '../src/config/load.js';
import { schedulerSection, type RouterConfig } from '../src/config/router-config.js';
import { serverConfigSchema } from '../src/config/server-config.js';
import { encodeMessage } from '../src/dns/codec.js';
import { Opcode, RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { parseRecord } from '../src/dns/presentation.js';
import { signMessage } from '../src/dns/tsig.js';
import { newMessage } from '../src/dns/types.js';
import { SimulatedDataPlane } from '../src/dataplane/index.js';
import { startRouter, type RunningRouter } from '../src/routerd/index.js';
import { FrameReader } from '../src/routerd/update-proxy-tcp.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { PhlStore } from '../src/store/phl-store.js';
import { memoryLogger } from '../src/util/log.js';
import { baseConfig, pickPort, run, type RunResult } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';

const PROXY = '127.0.0.3';
const KEY = { name: 'lan-key.', algorithm: 'hmac-sha256', secret: Buffer.from('lan-secret'.padEnd(32, '.')).toString('base64') };
const WRONG = { ...KEY, secret: Buffer.from('not-the-secret'.padEnd(32, '.')).toString('base64') };
const T = { timeout: 30_000 };
const signingKey = () => ({ name: KEY.name, algorithm: 'hmac-sha256' as const, secret: Buffer.from(KEY.secret, 'base64') });

const dir = mkdtempSync(join(tmpdir(), 'ntss-learn-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Log = ReturnType<typeof memoryLogger>;
const events = (log: Log, name: string) => log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event === name);

describe('routerd: PHL learning through the DNS UPDATE proxy', () => {
  let server: RunningServer;
  let serverPort: number;
  before(async () => {
    serverPort = await pickPort();
    const data = { listen: [`127.0.0.1:${serverPort}`], storage: join(dir, 'server.db'), ...baseConfig({ tsig: [{ ...KEY, allow: ['*.home.example.'] }] }) };
    server = await startServer({ ...validate('(test)', serverConfigSchema, data), file: '(test)' }, memoryLogger('warn'));
  });
  after(() => server?.close());

  async function router(t: TestContext, over: Partial<RouterConfig> = {}): Promise<{ r: RunningRouter; log: Log; port: number }> {
    const log = memoryLogger('info');
    const cfg: RouterConfig = {
      file: '(test)', id: 'gw1', key: Buffer.alloc(32, 7),
      nts: { listen: { host: '127.0.0.1', port: 0, family: 4 }, windowMs: 30_000, keepaliveIntervalMs: 30_000 },
      globalAddresses: ['127.0.0.2'], phl: [],
      scheduler: schedulerSection({ holdMs: 300, rcTimeoutMs: 3000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100, serviceEwmaAlpha: 0.125, idMemoryMs: 60_000, stickyMs: 30_000 }),
      dataplane: { type: 'userspace', ports: [{ proto: 'tcp', port: 1 }], udpIdleTimeoutMs: 30_000, proxyProtocol: false },
      learning: {
        listen: { host: PROXY, port: 0, family: 4 }, server: { host: '127.0.0.1', port: serverPort, family: 4 },
        pendingTimeoutMs: 10_000, maxPending: 4096, idleTimeoutMs: 30_000, maxClients: 1024,
      },
      ...over,
    };
    const r = await startRouter(cfg, log, Date.now, { dataplane: (classify) => new SimulatedDataPlane(classify) });
    t.after(() => r.close());
    return { r, log, port: r.learning?.port ?? 0 };
  }

  /** nsupdate from `local` through the proxy; without `zone`, it asks the SOA first (a query through the proxy). */
  function nsupdate(port: number, local: string, lines: string[], opts: { key?: typeof KEY; tcp?: boolean; zone?: boolean } = {}): Promise<RunResult> {
    const k = opts.key ?? KEY;
    const script = [`server ${PROXY} ${port}`, `local ${local}`, ...(opts.zone ? ['zone home.example.'] : []), ...lines, 'send', ''].join('\n');
    return run('nsupdate', ['-t', '5', '-u', '1', ...(opts.tcp ? ['-v'] : []), '-y', `${k.algorithm}:${k.name}:${k.secret}`], script);
  }
  const ok = (r: RunResult) => assert.equal(r.code, 0, `nsupdate should succeed:\n${r.output}`);

  test('UDP: NOERROR through the proxy; the PHL learns the source address, not the rdata', T, async (t) => {
    if (!needTools(t, 'nsupdate')) return;
    const { r, log, port } = await router(t);
    ok(await nsupdate(port, '127.0.0.10', ['update add alice.home.example. 60 A 203.0.113.2']));
    // nsupdate saw NOERROR only after the PHL changed (the proxy learns before relaying): no waiting.
    assert.deepEqual(r.phl.lookup('alice.home.example.'), { fqdn: 'alice.home.example.', address: '127.0.0.10', source: 'learned', learnedAt: r.phl.lookup('alice.home.example.')!.learnedAt, services: ALL_SERVICES });
    const c = r.counters.snapshot();
    assert.ok(c['learning.queries'] >= 1, 'the SOA query was relayed');
    assert.equal(c['learning.learned'], 1);
    assert.equal(c['learning.pending'], 0);
    assert.deepEqual(events(log, 'phl-learned').map((e) => [e.fqdn, e.address, e.transport]), [['alice.home.example.', '127.0.0.10', 'udp']]);
    assert.equal(events(log, 'phl-not-persisted').length, 1, 'no storage: said at start');
  });

  test('a wrong key: the server refuses, nsupdate fails, nothing is learned', T, async (t) => {
    if (!needTools(t, 'nsupdate')) return;
    const { r, port } = await router(t);
    const res = await nsupdate(port, '127.0.0.10', ['update add mallory.home.example. 60 A 127.0.0.10'], { key: WRONG, zone: true });
    assert.notEqual(res.code, 0, res.output);
    assert.equal(r.phl.lookup('mallory.home.example.'), undefined);
    assert.equal(r.counters.get('learning.updates-refused'), 1);
    assert.equal(r.counters.get('learning.learned'), 0);
  });

  test('TCP (nsupdate -v): learned the same way; several messages on the connections', T, async (t) => {
    if (!needTools(t, 'nsupdate')) return;
    const { r, log, port } = await router(t);
    ok(await nsupdate(port, '127.0.0.11', ['update delete bob.home.example. A', 'update add bob.home.example. 60 A 127.0.0.2'], { tcp: true }));
    assert.equal(r.phl.lookup('bob.home.example.')?.address, '127.0.0.11');
    assert.ok(r.counters.get('learning.tcp-connections') >= 1);
    assert.ok(r.counters.get('learning.queries') >= 1);
    assert.deepEqual(events(log, 'phl-learned').map((e) => e.transport), ['tcp']);
  });

  test('a delete-only update removes the learned entry; configured entries are never touched', T, async (t) => {
    if (!needTools(t, 'nsupdate')) return;
    const { r, log, port } = await router(t, { phl: [{ name: 'dave.home.example.', address: '127.0.0.99' }] });
    ok(await nsupdate(port, '127.0.0.12', ['update add carol.home.example. 60 A 127.0.0.2', 'update add dave.home.example. 60 A 127.0.0.2'], { zone: true }));
    assert.equal(r.phl.lookup('carol.home.example.')?.address, '127.0.0.12');
    assert.equal(r.phl.lookup('dave.home.example.')?.address, '127.0.0.99', 'configuration wins');
    assert.equal(events(log, 'phl-learned').find((e) => e.fqdn === 'dave.home.example.')?.shadowedBy, '127.0.0.99');
    ok(await nsupdate(port, '127.0.0.12', ['update delete carol.home.example. A', 'update delete dave.home.example.'], { zone: true }));
    assert.equal(r.phl.lookup('carol.home.example.'), undefined);
    assert.deepEqual(r.phl.lookup('dave.home.example.')?.source, 'configured');
    assert.deepEqual(r.phl.list({ all: true }).map((e) => e.source), ['configured']);
    assert.deepEqual(events(log, 'phl-forgotten').map((e) => e.fqdn).sort(), ['carol.home.example.', 'dave.home.example.']);
  });

  test('malformed datagrams are relayed, nothing is learned, the proxy keeps working', T, async (t) => {
    if (!needTools(t, 'nsupdate')) return;
    const { r, port } = await router(t);
    const sock = dgram.createSocket('udp4');
    t.after(() => sock.close());
    await new Promise<void>((res) => sock.bind(0, '127.0.0.13', () => res()));
    const replies: Buffer[] = [];
    sock.on('message', (m) => replies.push(m));
    // An UPDATE header (id 0x4242, opcode 5) whose counts promise more than the datagram holds.
    const bad = Buffer.from([0x42, 0x42, 0x28, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0xff, 0xff]);
    sock.send(Buffer.from('junk'), port, PROXY);
    sock.send(bad, port, PROXY);
    const deadline = Date.now() + 3000;
    while (replies.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.equal(replies.length, 1, 'the server answered the readable one (FORMERR), relayed back; the 4 bytes get nothing');
    assert.equal(replies[0].readUInt16BE(0), 0x4242);
    assert.equal((replies[0][3] & 0xf), Rcode.FORMERR);
    assert.equal(r.counters.get('learning.malformed'), 2);
    assert.equal(r.phl.size, 0);
    ok(await nsupdate(port, '127.0.0.13', ['update add frank.home.example. 60 A 127.0.0.2']));
    assert.equal(r.phl.lookup('frank.home.example.')?.address, '127.0.0.13');
  });

  test('TCP: two signed updates on one connection, cut at odd places, both answered and learned', T, async (t) => {
    const { r, port } = await router(t);
    const frame = (id: number, name: string) => {
      const m = signMessage(encodeMessage(newMessage({
        id, opcode: Opcode.UPDATE, question: [{ name: 'home.example.', type: RRType.SOA, class: RRClass.IN }],
        authority: [parseRecord(`${name} 60 IN A 127.0.0.2`)],
      })), signingKey(), { nowSeconds: Math.floor(Date.now() / 1000) }).message;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(m.length);
      return Buffer.concat([len, m]);
    };
    const bytes = Buffer.concat([frame(0x0101, 'ivy.home.example.'), frame(0x0202, 'jack.home.example.')]);
    const sock = net.connect({ host: PROXY, port, localAddress: '127.0.0.16' });
    t.after(() => sock.destroy());
    let got = Buffer.alloc(0);
    sock.on('data', (d) => { got = Buffer.concat([got, d]); });
    await new Promise<void>((res) => sock.once('connect', () => res()));
    for (const [a, b] of [[0, 1], [1, 40], [40, bytes.length - 3], [bytes.length - 3, bytes.length]]) {
      sock.write(bytes.subarray(a, b));
      await new Promise((res) => setTimeout(res, 5));
    }
    const deadline = Date.now() + 3000;
    const answers = () => {
      const out: Buffer[] = [];
      new FrameReader().push(got, (m) => out.push(m));
      return out;
    };
    while (answers().length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(answers().map((m) => [m.readUInt16BE(0), m[3] & 0xf]), [[0x0101, Rcode.NOERROR], [0x0202, Rcode.NOERROR]]);
    assert.equal(r.phl.lookup('ivy.home.example.')?.address, '127.0.0.16');
    assert.equal(r.phl.lookup('jack.home.example.')?.address, '127.0.0.16');
    assert.equal(r.counters.get('learning.tcp-connections'), 1);
  });

  test('a signed update replayed from another LAN address: the server accepts it, the PHL does not move', T, async (t) => {
    const { r, port } = await router(t);
    const unsigned = encodeMessage(newMessage({
      id: 0x5151, opcode: Opcode.UPDATE, question: [{ name: 'home.example.', type: RRType.SOA, class: RRClass.IN }],
      authority: [parseRecord('henry.home.example. 60 IN A 127.0.0.2')],
    }));
    const signed = signMessage(unsigned, signingKey(), { nowSeconds: Math.floor(Date.now() / 1000) }).message;
    const send = async (from: string) => {
      const sock = dgram.createSocket('udp4');
      try {
        await new Promise<void>((res) => sock.bind(0, from, () => res()));
        const reply = new Promise<Buffer>((res, rej) => {
          sock.once('message', res);
          setTimeout(() => rej(new Error(`no reply for ${from}`)), 3000).unref();
        });
        sock.send(signed, port, PROXY);
        return (await reply)[3] & 0xf;
      } finally {
        sock.close();
      }
    };
    assert.equal(await send('127.0.0.15'), Rcode.NOERROR);
    assert.equal(r.phl.lookup('henry.home.example.')?.address, '127.0.0.15');
    assert.equal(await send('127.0.0.66'), Rcode.NOERROR, 'TSIG alone does not stop a replay inside the fudge window');
    assert.equal(r.phl.lookup('henry.home.example.')?.address, '127.0.0.15');
    assert.equal(r.counters.get('learning.replays'), 1);
  });

  test('restart with the same storage keeps the learned entries (configured ones are not stored)', T, async (t) => {
    if (!needTools(t, 'nsupdate')) return;
    const storage = join(dir, 'router', 'router.db');
    const phl = [{ name: 'gina.home.example.', address: '127.0.0.98' }];
    const first = await router(t, { storage, phl });
    ok(await nsupdate(first.port, '127.0.0.14', ['update add erin.home.example. 60 A 127.0.0.2', 'update add gina.home.example. 60 A 127.0.0.2']));
    assert.equal(first.r.phl.lookup('erin.home.example.')?.address, '127.0.0.14');
    await first.r.close();

    const store = PhlStore.open(storage);
    assert.deepEqual(store.all().map((e) => [e.fqdn, e.address]), [['erin.home.example.', '127.0.0.14'], ['gina.home.example.', '127.0.0.14']]);
    store.close();

    const second = await router(t, { storage, phl, learning: undefined });
    assert.equal(second.r.learning, undefined);
    assert.equal(second.r.phl.lookup('erin.home.example.')?.address, '127.0.0.14');
    assert.equal(second.r.phl.lookup('gina.home.example.')?.address, '127.0.0.98', 'configuration still wins after a restart');
    assert.deepEqual(events(second.log, 'phl-loaded').map((e) => e.learned), [2]);
  });
});

test('the proxy cannot bind: the router does not start, naming learning.listen', async (t) => {
  const log = memoryLogger('info');
  const busy = dgram.createSocket('udp4');
  const port = await new Promise<number>((res) => busy.bind(0, PROXY, () => res(busy.address().port)));
  t.after(() => busy.close());
  const cfg: RouterConfig = {
    file: '(test)', id: 'gw1', key: Buffer.alloc(32, 7), phl: [], globalAddresses: ['127.0.0.2'],
    nts: { listen: { host: '127.0.0.1', port: 0, family: 4 }, windowMs: 30_000, keepaliveIntervalMs: 30_000 },
    scheduler: schedulerSection({ holdMs: 300, rcTimeoutMs: 3000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100, serviceEwmaAlpha: 0.125, idMemoryMs: 60_000, stickyMs: 30_000 }),
    dataplane: { type: 'userspace', ports: [{ proto: 'tcp', port: 1 }], udpIdleTimeoutMs: 30_000, proxyProtocol: false },
    storage: join(dir, 'bind-fail', 'router.db'),
    learning: {
      listen: { host: PROXY, port, family: 4 }, server: { host: '127.0.0.1', port: 53, family: 4 },
      pendingTimeoutMs: 10_000, maxPending: 4096, idleTimeoutMs: 30_000, maxClients: 1024,
    },
  };
  await assert.rejects(startRouter(cfg, log, Date.now, { dataplane: (c) => new SimulatedDataPlane(c) }), /learning\.listen.*EADDRINUSE/);
  PhlStore.open(cfg.storage!).close(); // the failed start released the store's lock
});
