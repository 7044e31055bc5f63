// Resolver reputation (src/router/reputation.ts, docs/reputation.md): resolvers that ask and
// never connect lose their standing; one on probation is served from idle capacity only; the
// RC of a resolver whose ENs connect fast ends early. Unit tests of the record, the scheduler's
// rules on a fake clock, and the flood on a virtual clock, with and without reputation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrivateHostList } from '../src/router/phl.js';
import { ResolverReputation } from '../src/router/reputation.js';
import { RcScheduler } from '../src/router/scheduler.js';
import { formatEvent } from '../src/router/trace.js';
import type { SchedulerConfig } from '../src/router/config.js';
import type { RouterEvent } from '../src/router/events.js';
import { NtssError } from '../src/util/errors.js';

const GA2 = '203.0.113.2';
const GA3 = '203.0.113.3';
const GA4 = '203.0.113.4';
const [PA1, PA2, PA3] = ['192.168.50.10', '192.168.50.11', '192.168.50.12'];
const [ALICE, BOB, CAROL] = ['alice.home.example.', 'bob.home.example.', 'carol.home.example.'];
const GOOD = '198.51.100.53';
const BAD = '192.0.2.66';
const LABELS = new Map([[GA2, 'GA2'], [GA3, 'GA3'], [GA4, 'GA4'], [PA1, 'alice'], [PA2, 'bob'], [PA3, 'carol'], [GOOD, 'GOOD'], [BAD, 'BAD']]);
const label = (a: string): string => LABELS.get(a) ?? a;

const BASE: SchedulerConfig = {
  globalAddresses: [GA2], holdMs: 500, rcTimeoutMs: 3000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100,
  reputation: { enabled: true, initialCredit: 1 },
};

function scheduler(over: Partial<SchedulerConfig> = {}, trusted?: (r: string) => boolean): RcScheduler {
  const phl = new PrivateHostList();
  phl.setConfigured(ALICE, PA1);
  phl.setConfigured(BOB, PA2);
  phl.setConfigured(CAROL, PA3);
  return new RcScheduler({ ...BASE, ...over }, phl, trusted);
}

const lines = (evs: RouterEvent[]): string[] => evs.map((e) => formatEvent(e, label));
let nextId = 0;
const ask = (s: RcScheduler, t: number, fqdn: string, resolver: string, patienceMs = 1750, leaseMs = 0): RouterEvent[] =>
  s.request(t, { id: `q${++nextId}`, fqdn, qtype: 1, resolver, deadlineMs: t + patienceMs, leaseMs });
const status = (evs: RouterEvent[]): string => {
  const r = evs.find((e) => e.type === 'respond');
  return r === undefined ? 'none' : r.status === 'READY' ? 'READY' : `${r.status}:${r.reason}`;
};
const connect = (s: RcScheduler, t: number, ga = GA2, src = '198.51.100.12', port = 40000 + (nextId % 20000)) =>
  s.packet(t, { src, srcPort: port, dst: ga, dstPort: 80, proto: 'tcp' });

test('the record: probation, proven by use, penalised by waste with a doubling penalty, then suspect; trusted never', () => {
  const r = new ResolverReputation({ penaltyMs: 1000, maxPenaltyMs: 3000, initialCredit: 1 }, (a) => a === GOOD);
  assert.equal(r.standing(0, BAD), 'probation', 'a newcomer');
  assert.equal(r.standing(0, GOOD), 'trusted');
  assert.equal(r.unused(0, GOOD), undefined, 'trusted resolvers are never penalised');
  assert.deepEqual(r.used(0, '192.0.2.7'), { type: 'proven', resolver: '192.0.2.7', credit: 3 });
  assert.equal(r.standing(0, '192.0.2.7'), 'proven');
  assert.deepEqual(r.unused(10, BAD), { type: 'penalised', resolver: BAD, until: 1010, offences: 1 });
  assert.equal(r.standing(1009, BAD), 'penalised');
  assert.equal(r.standing(1010, BAD), 'suspect', 'after the penalty: suspect until an RC of its is used');
  assert.deepEqual(r.unused(1010, BAD), { type: 'penalised', resolver: BAD, until: 3010, offences: 2 }, 'doubled');
  assert.equal(r.unused(1500, BAD), undefined, 'an RC granted before the penalty costs nothing more');
  assert.deepEqual(r.unused(3010, BAD), { type: 'penalised', resolver: BAD, until: 6010, offences: 3 }, 'capped at maxPenaltyMs');
  // Two unused RCs per used one keep a real resolver proven (Unbound's AAAA, Knot's refreshes);
  // three per used one do not.
  for (let i = 0; i < 50; i++) {
    r.used(i, '192.0.2.8');
    r.unused(i, '192.0.2.8');
    r.unused(i, '192.0.2.8');
    r.used(i, '192.0.2.9');
    for (let k = 0; k < 3; k++) r.unused(i, '192.0.2.9');
  }
  assert.equal(r.standing(50, '192.0.2.8'), 'proven');
  assert.equal(r.standing(50, '192.0.2.9'), 'penalised');
});

