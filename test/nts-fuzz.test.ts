// A million seeded mutations of NTS messages (issue 8, "NTS"), through the codec and through
// the router's receiving path as routerd composes it: NtsServerCore -> schedulerRequestFor ->
// RcScheduler (a PHL that knows alice and bob) -> RESPONSEs back into the core's cache. And
// mutated RESPONSEs and announcements into the NTSv2 server's client core.
//
// Two kinds of mutation: byte damage without the key (must never be accepted, so no RC, no
// resolved request), and structural damage re-signed with the key (reaches the TLV parser, the
// window, the replay checks and the scheduler; accepted ones are authentic and may create RCs).
// NTSS_FUZZ_N (default 1,000,000) and NTSS_FUZZ_SEED replay or extend a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedulerSection } from '../src/config/router-config.js';
import { NtsClientCore } from '../src/nts/client.js';
import { decodeFrame, decodeMessage, encodeMessage } from '../src/nts/codec.js';
import { NtsFormatError, type NtsMessage } from '../src/nts/messages.js';
import { NtsServerCore, type ServerEvent } from '../src/nts/server.js';
import { PrivateHostList, RcScheduler, type RouterEvent } from '../src/router/index.js';
import { ntsResponseFor } from '../src/routerd/events.js';
import { schedulerRequestFor } from '../src/routerd/request.js';
import { prng } from './helpers/prng.js';
import {
  FUZZ_KEY, FUZZ_KEY2, WINDOW_MS, hex16, join, mutateBytes, mutateParts, otherSamples, requestSamples, split,
  type Parts, type Rnd,
} from './helpers/nts-fuzz.js';

const N = Number(process.env.NTSS_FUZZ_N ?? 1_000_000);
const SEED = Number(process.env.NTSS_FUZZ_SEED ?? 0x5eed2026);
const T0 = 1_700_000_000_000;
const FROM = { address: '198.51.100.1', port: 5300 };
const routerKeys = (id: string) => (id === 'gw1' ? FUZZ_KEY : undefined); // routerd: its own key only
const serverKeys = (id: string) => (id === 'gw1' ? FUZZ_KEY : id === 'gw2' ? FUZZ_KEY2 : undefined);
const signKey = (id: string) => serverKeys(id) ?? FUZZ_KEY;

const BEFORE_MAC = new Set(['malformed', 'bad-version', 'unknown-key', 'bad-mac']);
const inc = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
/** Decode error kinds without the numbers, so they group. */
const kind = (e: NtsFormatError) => e.message.replace(/0x[0-9a-f]+|\d+/g, '#').slice(0, 60);

/** The router's receiving path, composed as routerd/router.ts composes it, with a clock argument. */
class Router {
  readonly core = new NtsServerCore({ keys: routerKeys, windowMs: WINDOW_MS });
  readonly phl = new PrivateHostList();
  readonly scheduler: RcScheduler;
  readonly outcomes = new Map<string, number>();
  rcCreated = 0;
  readonly responded = new Map<string, number>();

  constructor() {
    this.phl.setConfigured('alice.home.example.', '192.168.1.10');
    this.phl.setConfigured('bob.home.example.', '192.168.1.11');
    // As routerd builds it from its config (router.ts), with the daemon's defaults (reputation on).
    const sched = schedulerSection({ holdMs: 300, rcTimeoutMs: 3000 });
    const { trusted: _, ...reputation } = sched.reputation;
    this.scheduler = new RcScheduler({ globalAddresses: ['192.0.2.1', '192.0.2.2'], ...sched, reputation }, this.phl);
  }

  receive(now: number, buf: Buffer): ServerEvent {
    const ev = this.core.receive(now, buf, FROM);
    inc(this.outcomes, ev.kind === 'dropped' ? ev.reason : ev.kind);
    if (ev.kind === 'new-request') {
      const d = schedulerRequestFor(ev.request);
      if ('unsupported' in d) this.respond(now, ev.request.requestId, { status: 'UNSUPPORTED', reason: d.unsupported });
      else this.apply(now, this.scheduler.request(now, d.request));
    }
    return ev;
  }

  /** routerd's one timer: poll when the scheduler's wake-up is due. */
  timers(now: number): void {
    const t = this.scheduler.nextWakeupMs();
    if (t !== undefined && t <= now) this.apply(now, this.scheduler.poll(now));
  }

