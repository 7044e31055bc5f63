// The server's /metrics and control socket: the real `ntss server` process with a stand-in
// router; a query, an NTS lookup and an update move the right series (scraped over HTTP, read
// with a strict parser), and `ntss status` (the real CLI) shows the zone and the routers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadServerConfig } from '../src/config/server-config.js';
import { baseConfig, dig, HOST, MAIN_JS, pickPort, run, soaSerial, startServer, type ServerProc } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';
import { readyWith, startFakeRouter, type FakeRouter } from './helpers/fake-router.js';
import { scrape, value, type Exposition } from './helpers/prom-text.js';
import { requestStatus } from '../src/control/socket.js';
import { parseRouterConfig } from '../src/config/router-config.js';
import { startRouter } from '../src/routerd/index.js';
import { memoryLogger } from '../src/util/log.js';

const ROUTER = '203.0.113.2';
const GW2 = { id: 'gw2', address: '127.0.0.3', key: Buffer.from('metrics-test-router-gw2-key-32by') };
const KEY = { name: 'up-key.', algorithm: 'hmac-sha256', secret: Buffer.from('metrics-test-update-key-32-bytes').toString('base64'), allow: ['*.home.example.'] };

describe('server: /metrics and ntss status', () => {
  let srv: ServerProc;
  let router: FakeRouter;
  let mport: number;
  let ntsPort: number;
  const metrics = (): Promise<Exposition> => scrape(HOST, mport);
  before(async () => {
    // slow.home.example.: the router stays silent, so the request stays in flight until its deadline.
    const ready = readyWith(ROUTER);
    router = await startFakeRouter((req) => (req.request.fqdn === 'slow.home.example.' ? undefined : ready(req)));
    mport = await pickPort();
    ntsPort = await pickPort();
    const cfg = baseConfig({
      tsig: [KEY], metrics: { listen: `${HOST}:${mport}` }, control: { socket: 'server.sock' }, nts: { listen: `${HOST}:${ntsPort}` },
      // gw2 is a real router (in-process, below) that announces itself; it is never asked.
      routers: [router.entry([ROUTER]), { id: GW2.id, addresses: [GW2.address], nts: `${HOST}:9`, key: GW2.key.toString('base64') }],
    });
    cfg.zone.records = [...cfg.zone.records!, `alice.home.example. 300 IN A ${ROUTER}`, `slow.home.example. 300 IN A ${ROUTER}`];
    srv = await startServer(undefined, { config: cfg });
  });
  after(async () => {
    await srv?.dispose();
    await router?.close();
  });

  test('a plain query moves queries_total by one and nothing NTS', async (t) => {
    if (!needTools(t, 'dig')) return;
    const a = await metrics();
    assert.equal(a.types.get('ntss_server_queries_total'), 'counter');
    const r = await dig(srv.port, ['+notcp', '+tries=1', 'www.home.example.', 'A']);
    assert.equal(r.code, 0, r.output);
    const b = await metrics();
    assert.equal(value(b, 'ntss_server_queries_total') - value(a, 'ntss_server_queries_total'), 1);
    assert.equal(value(b, 'ntss_server_nts_requests_total'), value(a, 'ntss_server_nts_requests_total'));
  });

  test('an NTS lookup over TCP: nts_requests, outcome ready, verified by tcp, the wait histogram', async (t) => {
    if (!needTools(t, 'dig')) return;
    const a = await metrics();
    const r = await dig(srv.port, ['+tcp', '+short', 'alice.home.example.', 'A']);
    assert.equal(r.stdout.trim(), ROUTER, r.output);
    const b = await metrics();
    const d = (name: string, labels?: Record<string, string>) => value(b, name, labels) - value(a, name, labels);
    assert.equal(d('ntss_server_nts_requests_total'), 1);
    assert.equal(d('ntss_server_nts_outcomes_total', { outcome: 'ready' }), 1);
    assert.equal(d('ntss_server_nts_verified_total', { by: 'tcp' }), 1);
    assert.equal(d('ntss_server_nts_requests_by_profile_total', { profile: 'unknown' }), 1);
    assert.equal(d('ntss_server_nts_wait_seconds_count', { outcome: 'ready' }), 1);
    assert.equal(d('ntss_server_nts_wait_seconds_bucket', { outcome: 'ready', le: '+Inf' }), 1);
    assert.ok(value(b, 'ntss_server_nts_wait_seconds_sum', { outcome: 'ready' }) < 2, 'a loopback READY waits well under the patience');
    assert.equal(value(b, 'ntss_server_nts_pending'), 0, 'nothing left in flight');
    for (const k of b.samples.keys()) assert.doesNotMatch(k, /127\.0\.0\.1/, `no resolver address as a label: ${k}`);
  });

  test('updates by outcome: a signed one applied (serial gauge follows), an unsigned one refused', async (t) => {
    if (!needTools(t, 'nsupdate')) return;
    const a = await metrics();
    const send = (auth: string[]) => run('nsupdate', ['-t', '5', '-u', '1', ...auth], [`server ${HOST} ${srv.port}`, 'zone home.example.', 'update add m1.home.example. 60 IN A 192.0.2.7', 'send', ''].join('\n'));
    assert.equal((await send(['-y', `${KEY.algorithm}:${KEY.name}:${KEY.secret}`])).code, 0);
    assert.notEqual((await send([])).code, 0, 'unsigned: REFUSED');
    const b = await metrics();
    const d = (name: string, labels?: Record<string, string>) => value(b, name, labels) - value(a, name, labels);
    assert.equal(d('ntss_server_updates_total'), 2);
    assert.equal(d('ntss_server_update_outcomes_total', { outcome: 'applied' }), 1);
    assert.equal(d('ntss_server_update_outcomes_total', { outcome: 'refused' }), 1);
    assert.equal(value(b, 'ntss_server_zone_serial'), await soaSerial(srv.port));
    assert.equal(d('ntss_server_zone_serial'), 1);
  });

  test('a silent router: the request is pending in ntss status, then a timeout in the outcomes and the wait histogram', async (t) => {
    if (!needTools(t, 'dig')) return;
    const a = await metrics();
    const socket = join(srv.dir, 'server.sock');
    const lookup = dig(srv.port, ['+tcp', '+tries=1', '+time=5', 'slow.home.example.', 'A']);
    const end = Date.now() + 3000;
    let s: Record<string, any> | undefined;
    while (Date.now() < end) {
      s = await requestStatus(socket) as Record<string, any>;
      if (s.nts.pending > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(s?.nts.pending, 1, 'the lookup waits for the router');
    assert.deepEqual(s!.nts.requests.map((p: { resolver: string; name: string; qtype: number }) => [p.resolver, p.name, p.qtype]), [['127.0.0.1', 'slow.home.example.', 1]]);
    assert.equal(value(await metrics(), 'ntss_server_nts_pending'), 1);
    const r = await lookup;
    assert.match(r.stdout, /status: SERVFAIL/, r.output);
    const b = await metrics();
    const d = (name: string, labels?: Record<string, string>) => value(b, name, labels) - value(a, name, labels);
    assert.equal(d('ntss_server_nts_outcomes_total', { outcome: 'timeout' }), 1);
    assert.equal(d('ntss_server_nts_wait_seconds_count', { outcome: 'timeout' }), 1);
    // The unknown profile's patience (1800 ms) minus the margin (150 ms): the wait is the deadline.
    assert.ok(d('ntss_server_nts_wait_seconds_sum', { outcome: 'timeout' }) > 1.5);
    assert.equal(d('ntss_server_nts_wait_seconds_bucket', { outcome: 'timeout', le: '1' }), 0);
    assert.equal(value(b, 'ntss_server_nts_pending'), 0);
  });

  test('ntss status --socket: zone serial, routers, counters; a table without --json', async () => {
    const socket = join(srv.dir, 'server.sock');
    const j = await run('node', [MAIN_JS, 'status', '--socket', socket, '--json']);
    assert.equal(j.code, 0, j.output);
    const s = JSON.parse(j.stdout) as Record<string, any>;
    assert.equal(s.daemon, 'server');
    assert.deepEqual(s.zone, { name: 'home.example.', serial: await soaSerial(srv.port) });
    assert.deepEqual(s.routers.map((r: { id: string; addresses: string[]; lastAnnounce: unknown }) => [r.id, r.addresses, r.lastAnnounce]), [['gw1', [ROUTER], null], ['gw2', [GW2.address], null]]);
    assert.deepEqual({ pending: s.nts.pending, requests: s.nts.requests }, { pending: 0, requests: [] });
    assert.equal(typeof s.counters.queries, 'number');
    const tab = await run('node', [MAIN_JS, 'status', '--socket', socket]);
    assert.equal(tab.code, 0, tab.output);
    assert.match(tab.stdout, /^server: zone home\.example\. serial \d+/m);
    assert.match(tab.stdout, /gw1\s+203\.0\.113\.2\s+127\.0\.0\.1:\d+\s+never/);
  });

  test('ntss status: a router\'s REGISTER shows as its last announcement', async (t) => {
    const gw2 = await startRouter(parseRouterConfig({
      id: GW2.id, key: GW2.key.toString('base64'), nts: { listen: `${HOST}:0` }, server: `${HOST}:${ntsPort}`,
      globalAddresses: [GW2.address], dataplane: { type: 'userspace', ports: [`tcp/${await pickPort()}`] },
    }), memoryLogger('debug'));
    t.after(() => gw2.close());
    const socket = join(srv.dir, 'server.sock');
    const end = Date.now() + 5000;
    let r: Record<string, any> | undefined;
    while (Date.now() < end) {
      r = ((await requestStatus(socket)) as Record<string, any>).routers.find((x: { id: string }) => x.id === 'gw2');
      if (r?.lastAnnounce) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(r?.lastAnnounce?.type, 'REGISTER');
    assert.deepEqual(r.lastAnnounce.addresses, [GW2.address]);
    assert.equal(r.lastAnnounce.from, `${HOST}:${gw2.nts.port}`);
    assert.ok(r.lastAnnounce.agoMs >= 0 && r.lastAnnounce.agoMs < 5000);
    const tab = await run('node', [MAIN_JS, 'status', '--socket', socket]);
    assert.match(tab.stdout, /gw2\s+127\.0\.0\.3\s+127\.0\.0\.1:9\s+REGISTER \d+\.\ds ago\s+127\.0\.0\.1:\d+/);
  });
});

test('config: metrics.listen and control.socket are checked, naming file and key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ntss-metrics-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'server.yaml');
  const base = 'storage: x.db\nzone: {name: home.example., soa: {mname: ns1.home.example., rname: h.home.example., refresh: 1, retry: 1, expire: 1, minimum: 1}, ns: [ns1.home.example.]}\n';
  writeFileSync(file, `${base}metrics: {listen: "localhost"}\n`);
  assert.throws(() => loadServerConfig(file), (e: Error) => e.message.startsWith(`${file}: metrics.listen: `) && /ADDRESS:PORT|address/i.test(e.message));
  writeFileSync(file, `${base}metrics: {port: 9100}\n`);
  assert.throws(() => loadServerConfig(file), (e: Error) => e.message.startsWith(`${file}: metrics.listen: `));
  writeFileSync(file, `${base}control: {socket: ""}\n`);
  assert.throws(() => loadServerConfig(file), (e: Error) => e.message.startsWith(`${file}: control.socket: `));
  writeFileSync(file, `${base}control: {socket: run/s.sock}\nmetrics: {listen: "127.0.0.1:9100"}\n`);
  const c = loadServerConfig(file);
  assert.equal(c.control?.socket, join(dir, 'run/s.sock'), 'relative to the config file');
  assert.deepEqual(c.metrics?.listen, { host: '127.0.0.1', port: 9100, family: 4 });
});