test('the record is bounded: the least recently seen non-penalised resolver is forgotten first', () => {
  const r = new ResolverReputation({ maxResolvers: 3, initialCredit: 1 });
  r.unused(0, 'a'); // penalised
  r.used(1, 'b');
  r.used(2, 'c');
  r.used(3, 'd'); // evicts b (a is penalised)
  assert.equal(r.size, 3);
  assert.equal(r.evicted, 1);
  assert.equal(r.standing(4, 'a'), 'penalised');
  assert.equal(r.standing(4, 'b'), 'probation', 'forgotten: a newcomer again');
  for (let i = 0; i < 10_000; i++) r.unused(10 + i, `x${i}`);
  assert.equal(r.size, 3, 'a flood of sources never grows the table');
});

test('bad numbers are refused with the key named', () => {
  assert.throws(() => scheduler({ reputation: { enabled: true, initialCredit: 0 } }), (e: unknown) => e instanceof NtssError && /reputation\.initialCredit/.test(e.message));
  assert.throws(() => scheduler({ reputation: { enabled: true, penaltyMs: 10, maxPenaltyMs: 5 } }), (e: unknown) => e instanceof NtssError && /reputation\.maxPenaltyMs/.test(e.message));
});

test('a resolver whose RC expired unused is DENIED until its penalty ends', () => {
  const s = scheduler({ reputation: { enabled: true, initialCredit: 1, penaltyMs: 10_000 } });
  assert.equal(status(ask(s, 0, ALICE, BAD)), 'READY');
  const evs = s.poll(3000);
  assert.deepEqual(lines(evs), ['3000 rc-removed rc1 expired', '3000 reputation BAD penalised until13000']);
  assert.equal(status(ask(s, 3001, ALICE, BAD)), 'DENIED:reputation');
  assert.equal(status(ask(s, 3001, ALICE, GOOD)), 'READY', 'others are not affected');
  assert.equal(connect(s, 3002).verdict, 'mapped');
  // Back from the penalty, suspect: an idle address only, never a share of a lease.
  assert.equal(status(ask(s, 13_000, BOB, GOOD, 1750, 30_000)), 'READY');
  assert.equal(connect(s, 13_001).verdict, 'mapped'); // bob's hold ends at 13 501, his lease at 43 500
  assert.equal(status(ask(s, 14_000, BOB, BAD)), 'DENIED:probation', 'suspect: no share of bob\'s lease');
  assert.equal(status(ask(s, 44_000, ALICE, BAD)), 'DENIED:probation', 'idle, but bob was wanted in good standing 31 s ago');
  assert.equal(status(ask(s, 73_001, ALICE, BAD)), 'READY', 'suspect, the address idle and nobody missing it');
});

test('a queued request on probation reserves nothing against one in good standing', () => {
  const GOOD2 = '198.51.100.54';
  for (const enabled of [true, false]) {
    const s = scheduler({ reputation: { enabled, initialCredit: 1 } }, (r) => r === GOOD2);
    assert.equal(status(ask(s, 0, BOB, GOOD)), 'READY');
    assert.equal(connect(s, 5).verdict, 'mapped'); // GOOD proven; the hold ends at 505
    assert.equal(status(ask(s, 1000, BOB, GOOD)), 'READY'); // bob's RC waits for its packet
    assert.equal(status(ask(s, 1100, ALICE, BAD)), 'none', 'alice queues behind bob\'s RC');
    // GOOD2 (trusted) asks for bob: with reputation it shares bob's RC at once; without, the
    // queued alice request goes first (FIFO between hosts) and GOOD2 waits.
    assert.equal(status(ask(s, 1200, BOB, GOOD2)), enabled ? 'READY' : 'none', `reputation ${enabled}`);
  }
});

