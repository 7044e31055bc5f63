// The resolver's handler without sockets: fake upstream and fake NTS transport, virtual time.
// What dig cannot show precisely: which deadline the NTS request gets, what happens at the
// edges of the client's patience, and the answers to odd queries.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { Opcode, RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { parseRecord } from '../src/dns/presentation.js';
import { newMessage, type Message, type Question } from '../src/dns/types.js';
import type { NtsResult, NtsRequestFields } from '../src/nts/index.js';
import { ClientAcl, DEFAULT_ALLOW, parsePrefix, type Prefix } from '../src/resolver/acl.js';
import { AnswerCache } from '../src/resolver/cache.js';
import { ResolverHandler } from '../src/resolver/handler.js';
import { Lookup } from '../src/resolver/lookup.js';
import { SourceRcRequester } from '../src/resolver/nts-source.js';
import type { UpstreamOutcome } from '../src/resolver/upstream.js';
import type { RequestContext } from '../src/server/handler.js';
import { Counters } from '../src/util/counters.js';
import { memoryLogger } from '../src/util/log.js';

const T0 = 1_700_000_000_000;
const ROUTER = '203.0.113.2';
const LAN: RequestContext = { transport: 'udp', remoteAddress: '192.168.1.20', remotePort: 40000 };

/** A promise with its resolve function outside, to release answers at chosen (virtual) times. */
function later<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

function setup(opts: { allow?: readonly string[] } = {}) {
  let t = T0;
  const counters = new Counters();
  const upstreamCalls: { q: Question; deadline: number; reply: ReturnType<typeof later<UpstreamOutcome>> }[] = [];
  const ntsCalls: { params: NtsRequestFields; deadlineMs: number; reply: ReturnType<typeof later<NtsResult>> }[] = [];
  let ntsThrows = false;
  const now = () => t;
  const nts = new SourceRcRequester(
    [{ id: 'gw1', addresses: [ROUTER], nts: { host: '127.0.0.1', port: 5301 }, key: Buffer.alloc(32, 1) }],
    {
      request: (_router, _key, params, o) => {
        if (ntsThrows) return Promise.reject(new Error('boom'));
        const reply = later<NtsResult>();
        ntsCalls.push({ params, deadlineMs: o.deadlineMs, reply });
        return reply.promise;
      },
    },
    () => ({ address: '192.168.1.1', port: 53 }), counters, memoryLogger(), now,
  );
  const upstream = {
    query: (q: Question, deadline: number) => {
      const reply = later<UpstreamOutcome>();
      upstreamCalls.push({ q, deadline, reply });
      return reply.promise;
    },
  };
  const handler = new ResolverHandler({
    acl: new ClientAcl((opts.allow ?? DEFAULT_ALLOW).map((s) => parsePrefix(s) as Prefix)),
    lookup: new Lookup(new AnswerCache({ entries: 100, bytes: 1 << 20, maxTtl: 86_400, maxNegativeTtl: 3_600 }), upstream, counters, now),
    nts, clientPatienceMs: 4500, marginMs: 150, udpMaxPayload: 1232, counters, log: memoryLogger(), now,
  });
  return {
    handler, counters, upstreamCalls, ntsCalls,
    advance: (ms: number) => { t += ms; },
    failNts: () => { ntsThrows = true; },
    async ask(q: Partial<Message>, ctx: RequestContext = LAN): Promise<Message | null> {
      const out = await handler.handle(encodeMessage(newMessage({ id: 4242, rd: true, ...q })), ctx);
      return out && decodeMessage(out);
    },
  };
}

const question = (name: string, type: number = RRType.A, cls: number = RRClass.IN): Question => ({ name, type, class: cls });
const upstreamAnswer = (records: string[], rcode: number = Rcode.NOERROR): UpstreamOutcome => ({
  ok: true, bytes: 100, server: '192.0.2.10:53', tcp: false,
  message: newMessage({ qr: true, rcode, answer: records.map(parseRecord) }),
});
/** Lets the handler's promise chain run up to its next wait. */
const settle = () => new Promise((r) => setImmediate(r));

