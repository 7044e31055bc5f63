// The resolver in this process, a fake authoritative upstream on loopback, and BIND's dig as
// the client: caching, TTLs, negative caching, TCP, TC fallback, the client allow list,
// malformed input, upstream failover. The resolver's clock is real time plus a skew the tests
// move forward, so TTL expiry is checked without sleeping.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { encodeMessage, decodeMessage } from '../src/dns/codec.js';
import { RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { newMessage } from '../src/dns/types.js';
import type { RunningResolver } from '../src/resolver/resolver.js';
import { UdpClient } from './helpers/server-proc.js';
import { digAt, resolverFor } from './helpers/resolver.js';
import { startFakeUpstream, TEST_ZONE, type FakeUpstream } from './helpers/fake-upstream.js';
import { needTools } from './helpers/tools.js';

const BIG = Array.from({ length: 30 }, (_, i) => `big.example.test. 300 IN TXT "${`big-${i}-`.padEnd(100, 'x')}"`);

describe('resolver with dig: cache, TTLs, transports', () => {
  let up: FakeUpstream;
  let res: RunningResolver;
  let port: number;
  let skew = 0;
  before(async () => {
    up = await startFakeUpstream([...TEST_ZONE, ...BIG]);
    res = await resolverFor([up.address], {}, () => Date.now() + skew);
    port = res.udp[0].port;
  });
  after(async () => {
    await res?.close();
    await up?.close();
  });

  test('two lookups within the TTL: one upstream query; client id and question case kept, RA set', async (t) => {
    if (!needTools(t, 'dig')) return;
    const first = await digAt(port, ['WwW.Example.TEST.', 'A']);
    const second = await digAt(port, ['www.EXAMPLE.test.', 'A']);
    for (const [p, name] of [[first, 'WwW.Example.TEST.'], [second, 'www.EXAMPLE.test.']] as const) {
      assert.equal(p.status, 'NOERROR', p.raw);
      assert.ok(p.flags.includes('ra') && p.flags.includes('rd') && !p.flags.includes('aa'), `flags [${p.flags}]`);
      assert.equal(p.question[0].name, name);
      assert.deepEqual(p.answer.map((r) => [r.name, r.type, r.rdata]), [[name, 'A', '192.0.2.80']], 'owner in the client\'s case');
    }
    assert.equal(first.answer[0].ttl, 300);
    assert.ok(second.answer[0].ttl <= 300);
    assert.equal(up.count('www.example.test.', RRType.A), 1, 'the second lookup came from the cache');
    const asked = up.queries.find((q) => q.name.toLowerCase() === 'www.example.test.');
    assert.deepEqual(asked, { name: 'www.example.test.', type: RRType.A, transport: 'udp', rd: true, edns: true });
    console.log(`# dig query time: upstream miss ${first.ms} ms, cache hit ${second.ms} ms`);
  });

  test('cached TTLs count down; the entry ends at the smallest TTL', async (t) => {
    if (!needTools(t, 'dig')) return;
    const a = await digAt(port, ['alias.example.test.', 'A']);
    assert.deepEqual(a.answer.map((r) => r.ttl), [600, 300]);
    skew += 7_000;
    const b = await digAt(port, ['alias.example.test.', 'A']);
    assert.deepEqual(b.answer.map((r) => r.ttl), [593, 293]);
    assert.equal(up.count('alias.example.test.'), 1);
    skew += 293_000;
    const c = await digAt(port, ['alias.example.test.', 'A']);
    assert.deepEqual(c.answer.map((r) => r.ttl), [600, 300], 'fresh from upstream');
    assert.equal(up.count('alias.example.test.'), 2);
  });

  test('negative answers are cached for the SOA minimum (RFC 2308); TTL 0 answers are not cached', async (t) => {
    if (!needTools(t, 'dig')) return;
    const nx1 = await digAt(port, ['nx.example.test.', 'A']);
    assert.equal(nx1.status, 'NXDOMAIN', nx1.raw);
    assert.deepEqual(nx1.authority.map((r) => [r.type, r.ttl]), [['SOA', 60]]);
    skew += 20_000;
    const nx2 = await digAt(port, ['nx.example.test.', 'A']);
    assert.equal(nx2.status, 'NXDOMAIN');
    assert.equal(nx2.authority[0].ttl, 40);
    const nodata1 = await digAt(port, ['www.example.test.', 'MX']);
    const nodata2 = await digAt(port, ['www.example.test.', 'MX']);
    for (const p of [nodata1, nodata2]) assert.ok(p.status === 'NOERROR' && p.answer.length === 0 && p.authority[0]?.type === 'SOA', p.raw);
    assert.equal(up.count('nx.example.test.'), 1);
    assert.equal(up.count('www.example.test.', RRType.MX), 1);
    skew += 41_000;
    await digAt(port, ['nx.example.test.', 'A']);
    assert.equal(up.count('nx.example.test.'), 2, 'expired after 60 s');
    await digAt(port, ['zero.example.test.', 'A']);
    const z = await digAt(port, ['zero.example.test.', 'A']);
    assert.equal(z.answer[0].ttl, 0);
    assert.equal(up.count('zero.example.test.'), 2, 'TTL 0: every lookup goes upstream');
  });

  test('queries over TCP are answered (RFC 7766 framing)', async (t) => {
    if (!needTools(t, 'dig')) return;
    const p = await digAt(port, ['+tcp', 'www.example.test.', 'AAAA']);
    assert.equal(p.status, 'NOERROR', p.raw);
    assert.deepEqual(p.answer.map((r) => r.rdata), ['2001:db8::80']);
    assert.deepEqual(up.queries.filter((q) => q.type === RRType.AAAA).map((q) => q.transport), ['udp'], 'upstream is asked over UDP first');
  });

  test('a truncated upstream answer is fetched again over TCP; dig\'s own TCP retry is a cache hit', async (t) => {
    if (!needTools(t, 'dig')) return;
    const p = await digAt(port, ['big.example.test.', 'TXT']);
    assert.equal(p.status, 'NOERROR', p.raw);
    assert.equal(p.answer.length, 30, 'all 30 TXT records (~3.5 KB) arrive');
    assert.match(p.raw, /Truncated, retrying in TCP mode/, 'our UDP answer to dig was truncated too');
    assert.deepEqual(up.queries.filter((q) => q.name === 'big.example.test.').map((q) => q.transport), ['udp', 'tcp']);
    assert.equal(res.counters.get('upstream_tcp_fallbacks'), 1);
  });

  test('garbage gets FORMERR or silence, never a crash; a response is never answered', async () => {
    const c = new UdpClient(port);
    try {
      const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
      const overrun = Buffer.concat([header, Buffer.from([0x3f, 0x61, 0x62])]); // label runs past the end
      const f = decodeMessage(await c.exchange(overrun));
      assert.equal(f.rcode, Rcode.FORMERR);
      assert.equal(f.id, 0x1234);
      const two = encodeMessage(newMessage({ id: 7, rd: true, question: [
        { name: 'www.example.test.', type: RRType.A, class: RRClass.IN }, { name: 'nx.example.test.', type: RRType.A, class: RRClass.IN },
      ] }));
      assert.equal(decodeMessage(await c.exchange(two)).rcode, Rcode.FORMERR, 'two questions');
      // Silence is shown by order: the next real query's answer is the first datagram back.
      await c.sendRaw(Buffer.from([1, 2, 3, 4, 5]));
      await c.sendRaw(encodeMessage(newMessage({ id: 9, qr: true, question: [{ name: 'www.example.test.', type: RRType.A, class: RRClass.IN }] })));
      await c.sendRaw(encodeMessage(newMessage({ id: 11, rd: true, question: [{ name: 'www.example.test.', type: RRType.A, class: RRClass.IN }] })));
      const next = decodeMessage(await c.receive());
      assert.equal(next.id, 11, 'nothing came back for the 5-byte datagram or the response');
      assert.equal(next.rcode, Rcode.NOERROR);
      assert.equal(res.counters.get('dropped_unreadable'), 1);
      assert.equal(res.counters.get('dropped_responses'), 1);
    } finally {
      c.close();
    }
  });
});

describe('resolver with dig: who may ask, and failing upstreams', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });
  const upstream = async (policy?: Parameters<typeof startFakeUpstream>[1]) => {
    const u = await startFakeUpstream(TEST_ZONE, policy);
    closers.push(() => u.close());
    return u;
  };
  const resolver = async (ups: string[], extra: Record<string, unknown> = {}) => {
    const r = await resolverFor(ups, extra);
    closers.push(() => r.close());
    return r;
  };

  test('clients outside `allow` get REFUSED and cause no upstream query', async (t: TestContext) => {
    if (!needTools(t, 'dig')) return;
    const up = await upstream();
    const r = await resolver([up.address], { allow: ['127.0.0.1/32', '10.0.0.0/8'] });
    const out = await digAt(r.udp[0].port, ['www.example.test.', 'A'], '127.0.0.5');
    assert.equal(out.status, 'REFUSED', out.raw);
    assert.equal(out.answer.length, 0);
    const outTcp = await digAt(r.udp[0].port, ['+tcp', 'www.example.test.', 'A'], '127.0.0.5');
    assert.equal(outTcp.status, 'REFUSED');
    assert.equal(up.queries.length, 0);
    const ok = await digAt(r.udp[0].port, ['www.example.test.', 'A'], '127.0.0.1');
    assert.equal(ok.status, 'NOERROR');
    assert.equal(r.counters.get('refused_clients'), 2);
  });

  test('a silent or refusing upstream: the next one answers', async (t) => {
    if (!needTools(t, 'dig')) return;
    const silent = await upstream(() => 'drop');
    const refusing = await upstream(() => 'refused');
    const good = await upstream();
    const r = await resolver([silent.address, refusing.address, good.address], { forward: { timeoutMs: 200 } });
    const p = await digAt(r.udp[0].port, ['www.example.test.', 'A'], '127.0.0.1', 3);
    assert.equal(p.status, 'NOERROR', p.raw);
    assert.deepEqual([silent.queries.length, refusing.queries.length, good.queries.length], [1, 1, 1]);
    assert.ok(p.ms >= 190, `waited for the silent one's timeout (${p.ms} ms)`);
  });

  test('every upstream silent: SERVFAIL before the client\'s patience runs out', async (t) => {
    if (!needTools(t, 'dig')) return;
    const silent = await upstream(() => 'drop');
    const r = await resolver([silent.address], { forward: { timeoutMs: 300, rounds: 10 }, nts: { clientPatienceMs: 1000, marginMs: 100 } });
    const p = await digAt(r.udp[0].port, ['www.example.test.', 'A'], '127.0.0.1', 3);
    assert.equal(p.status, 'SERVFAIL', p.raw);
    assert.ok(p.ms >= 850 && p.ms < 1000, `SERVFAIL at about 900 ms (patience 1000 - margin 100), got ${p.ms} ms`);
    assert.equal(silent.queries.length, 3, 'tries at 0, 300, 600 ms; the 4th would pass the deadline');
  });
});