test('the spare rule: probation may not take an address a host wanted in good standing would lack', () => {
  // GOOD is trusted here: bob's RC may expire unused without a penalty, so bob holds nothing.
  const t = scheduler({ globalAddresses: [GA2] }, (r) => r === GOOD);
  assert.equal(status(ask(t, 0, BOB, GOOD)), 'READY');
  t.poll(3000); // bob's RC expired unused (trusted: no penalty); bob holds nothing now
  assert.equal(status(ask(t, 3100, ALICE, BAD)), 'DENIED:probation', 'bob was wanted 3 s ago and would find no address');
  assert.equal(status(ask(t, 3100 + 60_001, ALICE, BAD)), 'READY', 'after demandWindowMs nobody misses it');
  // With a spare address, probation is served; the last free one is kept for a wanted host.
  const s = scheduler({ globalAddresses: [GA2, GA3, GA4] });
  assert.equal(status(ask(s, 0, BOB, GOOD, 1750, 60_000)), 'READY');
  assert.equal(connect(s, 5).verdict, 'mapped'); // GOOD proven; bob holds GA2
  assert.equal(status(ask(s, 10, CAROL, GOOD, 1750, 60_000)), 'READY'); // carol on GA3, not used yet
  assert.equal(status(ask(s, 20, ALICE, BAD, 1750, 60_000)), 'READY', 'GA4 is free and every wanted host holds an address');
  const u = scheduler({ globalAddresses: [GA2, GA3] }, (r) => r === GOOD);
  assert.equal(status(ask(u, 0, BOB, GOOD)), 'READY');
  u.poll(3000); // bob wanted, holds nothing
  assert.equal(status(ask(u, 3100, CAROL, GOOD, 1750, 60_000)), 'READY'); // carol takes one address
  assert.equal(status(ask(u, 3200, ALICE, BAD)), 'DENIED:probation', 'the last free address is bob\'s to have');
});

test('an unused RC of a resolver whose ENs connect fast ends early; a newcomer gets the full time', () => {
  const s = scheduler({ minRcTimeoutMs: 400 }, (r) => r === '192.0.2.77');
  for (let i = 0; i < 3; i++) {
    const evs = ask(s, i * 1000, ALICE, GOOD);
    assert.equal(status(evs), 'READY');
    assert.equal(connect(s, i * 1000 + 10).verdict, 'mapped'); // 10 ms after READY
  }
  const evs = ask(s, 5000, ALICE, GOOD);
  const rc = evs.find((e) => e.type === 'rc-created');
  assert.ok(rc && rc.type === 'rc-created');
  assert.equal(rc.rc.expiresAt - 5000, 400, 'max(10 ms x 4 + 250 ms, floor 400 ms)');
  s.poll(5400);
  const other = ask(s, 6000, BOB, '192.0.2.77'); // trusted below, so the spare rule does not apply
  const rc2 = other.find((e) => e.type === 'rc-created');
  assert.ok(rc2 && rc2.type === 'rc-created');
  assert.equal(rc2.rc.expiresAt - 6000, 3000, 'no samples: rcTimeoutMs');
});

// ---- the flood, on a virtual clock -------------------------------------------------

interface FloodResult {
  good: number; ok: number; wrong: number; rcs: number; denied: number;
  /** RCs attackers created or re-armed; `attackerOther`: those for a host other than bob (the harm). */
  attackerRcs: number; attackerOther: number;
}

/**
 * One global address, alice/bob/carol. The good resolver's EN curls bob once a second
 * (patience 1.75 s as Unbound's) and connects 5 ms after READY; attackers send `rate` queries a
 * second in total for alice, bob and carol and never connect. Leases as the server gives them:
 * with nts.enCacheMs 0, 0 for Unbound and 6 s for an unknown resolver (its 5 s TTL floor + 1 s);
 * with the default 60 s, 61 s and 66 s.
 */
