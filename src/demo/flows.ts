// The paper's sequences, played for real on loopback. Each flow starts with no RC on the
// router and ends when its RCs are gone again; its verdict rests on checks.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { answerFor, find, mappingFrom, mark, reachedHost, rcsGone, unseen, type Check, type Hosts } from './checks.js';
import { lookup, tcpHello, udpPing, type EnContext, type TcpOutcome } from './external-nodes.js';
import type { LookupResult } from './stub-resolver.js';
import { ALICE, BOB, ROUTER, type EnName } from './topology.js';

export const FLOW_NAMES = ['basic', 'simultaneous', 'interference', 'nolookup'] as const;
export type FlowName = (typeof FLOW_NAMES)[number];

export interface FlowContext extends EnContext {
  hosts: Hosts;
}

export interface FlowResult {
  flow: FlowName;
  pass: boolean;
  /** 'reach': ENs must reach the right host; 'refuse': the EN must reach nobody. */
  expect: 'reach' | 'refuse';
  summary: string;
  checks: Check[];
  /** Which inside host each EN reached (null: none). */
  reached: Partial<Record<EnName, string | null>>;
}

export interface Flow {
  name: FlowName;
  title: string;
  expect: FlowResult['expect'];
  run(ctx: FlowContext): Promise<FlowResult>;
}

/** In the interference flow EN1 is this much later than the third party (a longer RTT). */
export const EN1_LAG_MS = 100;

const { globalAddress: GA, tcpPort, udpPort } = ROUTER;

/** Looks up, then connects to what the answer says; a failed lookup is a failed reach. */
async function lookUpAndConnect(
  ctx: FlowContext, en: EnName, fqdn: string, onFirstQuery?: () => void, beforeConnect?: () => Promise<unknown>,
): Promise<{ dns: LookupResult; tcp: TcpOutcome }> {
  const dns = await lookup(ctx, en, fqdn, onFirstQuery);
  const address = dns.status === 'answer' ? dns.addresses[0] : undefined;
  if (!address) return { dns, tcp: { error: 'no address' } };
  await beforeConnect?.();
  return { dns, tcp: await tcpHello(ctx, en, address, tcpPort) };
}

function result(flow: Flow, checks: Check[], reached: FlowResult['reached'], summary: string): FlowResult {
  return { flow: flow.name, expect: flow.expect, pass: checks.every((c) => c.ok), checks, reached, summary };
}

const basic: Flow = {
  name: 'basic',
  expect: 'reach',
  title: 'basic (Fig. 5/6): EN1 looks up alice, connects over TCP, then exchanges a UDP datagram',
  async run(ctx) {
    const since = mark(ctx.hosts);
    const { tcp } = await lookUpAndConnect(ctx, 'EN1', ALICE.fqdn);
    const udp = await udpPing(ctx, 'EN1', GA, udpPort, 'ping from EN1');
    await rcsGone(ctx.rec);
    const host = reachedHost(ctx.hosts, since, 'EN1', tcp);
    const udpSeen = ctx.hosts.alice.seen.slice(since.alice).some((s) => s.proto === 'udp' && s.payload === 'ping from EN1');
    const checks = [
      { what: 'EN1 reached alice over TCP, and alice saw EN1\'s real address (PROXY v2)', ok: host === 'alice' },
      { what: 'EN1\'s UDP datagram reached alice, whose echo came back from 127.0.0.2:7007', ok: udpSeen && udp.reply === 'alice: ping from EN1' && udp.from === `${GA}:${udpPort}` },
    ];
    const summary = host === 'alice' ? `EN1 reached alice (alice saw ${tcp.body?.split(' ').pop()}), UDP echo too` : `EN1 did not reach alice (${tcp.error ?? tcp.body})`;
    return result(basic, checks, { EN1: host }, summary);
  },
};

