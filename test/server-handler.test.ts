// The request chain without sockets: bytes in, bytes out (CoreDNS-style handler tests).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { EdnsOptionCode, Opcode, RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { encodeClientSubnet, parseClientSubnet } from '../src/dns/edns.js';
import { parseRecord } from '../src/dns/presentation.js';
import { signMessage, verifyResponse, type TsigKey } from '../src/dns/tsig.js';
import { newMessage, type Message, type ResourceRecord } from '../src/dns/types.js';
import { Zone } from '../src/dns/zone.js';
import { Counters } from '../src/util/counters.js';
import { DnsHandler, type RequestContext } from '../src/server/handler.js';
import { NtsGateway, type NtsTransport } from '../src/server/nts-gateway.js';
import { ResolverProfiles } from '../src/server/resolver-profiles.js';
import type { NtsResult } from '../src/nts/index.js';
import { ZoneStore } from '../src/store/zone-store.js';
import { memoryLogger } from '../src/util/log.js';

const dir = mkdtempSync(join(tmpdir(), 'ntss-handler-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ORIGIN = 'home.example.';
const records = [
  'home.example. 3600 IN SOA ns1.home.example. hostmaster.home.example. 7 3600 600 86400 30',
  'home.example. 3600 IN NS ns1.home.example.',
  'ns1.home.example. 3600 IN A 192.0.2.53',
  'www.home.example. 300 IN A 192.0.2.80',
  'alias.home.example. 300 IN CNAME www.home.example.',
  'alice.home.example. 300 IN A 203.0.113.2',
  'sub.home.example. 3600 IN NS ns.sub.home.example.',
  'ns.sub.home.example. 3600 IN A 192.0.2.99',
  'a.b.home.example. 300 IN A 192.0.2.1',
  ...Array.from({ length: 30 }, (_, i) => `big.home.example. 300 IN TXT "${String(i).padStart(2, '0')}${'x'.repeat(98)}"`),
].map(parseRecord);

const key: TsigKey = { name: 'alice-key.', algorithm: 'hmac-sha256', secret: Buffer.from('0123456789abcdef0123456789abcdef') };
const NOW = 1_790_000_000_000;
const udp: RequestContext = { transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 5353 };
const tcp: RequestContext = { ...udp, transport: 'tcp' };

function setup(storeOverride?: Partial<ZoneStore>, gateway?: (counters: Counters) => NtsGateway) {
  const path = join(dir, `z${Math.random().toString(36).slice(2)}.db`);
  const store = ZoneStore.open(path);
  after(() => store.close());
  store.seedZone(ORIGIN, records);
  const zone = Zone.fromRecords(ORIGIN, store.loadZone(ORIGIN) ?? []);
  const counters = new Counters();
  const h = new DnsHandler({
    gateway: gateway?.(counters),
    zone, store: Object.assign(store, storeOverride ?? {}), counters, log: memoryLogger(),
    keys: new Map([[key.name, { key, allow: [{ name: 'alice.home.example.', subtree: false }, { name: 'lab.home.example.', subtree: true }] }]]),
    routerAddresses: new Set(['203.0.113.2']), udpMaxPayload: 1232, tsigFudge: 300, responseCacheSize: 100, now: () => NOW,
    verifySource: 'off', // these tests are about the gateway; verification: server-verify.test.ts
  });
  return { h, zone, counters };
}

function query(name: string, type: number, init: Partial<Message> = {}): Buffer {
  return encodeMessage(newMessage({ id: 0x1234, rd: true, question: [{ name, type, class: RRClass.IN }], ...init }));
}

/** The synchronous path (everything but queries held for an NTS router). */
function handle(h: DnsHandler, raw: Buffer, ctx = udp): Buffer | null {
  const out = h.handle(raw, ctx);
  assert.ok(!(out instanceof Promise), 'expected a synchronous answer');
  return out;
}

function ask(h: DnsHandler, raw: Buffer, ctx = udp): Message {
  const out = handle(h, raw, ctx);
  assert.ok(out, 'expected a response');
  return decodeMessage(out);
}

function update(adds: string[], opts: { sign?: boolean; prereq?: ResourceRecord[] } = {}): Buffer {
  const raw = encodeMessage(newMessage({
    id: 0x4242, opcode: Opcode.UPDATE, question: [{ name: ORIGIN, type: RRType.SOA, class: RRClass.IN }],
    answer: opts.prereq ?? [], authority: adds.map(parseRecord),
  }));
  return opts.sign === false ? raw : signMessage(raw, key, { nowSeconds: NOW / 1000 }).message;
}

test('positive answer: AA, question case kept, RD copied', () => {
  const { h } = setup();
  const r = ask(h, query('WwW.HoMe.ExAmPlE.', RRType.A));
  assert.equal(r.id, 0x1234);
  assert.ok(r.qr && r.aa && r.rd);
  assert.equal(r.question[0].name, 'WwW.HoMe.ExAmPlE.');
  assert.equal(r.answer.length, 1);
  assert.deepEqual(r.answer[0].rdata, { kind: 'A', address: '192.0.2.80' });
  assert.equal(r.answer[0].ttl, 300);
});

test('NXDOMAIN and NODATA carry the SOA with the negative TTL; empty non-terminal is NODATA', () => {
  const { h } = setup();
  for (const [name, type, rcode] of [['nope.home.example.', RRType.A, Rcode.NXDOMAIN], ['www.home.example.', RRType.MX, Rcode.NOERROR], ['b.home.example.', RRType.A, Rcode.NOERROR]] as const) {
    const r = ask(h, query(name, type));
    assert.equal(r.rcode, rcode, name);
    assert.equal(r.answer.length, 0);
    assert.equal(r.authority.length, 1);
    assert.equal(r.authority[0].type, RRType.SOA);
    assert.equal(r.authority[0].ttl, 30, 'min(SOA TTL, minimum)');
  }
});

test('REFUSED outside the zone, NOTIMP for other opcodes, CNAME followed, referral below a cut', () => {
  const { h } = setup();
  assert.equal(ask(h, query('example.com.', RRType.A)).rcode, Rcode.REFUSED);
  assert.equal(ask(h, query('www.home.example.', RRType.A, { opcode: Opcode.NOTIFY })).rcode, Rcode.NOTIMP);
  const c = ask(h, query('alias.home.example.', RRType.A));
  assert.deepEqual(c.answer.map((a) => a.type), [RRType.CNAME, RRType.A]);
  const ref = ask(h, query('x.sub.home.example.', RRType.A));
  assert.equal(ref.aa, false);
  assert.equal(ref.answer.length, 0);
  assert.equal(ref.authority[0].type, RRType.NS);
  assert.deepEqual(ref.additional.map((a) => a.rdata), [{ kind: 'A', address: '192.0.2.99' }], 'glue');
});

test('malformed input: FORMERR with the ID when the header is readable, silence otherwise', () => {
  const { h, counters } = setup();
  const good = query('www.home.example.', RRType.A);
  const cut = good.subarray(0, good.length - 3);
  const r = ask(h, cut);
  assert.equal(r.rcode, Rcode.FORMERR);
  assert.equal(r.id, 0x1234);
  assert.equal(h.handle(good.subarray(0, 11), udp), null);
  const resp = Buffer.from(good);
  resp[2] |= 0x80; // QR set: a response is never answered
  assert.equal(handle(h, resp, udp), null);
  assert.equal(counters.get('dropped_responses'), 1);
  assert.equal(ask(h, query('www.home.example.', RRType.A, { question: [] })).rcode, Rcode.FORMERR);
});

test('EDNS: OPT echoed, BADVERS for version 1, TC when the answer does not fit, full over TCP', () => {
  const { h } = setup();
  const edns = { udpSize: 4096, version: 0, dnssecOk: false, flags: 0, options: [] };
  const r = ask(h, query('www.home.example.', RRType.A, { edns }));
  assert.equal(r.edns?.udpSize, 1232);
  assert.equal(ask(h, query('www.home.example.', RRType.A, { edns: { ...edns, version: 1 } })).rcode, Rcode.BADVERS);
  const small = ask(h, query('big.home.example.', RRType.TXT, { edns: { ...edns, udpSize: 512 } }));
  assert.ok(small.tc);
  assert.equal(small.answer.length, 0);
  const noEdns = handle(h, query('big.home.example.', RRType.TXT), udp)!;
  assert.ok(noEdns.length <= 512);
  const big = ask(h, query('big.home.example.', RRType.TXT, { edns: { ...edns, udpSize: 4096 } }));
  assert.ok(big.tc, '30 x 100 octets exceed the server maximum of 1232');
  const full = ask(h, query('big.home.example.', RRType.TXT), tcp);
  assert.ok(!full.tc);
  assert.equal(full.answer.length, 30);
});

test('ECS: parsed, answered with scope 0 for ordinary data and the source prefix for NTS-managed names; bad ECS is FORMERR', () => {
  const { h } = setup();
  const ecs = encodeClientSubnet({ family: 1, sourcePrefix: 24, scopePrefix: 0, address: '198.51.100.0' });
  const edns = { udpSize: 1232, version: 0, dnssecOk: false, flags: 0, options: [ecs] };
  const r = ask(h, query('www.home.example.', RRType.A, { edns }));
  const opt = r.edns?.options.find((o) => o.code === EdnsOptionCode.ECS);
  assert.ok(opt);
  assert.deepEqual(parseClientSubnet(opt.data, false), { family: 1, sourcePrefix: 24, scopePrefix: 0, address: '198.51.100.0' });
  const m = ask(h, query('alice.home.example.', RRType.A, { edns }));
  assert.equal(m.answer[0].ttl, 0, 'NTS-managed names are served with TTL 0');
  assert.equal(parseClientSubnet(m.edns!.options[0].data, false).scopePrefix, 24);
  const bad = { code: EdnsOptionCode.ECS, data: Buffer.from([0, 1, 33, 0, 1, 2, 3, 4, 5]) };
  assert.equal(ask(h, query('www.home.example.', RRType.A, { edns: { ...edns, options: [bad] } })).rcode, Rcode.FORMERR);
});

test('the response cache keeps the ID and the case, and never serves data older than an update', () => {
  const { h } = setup();
  const q1 = query('www.home.example.', RRType.A);
  const first = handle(h, q1, udp)!;
  const q2 = Buffer.from(q1);
  q2.writeUInt16BE(0xbeef, 0);
  const second = decodeMessage(handle(h, q2, udp)!);
  assert.equal(second.id, 0xbeef);
  assert.deepEqual(second.answer, decodeMessage(first).answer);
  assert.equal(ask(h, update(['alice.home.example. 60 IN A 192.0.2.10'])).rcode, Rcode.NOERROR);
  assert.equal(ask(h, update(['www.lab.home.example. 60 IN A 192.0.2.11'])).rcode, Rcode.NOERROR);
  const q3 = query('www.lab.home.example.', RRType.A);
  assert.equal(ask(h, q3).answer.length, 1);
});

test('updates: signed ones apply and bump the serial; unsigned, unknown-key, forged and not-allowed ones change nothing', () => {
  const { h, zone } = setup();
  const serial = zone.serial();
  const before = zone.all().length;
  const unsigned = ask(h, update(['alice.home.example. 60 IN A 192.0.2.10'], { sign: false }));
  assert.equal(unsigned.rcode, Rcode.REFUSED);
  const forged = update(['alice.home.example. 60 IN A 192.0.2.10']);
  forged[forged.length - 20] ^= 1; // inside the MAC
  const f = ask(h, forged);
  assert.equal(f.rcode, Rcode.NOTAUTH);
  assert.equal(f.tsig?.rr.rdata.error, Rcode.BADSIG);
  const other = ask(h, update(['bob.home.example. 60 IN A 192.0.2.11']));
  assert.equal(other.rcode, Rcode.REFUSED, 'alice-key may not change bob');
  assert.equal(zone.serial(), serial);
  assert.equal(zone.all().length, before);
  const raw = update(['alice.home.example. 60 IN A 192.0.2.10']);
  const okBytes = handle(h, raw, udp)!;
  const ok = decodeMessage(okBytes);
  assert.equal(ok.rcode, Rcode.NOERROR);
  const reqMac = decodeMessage(raw).tsig!.rr.rdata.mac;
  assert.equal(verifyResponse(okBytes, ok, key, reqMac, NOW / 1000).status, 'ok', 'the response is signed over the request MAC');
  assert.equal(zone.serial(), serial + 1);
});

test('a store that fails to commit answers SERVFAIL and leaves the zone as it was', () => {
  const { h, zone } = setup({ commit: () => { throw new Error('disk full'); } });
  const serial = zone.serial();
  assert.equal(ask(h, update(['alice.home.example. 60 IN A 192.0.2.10'])).rcode, Rcode.SERVFAIL);
  assert.equal(zone.serial(), serial);
  assert.equal(zone.get('alice.home.example.', RRType.A).length, 1);
});

/** A router stand-in: records requests; the test decides when and how each is answered. */
const clock = { now: NOW };

function fakeRouter() {
  const requests: { fqdn: string; resolver: string; answer: (r: NtsResult) => void }[] = [];
  const transport: NtsTransport = {
    request: (_router, _key, params) => new Promise<NtsResult>((resolve) => requests.push({ fqdn: params.fqdn, resolver: params.resolver.address, answer: resolve })),
  };
  const gateway = (counters: Counters) => new NtsGateway(
    [{ id: 'gw1', addresses: ['203.0.113.2'], nts: { host: '127.0.0.1', port: 1 }, key: Buffer.alloc(32) }],
    transport, { profiles: new ResolverProfiles(), marginMs: 150, refusalHoldMs: 1000, enCacheMs: 0, ecsMinPrefix: 16 }, counters, memoryLogger(), () => clock.now,
  );
  return { requests, gateway };
}

test('NTS: an A query for an NTS-managed name waits for READY and answers the named address with TTL 0', async () => {
  const router = fakeRouter();
  const { h, counters } = setup(undefined, router.gateway);
  const pending = h.handle(query('Alice.home.example.', RRType.A), udp);
  assert.ok(pending instanceof Promise, 'held until the router answers');
  assert.equal(router.requests.length, 1);
  assert.equal(router.requests[0].fqdn, 'alice.home.example.');
  // A resolver retry (new ID, new port) joins the same NTS request.
  const retry = h.handle(query('alice.home.example.', RRType.A, { id: 0x9999 }), { ...udp, remotePort: 6000 });
  assert.ok(retry instanceof Promise);
  assert.equal(router.requests.length, 1, 'one NTS request for both');
  router.requests[0].answer({ status: 'READY', answerAddress: '203.0.113.2', rcId: 7, rcLifetimeMs: 3000 });
  const [a, b] = (await Promise.all([pending, retry])).map((x) => decodeMessage(x!));
  assert.deepEqual([a.id, b.id], [0x1234, 0x9999]);
  for (const m of [a, b]) {
    assert.equal(m.rcode, Rcode.NOERROR);
    assert.deepEqual(m.answer.map((r) => [r.ttl, r.rdata]), [[0, { kind: 'A', address: '203.0.113.2' }]]);
  }
  assert.equal(a.question[0].name, 'Alice.home.example.');
  assert.equal(counters.get('nts_ready'), 1);
  assert.equal(counters.get('nts_joined'), 1);
  // Every lookup reaches the router again (nothing cached).
  assert.ok(h.handle(query('alice.home.example.', RRType.A), udp) instanceof Promise);
  assert.equal(router.requests.length, 2);
});

test('NTS: refusal or silence gives SERVFAIL; AAAA and other resolvers do not share; ordinary names never wait', async () => {
  const router = fakeRouter();
  const { h, counters } = setup(undefined, router.gateway);
  const p1 = h.handle(query('alice.home.example.', RRType.A), udp) as Promise<Buffer>;
  const p2 = h.handle(query('alice.home.example.', RRType.A), { ...udp, remoteAddress: '127.0.0.9' }) as Promise<Buffer>;
  assert.equal(router.requests.length, 2, 'another resolver is another EN');
  router.requests[0].answer({ status: 'QUEUE_FULL' });
  router.requests[1].answer({ status: 'TIMEOUT' });
  for (const p of [p1, p2]) {
    const m = decodeMessage(await p);
    assert.equal(m.rcode, Rcode.SERVFAIL);
    assert.equal(m.answer.length, 0);
  }
  assert.equal(counters.get('nts_queue_full'), 1);
  assert.equal(counters.get('nts_timeout'), 1);
  // The resolver's retries in flight: SERVFAIL at once, the router is not asked again...
  const again = decodeMessage((await h.handle(query('alice.home.example.', RRType.A, { id: 7 }), udp))!);
  assert.equal(again.rcode, Rcode.SERVFAIL);
  assert.equal(router.requests.length, 2);
  assert.equal(counters.get('nts_suppressed'), 1);
  // ...until the hold is over.
  clock.now += 1000;
  const later = h.handle(query('alice.home.example.', RRType.A), udp) as Promise<Buffer>;
  assert.equal(router.requests.length, 3);
  router.requests[2].answer({ status: 'READY', answerAddress: '203.0.113.2', rcId: 9, rcLifetimeMs: 3000 });
  assert.equal(decodeMessage(await later).rcode, Rcode.NOERROR);
  clock.now = NOW;
  const aaaa = ask(h, query('alice.home.example.', RRType.AAAA));
  assert.equal(aaaa.rcode, Rcode.NOERROR);
  assert.equal(aaaa.answer.length, 0, 'NODATA at once, no NTS request');
  assert.equal(ask(h, query('www.home.example.', RRType.A)).answer.length, 1);
  assert.equal(router.requests.length, 3, 'AAAA and ordinary names ask no router');
});

test('an IN registering through its router is published with the router global address, never a private one', () => {
  const { h, zone } = setup();
  const viaRouter: RequestContext = { transport: 'udp', remoteAddress: '203.0.113.2', remotePort: 40000 };
  // Masqueraded by the router: the private address the IN reports becomes the router's.
  assert.equal(ask(h, update(['alice.home.example. 60 IN A 192.168.50.10']), viaRouter).rcode, Rcode.NOERROR);
  assert.deepEqual(zone.get('alice.home.example.', RRType.A).map((r) => r.rdata), [{ kind: 'A', address: '203.0.113.2' }]);
  // A client that reports the public address itself: same result, nothing added.
  assert.equal(ask(h, update(['alice.home.example. 60 IN A 203.0.113.2']), viaRouter).rcode, Rcode.NOERROR);
  assert.equal(zone.get('alice.home.example.', RRType.A).length, 1);
  // Directly, with no router in front: a private address would leak into the public zone.
  const serial = zone.serial();
  assert.equal(ask(h, update(['alice.home.example. 60 IN A 10.1.2.3'])).rcode, Rcode.REFUSED);
  assert.equal(zone.serial(), serial);
  assert.ok(!zone.get('alice.home.example.', RRType.A).some((r) => r.rdata.kind === 'A' && r.rdata.address === '10.1.2.3'));
});