function flood(o: {
  rate: number; attackers: number; reputation: boolean; attackFirst?: boolean; seconds?: number;
  addresses?: string[]; goodLeaseMs: number; attackLeaseMs: number;
  /** The good resolver's en1 also curls alice every 2 s (as the lab's flood scenario); attackers ask these names only. */
  aliceToo?: boolean; attackNames?: string[];
}): FloodResult {
  // The daemon's defaults (initialCredit 3).
  const s = scheduler({ globalAddresses: o.addresses ?? [GA2], rcTimeoutMs: 1500, reputation: { enabled: o.reputation, initialCredit: 3 } });
  const seconds = o.seconds ?? 120;
  const goodStart = o.attackFirst ? 5000 : 0;
  const attackStart = o.attackFirst ? 0 : 10_000;
  const names = o.attackNames ?? [ALICE, BOB, CAROL];
  const attackers = Array.from({ length: o.attackers }, (_, i) => `192.0.2.${100 + i}`);
  type Ev = { t: number; kind: 'good' | 'attack' | 'pkt'; ga?: string; i?: number; fqdn?: string; to?: string };
  const evs: Ev[] = [];
  for (let t = goodStart; t < seconds * 1000; t += 1000) {
    evs.push({ t, kind: 'good', fqdn: BOB, to: PA2 });
    if (o.aliceToo && (t / 1000) % 2 === 0) evs.push({ t: t + 500, kind: 'good', fqdn: ALICE, to: PA1 });
  }
  const gap = 1000 / o.rate;
  let i = 0;
  for (let t = attackStart; t < seconds * 1000; t += gap) evs.push({ t, kind: 'attack', i: i++ });
  evs.sort((a, b) => a.t - b.t);
  const r: FloodResult = { good: 0, ok: 0, wrong: 0, attackerRcs: 0, attackerOther: 0, rcs: 0, denied: 0 };
  const pending: Ev[] = [];
  const tally = (out: RouterEvent[], who: string) => {
    for (const e of out) {
      if (e.type === 'rc-created' || e.type === 'rc-renewed') {
        r.rcs++;
        if (who !== GOOD) r.attackerRcs++;
        if (who !== GOOD && e.rc.privateAddress !== PA2) r.attackerOther++;
      }
      if (e.type === 'respond' && e.status === 'DENIED') r.denied++;
    }
  };
  let port = 1024;
  const runPackets = (until: number) => {
    pending.sort((a, b) => a.t - b.t);
    while (pending.length > 0 && pending[0]!.t <= until) {
      const p = pending.shift()!;
      const v = s.packet(p.t, { src: '198.51.100.12', srcPort: port++, dst: p.ga!, dstPort: 80, proto: 'tcp' });
      if (v.verdict === 'mapped') {
        if (v.mapping.privateAddress === p.to) r.ok++;
        else r.wrong++;
      }
    }
  };
  for (const e of evs) {
    runPackets(e.t);
    if (e.kind === 'good') {
      r.good++;
      const out = s.request(e.t, { id: `g${e.t}`, fqdn: e.fqdn!, qtype: 1, resolver: GOOD, deadlineMs: e.t + 1750, leaseMs: o.goodLeaseMs });
      tally(out, GOOD);
      const ready = out.find((x) => x.type === 'respond' && x.status === 'READY');
      if (ready && ready.type === 'respond' && ready.status === 'READY') pending.push({ t: e.t + 5, kind: 'pkt', ga: ready.globalAddress, to: e.to });
      else {
        // Queued: READY may come later within the deadline (poll until then).
        for (let t = e.t + 50; t < e.t + 1750; t += 50) {
          runPackets(t);
          const later = s.poll(t);
          tally(later, '');
          const rd = later.find((x) => x.type === 'respond' && x.status === 'READY' && x.requestIds.includes(`g${e.t}`));
          if (rd && rd.type === 'respond' && rd.status === 'READY') { pending.push({ t: t + 5, kind: 'pkt', ga: rd.globalAddress, to: e.to }); break; }
          if (later.some((x) => x.type === 'respond' && x.status !== 'READY' && x.requestIds.includes(`g${e.t}`))) break;
        }
      }
    } else {
      const who = attackers[e.i! % attackers.length]!;
      tally(s.request(e.t, { id: `a${e.i}`, fqdn: names[e.i! % 3]!, qtype: 1, resolver: who, deadlineMs: e.t + 1750, leaseMs: o.attackLeaseMs }), who);
    }
  }
  runPackets(Infinity);
  return r;
}

