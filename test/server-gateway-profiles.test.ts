// The NTS gateway with resolver profiles, over a fake NTS transport: what each request asks the
// router for (deadline, lease, mode) for a configured Knot, an ECS-trusting resolver, a resolver
// recognised by its fingerprint and an unknown one; and the handler's ECS scope in prefix mode.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { EdnsOptionCode, RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { encodeClientSubnet, parseClientSubnet } from '../src/dns/edns.js';
import { parseRecord } from '../src/dns/presentation.js';
import { newMessage } from '../src/dns/types.js';
import { Zone } from '../src/dns/zone.js';
import type { NtsRequestFields, NtsResult } from '../src/nts/index.js';
import { DnsHandler } from '../src/server/handler.js';
import { Fingerprinter } from '../src/server/fingerprint.js';
import { DETOUR_SHARE, MAX_DETOUR_MS, NtsGateway, planFor, type NtsQuery, type NtsTransport } from '../src/server/nts-gateway.js';
import { parsePrefix, type Prefix } from '../src/server/prefix-table.js';
import { profileWith, type ResolverProfile } from '../src/server/profiles.js';
import { ResolverProfiles } from '../src/server/resolver-profiles.js';
import { ZoneStore } from '../src/store/zone-store.js';
import { Counters } from '../src/util/counters.js';
import { memoryLogger } from '../src/util/log.js';

const ROUTER = '203.0.113.2';
const NOW = 1_790_000_000_000;
const KNOT = '198.51.100.53';
const ISP = '198.51.100.60'; // a resolver whose ECS the operator trusts
const V1 = '198.51.100.54'; // our own ntss resolver (NTSS v1)
const ECS_TRUSTING: ResolverProfile = { name: 'isp', patienceMs: 3000, ttlFloorMs: 1000, ecs: 'trusted' };

function prefix(s: string): Prefix {
  return parsePrefix(s) as Prefix;
}

interface Sent { params: NtsRequestFields; deadlineMs: number; at: number; answer: (r: NtsResult) => void }

function rig(opts: { enCacheMs?: number; fingerprint?: boolean } = {}) {
  const clock = { now: NOW };
  const sent: Sent[] = [];
  const transport: NtsTransport = {
    request: (_router, _key, params, o) => new Promise<NtsResult>((answer) => sent.push({ params, deadlineMs: o.deadlineMs, at: clock.now, answer })),
  };
  const fingerprint = opts.fingerprint ? new Fingerprinter({ zone: 'home.example.' }) : undefined;
  const profiles = new ResolverProfiles({
    rules: [
      { prefixes: [prefix(`${KNOT}/32`)], profile: profileWith('knot') },
      { prefixes: [prefix(`${ISP}/32`)], profile: ECS_TRUSTING },
      { prefixes: [prefix(`${V1}/32`)], profile: profileWith('unbound', { v1: true }) },
    ],
    fingerprint,
  });
  const counters = new Counters();
  const log = memoryLogger();
  const gateway = new NtsGateway(
    [{ id: 'gw1', addresses: [ROUTER], nts: { host: '127.0.0.1', port: 1 }, key: Buffer.alloc(32) }],
    transport, { profiles, marginMs: 150, refusalHoldMs: 1000, enCacheMs: opts.enCacheMs ?? 0, ecsMinPrefix: 16 },
    counters, log, () => clock.now,
  );
  return { clock, sent, gateway, profiles, fingerprint, counters, log };
}

