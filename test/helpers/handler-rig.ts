// A handler core for the verification, RRL and bounded-memory tests: a zone with one
// NTS-managed name (alice, behind ROUTER) and one ordinary (www), a stand-in router that records
// NTS requests and answers when told, fixed cookie secret, virtual clock. Queries only: no store.
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage } from '../../src/dns/codec.js';
import { EdnsOptionCode, RRClass, RRType } from '../../src/dns/constants.js';
import { parseCookie } from '../../src/dns/cookie.js';
import { parseRecord } from '../../src/dns/presentation.js';
import { newMessage, type EdnsOption, type Message } from '../../src/dns/types.js';
import { Zone } from '../../src/dns/zone.js';
import { ServerCookies } from '../../src/server/cookies.js';
import { DnsHandler, type HandlerDeps, type RequestContext } from '../../src/server/handler.js';
import { NtsGateway, type NtsGatewayOptions, type NtsTransport } from '../../src/server/nts-gateway.js';
import { ResolverProfiles } from '../../src/server/resolver-profiles.js';
import type { NtsResult } from '../../src/nts/index.js';
import type { ZoneStore } from '../../src/store/zone-store.js';
import { Counters } from '../../src/util/counters.js';
import { memoryLogger } from '../../src/util/log.js';

export const NOW = 1_790_000_000_000;
export const ROUTER = '203.0.113.2';
export const RESOLVER = '198.51.100.53';
export const udp: RequestContext = { transport: 'udp', remoteAddress: RESOLVER, remotePort: 5353 };
export const CLIENT = Buffer.from('a1b2c3d4e5f60718', 'hex');

/** A handler over a zone with one NTS-managed name (alice) and one ordinary (www); the router is
 *  a stand-in that records requests and answers READY when told. Queries only: no store. */
export function rig(extra: Partial<HandlerDeps> = {}, gw: Partial<NtsGatewayOptions> = {}) {
  const clock = { now: NOW };
  const counters = new Counters();
  const requests: { resolver: string; answer: (r: NtsResult) => void }[] = [];
  const transport: NtsTransport = {
    request: (_r, _k, params) => new Promise<NtsResult>((resolve) => requests.push({ resolver: params.resolver.address, answer: resolve })),
  };
  const gateway = new NtsGateway(
    [{ id: 'gw1', addresses: [ROUTER], nts: { host: '127.0.0.1', port: 1 }, key: Buffer.alloc(32) }], transport,
    { profiles: new ResolverProfiles(), marginMs: 150, refusalHoldMs: 0, enCacheMs: 0, ecsMinPrefix: 16, ...gw }, counters, memoryLogger(), () => clock.now,
  );
  const zone = Zone.fromRecords('home.example.', [
    'home.example. 3600 IN SOA ns1.home.example. hostmaster.home.example. 1 3600 600 86400 30',
    'home.example. 3600 IN NS ns1.home.example.',
    'www.home.example. 300 IN A 192.0.2.80',
    `alice.home.example. 300 IN A ${ROUTER}`,
  ].map(parseRecord));
  const cookies = new ServerCookies(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
  const h = new DnsHandler({
    zone, store: undefined as unknown as ZoneStore, keys: new Map(), routerAddresses: new Set([ROUTER]), gateway,
    udpMaxPayload: 1232, tsigFudge: 300, responseCacheSize: 100, counters, log: memoryLogger(), now: () => clock.now,
    cookies, ...extra,
  });
  return { h, clock, counters, requests, cookies, gateway };
}

export function query(name: string, cookie?: Buffer, id = 0x4242): Buffer {
  const options: EdnsOption[] = cookie ? [{ code: EdnsOptionCode.COOKIE, data: cookie }] : [];
  return encodeMessage(newMessage({ id, question: [{ name, type: RRType.A, class: RRClass.IN }], edns: { udpSize: 1232, version: 0, dnssecOk: false, flags: 0, options } }));
}

export async function ask(h: DnsHandler, raw: Buffer, ctx: RequestContext = udp): Promise<Message> {
  const out = await h.handle(raw, ctx);
  assert.ok(out, 'a response');
  return decodeMessage(out);
}

export function cookieIn(m: Message) {
  const o = m.edns?.options.find((x) => x.code === EdnsOptionCode.COOKIE);
  return o && parseCookie(o.data);
}