const SHORT = { goodLeaseMs: 0, attackLeaseMs: 6000 }; // nts.enCacheMs 0 (the lab's default scenarios)
const LONG = { goodLeaseMs: 61_000, attackLeaseMs: 66_000 }; // nts.enCacheMs 60000 (the product default)
const pct = (x: FloodResult) => `${(100 * x.ok / x.good).toFixed(1)}%`;

test('the flood: one or ten attackers at 30-3000 q/s, never connecting, cannot take bob from a good resolver', () => {
  const report: string[] = [];
  for (const [leases, lz] of [['enCacheMs 0', SHORT], ['enCacheMs 60000', LONG]] as const) {
    for (const attackers of [1, 10]) {
      for (const rate of [30, 300, 3000]) {
        const seconds = rate === 3000 ? 40 : 120;
        const on = flood({ rate, attackers, reputation: true, seconds, ...lz });
        const off = flood({ rate, attackers, reputation: false, seconds, ...lz });
        report.push(`${leases}, ${attackers} attacker(s) at ${rate} q/s: good ${pct(on)} with reputation` +
          ` (attackers' RCs ${on.attackerRcs} of ${on.rcs}, ${on.attackerOther} for others than bob, DENIED ${on.denied}),` +
          ` ${pct(off)} without (attackers' RCs ${off.attackerRcs} of ${off.rcs}, ${off.attackerOther} for others)`);
        assert.equal(on.wrong + off.wrong, 0, 'never the wrong host');
        assert.ok(on.ok / on.good >= 0.99, `with reputation: ${report.at(-1)}`);
        // Their lookups of bob share bob's RC (harmless: no other host is kept out); no other.
        assert.equal(on.attackerOther, 0, `the attackers never get an RC for another host: ${report.at(-1)}`);
        // Short leases: without reputation the flood wins, so this test can fail. Long ones keep
        // the address bob's anyway once his lease runs (admission refuses alice at once).
        if (lz === SHORT) assert.ok(off.ok / off.good < 0.6, `without reputation the flood wins: ${report.at(-1)}`);
      }
    }
  }
  console.log(report.join('\n'));
});

test('a flood that starts first costs the good resolver one lease at most, then nothing', () => {
  for (const [leases, lz, most] of [['enCacheMs 0', SHORT, 8], ['enCacheMs 60000', LONG, 68]] as const) {
    for (const attackers of [1, 10]) {
      const r = flood({ rate: 300, attackers, reputation: true, attackFirst: true, seconds: 180, ...lz });
      console.log(`${leases}, attack first, 300 q/s from ${attackers} attacker(s): good ${r.ok}/${r.good} (${pct(r)}), attackers' RCs ${r.attackerRcs} of ${r.rcs}, ${r.attackerOther} for others than bob`);
      assert.equal(r.wrong, 0);
      // The first lookups met an idle address and got an RC and a lease; the good resolver's
      // ENs (from 5 s on) wait for it to end; after that no attacker gets in again.
      assert.ok(r.good - r.ok <= most, `lost ${r.good - r.ok} of ${r.good}`);
    }
  }
});