describe('resolver handler', () => {
  test('the NTS deadline is the client\'s: arrival + patience - margin, whatever upstream took', async () => {
    const s = setup();
    const pending = s.ask({ question: [question('alice.home.example.')] });
    await settle();
    s.advance(1_000); // a slow upstream
    s.upstreamCalls[0].reply.resolve(upstreamAnswer([`alice.home.example. 300 IN A ${ROUTER}`]));
    await settle();
    assert.equal(s.ntsCalls.length, 1);
    const call = s.ntsCalls[0];
    assert.equal(call.deadlineMs, T0 + 4500 - 150);
    const { id, ...params } = call.params as typeof call.params & { id?: string };
    assert.match(id ?? '', /^[0-9a-f]{16}$/, 'the request id the logs carry as `req` (docs/operations.md)');
    assert.deepEqual(params, {
      fqdn: 'alice.home.example.', qtype: RRType.A, mode: 'source', enAddress: '192.168.1.20', resolver: { address: '192.168.1.1', port: 53 },
    });
    call.reply.resolve({ status: 'READY', answerAddress: '203.0.113.9', rcId: 7, rcLifetimeMs: 3000 });
    const m = (await pending)!;
    assert.equal(m.id, 4242);
    assert.ok(m.ra && !m.aa);
    assert.deepEqual(m.answer.map((r) => [r.ttl, r.rdata]), [[0, { kind: 'A', address: '203.0.113.9' }]]);
  });

  test('an IPv4 client on a dual-stack socket is named by its IPv4 address in EN_ADDRESS', async () => {
    const s = setup();
    const pending = s.ask({ question: [question('alice.home.example.')] }, { ...LAN, remoteAddress: '::ffff:192.168.1.33' });
    await settle();
    s.upstreamCalls[0].reply.resolve(upstreamAnswer([`alice.home.example. 300 IN A ${ROUTER}`]));
    await settle();
    assert.equal(s.ntsCalls[0].params.enAddress, '192.168.1.33');
    s.ntsCalls[0].reply.resolve({ status: 'TOO_LATE' });
    assert.equal((await pending)!.rcode, Rcode.SERVFAIL);
    assert.equal(s.counters.get('nts_too_late'), 1);
  });

  test('only A records on the question\'s CNAME chain count: an unrelated one sends no request', async () => {
    const s = setup();
    const pending = s.ask({ question: [question('www.evil.example.')] });
    await settle();
    s.upstreamCalls[0].reply.resolve(upstreamAnswer(['www.evil.example. 300 IN A 192.0.2.66', `alice.home.example. 300 IN A ${ROUTER}`]));
    const m = (await pending)!;
    assert.equal(s.ntsCalls.length, 0);
    assert.equal(m.rcode, Rcode.NOERROR);
  });

  test('no time left after upstream: SERVFAIL without asking the router', async () => {
    const s = setup();
    const pending = s.ask({ question: [question('alice.home.example.')] });
    await settle();
    s.advance(4500 - 150 - 10);
    s.upstreamCalls[0].reply.resolve(upstreamAnswer([`alice.home.example. 300 IN A ${ROUTER}`]));
    assert.equal((await pending)!.rcode, Rcode.SERVFAIL);
    assert.equal(s.ntsCalls.length, 0);
    assert.equal(s.counters.get('nts_no_time'), 1);
  });

  test('a failing NTS client is a SERVFAIL, counted, not a crash', async () => {
    const s = setup();
    s.failNts();
    const pending = s.ask({ question: [question('alice.home.example.')] });
    await settle();
    s.upstreamCalls[0].reply.resolve(upstreamAnswer([`alice.home.example. 300 IN A ${ROUTER}`]));
    assert.equal((await pending)!.rcode, Rcode.SERVFAIL);
    assert.equal(s.counters.get('nts_errors'), 1);
  });

  test('clients asking at once share one upstream query, and each gets its own id', async () => {
    const s = setup();
    const a = s.handler.handle(encodeMessage(newMessage({ id: 1, rd: true, question: [question('www.home.example.')] })), LAN);
    const b = s.handler.handle(encodeMessage(newMessage({ id: 2, rd: true, question: [question('WWW.home.example.')] })), { ...LAN, remoteAddress: '10.1.1.1' });
    await settle();
    assert.equal(s.upstreamCalls.length, 1);
    assert.equal(s.upstreamCalls[0].deadline, T0 + 4500 - 150);
    s.upstreamCalls[0].reply.resolve(upstreamAnswer(['www.home.example. 300 IN A 192.0.2.80']));
    const [ma, mb] = (await Promise.all([a, b])).map((x) => decodeMessage(x!));
    assert.deepEqual([ma.id, mb.id], [1, 2]);
    assert.equal(mb.question[0].name, 'WWW.home.example.');
    assert.equal(mb.answer[0].name, 'WWW.home.example.');
    s.advance(2_500);
    const c = s.handler.handle(encodeMessage(newMessage({ id: 3, rd: true, question: [question('www.home.example.')] })), LAN);
    assert.ok(Buffer.isBuffer(c), 'a cache hit is answered synchronously');
    assert.equal(decodeMessage(c).answer[0].ttl, 298);
  });

  test('upstream failure: SERVFAIL with the client\'s id, RA set', async () => {
    const s = setup();
    const pending = s.ask({ question: [question('www.home.example.')] });
    await settle();
    s.upstreamCalls[0].reply.resolve({ ok: false, reason: 'timeout' });
    const m = (await pending)!;
    assert.deepEqual([m.id, m.rcode, m.ra, m.qr], [4242, Rcode.SERVFAIL, true, true]);
  });

  test('answers over 512 bytes to a client without EDNS are truncated over UDP, whole over TCP', async () => {
    const s = setup();
    const txt = Array.from({ length: 8 }, (_, i) => `big.home.example. 300 IN TXT "${'x'.repeat(90)}${i}"`);
    const pending = s.ask({ question: [question('big.home.example.', RRType.TXT)] });
    await settle();
    s.upstreamCalls[0].reply.resolve(upstreamAnswer(txt));
    const udp = (await pending)!;
    assert.ok(udp.tc && udp.answer.length === 0);
    const tcp = (await s.ask({ question: [question('big.home.example.', RRType.TXT)] }, { ...LAN, transport: 'tcp' }))!;
    assert.ok(!tcp.tc && tcp.answer.length === 8);
  });

  test('outside `allow`: REFUSED, no lookup, never larger than the query', async () => {
    const s = setup({ allow: ['10.0.0.0/8'] });
    const q = encodeMessage(newMessage({ id: 9, rd: true, question: [question('www.home.example.')] }));
    const out = s.handler.handle(q, { ...LAN, remoteAddress: '198.51.100.7' }) as Buffer;
    const m = decodeMessage(out);
    assert.deepEqual([m.id, m.rcode, m.answer.length], [9, Rcode.REFUSED, 0]);
    assert.ok(out.length <= q.length);
    assert.equal(s.upstreamCalls.length, 0);
    assert.equal(s.handler.handle(Buffer.from([1, 2, 3]), { ...LAN, remoteAddress: '198.51.100.7' }), null);
  });

  test('odd queries: NOTIMP, REFUSED, FORMERR, BADVERS, without asking upstream', async () => {
    const s = setup();
    const cases: [string, Partial<Message>, number][] = [
      ['NOTIFY', { opcode: Opcode.NOTIFY, question: [question('home.example.', RRType.SOA)] }, Rcode.NOTIMP],
      ['class CH', { question: [question('version.bind.', RRType.TXT, RRClass.CH)] }, Rcode.REFUSED],
      ['AXFR', { question: [question('home.example.', RRType.AXFR)] }, Rcode.REFUSED],
      ['qtype OPT', { question: [question('home.example.', RRType.OPT)] }, Rcode.FORMERR],
      ['no question', { question: [] }, Rcode.FORMERR],
      ['EDNS version 1', { question: [question('www.home.example.')], edns: { udpSize: 1232, version: 1, dnssecOk: false, flags: 0, options: [] } }, Rcode.BADVERS],
    ];
    for (const [what, q, rcode] of cases) assert.equal((await s.ask(q))!.rcode, rcode, what);
    assert.equal(s.upstreamCalls.length, 0);
  });
});