/** The server's handler over a zone where alice's A is the router's address, with the rig's gateway. */
function handlerFor(r: ReturnType<typeof rig>, db: string, verifySource: 'off' | 'cookie-or-tcp' = 'off'): DnsHandler {
  const store = ZoneStore.open(join(dir, db));
  after(() => store.close());
  store.seedZone('home.example.', [
    'home.example. 3600 IN SOA ns1.home.example. hostmaster.home.example. 1 3600 600 86400 0',
    'home.example. 3600 IN NS ns1.home.example.',
    `alice.home.example. 300 IN A ${ROUTER}`,
  ].map(parseRecord));
  return new DnsHandler({
    zone: Zone.fromRecords('home.example.', store.loadZone('home.example.') ?? []), store, keys: new Map(),
    routerAddresses: new Set([ROUTER]), gateway: r.gateway, profiles: r.profiles, udpMaxPayload: 1232, tsigFudge: 300,
    responseCacheSize: 100, counters: r.counters, log: memoryLogger(), now: () => r.clock.now,
    verifySource, // 'off': about profiles; verification: server-verify.test.ts
  });
}

function q(resolver: string, extra: Partial<NtsQuery> = {}): NtsQuery {
  return { fqdn: 'alice.home.example.', qtype: RRType.A, resolver: { address: resolver, port: 5353 }, routerAddress: ROUTER, ...extra };
}

const READY: NtsResult = { status: 'READY', answerAddress: ROUTER, rcId: 1, rcLifetimeMs: 3000 };

test('a configured Knot resolver: deadline from its patience, a lease of its TTL floor, mode any', async () => {
  const r = rig();
  const out = r.gateway.resolve(q(KNOT, { clientSubnet: { address: '192.0.2.0', family: 1, prefixLength: 24 } }));
  assert.equal(r.sent.length, 1);
  const s = r.sent[0];
  assert.equal(s.deadlineMs - s.at, 9500 - 150);
  assert.equal(s.params.leaseMs, 6000, 'Knot hands out a TTL-0 answer for 5 s (cache.min_ttl), counted in whole seconds');
  assert.equal(s.params.mode, 'any', 'Knot\'s ECS is not trusted by default');
  assert.deepEqual(s.params.clientSubnet, { address: '192.0.2.0', prefixLength: 24 }, 'still passed on as information');
  s.answer(READY);
  assert.equal((await out).status, 'READY');
  assert.equal(r.counters.get('nts_profile_knot'), 1);
  assert.equal(r.counters.get('nts_profile_via_config'), 1);
  const line = JSON.parse(r.log.lines.find((l) => l.includes('"nts-request"'))!);
  assert.deepEqual([line.profile, line.profileVia, line.leaseMs, line.mode, line.timeLeftMs], ['knot', 'config', 6000, 'any', 9350]);
  // EN-side caches the operator allows for are added to every lease.
  const b = rig({ enCacheMs: 60_000 });
  void b.gateway.resolve(q(KNOT));
  assert.equal(b.sent[0].params.leaseMs, 66_000);
});

test('an ECS-trusting resolver: mode prefix with the client subnet; per-subnet requests; short or IPv6 prefixes stay any', async () => {
  const r = rig();
  const a = r.gateway.resolve(q(ISP, { clientSubnet: { address: '192.0.2.0', family: 1, prefixLength: 24 } }));
  const s = r.sent[0];
  assert.equal(s.params.mode, 'prefix');
  assert.deepEqual(s.params.clientSubnet, { address: '192.0.2.0', prefixLength: 24 });
  assert.equal(s.params.leaseMs, 2000);
  assert.equal(s.deadlineMs - s.at, 3000 - 150);
  // Another client subnet behind the same resolver needs its own RC: not joined.
  const b = r.gateway.resolve(q(ISP, { clientSubnet: { address: '192.0.3.0', family: 1, prefixLength: 24 } }));
  assert.equal(r.sent.length, 2);
  // The same subnet (a retry) joins.
  const a2 = r.gateway.resolve(q(ISP, { clientSubnet: { address: '192.0.2.0', family: 1, prefixLength: 24 } }));
  assert.equal(r.sent.length, 2);
  assert.equal(r.counters.get('nts_joined'), 1);
  r.sent[0].answer(READY);
  r.sent[1].answer(READY);
  assert.deepEqual((await Promise.all([a, b, a2])).map((o) => o.status), ['READY', 'READY', 'READY']);
  assert.equal(r.counters.get('nts_mode_prefix'), 2);
  // Below nts.ecsMinPrefix, IPv6, or no ECS at all: mode any.
  void r.gateway.resolve(q(ISP, { clientSubnet: { address: '10.0.0.0', family: 1, prefixLength: 8 } }));
  void r.gateway.resolve(q(ISP, { fqdn: 'bob.home.example.', clientSubnet: { address: '2001:db8:1::', family: 2, prefixLength: 56 } }));
  void r.gateway.resolve(q(ISP, { fqdn: 'carol.home.example.' }));
  assert.deepEqual(r.sent.slice(2).map((x) => x.params.mode), ['any', 'any', 'any']);
  // /16 is the default minimum: accepted.
  void r.gateway.resolve(q(ISP, { fqdn: 'dave.home.example.', clientSubnet: { address: '192.0.0.0', family: 1, prefixLength: 16 } }));
  assert.equal(r.sent.at(-1)!.params.mode, 'prefix');
});