  private apply(now: number, events: readonly RouterEvent[]): void {
    for (const e of events) {
      if (e.type === 'rc-created') this.rcCreated++;
      if (e.type === 'respond') for (const id of e.requestIds) this.respond(now, id, ntsResponseFor(e, now, this.scheduler.occupancyEstimateMs));
    }
  }

  private respond(now: number, id: string, r: Parameters<NtsServerCore['respond']>[2]): void {
    this.core.respond(now, id, r);
    inc(this.responded, r.status);
  }
}

/** The codec alone: only NtsFormatError may escape; tallies decode error kinds. */
function codec(buf: Buffer, kinds: Map<string, number>, what: () => string): NtsMessage | undefined {
  try {
    return decodeMessage(buf).msg;
  } catch (e) {
    if (!(e instanceof NtsFormatError)) assert.fail(`${what()}: decode threw ${String(e)}\n${buf.toString('hex')}`);
    inc(kinds, kind(e));
    return undefined;
  }
}

test(`NTS fuzz: ${N} seeded mutations through the codec, the router path and the client core`, { timeout: 600_000 }, () => {
  const next = prng(SEED);
  const rnd: Rnd = (n) => Math.floor(next() * n);
  const router = new Router();
  const kinds = new Map<string, number>();
  const tally = { forgedToRouter: 0, signedToRouter: 0, forgedToClient: 0, signedToClient: 0 };
  const what = (i: number) => () => `seed ${SEED}, mutation ${i}`;

  // Originals, fed first: their byte-identical copies are retransmissions, not new requests.
  const reqs = requestSamples(T0, () => hex16(rnd)).map((m) => encodeMessage(m, FUZZ_KEY));
  const others = otherSamples(T0, () => hex16(rnd)).map((m) => encodeMessage(m, FUZZ_KEY));
  const toRouter = [...reqs, ...others];
  const toRouterParts = toRouter.map(split);
  for (const b of reqs) assert.equal(router.receive(T0, b).kind, 'new-request');
  const legitRcs = router.rcCreated;
  assert.ok(legitRcs >= 1, 'the originals made an RC');
  let forgedRcs = 0;
  const signedIds: Buffer[] = toRouterParts.map((p) => p.id);

  // The NTSv2 server side: pending requests to gw1 and the genuine RESPONSEs for them.
  const client = new NtsClientCore({ keys: serverKeys, windowMs: WINDOW_MS, randomId: () => hex16(rnd) });
  const pending = new Map<string, { keyId: string; genuine: Buffer }>();
  const statuses = otherSamples(T0, () => '0000000000000000').filter((m) => m.type === 'RESPONSE');
  const addPending = (now: number) => {
    const { id } = client.request(now, { keyId: 'gw1', fqdn: 'alice.home.example.', qtype: 1, mode: 'any', resolver: { address: '198.51.100.53', port: 53 }, deadlineMs: now + 20 * WINDOW_MS });
    const sample = statuses[rnd(statuses.length)];
    pending.set(id, { keyId: 'gw1', genuine: encodeMessage({ ...sample, timestamp: now, id }, FUZZ_KEY) });
  };
  for (let i = 0; i < 32; i++) addPending(T0);
  const announcements = others.filter((b) => b[3] === 3 || b[3] === 4);
  const reflected = toRouter.filter((b) => b[3] === 1 || b[3] === 5);
  const clientOutcomes = new Map<string, number>();
  let wrongResolves = 0;

  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    // The clock advances 1 ms per 100 messages: RCs expire, queues move, nothing goes stale by itself.
    const now = T0 + Math.floor(i / 100);
    router.timers(now); // before the datagram, so RCs made by the timer are not counted against it
    const lane = rnd(10);
    if (lane < 4) { // byte damage to what the router receives, without the key
      const k = rnd(toRouter.length);
      const src = toRouter[k];
      const x = rnd(100) === 0 ? src : mutateBytes(src, toRouter[rnd(toRouter.length)], rnd); // 1%: a plain copy
      tally.forgedToRouter++;
      codec(x, kinds, what(i));
      const before = router.rcCreated;
      const ev = router.receive(now, x);
      assert.notEqual(ev.kind, 'new-request', `${what(i)()}: a forged datagram became a request\n${x.toString('hex')}`);
      // Anything decided past the MAC (a retransmission, a type or ACK check) needs the same signed bytes: an exact copy.
      if (!(ev.kind === 'dropped' && BEFORE_MAC.has(ev.reason))) assert.ok(toRouter.some((g) => g.equals(x)), `${what(i)()}: ${ev.kind} for a changed datagram`);
      forgedRcs += router.rcCreated - before;
    } else if (lane < 8) { // structural damage, re-signed: a key holder's odd messages
      const k = rnd(toRouterParts.length);
      const p = mutateParts(toRouterParts[k], toRouterParts[rnd(toRouterParts.length)], rnd, { now, ids: signedIds });
      const x = join(p, signKey(p.keyId));
      tally.signedToRouter++;
      const m = codec(x, kinds, what(i));
      const ev = router.receive(now, x);
      if (ev.kind === 'new-request') {
        assert.ok(m?.type === 'REQUEST', `${what(i)()}: the router accepted what the codec refuses`);
        assert.deepEqual(ev.request.request, m.request);
        if (signedIds.length < 4096) signedIds.push(p.id);
        if ((i & 63) === 0) assert.deepEqual(decodeMessage(encodeMessage(m, FUZZ_KEY)).msg, m, `${what(i)()}: round trip`);
      }
    } else { // the NTSv2 server's client core: mutated RESPONSEs and announcements
      const ids = [...pending.keys()];
      const id = ids[rnd(ids.length)];
      const pick = rnd(16);
      // Mostly the genuine RESPONSE of a pending request; also announcements, and reflected
      // router-bound datagrams (REQUEST, REGISTER_ACK) that the client must refuse by type.
      const src = pick < 2 ? announcements[rnd(announcements.length)] : pick === 2 ? reflected[rnd(reflected.length)] : pending.get(id)!.genuine;
      let x: Buffer;
      let target: string | undefined;
      const signed = rnd(2) === 0;
      if (!signed) {
        x = mutateBytes(src, toRouter[rnd(toRouter.length)], rnd);
        // A splice may rebuild another genuine datagram exactly: authentic, not a forgery.
        if (x.equals(src) || toRouter.some((g) => g.equals(x))) continue;
        tally.forgedToClient++;
      } else {
        const p = mutateParts(split(src), toRouterParts[rnd(toRouterParts.length)], rnd, { now, ids: ids.map((s) => Buffer.from(s, 'hex')) });
        if (rnd(2) === 0) p.id = Buffer.from(id, 'hex'); // aim at a pending request
        x = join(p, signKey(p.keyId));
        target = p.id.toString('hex');
        tally.signedToClient++;
      }
      codec(x, kinds, what(i));
      const ok0 = client.verifier.counters.ok;
      const ev = client.receive(now, x);
      inc(clientOutcomes, ev.kind === 'dropped' ? ev.reason : ev.kind);
      if (!signed) assert.ok(ev.kind === 'dropped', `${what(i)()}: a forged datagram reached the client as ${ev.kind}\n${x.toString('hex')}`);
      if (ev.kind === 'response') {
        const want = pending.get(ev.id);
        if (!want || want.keyId !== ev.keyId) wrongResolves++;
        const m = decodeMessage(x).msg;
        assert.ok(m.type === 'RESPONSE' && m.id === ev.id);
        assert.deepEqual(ev.response, m.response);
        pending.delete(ev.id);
        addPending(now);
      }
      // A reflected or other router's message that carried a pending id must not cost that
      // request its genuine answer (docs/protocol.md 4: type before replay cache; keys per router).
      const reflectedOrOther = ev.kind === 'dropped' && (ev.reason === 'unexpected-type' || ev.reason === 'wrong-router');
      if (target !== undefined && reflectedOrOther && pending.has(target)) {
        const back = client.receive(now, pending.get(target)!.genuine);
        assert.equal(back.kind, 'response', `${what(i)()}: after a ${ev.kind === 'dropped' ? ev.reason : ''} datagram with its id, the genuine RESPONSE was ${JSON.stringify(back)}`);
        inc(clientOutcomes, 'genuine-after-reflection');
        pending.delete(target);
        addPending(now);
      }
      // Only the router itself could send a REGISTER with a pending id (ids are random): it is
      // recorded, so that request's RESPONSE would be a replay; replace the request.
      if (target !== undefined && ev.kind === 'register' && pending.has(target) && decodeFrame(x).keyId === 'gw1') {
        client.cancel(target);
        pending.delete(target);
        addPending(now);
      }
    }
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;

  // Accounting: every datagram the router got is counted exactly once, under one outcome.
  const c = router.core.allCounters();
  const fed = reqs.length + tally.forgedToRouter + tally.signedToRouter;
  const outcomes = ['new-request', 'duplicate-pending', 'resend', 'register-ack', 'unexpected-type', 'resend-limit', 'unmatched',
    'malformed', 'bad-version', 'unknown-key', 'bad-mac', 'stale', 'replay'] as const;
  assert.equal(c.received, fed, 'received counts every datagram');
  assert.equal(outcomes.reduce((s, k) => s + c[k], 0), fed, `outcomes add up to received: ${JSON.stringify(c)}`);
  for (const k of outcomes) assert.equal(c[k], router.outcomes.get(k) ?? 0, `counter ${k} matches the events returned`);
  const cc = client.allCounters();
  const clientFed = tally.forgedToClient + tally.signedToClient;
  const genuine = clientOutcomes.get('genuine-after-reflection') ?? 0;
  const clientSum = cc.malformed + cc['bad-version'] + cc['unknown-key'] + cc['bad-mac'] + cc.stale + cc.replay +
    cc.responses + cc.registers + cc.unmatched + cc['wrong-router'] + cc['unexpected-type'];
  assert.equal(clientSum, clientFed + genuine, `client: every datagram counted once: ${JSON.stringify(cc)}`);

  // The safety properties.
  assert.equal(forgedRcs, 0, 'no RC from a datagram without a valid MAC');
  assert.equal(wrongResolves, 0, 'no request resolved by a response for another id or router');

  // The fuzz reached every path (so it can fail when mutations stop getting past the first check).
  const r = router.outcomes;
  const atLeast = (m: Map<string, number>, k: string, n: number, who: string) =>
    assert.ok((m.get(k) ?? 0) >= n, `${who}: only ${m.get(k) ?? 0} x ${k} (want >= ${n}) in ${N}`);
  const scale = N / 1_000_000;
  for (const k of ['malformed', 'bad-mac', 'unknown-key', 'stale', 'replay', 'unexpected-type', 'new-request']) atLeast(r, k, Math.ceil(1000 * scale), 'router');
  for (const k of ['bad-version', 'duplicate-pending', 'resend', 'unmatched']) atLeast(r, k, Math.ceil(50 * scale), 'router');
  for (const k of ['malformed', 'bad-mac', 'stale', 'response', 'unmatched']) atLeast(clientOutcomes, k, Math.ceil(1000 * scale), 'client');
  for (const k of ['wrong-router', 'replay', 'register', 'unexpected-type', 'genuine-after-reflection']) atLeast(clientOutcomes, k, Math.ceil(20 * scale), 'client');
  // Few: the daemon's resolver reputation refuses resolvers whose RCs go unused, as these do.
  assert.ok(router.rcCreated - legitRcs >= 10 * scale, `signed mutations reached RC creation only ${router.rcCreated - legitRcs} times`);
  assert.ok((router.responded.get('READY') ?? 0) >= 100 * scale && (router.responded.get('UNSUPPORTED') ?? 0) >= 100 * scale, `responses: ${JSON.stringify([...router.responded])}`);
  assert.ok(kinds.size >= 30, `only ${kinds.size} decode error kinds`);

  const fmt = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`# nts-fuzz: ${N} mutations, seed ${SEED} (0x${SEED.toString(16)}), ${ms.toFixed(0)} ms (${(ms * 1000 / N).toFixed(2)} us each)`);
  console.log(`# nts-fuzz: lanes ${JSON.stringify(tally)}`);
  console.log(`# nts-fuzz: router outcomes ${fmt(r)}`);
  console.log(`# nts-fuzz: router RCs created ${router.rcCreated} (originals ${legitRcs}, forged 0), responses ${fmt(router.responded)}`);
  console.log(`# nts-fuzz: client outcomes ${fmt(clientOutcomes)}`);
  console.log(`# nts-fuzz: ${kinds.size} decode error kinds; top: ${fmt(new Map([...kinds].sort((a, b) => b[1] - a[1]).slice(0, 12)))}`);
});
