// NTSS v1 end to end on loopback: dig (the EN, from a chosen 127/8 address) -> ntss resolver
// -> fake authoritative upstream; the answer names an NTS router's address, so the resolver
// first sends an NTS REQUEST (mode source, EN_ADDRESS = dig's address) to a stand-in router
// (the real NTS server core over UDP) and answers only on READY.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { newMessage } from '../src/dns/types.js';
import { NtsUdpServer, type IncomingRequest, type NtsResponse } from '../src/nts/index.js';
import type { RunningResolver } from '../src/resolver/resolver.js';
import { FAKE_ROUTER_KEY } from './helpers/fake-router.js';
import { startFakeUpstream, TEST_ZONE, type FakeUpstream } from './helpers/fake-upstream.js';
import { digAt, resolverFor } from './helpers/resolver.js';
import { UdpClient } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';

const ROUTER = '203.0.113.2'; // documentation address: only ever data in DNS answers here
const POOL = '203.0.113.9'; // the address the router names in READY (an address pool)
const PATIENCE = 1500;
const MARGIN = 150;

const ZONE = [
  ...TEST_ZONE,
  `alice.example.test. 300 IN A ${ROUTER}`,
  'www2.example.test. 300 IN CNAME alice.example.test.',
  `quiet.example.test. 300 IN A ${ROUTER}`,
  `old.example.test. 300 IN A ${ROUTER}`,
  `slow.example.test. 300 IN A ${ROUTER}`,
  `mixed.example.test. 300 IN A ${ROUTER}`,
  'mixed.example.test. 300 IN A 192.0.2.7',
];

/** How the stand-in router treats each name: READY at once, READY later, a refusal, or silence. */
function decide(req: IncomingRequest): { response?: NtsResponse; afterMs?: number } {
  const name = req.request.fqdn;
  const ready: NtsResponse = { status: 'READY', answerAddress: POOL, rcId: 1, rcLifetimeMs: 3000 };
  if (name === 'quiet.example.test.') return {};
  if (name === 'old.example.test.') return { response: { status: 'UNSUPPORTED', reason: 'mode source' } }; // today's router
  if (name === 'slow.example.test.') return { response: ready, afterMs: 300 };
  return { response: ready };
}