test("a resolver's stand-in ECS (PowerDNS's 127.0.0.1/32 for clients outside ecs-add-for) is no subnet: mode any", () => {
  // Keyed on 127.0.0.1/32 the RC matched no EN's packet: every CGNAT (100.64/10) client of a
  // PowerDNS Recursor with ECS failed to connect in the lab (docs/eval/capacity-resolvers.md).
  const r = rig();
  for (const address of ['127.0.0.1', '0.0.0.0', '169.254.7.1', '224.0.0.1', '255.255.255.255']) {
    void r.gateway.resolve(q(ISP, { fqdn: `h-${address}.home.example.`, clientSubnet: { address, family: 1, prefixLength: 32 } }));
  }
  assert.deepEqual(r.sent.map((x) => x.params.mode), ['any', 'any', 'any', 'any', 'any']);
  // Its neighbours are ordinary client addresses (the lab's ENs use 198.51.100.0/24 and 100.64.0.0/16).
  for (const address of ['126.255.255.255', '128.0.0.1', '100.64.0.9', '169.253.0.1', '223.255.255.255']) {
    void r.gateway.resolve(q(ISP, { fqdn: `h-${address}.home.example.`, clientSubnet: { address, family: 1, prefixLength: 32 } }));
  }
  assert.deepEqual(r.sent.slice(5).map((x) => x.params.mode), ['prefix', 'prefix', 'prefix', 'prefix', 'prefix']);
});

test('an unknown resolver gets the conservative default: shortest patience, longest floor', () => {
  const r = rig();
  void r.gateway.resolve(q('203.0.113.99', { clientSubnet: { address: '192.0.2.0', family: 1, prefixLength: 24 } }));
  const s = r.sent[0];
  assert.equal(s.deadlineMs - s.at, 1800 - 150);
  assert.equal(s.params.leaseMs, 6000);
  assert.equal(s.params.mode, 'any', 'an unknown resolver\'s ECS is never trusted');
  assert.equal(r.counters.get('nts_profile_unknown'), 1);
  assert.equal(r.counters.get('nts_profile_via_default'), 1);
});

test('a lease of 0 is not sent (the critical LEASE TLV asks nothing then)', () => {
  const r = rig();
  const p = new ResolverProfiles({ rules: [{ prefixes: [prefix('192.0.2.53/32')], profile: profileWith('unbound') }] });
  const g = new NtsGateway(
    [{ id: 'gw1', addresses: [ROUTER], nts: { host: '127.0.0.1', port: 1 }, key: Buffer.alloc(32) }],
    { request: (_r, _k, params, o) => new Promise((answer) => r.sent.push({ params, deadlineMs: o.deadlineMs, at: NOW, answer })) },
    { profiles: p, marginMs: 150, refusalHoldMs: 0, enCacheMs: 0, ecsMinPrefix: 16 }, new Counters(), memoryLogger(), () => NOW,
  );
  void g.resolve(q('192.0.2.53'));
  assert.equal('leaseMs' in r.sent[0].params, false);
  assert.equal(r.sent[0].deadlineMs - NOW, 1900 - 150);
});

