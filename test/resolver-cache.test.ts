// The resolver's cache, sans-I/O: time is an argument, so lifetimes are checked to the
// millisecond without sleeping.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { parseRecord } from '../src/dns/presentation.js';
import type { Question } from '../src/dns/types.js';
import { AnswerCache, cacheable, type Answer, type CacheLimits } from '../src/resolver/cache.js';

const LIMITS: CacheLimits = { entries: 100, bytes: 1 << 20, maxTtl: 86_400, maxNegativeTtl: 3_600 };
const SOA = 'example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60';
const T0 = 1_700_000_000_000;

const q = (name: string, type: number = RRType.A): Question => ({ name, type, class: RRClass.IN });
const answer = (rcode: number, answer: string[], authority: string[] = []): Answer => ({
  rcode, answer: answer.map(parseRecord), authority: authority.map(parseRecord), additional: [],
});
const ttls = (a: Answer | undefined) => a?.answer.map((r) => r.ttl);

describe('resolver cache', () => {
  test('a positive answer lives for its smallest TTL, served with TTLs counted down in whole seconds', () => {
    const c = new AnswerCache(LIMITS);
    const r = answer(Rcode.NOERROR, ['alias.example.test. 600 IN CNAME www.example.test.', 'www.example.test. 300 IN A 192.0.2.80']);
    assert.equal(c.put(q('alias.example.test.'), r, 100, T0).cached, true);
    assert.deepEqual(ttls(c.get(q('alias.example.test.'), T0)), [600, 300]);
    assert.deepEqual(ttls(c.get(q('alias.example.test.'), T0 + 999)), [600, 300]);
    assert.deepEqual(ttls(c.get(q('alias.example.test.'), T0 + 7_000)), [593, 293]);
    assert.deepEqual(ttls(c.get(q('alias.example.test.'), T0 + 299_999)), [301, 1], 'never served with TTL 0 while alive');
    assert.equal(c.get(q('alias.example.test.'), T0 + 300_000), undefined, 'gone at the smallest TTL');
    assert.equal(c.size, 0, 'an expired entry is removed when found');
  });

  test('the key is the question, case-insensitively, per type and class', () => {
    const c = new AnswerCache(LIMITS);
    c.put(q('www.example.test.'), answer(Rcode.NOERROR, ['www.example.test. 300 IN A 192.0.2.80']), 100, T0);
    assert.ok(c.get(q('WwW.ExAmPlE.tEsT.'), T0 + 1));
    assert.equal(c.get(q('www.example.test.', RRType.AAAA), T0 + 1), undefined);
    assert.equal(c.get({ ...q('www.example.test.'), class: RRClass.CH }, T0 + 1), undefined);
  });

  test('NXDOMAIN and NODATA live for min(SOA TTL, SOA MINIMUM), which is also the SOA TTL served (RFC 2308)', () => {
    const c = new AnswerCache(LIMITS);
    c.put(q('nx.example.test.'), answer(Rcode.NXDOMAIN, [], [SOA]), 100, T0);
    c.put(q('www.example.test.', RRType.MX), answer(Rcode.NOERROR, [], [SOA]), 100, T0);
    for (const k of [q('nx.example.test.'), q('www.example.test.', RRType.MX)]) {
      const hit = c.get(k, T0 + 20_000);
      assert.equal(hit?.authority[0].ttl, 40, 'SOA served at 60 - 20');
      assert.equal(c.get(k, T0 + 60_000), undefined);
    }
    assert.equal(c.get(q('nx.example.test.'), T0), undefined, 'the expired lookup removed it: no hit even at an earlier time');
  });

  test('a CNAME into NODATA is negative: the chain and the SOA both bound it', () => {
    const r = answer(Rcode.NOERROR, ['alias.example.test. 30 IN CNAME www.example.test.'], [SOA]);
    assert.equal(cacheable(q('alias.example.test.', RRType.MX), r, LIMITS).ttl, 30);
  });

  test('not cached: negative without SOA, TTL 0, SERVFAIL/REFUSED, SOA MINIMUM 0', () => {
    const c = new AnswerCache(LIMITS);
    const cases: [string, Answer][] = [
      ['NXDOMAIN without SOA', answer(Rcode.NXDOMAIN, [])],
      ['TTL 0', answer(Rcode.NOERROR, ['zero.example.test. 0 IN A 192.0.2.0'])],
      ['SERVFAIL', answer(Rcode.SERVFAIL, [])],
      ['REFUSED', answer(Rcode.REFUSED, [])],
      ['MINIMUM 0', answer(Rcode.NXDOMAIN, [], ['example.test. 3600 IN SOA ns1.example.test. h.example.test. 1 3600 600 86400 0'])],
    ];
    for (const [what, r] of cases) {
      const name = `${what.replace(/\W+/g, '-').toLowerCase()}.example.test.`;
      assert.equal(c.put(q(name), r, 100, T0).cached, false, what);
      assert.equal(c.get(q(name), T0), undefined, what);
    }
  });

  test('TTLs are capped: maxTtl for data, maxNegativeTtl for negative answers', () => {
    const c = new AnswerCache({ ...LIMITS, maxTtl: 100, maxNegativeTtl: 10 });
    const put = c.put(q('www.example.test.'), answer(Rcode.NOERROR, ['www.example.test. 300 IN A 192.0.2.80']), 100, T0);
    assert.deepEqual(ttls(put.value), [100], 'the client sees the cap too');
    assert.equal(c.get(q('www.example.test.'), T0 + 100_000), undefined);
    c.put(q('nx.example.test.'), answer(Rcode.NXDOMAIN, [], [SOA]), 100, T0);
    assert.equal(c.get(q('nx.example.test.'), T0 + 9_999)?.authority[0].ttl, 1);
    assert.equal(c.get(q('nx.example.test.'), T0 + 10_000), undefined);
  });

  test('bounded in entries: the least recently used goes first', () => {
    const c = new AnswerCache({ ...LIMITS, entries: 3 });
    const put = (n: string) => c.put(q(`${n}.example.test.`), answer(Rcode.NOERROR, [`${n}.example.test. 300 IN A 192.0.2.1`]), 10, T0);
    put('a');
    put('b');
    put('c');
    assert.ok(c.get(q('a.example.test.'), T0), 'a is now the most recent');
    put('d');
    assert.equal(c.size, 3);
    assert.equal(c.get(q('b.example.test.'), T0), undefined, 'b was least recently used');
    for (const n of ['a', 'c', 'd']) assert.ok(c.get(q(`${n}.example.test.`), T0), n);
  });

  test('bounded in bytes; an answer bigger than the whole budget is served but not kept', () => {
    const c = new AnswerCache({ ...LIMITS, bytes: 1000 });
    const r = (n: string) => answer(Rcode.NOERROR, [`${n}.example.test. 300 IN A 192.0.2.1`]);
    c.put(q('a.example.test.'), r('a'), 600, T0);
    c.put(q('b.example.test.'), r('b'), 600, T0);
    assert.equal(c.bytes, 600);
    assert.equal(c.get(q('a.example.test.'), T0), undefined);
    assert.equal(c.put(q('huge.example.test.'), r('huge'), 1001, T0).cached, false);
    assert.ok(c.get(q('b.example.test.'), T0));
    assert.equal(c.bytes, 600);
  });

  test('entries: 0 disables caching', () => {
    const c = new AnswerCache({ ...LIMITS, entries: 0 });
    assert.equal(c.put(q('a.example.test.'), answer(Rcode.NOERROR, ['a.example.test. 300 IN A 192.0.2.1']), 10, T0).cached, false);
    assert.equal(c.size, 0);
  });

  test('replacing an entry keeps the byte count right', () => {
    const c = new AnswerCache(LIMITS);
    const r = answer(Rcode.NOERROR, ['a.example.test. 300 IN A 192.0.2.1']);
    c.put(q('a.example.test.'), r, 100, T0);
    c.put(q('a.example.test.'), r, 150, T0 + 5_000);
    assert.equal(c.bytes, 150);
    assert.deepEqual(ttls(c.get(q('a.example.test.'), T0 + 5_000)), [300], 'the newer copy counts');
  });
});