describe('resolver: NTS v1 requests (mode source) with dig', () => {
  let up: FakeUpstream;
  let router: NtsUdpServer;
  let res: RunningResolver;
  let port: number;
  const requests: IncomingRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const asked = (fqdn: string) => requests.filter((r) => r.request.fqdn === fqdn);

  before(async () => {
    up = await startFakeUpstream(ZONE);
    const secret = Buffer.from(FAKE_ROUTER_KEY, 'base64');
    router = await NtsUdpServer.open({
      host: '127.0.0.1', port: 0, keys: (k) => (k === 'gw1' ? secret : undefined),
      onRequest: (req) => {
        requests.push(req);
        const d = decide(req);
        if (!d.response) return;
        const t = setTimeout(() => { timers.delete(t); router.respond(req.requestId, d.response!); }, d.afterMs ?? 0);
        timers.add(t);
      },
    });
    res = await resolverFor([up.address], {
      routers: [{ id: 'gw1', addresses: [ROUTER], nts: `127.0.0.1:${router.address().port}`, key: FAKE_ROUTER_KEY }],
      nts: { listen: '127.0.0.1:0', clientPatienceMs: PATIENCE, marginMs: MARGIN },
    });
    port = res.udp[0].port;
  });
  after(async () => {
    for (const t of timers) clearTimeout(t);
    await res?.close();
    await router?.close();
    await up?.close();
  });
  beforeEach(() => { requests.length = 0; });

  test('READY: the request says mode source and the EN\'s address; dig gets the router\'s address at TTL 0', async (t) => {
    if (!needTools(t, 'dig')) return;
    const p = await digAt(port, ['alice.example.test.', 'A'], '127.0.0.7');
    assert.equal(p.status, 'NOERROR', p.raw);
    assert.deepEqual(p.answer.map((r) => [r.name, r.ttl, r.type, r.rdata]), [['alice.example.test.', 0, 'A', POOL]]);
    assert.equal(requests.length, 1);
    const r = requests[0].request;
    assert.equal(r.mode, 'source');
    assert.equal(r.enAddress, '127.0.0.7');
    assert.equal(r.leaseMs, 61_000, 'the EN may keep the answer (nts.enCacheMs 60 s + a second of TTL rounding)');
    assert.equal(r.fqdn, 'alice.example.test.');
    assert.equal(r.qtype, RRType.A);
    assert.deepEqual(r.resolver, { address: '127.0.0.1', port });
    assert.ok(r.timeLeftMs <= PATIENCE - MARGIN && r.timeLeftMs > PATIENCE - MARGIN - 500, `TIME_LEFT ${r.timeLeftMs}`);
  });

  test('a second lookup sends a new request (never answered from cache), the upstream answer is cached', async (t) => {
    if (!needTools(t, 'dig')) return;
    const before = up.count('alice.example.test.');
    const p1 = await digAt(port, ['alice.example.test.', 'A'], '127.0.0.7');
    const p2 = await digAt(port, ['alice.example.test.', 'A'], '127.0.0.7');
    for (const p of [p1, p2]) assert.deepEqual(p.answer.map((r) => [r.ttl, r.rdata]), [[0, POOL]], p.raw);
    assert.equal(asked('alice.example.test.').length, 2, 'one NTS request per lookup');
    assert.equal(up.count('alice.example.test.'), before, 'the upstream answer came from the cache');
  });

  test('behind a CNAME: the request names the owner of the router\'s A record', async (t) => {
    if (!needTools(t, 'dig')) return;
    const p = await digAt(port, ['www2.example.test.', 'A'], '127.0.0.8');
    assert.deepEqual(p.answer.map((r) => [r.name, r.ttl, r.type, r.rdata]), [
      ['www2.example.test.', 300, 'CNAME', 'alice.example.test.'], ['alice.example.test.', 0, 'A', POOL],
    ]);
    assert.deepEqual(requests.map((r) => [r.request.fqdn, r.request.enAddress]), [['alice.example.test.', '127.0.0.8']]);
  });

  test('other addresses next to the router\'s stay; AAAA queries send no request', async (t) => {
    if (!needTools(t, 'dig')) return;
    const p = await digAt(port, ['mixed.example.test.', 'A'], '127.0.0.7');
    assert.deepEqual(p.answer.map((r) => [r.ttl, r.rdata]).sort(), [[0, POOL], [300, '192.0.2.7']]);
    const six = await digAt(port, ['alice.example.test.', 'AAAA'], '127.0.0.7');
    assert.equal(six.status, 'NOERROR');
    assert.equal(six.answer.length, 0);
    assert.deepEqual(requests.map((r) => r.request.fqdn), ['mixed.example.test.']);
  });

  test('router silent: SERVFAIL before the client\'s patience runs out', async (t) => {
    if (!needTools(t, 'dig')) return;
    const p = await digAt(port, ['quiet.example.test.', 'A'], '127.0.0.7', 3);
    assert.equal(p.status, 'SERVFAIL', p.raw);
    assert.ok(p.ms >= PATIENCE - MARGIN - 100 && p.ms < PATIENCE, `SERVFAIL at about ${PATIENCE - MARGIN} ms, got ${p.ms} ms`);
    assert.equal(asked('quiet.example.test.').length, 1, 'retransmissions are the same request');
  });

  test('router answers UNSUPPORTED (mode source not built yet): SERVFAIL at once', async (t) => {
    if (!needTools(t, 'dig')) return;
    const p = await digAt(port, ['old.example.test.', 'A'], '127.0.0.7');
    assert.equal(p.status, 'SERVFAIL', p.raw);
    assert.ok(p.ms < 500, `${p.ms} ms`);
    assert.equal(res.counters.get('nts_unsupported'), 1);
  });

  test('a stub\'s retry (new id) while the request is pending shares it; both get the answer with their own ids', async () => {
    const c = new UdpClient(port);
    try {
      const query = (id: number) => encodeMessage(newMessage({ id, rd: true, question: [{ name: 'slow.example.test.', type: RRType.A, class: RRClass.IN }] }));
      const first = c.exchange(query(101), 3000);
      await new Promise((r) => setTimeout(r, 100)); // the retry comes while the router holds the first
      const second = c.exchange(query(102), 3000);
      const [a, b] = (await Promise.all([first, second])).map((m) => decodeMessage(m));
      for (const [m, id] of [[a, 101], [b, 102]] as const) {
        assert.equal(m.id, id);
        assert.equal(m.rcode, Rcode.NOERROR);
        assert.deepEqual(m.answer.map((r) => [r.ttl, r.rdata.kind === 'A' && r.rdata.address]), [[0, POOL]]);
      }
      assert.equal(asked('slow.example.test.').length, 1);
      assert.ok(res.counters.get('nts_joined') >= 1);
    } finally {
      c.close();
    }
  });

  test('two ENs asking at once get one request each, for their own address', async (t) => {
    if (!needTools(t, 'dig')) return;
    const [a, b] = await Promise.all([
      digAt(port, ['slow.example.test.', 'A'], '127.0.0.21'),
      digAt(port, ['slow.example.test.', 'A'], '127.0.0.22'),
    ]);
    for (const p of [a, b]) assert.deepEqual(p.answer.map((r) => r.rdata), [POOL], p.raw);
    assert.deepEqual(asked('slow.example.test.').map((r) => r.request.enAddress).sort(), ['127.0.0.21', '127.0.0.22']);
  });
});
