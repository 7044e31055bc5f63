// Resolver profiles end to end: the real `ntss server` process, queried with dig (+subnet) from
// two loopback addresses, and a stand-in NTS router that records what it was asked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, dig, parseDig, startServer, type ServerProc } from './helpers/server-proc.js';
import { readyWith, startFakeRouter, type FakeRouter } from './helpers/fake-router.js';
import { needTools } from './helpers/tools.js';

const ROUTER = '203.0.113.2';

describe('server: resolver profiles (dig +subnet, real server, stand-in router)', () => {
  let srv: ServerProc;
  let router: FakeRouter;
  before(async () => {
    router = await startFakeRouter(readyWith(ROUTER));
    const config = baseConfig({
      routers: [router.entry([ROUTER])],
      // 127.0.0.1 plays an ISP resolver whose ECS we trust; 127.0.0.2 is nobody we know.
      resolvers: [{ prefixes: ['127.0.0.1/32'], profile: { name: 'lab-isp', patienceMs: 3000, ttlFloorMs: 1000, ecs: 'trusted' } }],
      nts: { enCacheMs: 500, fingerprint: false },
    });
    config.zone.records!.push(`alice.home.example. 300 IN A ${ROUTER}`, `bob.home.example. 300 IN A ${ROUTER}`);
    srv = await startServer(undefined, { config });
  });
  after(async () => {
    await srv?.dispose();
    await router?.close();
  });

  test('a trusted resolver with ECS /24: RC by prefix, its lease, its deadline; the answer is scoped to the prefix', async (t) => {
    if (!needTools(t, 'dig')) return;
    const before = router.requests.length;
    const r = await dig(srv.port, ['+subnet=192.0.2.77/24', 'alice.home.example.', 'A']);
    assert.equal(r.code, 0, r.output);
    const p = parseDig(r.stdout);
    assert.equal(p.status, 'NOERROR', r.stdout);
    assert.deepEqual(p.answer.map((a) => [a.ttl, a.rdata]), [[0, ROUTER]]);
    assert.equal(p.clientSubnet, '192.0.2.0/24/24', 'scope = source prefix: the answer was made for that subnet');
    const req = router.requests.slice(before);
    assert.equal(req.length, 1);
    assert.equal(req[0].request.mode, 'prefix');
    assert.deepEqual(req[0].request.clientSubnet, { address: '192.0.2.0', prefixLength: 24 });
    assert.equal(req[0].request.leaseMs, 1000 + 500 + 1000, 'TTL floor + nts.enCacheMs + a second of TTL rounding');
    assert.ok(req[0].request.timeLeftMs <= 3000 - 150 && req[0].request.timeLeftMs > 2500, `timeLeftMs ${req[0].request.timeLeftMs}`);
    const line = await srv.waitForEvent((e) => e.event === 'nts-request' && e.profile === 'lab-isp');
    assert.deepEqual([line.profileVia, line.leaseMs, line.mode, line.subnet], ['config', 2500, 'prefix', '192.0.2.0/24']);
  });

  test('the same resolver with a /8 ECS, and an unknown resolver: mode any; the unknown one gets the conservative profile', async (t) => {
    if (!needTools(t, 'dig')) return;
    const before = router.requests.length;
    const wide = await dig(srv.port, ['+subnet=10.0.0.0/8', 'alice.home.example.', 'A']);
    assert.equal(parseDig(wide.stdout).status, 'NOERROR', wide.output);
    const unknown = await dig(srv.port, ['-b', '127.0.0.2', '+subnet=192.0.2.0/24', 'bob.home.example.', 'A']);
    assert.equal(parseDig(unknown.stdout).status, 'NOERROR', unknown.output);
    const [a, b] = router.requests.slice(before);
    assert.equal(a.request.mode, 'any', '/8 is shorter than nts.ecsMinPrefix (16)');
    assert.equal(a.request.leaseMs, 2500);
    assert.equal(b.request.resolver.address, '127.0.0.2');
    assert.equal(b.request.mode, 'any', 'ECS of an unknown resolver is not trusted');
    assert.equal(b.request.leaseMs, 5000 + 500 + 1000, 'the longest TTL floor seen (Knot) + nts.enCacheMs');
    assert.ok(b.request.timeLeftMs <= 1800 - 150 && b.request.timeLeftMs > 1300, `timeLeftMs ${b.request.timeLeftMs}`);
    const line = await srv.waitForEvent((e) => e.event === 'nts-request' && e.resolver === '127.0.0.2');
    assert.deepEqual([line.profile, line.profileVia], ['unknown', 'default']);
  });
});