test('a resolver recognised by its fingerprint gets that profile; held retries teach the fingerprint', async () => {
  const r = rig({ fingerprint: true });
  const resolver = '203.0.113.40';
  // BIND's queries: cookie, no CD, EDNS 1232 with DO, lowercase names.
  for (let i = 0; i < 4; i++) {
    r.profiles.observe(NOW + i, { resolver, transport: 'udp', id: i, qname: 'www.home.example.', qtype: RRType.A, cd: false, edns: { udpSize: 1232, dnssecOk: true, optionCodes: [10] } });
  }
  const out = r.gateway.resolve(q(resolver, { queryId: 100, transport: 'udp' }));
  assert.equal(r.sent[0].deadlineMs - r.sent[0].at, 9500 - 150);
  assert.equal('leaseMs' in r.sent[0].params, false, 'BIND keeps no TTL-0 answer');
  assert.equal(r.counters.get('nts_profile_via_fingerprint'), 1);
  const line = JSON.parse(r.log.lines.find((l) => l.includes('"nts-request"'))!);
  assert.equal(line.profile, 'bind');
  assert.ok(line.confidence > 0.5);
  // BIND's retry 800 ms later joins the request and is recorded as its first-retry interval.
  r.clock.now += 800;
  const retry = r.gateway.resolve(q(resolver, { queryId: 101, transport: 'udp' }));
  assert.equal(r.sent.length, 1);
  r.sent[0].answer(READY);
  await Promise.all([out, retry]);
  assert.deepEqual(r.fingerprint!.signals(resolver)['first-retry'], { '600-1100': 1 });
  assert.equal(r.fingerprint!.verdict(r.clock.now, resolver).profile, 'bind');
});

// ---- through the handler: the ECS scope of an NTS-managed answer in prefix mode ----

const dir = mkdtempSync(join(tmpdir(), 'ntss-gw-profiles-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('handler: a trusted ECS query is asked in prefix mode and answered with scope = source prefix', async () => {
  const r = rig({ fingerprint: true });
  const h = handlerFor(r, 'z.db');
  const ask = (from: string, id: number) => h.handle(encodeMessage(newMessage({
    id, question: [{ name: 'alice.home.example.', type: RRType.A, class: RRClass.IN }],
    edns: { udpSize: 1232, version: 0, dnssecOk: false, flags: 0, options: [encodeClientSubnet({ family: 1, address: '192.0.2.0', sourcePrefix: 22, scopePrefix: 0 })] },
  })), { transport: 'udp', remoteAddress: from, remotePort: 4000 + id }) as Promise<Buffer>;
  const pending = ask(ISP, 1);
  assert.equal(r.sent.at(-1)!.params.mode, 'prefix');
  assert.deepEqual(r.sent.at(-1)!.params.clientSubnet, { address: '192.0.0.0', prefixLength: 22 });
  r.sent.at(-1)!.answer(READY);
  const m = decodeMessage(await pending);
  assert.equal(m.rcode, Rcode.NOERROR);
  const ecs = parseClientSubnet(m.edns!.options.find((o) => o.code === EdnsOptionCode.ECS)!.data, false);
  assert.equal(ecs.scopePrefix, 22, 'the answer is made for that client prefix only');
  // The handler shows every query to the fingerprint (unconfigured resolvers only).
  const other = ask('203.0.113.41', 2);
  assert.equal(r.sent.at(-1)!.params.mode, 'any');
  r.sent.at(-1)!.answer(READY);
  await other;
  assert.equal(r.fingerprint!.signals('203.0.113.41')['edns-size']?.['1232'], 1);
  assert.deepEqual(r.fingerprint!.signals(ISP), {}, 'configured resolvers are not fingerprinted');
});

