// The request id (`req`) without sockets: the gateway gives a lookup one id, which its NTS
// request carries as message id and which a resolver's retry that joins it logs too; the NTS
// client takes a chosen id or refuses it; routerd's RC -> request ids table stays bounded; the
// merge of `ntss logs follow` keeps each log's order and breaks millisecond ties by stage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NtsClientCore, NtsEncodeError, type NtsResult } from '../src/nts/index.js';
import { follow, hasRequest } from '../src/logs/follow.js';
import { messageIdOf, RcRequests } from '../src/routerd/rc-requests.js';
import { eventFields } from '../src/routerd/events.js';
import { LOGGED_QUERIES, NtsGateway, type NtsTransport } from '../src/server/nts-gateway.js';
import { ResolverProfiles } from '../src/server/resolver-profiles.js';
import { Counters } from '../src/util/counters.js';
import { memoryLogger } from '../src/util/log.js';

const ROUTER = '203.0.113.2';
const NOW = 1_790_000_000_000;

test('gateway: one id per lookup, on the NTS request, the held queries (a joined retry too) and the outcome', async () => {
  const sent: { id?: string; answer: (r: NtsResult) => void }[] = [];
  const transport: NtsTransport = { request: (_r, _k, params) => new Promise<NtsResult>((answer) => sent.push({ id: params.id, answer })) };
  const log = memoryLogger();
  const ids = ['00000000000000a1', '00000000000000b2'];
  const gateway = new NtsGateway(
    [{ id: 'gw1', addresses: [ROUTER], nts: { host: '127.0.0.1', port: 1 }, key: Buffer.alloc(32) }], transport,
    { profiles: new ResolverProfiles({ rules: [] }), marginMs: 150, refusalHoldMs: 0, enCacheMs: 0, ecsMinPrefix: 16, requestId: () => ids.shift()! },
    new Counters(), log, () => NOW,
  );
  const q = (port: number, queryId: number, fqdn = 'alice.home.example.') => gateway.resolve({
    fqdn, qtype: 1, resolver: { address: '192.0.2.53', port }, routerAddress: ROUTER, queryId, transport: 'udp',
  });
  const first = q(1000, 1);
  const retry = q(1001, 2); // a retry with a new id and port joins
  const other = q(1002, 3, 'bob.home.example.');
  assert.deepEqual(sent.map((s) => s.id), ['00000000000000a1', '00000000000000b2'], 'the message id is the request id');
  sent[0]!.answer({ status: 'READY', answerAddress: ROUTER, rcId: 7 });
  sent[1]!.answer({ status: 'BUSY', reason: 'x' });
  assert.deepEqual([await first, await retry], [{ status: 'READY', address: ROUTER, rcId: 7, req: '00000000000000a1' }, { status: 'READY', address: ROUTER, rcId: 7, req: '00000000000000a1' }]);
  assert.deepEqual(await other, { status: 'FAILED', reason: 'busy', req: '00000000000000b2' });
  const lines = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const of = (req: string) => lines.filter((l) => l.req === req).map((l) => `${l.event}${l.joined ? ' joined' : ''} ${l.resolver ?? ''}`);
  assert.deepEqual(of('00000000000000a1'), [
    'nts-held 192.0.2.53:1000', 'nts-request 192.0.2.53', 'nts-held joined 192.0.2.53:1001', 'nts-ready 192.0.2.53',
  ]);
  assert.deepEqual(of('00000000000000b2'), ['nts-held 192.0.2.53:1002', 'nts-request 192.0.2.53', 'nts-failed 192.0.2.53']);
});

test('gateway: past LOGGED_QUERIES queries of one request, the held and answer lines go to debug', async () => {
  let answer: (r: NtsResult) => void = () => {};
  const transport: NtsTransport = { request: () => new Promise<NtsResult>((a) => (answer = a)) };
  const log = memoryLogger('info');
  const gateway = new NtsGateway(
    [{ id: 'gw1', addresses: [ROUTER], nts: { host: '127.0.0.1', port: 1 }, key: Buffer.alloc(32) }], transport,
    { profiles: new ResolverProfiles({ rules: [] }), marginMs: 150, refusalHoldMs: 0, enCacheMs: 0, ecsMinPrefix: 16 },
    new Counters(), log, () => NOW,
  );
  const all = Array.from({ length: LOGGED_QUERIES + 3 }, (_, i) => gateway.resolve({
    fqdn: 'alice.home.example.', qtype: 1, resolver: { address: '192.0.2.53', port: 1000 + i }, routerAddress: ROUTER, queryId: i,
  }));
  answer({ status: 'READY', answerAddress: ROUTER, rcId: 1 });
  const outcomes = await Promise.all(all);
  assert.equal(log.lines.filter((l) => l.includes('"nts-held"')).length, LOGGED_QUERIES);
  assert.deepEqual(outcomes.map((o) => o.quiet === true), all.map((_, i) => i >= LOGGED_QUERIES));
  assert.equal(new Set(outcomes.map((o) => o.req)).size, 1, 'one id for all of them');
});

