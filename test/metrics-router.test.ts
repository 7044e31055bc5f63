// The router's /metrics and control socket, in-process with real sockets on loopback: signed NTS
// requests move the right series (scraped over HTTP, read with a strict parser), and
// `ntss status` (the real CLI) shows the RC, the lease and the refusal.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { schedulerSection, type RouterConfig } from '../src/config/router-config.js';
import { NtsUdpClient, type NtsResult } from '../src/nts/index.js';
import { startRouter } from '../src/routerd/index.js';
import { memoryLogger } from '../src/util/log.js';
import { requestStatus } from '../src/control/socket.js';
import { httpGet, scrape, value } from './helpers/prom-text.js';
import { MAIN_JS, pickPort, run } from './helpers/server-proc.js';

const KEY = randomBytes(32);
const T = { timeout: 20_000 };

/** rcTimeoutMs: how long an RC waits for its first packet (short: the test watches one go unused). */
async function start(t: TestContext, rcTimeoutMs = 3000) {
  const dir = mkdtempSync(join(tmpdir(), 'ntss-metrics-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'router.sock');
  const cfg: RouterConfig = {
    file: '(test)', id: 'gw1', key: KEY,
    nts: { listen: { host: '127.0.0.1', port: 0, family: 4 }, windowMs: 30_000, keepaliveIntervalMs: 30_000 },
    globalAddresses: ['127.0.0.2'],
    phl: [{ name: 'alice.home.example.', address: '127.0.0.10' }],
    scheduler: schedulerSection({ holdMs: 300, rcTimeoutMs }),
    dataplane: { type: 'userspace', ports: [{ proto: 'tcp', port: await pickPort() }], udpIdleTimeoutMs: 30_000, proxyProtocol: false },
    metrics: { listen: { host: '127.0.0.1', port: 0, family: 4 } },
    control: { socket },
  };
  const router = await startRouter(cfg, memoryLogger('debug'));
  t.after(() => router.close());
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  t.after(() => client.close());
  const ask = (fqdn: string): Promise<NtsResult> => client.request(
    { host: '127.0.0.1', port: router.nts.port }, { id: 'gw1', secret: KEY },
    { fqdn, qtype: 1, mode: 'any', resolver: { address: '127.0.0.1', port: 5353 }, leaseMs: 20_000 },
    { deadlineMs: Date.now() + 3000 },
  );
  assert.ok(router.metrics, 'metrics.listen configured: the router reports where it listens');
  return { router, ask, socket, metrics: router.metrics };
}

test('router /metrics: a READY and an UNKNOWN_HOST move responses, requests, gauges and the wait histogram', T, async (t) => {
  const { ask, metrics } = await start(t);
  const before = await scrape(metrics.host, metrics.port);
  assert.equal(before.types.get('ntss_router_responses_total'), 'counter');
  assert.equal(before.types.get('ntss_router_queue_length'), 'gauge');
  assert.equal(before.types.get('ntss_router_request_wait_seconds'), 'histogram');
  assert.equal(value(before, 'ntss_router_active_rcs'), 0);
  assert.equal(value(before, 'ntss_router_phl_entries'), 1);

  assert.equal((await ask('alice.home.example.')).status, 'READY');
  assert.equal((await ask('nobody.home.example.')).status, 'UNKNOWN_HOST');
  const after = await scrape(metrics.host, metrics.port);
  assert.equal(value(after, 'ntss_router_nts_requests_total'), 2);
  assert.equal(value(after, 'ntss_router_responses_total', { status: 'READY' }), 1);
  assert.equal(value(after, 'ntss_router_responses_total', { status: 'UNKNOWN_HOST' }), 1);
  assert.equal(value(after, 'ntss_router_scheduler_events_total', { type: 'rc-created' }), 1);
  assert.equal(value(after, 'ntss_router_active_rcs'), 1);
  assert.equal(value(after, 'ntss_router_leases'), 1);
  assert.equal(value(after, 'ntss_router_queue_length'), 0);
  assert.equal(value(after, 'ntss_router_request_wait_seconds_count', { status: 'READY' }), 1);
  assert.equal(value(after, 'ntss_router_request_wait_seconds_bucket', { status: 'READY', le: '+Inf' }), 1);
  assert.ok(value(after, 'ntss_router_request_wait_seconds_sum', { status: 'READY' }) < 3, 'the wait is seconds, below the deadline');
  assert.equal(value(after, 'ntss_router_request_wait_seconds_count', { status: 'UNKNOWN_HOST' }), 1);
  assert.ok([...after.samples.keys()].some((k) => k.startsWith('ntss_router_nts_total{counter=')), 'the NTS layer\'s counters are exported');
  assert.ok(value(after, 'ntss_router_process_resident_memory_bytes') > 0, 'process metrics');
  for (const k of after.samples.keys()) assert.doesNotMatch(k, /127\.0\.0\.1/, `no resolver address as a label: ${k}`);

  assert.equal((await httpGet(metrics.host, metrics.port, '/')).status, 404);
});

test('router /metrics: an RC that goes unused leaves the gauges and puts its resolver in the reputation table', T, async (t) => {
  const { router, ask, metrics, socket } = await start(t, 200);
  assert.equal(value(await scrape(metrics.host, metrics.port), 'ntss_router_resolvers', { standing: 'probation' }), 0);
  assert.equal((await ask('alice.home.example.')).status, 'READY');
  const end = Date.now() + 5000;
  while (router.scheduler.activeRcs().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  const e = await scrape(metrics.host, metrics.port);
  assert.equal(value(e, 'ntss_router_active_rcs'), 0);
  assert.equal(value(e, 'ntss_router_scheduler_events_total', { type: 'rc-removed' }), 1);
  const standings = ['trusted', 'proven', 'probation', 'suspect', 'penalised'].map((s) => value(e, 'ntss_router_resolvers', { standing: s }));
  assert.equal(standings.reduce((a, b) => a + b, 0), 1, `one resolver in the table: ${standings.join(',')}`);
  assert.equal(value(e, 'ntss_router_resolvers', { standing: router.scheduler.reputation.list(Date.now())[0]!.standing }), 1);
  const st = await requestStatus(socket) as { reputation: { resolver: string; standing: string; credit: number }[]; rcs: unknown[] };
  assert.equal(st.rcs.length, 0);
  assert.deepEqual(st.reputation.map((r) => r.resolver), ['127.0.0.1'], 'ntss status names the resolver (metrics never do)');
  assert.ok(st.reputation[0]!.credit < 3, 'the unused RC cost it credit');
});

test('ntss status --socket: the router\'s PHL, RC, lease and recent refusal, as JSON and as a table', T, async (t) => {
  const { router, ask, socket } = await start(t);
  assert.equal((await ask('alice.home.example.')).status, 'READY');
  assert.equal((await ask('nobody.home.example.')).status, 'UNKNOWN_HOST');
  const j = await run('node', [MAIN_JS, 'status', '--socket', socket, '--json']);
  assert.equal(j.code, 0, j.output);
  const s = JSON.parse(j.stdout) as Record<string, any>;
  assert.equal(s.daemon, 'router');
  assert.deepEqual(s.phl.map((e: { name: string }) => e.name), ['alice.home.example.']);
  assert.equal(s.rcs.length, 1);
  assert.equal(s.rcs[0].privateAddress, '127.0.0.10');
  assert.equal(s.leases.length, 1);
  assert.equal(s.queueLength, 0);
  assert.deepEqual(s.recentRefusals.map((r: { status: string; reason: string }) => [r.status, r.reason]), [['UNKNOWN_HOST', 'unknown-host']]);
  assert.equal(s.counters['respond.READY'], 1);

  const tab = await run('node', [MAIN_JS, 'status', '--socket', socket]);
  assert.equal(tab.code, 0, tab.output);
  assert.match(tab.stdout, /^router gw1: queue 0, 1 RCs, 1 leases/m);
  assert.match(tab.stdout, /alice\.home\.example\.\s+127\.0\.0\.2\s+127\.0\.0\.10/);
  assert.match(tab.stdout, /UNKNOWN_HOST\s+unknown-host\s+1/);

  await router.close();
  assert.equal(existsSync(socket), false, 'the socket file goes with the daemon');
  const gone = await run('node', [MAIN_JS, 'status', '--socket', socket]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /cannot connect to .*router\.sock: ENOENT/);
  const usage = await run('node', [MAIN_JS, 'status']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--socket PATH is required/);
});