test('handler: our own NTSS v1 resolver (resolvers[].v1) is answered at once, TTL 0, without an NTS request', async () => {
  const r = rig();
  const h = handlerFor(r, 'v1.db');
  const ask = (from: string) => h.handle(encodeMessage(newMessage({
    id: 7, question: [{ name: 'alice.home.example.', type: RRType.A, class: RRClass.IN }],
  })), { transport: 'udp', remoteAddress: from, remotePort: 4000 }) as Promise<Buffer>;
  const m = decodeMessage(await ask(V1));
  assert.deepEqual(m.answer.map((a) => [a.ttl, a.rdata.kind === 'A' && a.rdata.address]), [[0, ROUTER]]);
  assert.equal(r.sent.length, 0, 'no NTS request: the v1 resolver makes the EN\'s RC itself');
  assert.equal(r.counters.get('nts_v1_direct'), 1);
  // The same question from anyone else still waits for the router (and is never served from a cache).
  const other = ask(KNOT);
  assert.equal(r.sent.length, 1);
  r.sent[0].answer(READY);
  await other;
});

test('an ECS-scoped answer gets a lease even with a TTL floor of 0: subnet caches keep TTL 0 for the rest of the second', () => {
  const sent: Array<{ leaseMs?: number; mode: string }> = [];
  const p = new ResolverProfiles({ rules: [{ prefixes: [prefix('192.0.2.53/32')], profile: profileWith('unbound', { ecs: 'trusted' }) }] });
  const g = new NtsGateway(
    [{ id: 'gw1', addresses: [ROUTER], nts: { host: '127.0.0.1', port: 1 }, key: Buffer.alloc(32) }],
    { request: (_r, _k, params) => { sent.push(params); return new Promise(() => {}); } },
    { profiles: p, marginMs: 150, refusalHoldMs: 0, enCacheMs: 0, ecsMinPrefix: 16 }, new Counters(), memoryLogger(), () => NOW,
  );
  void g.resolve(q('192.0.2.53', { clientSubnet: { address: '198.51.100.11', family: 1, prefixLength: 32 } }));
  void g.resolve(q('192.0.2.53', { fqdn: 'bob.home.example.' })); // no ECS: mode any, no lease
  assert.deepEqual(sent.map((s) => [s.mode, s.leaseMs]), [['prefix', 1000], ['any', undefined]]);
});

test('one resolver may have only maxPendingPerResolver NTS requests in flight; others are not affected', async () => {
  const sent: string[] = [];
  const answers: Array<(r: NtsResult) => void> = [];
  const g = new NtsGateway(
    [{ id: 'gw1', addresses: [ROUTER], nts: { host: '127.0.0.1', port: 1 }, key: Buffer.alloc(32) }],
    { request: (_r, _k, params) => { sent.push(params.fqdn); return new Promise<NtsResult>((answer) => answers.push(answer)); } },
    { profiles: new ResolverProfiles({ rules: [] }), marginMs: 150, refusalHoldMs: 0, enCacheMs: 0, ecsMinPrefix: 16, maxPendingPerResolver: 2 },
    new Counters(), memoryLogger(), () => NOW,
  );
  const flood = ['a', 'b', 'c', 'd'].map((n) => g.resolve(q('203.0.113.66', { fqdn: `${n}.home.example.` })));
  assert.deepEqual(sent, ['a.home.example.', 'b.home.example.'], 'two reach the router');
  assert.deepEqual((await Promise.all(flood.slice(2))).map((o) => o.status === 'FAILED' && o.reason), ['resolver-limit', 'resolver-limit']);
  void g.resolve(q('198.51.100.77', { fqdn: 'a.home.example.' }));
  assert.equal(sent.length, 3, 'another resolver is not limited by the first one\'s flood');
  answers[0](READY);
  await flood[0];
  void g.resolve(q('203.0.113.66', { fqdn: 'e.home.example.' }));
  assert.equal(sent.at(-1), 'e.home.example.', 'a finished request frees its place');
});