test('NTS client: a chosen message id is used; a malformed or pending one is refused', () => {
  const c = new NtsClientCore({ keys: (id) => (id === 'gw1' ? Buffer.alloc(32) : undefined) });
  const params = { keyId: 'gw1', deadlineMs: NOW + 1000, fqdn: 'a.example.', qtype: 1, mode: 'any' as const, resolver: { address: '192.0.2.1', port: 53 } };
  assert.equal(c.request(NOW, { ...params, id: '0123456789abcdef' }).id, '0123456789abcdef');
  assert.throws(() => c.request(NOW, { ...params, id: '0123456789abcdef' }), (e: Error) => e instanceof NtsEncodeError && /already pending/.test(e.message));
  assert.throws(() => c.request(NOW, { ...params, id: 'xyz' }), (e: Error) => e instanceof NtsEncodeError && /16 lower-case hex/.test(e.message));
  assert.match(c.request(NOW, params).id, /^[0-9a-f]{16}$/);
});

test('routerd: the RC -> request ids table is bounded, and its evictions are counted', () => {
  assert.equal(messageIdOf('gw1 00000000000000a1'), '00000000000000a1');
  const t = new RcRequests({ maxRcs: 2, maxIdsPerRc: 2 });
  t.add(1, ['gw1 a', 'gw1 b']);
  t.add(1, ['gw1 b', 'gw1 c']); // b is already there; a is the oldest and goes
  assert.equal(t.req(1), 'b,c');
  assert.equal(t.droppedIds, 1);
  t.add(2, ['gw1 d']);
  t.add(3, ['gw1 e']); // the third RC: the oldest (1) is forgotten
  assert.deepEqual([t.req(1), t.req(2), t.req(3), t.size, t.evictedRcs], [undefined, 'd', 'e', 2, 1]);
  t.delete(2);
  assert.equal(t.size, 1);
  assert.throws(() => new RcRequests({ maxRcs: 0 }), RangeError);
  // The event line: `req` from the table for an RC, from the ids for a respond.
  const rc = { id: 3, keys: [], globalAddress: ROUTER, privateAddress: '10.0.0.2', fqdn: 'a.', source: 'any' as const, createdAt: 0, armedAt: 0, expiresAt: 1, firstPacketAt: null, releaseAt: null };
  assert.equal(eventFields({ type: 'rc-created', at: 0, rc }, t.req(3)).req, 'e');
  assert.equal(eventFields({ type: 'respond', at: 0, requestIds: ['gw1 x1', 'gw1 x2'], status: 'READY', globalAddress: ROUTER, rcId: 3, rcExpiresAt: 1 }).req, 'x1,x2');
});

test('logs follow: each log keeps its order; a millisecond tie goes by stage; other ids and non-JSON lines are left out', () => {
  const line = (time: string, event: string, req: string) => JSON.stringify({ time, level: 'info', event, req });
  const T = '2026-01-01T00:00:00.00';
  const server = ['text line', line(`${T}0Z`, 'nts-held', 'aa'), line(`${T}0Z`, 'nts-request', 'aa'), line(`${T}1Z`, 'nts-held', 'bb'),
    line(`${T}2Z`, 'nts-ready', 'aa'), line(`${T}2Z`, 'nts-answer', 'aa'), '{"cut'].join('\n');
  // The router's lines share the server's milliseconds: stage decides (respond before nts-ready).
  const router = [line(`${T}0Z`, 'nts-request', 'aa'), line(`${T}2Z`, 'rc-created', 'aa'), line(`${T}2Z`, 'respond', 'aa,bb'), line(`${T}3Z`, 'mapping-created', 'aa')].join('\n');
  assert.deepEqual(follow('aa', server, router).map((c) => `${c.daemon} ${c.line.event}`), [
    'server nts-held', 'server nts-request', 'router nts-request', 'router rc-created', 'router respond',
    'server nts-ready', 'server nts-answer', 'router mapping-created',
  ]);
  assert.deepEqual(follow('bb', server, router).map((c) => c.line.event), ['nts-held', 'respond']);
  assert.equal(hasRequest({ req: 'aab' }, 'aa'), false, 'whole ids only');
});