const simultaneous: Flow = {
  name: 'simultaneous',
  expect: 'reach',
  title: 'simultaneous (Fig. 7): EN1 → alice and EN2 → bob at once, same port 8080',
  async run(ctx) {
    const since = mark(ctx.hosts);
    // EN2's lookup starts as soon as EN1's first query is out: together, yet in a known order.
    let startEn2!: () => void;
    const en2Go = new Promise<void>((r) => (startEn2 = r));
    // As in the figure, EN1 connects once EN2's request waits at the router: EN2's lookup takes
    // the TC -> TCP detour (source verification), so without this EN1 could connect first on a
    // loaded machine. The serialization shown is the same either way.
    const en2Queued = () => ctx.rec.waitFor((e) => e.event === 'request-queued', 1000, 'EN2\'s request to be queued').catch(() => undefined);
    const [one, two] = await Promise.all([
      lookUpAndConnect(ctx, 'EN1', ALICE.fqdn, startEn2, en2Queued),
      en2Go.then(() => lookUpAndConnect(ctx, 'EN2', BOB.fqdn)),
    ]);
    await rcsGone(ctx.rec);
    const h1 = reachedHost(ctx.hosts, since, 'EN1', one.tcp);
    const h2 = reachedHost(ctx.hosts, since, 'EN2', two.tcp);
    const m1 = find(ctx.rec, mappingFrom('EN1'));
    const a2 = find(ctx.rec, answerFor('EN2'));
    const serialized = !!m1 && !!a2 && a2.t > m1.t;
    const checks = [
      { what: 'EN1 reached alice (alice saw EN1\'s real address)', ok: h1 === 'alice' },
      { what: 'EN2 reached bob (bob saw EN2\'s real address)', ok: h2 === 'bob' },
      { what: 'EN2\'s DNS answer came only after EN1\'s NAT mapping existed (serialized, paper 3.4)', ok: serialized },
    ];
    const wait = m1 && a2 ? ` ${(a2.t - m1.t).toFixed(0)} ms after EN1's mapping` : '';
    const summary = `EN1 reached ${h1 ?? 'nobody'}, EN2 reached ${h2 ?? 'nobody'}; EN2's answer came${wait}`;
    return result(simultaneous, checks, { EN1: h1, EN2: h2 }, summary);
  },
};

const interference: Flow = {
  name: 'interference',
  expect: 'reach',
  title: `interference (Fig. 8): EN3 hits 127.0.0.2 just before EN1 connects, within the ${ROUTER.holdMs} ms hold`,
  async run(ctx) {
    const since = mark(ctx.hosts);
    const dns = await lookup(ctx, 'EN1', ALICE.fqdn);
    const address = dns.status === 'answer' ? dns.addresses[0] : undefined;
    // EN3 never asked DNS; it knows 127.0.0.2 from earlier and happens to send right now.
    const three = await tcpHello(ctx, 'EN3', GA, tcpPort, ' (no lookup: a third party that knows the address)');
    await sleep(EN1_LAG_MS);
    const one: TcpOutcome = address ? await tcpHello(ctx, 'EN1', address, tcpPort, ` (${EN1_LAG_MS} ms after EN3)`) : { error: 'no address' };
    await rcsGone(ctx.rec);
    const h3 = reachedHost(ctx.hosts, since, 'EN3', three);
    const h1 = reachedHost(ctx.hosts, since, 'EN1', one);
    const checks = [
      { what: 'EN1 reached alice: the third party did not use up its RC (paper 3.5)', ok: h1 === 'alice' },
      { what: 'EN3 reached alice too (the cost of 3.5: the RC maps everybody during the hold)', ok: h3 === 'alice' },
    ];
    const verdict = h1 === 'alice' ? 'EN1 was not blocked' : 'EN1 was blocked';
    return result(interference, checks, { EN3: h3, EN1: h1 }, `EN3 reached ${h3 ?? 'nobody'}, EN1 reached ${h1 ?? 'nobody'}: ${verdict}`);
  },
};

const nolookup: Flow = {
  name: 'nolookup',
  expect: 'refuse',
  title: 'no lookup: EN2 connects to 127.0.0.2:8080 without asking DNS first',
  async run(ctx) {
    const since = mark(ctx.hosts);
    const r = await tcpHello(ctx, 'EN2', GA, tcpPort, ' (no lookup, no RC)');
    const refusedByRouter = !!find(ctx.rec, (e) => e.event === 'first-packet-refused');
    const checks = [
      { what: 'the connection was refused (no body)', ok: r.body === undefined && r.error !== undefined },
      { what: 'the router refused it for want of an RC', ok: refusedByRouter },
      { what: 'neither alice nor bob saw EN2', ok: unseen(ctx.hosts, since, 'EN2') },
    ];
    return result(nolookup, checks, { EN2: null }, `EN2 was refused (${r.error ?? 'got an answer!'}); no inside host saw it`);
  },
};

export const FLOWS: Record<FlowName, Flow> = { basic, simultaneous, interference, nolookup };