test('a lookup that had to prove its source: the deadline counts from its first query, less three detours more', async () => {
  const r = rig();
  // Unknown resolver: patience 1800, margin 150. A detour of 40 ms (TC -> TCP at 20 ms RTT).
  void r.gateway.resolve(q('203.0.113.99', { askedAt: NOW - 40 }));
  assert.equal(r.sent[0].deadlineMs - NOW, 1800 - 150 - DETOUR_SHARE * 40);
  // A forged early start counts at most MAX_DETOUR_MS.
  void r.gateway.resolve(q('203.0.113.98', { askedAt: NOW - 1500 }));
  assert.equal(r.sent[1].deadlineMs - NOW, 1800 - 150 - DETOUR_SHARE * MAX_DETOUR_MS);

  // Through the handler: UDP without a cookie gets TC=1, the TCP retry 30 ms later asks the router.
  const h = handlerFor(r, 'detour.db', 'cookie-or-tcp');
  const query = () => encodeMessage(newMessage({ id: 7, rd: false, question: [{ name: 'alice.home.example.', type: RRType.A, class: RRClass.IN }] }));
  const tc = decodeMessage(await (h.handle(query(), { transport: 'udp', remoteAddress: '203.0.113.97', remotePort: 5000 }) as Buffer));
  assert.equal(tc.tc, true);
  assert.equal(r.sent.length, 2, 'the unverified query cost the router nothing');
  r.clock.now += 30;
  void h.handle(query(), { transport: 'tcp', remoteAddress: '203.0.113.97', remotePort: 40000 });
  assert.equal(r.sent.length, 3);
  assert.equal(r.sent[2].deadlineMs - r.clock.now, 1800 - 150 - DETOUR_SHARE * 30);
  // A refusal: the resolver's retries get SERVFAIL at once, over UDP too (no TC detour for
  // an answer that costs the router nothing).
  r.sent[2].answer({ status: 'TOO_LATE', reason: 'wait-exceeds-deadline' } as NtsResult);
  await new Promise((ok) => setImmediate(ok));
  const retry = decodeMessage(await (h.handle(query(), { transport: 'udp', remoteAddress: '203.0.113.97', remotePort: 5001 }) as Buffer));
  assert.deepEqual([retry.rcode, retry.tc], [Rcode.SERVFAIL, false]);
  assert.equal(r.sent.length, 3, 'no NTS request for it');
  assert.equal(r.counters.get('nts_suppressed_unverified'), 1);
  // The next lookup over TCP without a detour, after the hold, gets the whole patience.
  r.clock.now += 1001;
  void h.handle(query(), { transport: 'tcp', remoteAddress: '203.0.113.97', remotePort: 40002 });
  r.sent[3].answer(READY);
  await new Promise((ok) => setImmediate(ok)); // the answered request leaves the gateway
  r.clock.now += 5000;
  void h.handle(query(), { transport: 'tcp', remoteAddress: '203.0.113.97', remotePort: 40001 });
  assert.equal(r.sent[4].deadlineMs - r.clock.now, 1800 - 150);
});

test('an answer with an ECS scope is leased even where the RC is not keyed on it (a subnet cache keeps TTL 0 for the second)', () => {
  const unbound = profileWith('unbound', { ecs: 'trusted' }); // TTL floor 0
  const opts = { marginMs: 150, enCacheMs: 0, ecsMinPrefix: 16 };
  assert.equal(planFor(unbound, opts).leaseMs, 0, 'no ECS, no floor, no EN cache: no lease');
  assert.equal(planFor(unbound, opts, { address: '198.51.100.7', family: 1, prefixLength: 32 }).leaseMs, 1000);
  // PowerDNS's stand-in and an untrusted resolver's ECS: mode any, but the answer is still scoped.
  const standIn = planFor(unbound, opts, { address: '127.0.0.1', family: 1, prefixLength: 32 });
  assert.deepEqual([standIn.mode, standIn.leaseMs], ['any', 1000]);
  const untrusted = planFor(profileWith('unbound'), opts, { address: '198.51.100.0', family: 1, prefixLength: 24 });
  assert.deepEqual([untrusted.mode, untrusted.leaseMs], ['any', 1000]);
});