test('whose flow is it? a lone asker is credited; several share the credit only if as many flows came; nobody is framed', () => {
  const s = scheduler();
  // GOOD asks, BAD asks 1 ms after GOOD's READY (timed to steal the credit), GOOD's EN connects.
  assert.equal(status(ask(s, 0, ALICE, GOOD)), 'READY');
  assert.equal(status(ask(s, 1, ALICE, BAD)), 'READY');
  const evs = connect(s, 3).events;
  assert.deepEqual(lines(evs).filter((l) => l.includes('reputation')), [], 'ambiguous: nobody credited');
  assert.deepEqual(lines(s.poll(503)).filter((l) => l.includes('reputation')), [], '...and nobody charged at the hold\'s end');
  assert.equal(s.reputation.standing(503, BAD), 'probation');
  assert.equal(s.reputation.standing(503, GOOD), 'probation');
  // A lone asker whose EN connects is credited at once.
  assert.equal(status(ask(s, 1000, ALICE, GOOD)), 'READY');
  assert.deepEqual(lines(connect(s, 1002).events).filter((l) => l.includes('reputation')), ['1002 reputation GOOD proven']);
  // Two ENs behind two resolvers on one hold: two flows, both credited when the hold ends.
  const t = scheduler();
  ask(t, 0, BOB, '192.0.2.7');
  ask(t, 10, BOB, '192.0.2.8');
  connect(t, 12, GA2, '198.51.100.20');
  connect(t, 40, GA2, '198.51.100.21');
  t.poll(512);
  assert.equal(t.reputation.standing(512, '192.0.2.7'), 'proven');
  assert.equal(t.reputation.standing(512, '192.0.2.8'), 'proven');
});

test('askers taking turns cannot keep an unused RC up: the wait ends rcTimeoutMs after it began, and they pay', () => {
  const s = scheduler({ reputation: { enabled: true, initialCredit: 1 } });
  const attackers = ['192.0.2.101', '192.0.2.102', '192.0.2.103'];
  let rcGone: number | undefined;
  const penalised = new Set<string>();
  for (let t = 0; t < 10_000; t += 100) {
    const evs = ask(s, t, BOB, attackers[(t / 100) % 3]!, 1750, 6000);
    for (const e of [...evs, ...s.poll(t + 99)]) {
      if (e.type === 'rc-removed' && rcGone === undefined) rcGone = e.at;
      if (e.type === 'reputation-changed' && e.standing === 'penalised') penalised.add(e.resolver);
    }
  }
  assert.equal(rcGone, 3000, 'the RC made at 0 ends at rcTimeoutMs (3000) although re-armed every 100 ms');
  assert.deepEqual([...penalised].sort(), attackers, 'every asker of the unused RC paid');
});

test('a tainted newcomer must leave room for what clean newcomers want; clean ones do not defer to each other', () => {
  const s = scheduler({ reputation: { enabled: true, initialCredit: 3 } });
  const FRESH = '198.51.100.77';
  assert.equal(status(ask(s, 0, ALICE, BAD, 1750, 6000)), 'READY', 'an idle address: taken');
  s.poll(3000); // its RC went unused: BAD is tainted (credit 2), alice's lease runs to 6500
  assert.equal(s.reputation.clean(3000, BAD), false);
  assert.equal(s.reputation.clean(3000, FRESH), true);
  assert.match(status(ask(s, 3100, BOB, FRESH)), /TOO_LATE/, 'bob waits for alice\'s lease');
  assert.equal(status(ask(s, 3200, ALICE, BAD, 1750, 6000)), 'DENIED:probation', 'no extending alice\'s lease while a clean newcomer wants bob');
  assert.equal(status(ask(s, 6600, BOB, FRESH)), 'READY', 'the lease ran out; bob gets the address');
  // A resolver's own earlier demand does not hold it back once tainted (the lab's aaaa
  // scenario: Unbound's unused alice RC, then its own lookup of bob).
  const u = scheduler({ reputation: { enabled: true, initialCredit: 3 } });
  assert.equal(status(ask(u, 0, ALICE, GOOD)), 'READY');
  u.poll(3000); // unused: GOOD is tainted, alice wanted only by GOOD itself
  assert.equal(status(ask(u, 3100, BOB, GOOD)), 'READY');
  // Two clean newcomers: no deadlock, the first one to an idle address gets it.
  const t = scheduler({ reputation: { enabled: true, initialCredit: 3 } });
  assert.match(status(ask(t, 0, BOB, '198.51.100.78', 1750, 0)), /READY/);
  assert.match(status(ask(t, 10, ALICE, '198.51.100.79', 1750, 0)), /none|TOO_LATE/, 'queued behind bob\'s RC, not DENIED');
});
