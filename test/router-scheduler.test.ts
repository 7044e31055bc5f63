// The paper's sequences (Figs. 5-8) and the admission rules, replayed on a fake clock to the
// millisecond. Each test asserts the whole event trace, one line per event (see trace.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrivateHostList } from '../src/router/phl.js';
import { RcScheduler } from '../src/router/scheduler.js';
import { formatEvent } from '../src/router/trace.js';
import type { SchedulerConfig } from '../src/router/config.js';
import type { RouterEvent } from '../src/router/events.js';
import type { Proto } from '../src/router/types.js';
import { NtssError } from '../src/util/errors.js';

const GA2 = '203.0.113.2';
const GA3 = '203.0.113.3';
const PA1 = '192.168.50.10';
const PA2 = '192.168.50.11';
const PA3 = '192.168.50.12';
const EN1 = '198.51.100.7';
const EN2 = '198.51.100.99';
const [RES1, RES2, RES3, RES4] = ['192.0.2.53', '192.0.2.54', '192.0.2.55', '192.0.2.56'];
const ALICE = 'alice.home.example.';
const BOB = 'bob.home.example.';
const CAROL = 'carol.home.example.';
const LABELS = new Map([[GA2, 'GA2'], [GA3, 'GA3'], [PA1, 'alice'], [PA2, 'bob'], [PA3, 'carol'], [EN1, 'EN1'], [EN2, 'EN2']]);
const label = (a: string): string => LABELS.get(a) ?? a;

// E starts at serviceEstimateMs + holdMs = 600 ms.
const BASE: SchedulerConfig = {
  globalAddresses: [GA2], holdMs: 500, rcTimeoutMs: 3000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 200,
};
const BIND_PATIENCE = 9500;
const UNBOUND_PATIENCE = 1900;

/** A scheduler on a fake clock; every call returns (and records) the trace lines it produced. */
class Run {
  readonly phl = new PrivateHostList();
  readonly s: RcScheduler;
  readonly trace: string[] = [];
  readonly events: RouterEvent[] = [];

  constructor(over: Partial<SchedulerConfig> = {}) {
    this.phl.setConfigured(ALICE, PA1);
    this.phl.setConfigured(BOB, PA2);
    this.phl.setConfigured(CAROL, PA3);
    this.s = new RcScheduler({ ...BASE, ...over }, this.phl);
  }

  ask(t: number, id: string, fqdn: string, resolver = RES1, patienceMs = BIND_PATIENCE, qtype = 1): string[] {
    return this.take(this.s.request(t, { id, fqdn, qtype, resolver, deadlineMs: t + patienceMs }));
  }

  /** A first packet; returns where it went ('alice', 'bob', ... or 'no-rc'). */
  pkt(t: number, src: string, srcPort: number, dst = GA2, dstPort = 80, proto: Proto = 'tcp'): string {
    const r = this.s.packet(t, { src, srcPort, dst, dstPort, proto });
    this.take(r.events);
    return r.verdict === 'mapped' ? label(r.mapping.privateAddress) : 'no-rc';
  }

  poll(t: number): string[] {
    return this.take(this.s.poll(t));
  }

  take(evs: RouterEvent[]): string[] {
    const lines = evs.map((e) => formatEvent(e, label));
    this.events.push(...evs);
    this.trace.push(...lines);
    return lines;
  }
}

test('Figs. 5/6: request -> READY with GA2 -> first packet -> mapping to alice -> removed after the hold', () => {
  const r = new Run();
  assert.deepEqual(r.ask(0, 'q1', ALICE), ['0 rc-created rc1 GA2 any -> alice exp3000', '0 respond READY [q1] GA2 rc1 exp3000']);
  assert.equal(r.s.nextWakeupMs(), 3000, 'the RC expires unless a packet comes');
  assert.equal(r.pkt(120, EN1, 40001), 'alice');
  assert.equal(r.s.nextWakeupMs(), 620, 'first packet starts the hold');
  assert.deepEqual(r.poll(619), []);
  assert.deepEqual(r.poll(620), ['620 rc-removed rc1 hold-done']);
  assert.equal(r.s.nextWakeupMs(), undefined);
  // The RC is gone: a new flow is not mapped; the established one still is.
  assert.equal(r.pkt(700, EN1, 40002), 'no-rc');
  const again = r.s.packet(700, { src: EN1, srcPort: 40001, dst: GA2, dstPort: 80, proto: 'tcp' });
  assert.equal(again.verdict, 'mapped');
  assert.equal(again.verdict === 'mapped' && again.existing, true);
  assert.deepEqual(r.trace, [
    '0 rc-created rc1 GA2 any -> alice exp3000',
    '0 respond READY [q1] GA2 rc1 exp3000',
    '120 map tcp EN1:40001 -> GA2:80 => alice:80 rc1',
    '120 rc-hold rc1 until620',
    '620 rc-removed rc1 hold-done',
  ]);
  assert.deepEqual(r.s.mappings.list().map((m) => [m.enAddress, m.enPort, m.privateAddress, m.privatePort, m.createdAt]), [
    [EN1, 40001, PA1, 80, 120],
  ]);
  assert.equal(r.s.occupancyEstimateMs, 600 + 0.125 * (620 - 600), 'EWMA of observed occupancy');
});

test('Fig. 7: EN1 -> alice, then EN2 -> bob 3 ms later: EN2 waits for EN1 mapping + hold', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  // No RC and no response for EN2 yet (paper 3.4). W = max(0 + 600, 3 + 500) - 3.
  assert.deepEqual(r.ask(3, 'q2', BOB, RES2), ['3 queued q2 pos1 wait597']);
  assert.equal(r.pkt(150, EN1, 40001), 'alice');
  assert.equal(r.pkt(400, EN1, 40002), 'alice', "EN1's second connection within the hold");
  assert.deepEqual(r.poll(649), []);
  assert.deepEqual(r.poll(650), [
    '650 rc-removed rc1 hold-done',
    '650 rc-created rc2 GA2 any -> bob exp3650',
    '650 respond READY [q2] GA2 rc2 exp3650',
  ]);
  assert.equal(r.pkt(780, EN2, 50001), 'bob');
  r.poll(1280);
  assert.deepEqual(r.trace, [
    '0 rc-created rc1 GA2 any -> alice exp3000',
    '0 respond READY [q1] GA2 rc1 exp3000',
    '3 queued q2 pos1 wait597',
    '150 map tcp EN1:40001 -> GA2:80 => alice:80 rc1',
    '150 rc-hold rc1 until650',
    '400 map tcp EN1:40002 -> GA2:80 => alice:80 rc1',
    '650 rc-removed rc1 hold-done',
    '650 rc-created rc2 GA2 any -> bob exp3650',
    '650 respond READY [q2] GA2 rc2 exp3650',
    '780 map tcp EN2:50001 -> GA2:80 => bob:80 rc2',
    '780 rc-hold rc2 until1280',
    '1280 rc-removed rc2 hold-done',
  ]);
  assert.deepEqual(r.s.mappings.byEn(EN1).map((m) => m.privateAddress), [PA1, PA1]);
  assert.deepEqual(r.s.mappings.byEn(EN2).map((m) => m.privateAddress), [PA2]);
});

test("Fig. 7 reversed: EN2's request arrives first by 1 ms: EN2 -> bob served first, EN1 waits", () => {
  const r = new Run();
  r.ask(0, 'q2', BOB, RES2);
  assert.deepEqual(r.ask(1, 'q1', ALICE, RES1), ['1 queued q1 pos1 wait599']);
  assert.equal(r.pkt(130, EN2, 50001), 'bob');
  assert.deepEqual(r.poll(630), [
    '630 rc-removed rc1 hold-done',
    '630 rc-created rc2 GA2 any -> alice exp3630',
    '630 respond READY [q1] GA2 rc2 exp3630',
  ]);
  assert.equal(r.pkt(780, EN1, 40001), 'alice');
  assert.deepEqual(r.s.mappings.byEn(EN1).map((m) => m.privateAddress), [PA1]);
  assert.deepEqual(r.s.mappings.byEn(EN2).map((m) => m.privateAddress), [PA2]);
});

test("Fig. 8: a third party's packet before EN1's within the hold: both go to alice, EN1 is not blocked", () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  assert.deepEqual(r.ask(10, 'q2', BOB, RES2), ['10 queued q2 pos1 wait590']);
  assert.equal(r.pkt(40, EN2, 60000), 'alice', 'the third party (knows GA2 already) comes first');
  assert.equal(r.pkt(150, EN1, 40001), 'alice', 'the RC was not deleted: EN1 still gets alice');
  r.poll(540);
  assert.deepEqual(r.trace, [
    '0 rc-created rc1 GA2 any -> alice exp3000',
    '0 respond READY [q1] GA2 rc1 exp3000',
    '10 queued q2 pos1 wait590',
    '40 map tcp EN2:60000 -> GA2:80 => alice:80 rc1',
    '40 rc-hold rc1 until540',
    '150 map tcp EN1:40001 -> GA2:80 => alice:80 rc1',
    '540 rc-removed rc1 hold-done',
    '540 rc-created rc2 GA2 any -> bob exp3540',
    '540 respond READY [q2] GA2 rc2 exp3540',
  ]);
  assert.deepEqual(r.s.mappings.byRc(1).map((m) => m.enAddress), [EN2, EN1]);
});

test('RC timeout: no packet within rcTimeoutMs -> expired, next request served at that very ms', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  r.ask(10, 'q2', BOB, RES2);
  assert.deepEqual(r.poll(2999), []);
  assert.equal(r.s.nextWakeupMs(), 3000);
  assert.deepEqual(r.poll(3000), [
    '3000 rc-removed rc1 expired',
    '3000 rc-created rc2 GA2 any -> bob exp6000',
    '3000 respond READY [q2] GA2 rc2 exp6000',
  ]);
  assert.equal(r.s.occupancyEstimateMs, 600 + 0.125 * (3000 - 600), 'an expiry counts as a long service');
  // The paper's ambiguity, unchanged: a packet for the expired RC now finds bob's RC.
  assert.equal(r.pkt(3100, EN1, 40001), 'bob');
  r.poll(3600);
  assert.equal(r.s.nextWakeupMs(), undefined);
});

test('a late poll fires timers at their due times, in order', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  r.ask(10, 'q2', BOB, RES2);
  r.ask(20, 'q3', CAROL, RES3);
  assert.deepEqual(r.poll(7000), [
    '3000 rc-removed rc1 expired',
    '3000 rc-created rc2 GA2 any -> bob exp6000',
    '3000 respond READY [q2] GA2 rc2 exp6000',
    '6000 rc-removed rc2 expired',
    '6000 rc-created rc3 GA2 any -> carol exp9000',
    '6000 respond READY [q3] GA2 rc3 exp9000',
  ]);
});

test('queue full: QUEUE_FULL at once; coalesced retries do not take a place', () => {
  const r = new Run({ queueLimit: 2 });
  r.ask(0, 'q1', ALICE, RES1);
  assert.deepEqual(r.ask(1, 'q2', BOB, RES2), ['1 queued q2 pos1 wait599']);
  assert.deepEqual(r.ask(2, 'q3', ALICE, RES3), ['2 queued q3 pos2 wait1198']);
  assert.deepEqual(r.ask(3, 'q4', BOB, RES4), ['3 respond QUEUE_FULL [q4] queue-full']);
  assert.deepEqual(r.ask(4, 'q2b', BOB, RES2), ['4 joined q2b -> q2 (queued)']);
  assert.equal(r.s.queueLength, 2);
});

test('TOO_LATE at admission: expected wait must fit in deadline - now - safetyMargin', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1, UNBOUND_PATIENCE);
  // Behind an RC waiting for its packet (600) and k queued requests (600 each).
  assert.deepEqual(r.ask(0, 'q2', BOB, RES2, UNBOUND_PATIENCE), ['0 queued q2 pos1 wait600']);
  assert.deepEqual(r.ask(0, 'q3', CAROL, RES3, UNBOUND_PATIENCE), ['0 queued q3 pos2 wait1200']);
  assert.deepEqual(r.ask(0, 'q4', BOB, RES4, UNBOUND_PATIENCE), ['0 respond TOO_LATE [q4] wait-exceeds-deadline wait1800']);
  // Boundary: 1800 must be strictly below deadline - margin.
  assert.deepEqual(r.ask(0, 'q5', BOB, RES4, 2000), ['0 respond TOO_LATE [q5] wait-exceeds-deadline wait1800']);
  assert.deepEqual(r.ask(0, 'q6', BOB, RES4, 2001), ['0 queued q6 pos3 wait1800']);
  // Once the RC holds (packet seen), its release time is known exactly.
  r.pkt(100, EN1, 40001);
  assert.deepEqual(r.ask(100, 'q7', ALICE, RES4, 9500), ['100 queued q7 pos4 wait2300']); // 600-100 + 3*600
});

test('TOO_LATE with a free lock when the deadline is already within the margin', () => {
  const r = new Run();
  assert.deepEqual(r.ask(0, 'q1', ALICE, RES1, 200), ['0 respond TOO_LATE [q1] wait-exceeds-deadline wait0']);
  assert.deepEqual(r.s.activeRcs(), [], 'no RC for a request nobody will use');
});

test('TOO_LATE in the queue at deadline - margin, so the server can still answer', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  r.ask(0, 'q2', BOB, RES2, UNBOUND_PATIENCE);
  assert.equal(r.s.nextWakeupMs(), 1700);
  assert.deepEqual(r.poll(1699), []);
  assert.deepEqual(r.poll(1700), ['1700 respond TOO_LATE [q2] deadline-in-queue']);
  assert.equal(r.s.nextWakeupMs(), 3000);
  assert.deepEqual(r.poll(3000), ['3000 rc-removed rc1 expired']);
  assert.equal(r.s.nextWakeupMs(), undefined);
});

test('duplicates: resolver retries with new ids join; every id is answered exactly once', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  assert.deepEqual(r.ask(5, 'q2', BOB, RES2), ['5 queued q2 pos1 wait595']);
  // A retry for a request whose RC still waits: READY at once, same RC.
  assert.deepEqual(r.ask(376, 'q1b', ALICE, RES1), ['376 joined q1b -> q1 (active)', '376 respond READY [q1b] GA2 rc1 exp3000']);
  assert.deepEqual(r.ask(381, 'q2b', BOB, RES2), ['381 joined q2b -> q2 (queued)']);
  // NTS retransmissions (same id) change nothing.
  assert.deepEqual(r.ask(400, 'q2', BOB, RES2), ['400 ignored q2 duplicate-id']);
  assert.deepEqual(r.ask(400, 'q1', ALICE, RES1), ['400 ignored q1 duplicate-id']);
  assert.deepEqual(r.ask(401, 'q1b', ALICE, RES1), ['401 ignored q1b duplicate-id']);
  r.pkt(500, EN1, 40001);
  assert.deepEqual(r.poll(1000), [
    '1000 rc-removed rc1 hold-done',
    '1000 rc-created rc2 GA2 any -> bob exp4000',
    '1000 respond READY [q2,q2b] GA2 rc2 exp4000',
  ]);
  assert.deepEqual(r.ask(1050, 'q2c', BOB, RES2), ['1050 joined q2c -> q2 (active)', '1050 respond READY [q2c] GA2 rc2 exp4000']);
  r.pkt(1130, EN2, 50001);
  // Once the RC saw its packet the request is done; the same question again is a new request,
  // and with bob's RC still holding it shares that RC (same host, same keys: nothing ambiguous),
  // which waits for a packet again.
  assert.deepEqual(r.ask(1200, 'q2d', BOB, RES2), ['1200 rc-renewed rc2 exp4200', '1200 respond READY [q2d] GA2 rc2 exp4200']);
  const answered = r.events.flatMap((e) => (e.type === 'respond' ? [...e.requestIds] : []));
  assert.deepEqual(answered, ['q1', 'q1b', 'q2', 'q2b', 'q2c', 'q2d']);
});

test('no coalescing across resolvers or query types, but the same host shares its RC', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  // Another resolver asking for alice: a request of its own, served by alice's RC (re-armed,
  // but the wait for a packet still ends rcTimeoutMs after it began: issue 8).
  assert.deepEqual(r.ask(1, 'q2', ALICE, RES2), ['1 rc-renewed rc1 exp3000', '1 respond READY [q2] GA2 rc1 exp3000']);
  assert.deepEqual(r.ask(2, 'q3', ALICE, RES1, BIND_PATIENCE, 28), ['2 rc-renewed rc1 exp3000', '2 respond READY [q3] GA2 rc1 exp3000']);
  // A queued request for another host goes first: alice may not overtake bob by sharing.
  assert.deepEqual(r.ask(3, 'q4', BOB, RES3), ['3 queued q4 pos1 wait597']);
  assert.deepEqual(r.ask(4, 'q5', ALICE, RES4), ['4 queued q5 pos2 wait1196']);
  assert.equal(r.pkt(100, EN1, 40001), 'alice');
  assert.deepEqual(r.poll(600), [
    '600 rc-removed rc1 hold-done',
    '600 rc-created rc2 GA2 any -> bob exp3600',
    '600 respond READY [q4] GA2 rc2 exp3600',
  ]);
});

test('ids are remembered for idMemoryMs (default 60 s), then forgotten', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  r.pkt(100, EN1, 40001);
  r.poll(600);
  assert.deepEqual(r.ask(59_999, 'q1', ALICE, RES1), ['59999 ignored q1 duplicate-id']);
  assert.deepEqual(r.ask(60_000, 'q1', ALICE, RES1), [
    '60000 rc-created rc2 GA2 any -> alice exp63000',
    '60000 respond READY [q1] GA2 rc2 exp63000',
  ]);
});

test('a pool of two global addresses serves two requests at once; first free address first', () => {
  const r = new Run({ globalAddresses: [GA2, GA3] });
  assert.deepEqual(r.ask(0, 'q1', ALICE, RES1), ['0 rc-created rc1 GA2 any -> alice exp3000', '0 respond READY [q1] GA2 rc1 exp3000']);
  assert.deepEqual(r.ask(2, 'q2', BOB, RES2), ['2 rc-created rc2 GA3 any -> bob exp3002', '2 respond READY [q2] GA3 rc2 exp3002']);
  // Both busy: W = min(max(0+600, 5+500), max(2+600, 5+500)) - 5.
  assert.deepEqual(r.ask(5, 'q3', CAROL, RES3), ['5 queued q3 pos1 wait595']);
  assert.equal(r.pkt(100, EN2, 50001, GA3), 'bob');
  assert.equal(r.pkt(150, EN1, 40001, GA2), 'alice');
  assert.deepEqual(r.s.activeRcs().map((rc) => [rc.globalAddress, rc.privateAddress]), [[GA2, PA1], [GA3, PA2]]);
  assert.deepEqual(r.poll(600), [
    '600 rc-removed rc2 hold-done',
    '600 rc-created rc3 GA3 any -> carol exp3600',
    '600 respond READY [q3] GA3 rc3 exp3600',
  ]);
  assert.deepEqual(r.poll(650), ['650 rc-removed rc1 hold-done']);
  assert.equal(r.pkt(700, EN1, 40002, GA3), 'carol');
  assert.deepEqual(r.ask(700, 'q4', ALICE, RES4), ['700 rc-created rc4 GA2 any -> alice exp3700', '700 respond READY [q4] GA2 rc4 exp3700']);
  assert.equal(r.pkt(710, EN1, 40003, '203.0.113.99'), 'no-rc', 'not one of our addresses');
});

test('a pool drains its queue through every address: the wait estimate counts them all', () => {
  const r = new Run({ globalAddresses: [GA2, GA3] });
  r.phl.setConfigured('dave.home.example.', '192.168.50.13');
  r.ask(0, 'q1', ALICE, RES1);
  r.ask(2, 'q2', BOB, RES2);
  assert.deepEqual(r.ask(5, 'q3', CAROL, RES3), ['5 queued q3 pos1 wait595']);
  // q3 takes GA2 when it frees (600); dave gets GA3 (602), not GA2 after q3 (1200).
  assert.deepEqual(r.ask(6, 'q4', 'dave.home.example.', RES4), ['6 queued q4 pos2 wait596']);
  // Admission follows: erin, behind both, is admitted with a patience of 1500 (wait 1193 fits
  // 1500 - 200); counting one address (593 + 2 x 600 = 1793) would refuse it TOO_LATE.
  r.phl.setConfigured('erin.home.example.', '192.168.50.14');
  assert.deepEqual(r.ask(7, 'q5', 'erin.home.example.', '192.0.2.57', 1500), ['7 queued q5 pos3 wait1193']);
  r.pkt(100, EN2, 50001, GA3);
  r.pkt(150, EN1, 40001, GA2);
  const served = r.poll(650).filter((l) => l.includes('READY'));
  assert.deepEqual(served, ['600 respond READY [q3] GA3 rc3 exp3600', '650 respond READY [q4] GA2 rc4 exp3650']);
});

test('a first packet the kernel already sent to another host (a race) is refused and leaves the new RC alone', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1);
  assert.deepEqual(r.ask(1, 'q2', BOB, RES2), ['1 queued q2 pos1 wait599']);
  r.poll(3000); // alice's RC expired unused; bob's is made
  // EN1's packet left when the kernel still had alice: it went there, not to bob.
  const late = r.s.packet(3001, { src: EN1, srcPort: 40001, dst: GA2, dstPort: 80, proto: 'tcp', deliveredTo: PA1 });
  assert.equal(late.verdict, 'no-rc');
  assert.deepEqual(r.s.activeRcs().map((rc) => [label(rc.privateAddress), rc.firstPacketAt]), [['bob', null]], "bob's hold has not started");
  assert.equal(r.pkt(3002, EN2, 50001), 'bob', "bob's EN finds its RC");
});

test("the starter's sticky entry moves later only by a second or more (not one kernel change per connection)", () => {
  const r = new Run({ holdMs: 3000, rcTimeoutMs: 5000 });
  r.take(r.s.request(0, { id: 'q1', fqdn: ALICE, qtype: 1, resolver: RES1, deadlineMs: BIND_PATIENCE, leaseMs: 60_000 }));
  const stickies = () => r.events.filter((e) => e.type === 'sticky-created').length;
  assert.equal(r.pkt(10, EN1, 40001), 'alice');
  assert.equal(stickies(), 1, "the hold's first packet: a sticky entry");
  assert.equal(r.pkt(300, EN1, 40002), 'alice');
  assert.equal(stickies(), 1, '290 ms later: not moved');
  assert.equal(r.pkt(1200, EN1, 40003), 'alice');
  assert.equal(stickies(), 2, '1190 ms later: moved');
});

test('UNKNOWN_HOST at once; names match in any case; a host removed while waiting', () => {
  const r = new Run();
  assert.deepEqual(r.ask(0, 'q0', 'mallory.home.example.'), ['0 respond UNKNOWN_HOST [q0] unknown-host']);
  assert.deepEqual(r.ask(0, 'q00', 'bad..name'), ['0 respond UNKNOWN_HOST [q00] unknown-host']);
  assert.deepEqual(r.ask(1, 'q1', 'ALICE.Home.Example'), ['1 rc-created rc1 GA2 any -> alice exp3001', '1 respond READY [q1] GA2 rc1 exp3001']);
  r.ask(2, 'q2', BOB, RES2);
  r.ask(3, 'q3', CAROL, RES3);
  r.phl.remove(BOB);
  r.pkt(10, EN1, 40001);
  assert.deepEqual(r.poll(510), [
    '510 rc-removed rc1 hold-done',
    '510 respond UNKNOWN_HOST [q2] host-removed',
    '510 rc-created rc2 GA2 any -> carol exp3510',
    '510 respond READY [q3] GA2 rc2 exp3510',
  ]);
});

test('the clock never runs backwards: an older nowMs is treated as the latest one', () => {
  const r = new Run();
  r.poll(1000);
  assert.deepEqual(r.ask(500, 'q1', ALICE), ['1000 rc-created rc1 GA2 any -> alice exp4000', '1000 respond READY [q1] GA2 rc1 exp4000']);
  assert.throws(() => r.s.poll(Number.NaN), TypeError);
});

test('holdMs 0: the RC goes at the first packet, as in NTSS v1', () => {
  const r = new Run({ holdMs: 0 });
  r.ask(0, 'q1', ALICE, RES1);
  r.ask(1, 'q2', BOB, RES2);
  assert.equal(r.pkt(90, EN1, 40001), 'alice');
  assert.equal(r.s.nextWakeupMs(), 90);
  assert.deepEqual(r.poll(90), [
    '90 rc-removed rc1 hold-done',
    '90 rc-created rc2 GA2 any -> bob exp3090',
    '90 respond READY [q2] GA2 rc2 exp3090',
  ]);
});

test('config errors are coded', () => {
  const phl = new PrivateHostList();
  const bad = (over: Partial<SchedulerConfig>) =>
    assert.throws(() => new RcScheduler({ ...BASE, ...over }, phl), (e: unknown) => e instanceof NtssError && e.code === 'ROUTER_CONFIG');
  bad({ globalAddresses: [] });
  bad({ globalAddresses: [GA2, GA2] });
  bad({ globalAddresses: ['gw.example'] });
  bad({ holdMs: -1 });
  bad({ rcTimeoutMs: 0 });
  bad({ queueLimit: 1.5 });
  bad({ serviceEwmaAlpha: 0 });
});

test('RCs in events are snapshots: a later change does not rewrite history', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE);
  r.pkt(100, EN1, 40001);
  const created = r.events.find((e) => e.type === 'rc-created');
  const held = r.events.find((e) => e.type === 'rc-hold-started');
  assert.ok(created?.type === 'rc-created' && held?.type === 'rc-hold-started');
  assert.equal(created.rc.firstPacketAt, null);
  assert.equal(held.rc.firstPacketAt, 100);
  assert.ok(Object.isFrozen(created.rc));
});

test('v1 beside v2 for the same host: a source RC in the other map is made at once; another host waits for both', () => {
  const r = new Run();
  r.ask(0, 'q1', ALICE, RES1); // v2: the NTSv2 server's any RC
  const v1 = r.s.request(1, { id: 'q2', fqdn: ALICE, qtype: 1, resolver: RES2, deadlineMs: 1 + BIND_PATIENCE, mode: 'source', enAddress: EN1 });
  assert.deepEqual(r.take(v1), ['1 rc-created rc2 GA2 source -> alice exp3001', '1 respond READY [q2] GA2 rc2 exp3001']);
  assert.deepEqual(r.s.activeRcs().map((rc) => rc.keys[0]!.source), ['0.0.0.0/0', `${EN1}/32`]);
  assert.deepEqual(r.ask(2, 'q3', BOB, RES3), ['2 queued q3 pos1 wait599']); // behind the later one (v1's, at 1)
  assert.equal(r.pkt(10, EN1, 40001), 'alice');
  assert.equal(r.pkt(11, EN2, 40002), 'alice');
});

test('fair between resolvers: a flooding resolver\'s queued requests do not go before another resolver\'s one', () => {
  const r = new Run({ rcTimeoutMs: 1000 });
  // The attacker (RES1) asks for all three names and never connects; its requests queue up.
  r.ask(0, 'a1', ALICE, RES1);
  assert.deepEqual(r.ask(1, 'a2', BOB, RES1), ['1 queued a2 pos1 wait599']);
  assert.deepEqual(r.ask(2, 'a3', CAROL, RES1), ['2 queued a3 pos2 wait1198']);
  // A good resolver's request: the attacker was served already (a1), so its turn is next.
  assert.deepEqual(r.ask(3, 'g1', CAROL, RES2), ['3 queued g1 pos3 wait597']);
  const served = () => r.events.flatMap((e) => (e.type === 'respond' && e.status === 'READY' ? [...e.requestIds] : []));
  r.poll(1000); // a1's RC expires unused: FIFO would serve the attacker's a2 now
  assert.deepEqual(served(), ['a1', 'g1']);
  r.poll(3000);
  assert.deepEqual(served(), ['a1', 'g1', 'a2', 'a3'], 'the attacker\'s own requests stay in their order');
  // Asking for the host whose RC is active, a good resolver shares it at once: the attacker's
  // queued requests are not ahead of it in the fair order.
  assert.deepEqual(r.ask(3001, 'g2', CAROL, RES2), ['3001 rc-renewed rc4 exp4000', '3001 respond READY [g2] GA2 rc4 exp4000']);
  // And one resolver may hold only its share of the queue (a quarter of queueLimit).
  const s = new Run({ queueLimit: 4 });
  s.ask(0, 'x0', ALICE, RES1);
  assert.deepEqual(s.ask(1, 'x1', BOB, RES1), ['1 queued x1 pos1 wait599']);
  assert.deepEqual(s.ask(2, 'x2', CAROL, RES1), ['2 respond QUEUE_FULL [x2] resolver-queue-full']);
  assert.deepEqual(s.ask(3, 'y1', CAROL, RES2), ['3 queued y1 pos2 wait597']); // ahead of x1 in the fair order
});

test('sharing re-arms an RC but never shortens it; a request without a source to key on is DENIED', () => {
  const r = new Run({ holdMs: 5000, rcTimeoutMs: 1000 });
  r.ask(0, 'q1', ALICE, RES1);
  assert.equal(r.pkt(100, EN1, 40001), 'alice'); // hold until 5100
  assert.deepEqual(r.ask(200, 'q2', ALICE, RES2), ['200 rc-renewed rc1 exp5100', '200 respond READY [q2] GA2 rc1 exp5100']);
  assert.equal(r.pkt(4000, EN2, 40002), 'alice', 'an EN of the first hold still gets in');
  const denied = r.s.request(4001, { id: 'q3', fqdn: ALICE, qtype: 1, resolver: RES3, deadlineMs: 9000, mode: 'source' });
  assert.deepEqual(r.take(denied), ['4001 respond DENIED [q3] bad-source']);
});

test('after a restart, no address for anyone until the previous run\'s leases have all ended', () => {
  const r = new Run();
  r.s.blockUntil(2000);
  assert.deepEqual(r.ask(0, 'q1', ALICE, RES1, UNBOUND_PATIENCE), ['0 respond TOO_LATE [q1] wait-exceeds-deadline wait2000']);
  assert.deepEqual(r.ask(100, 'q2', BOB, RES2, BIND_PATIENCE), ['100 queued q2 pos1 wait1900']);
  assert.equal(r.pkt(200, EN1, 40001), 'no-rc');
  assert.deepEqual(r.poll(2000), ['2000 rc-created rc1 GA2 any -> bob exp5000', '2000 respond READY [q2] GA2 rc1 exp5000']);
  assert.deepEqual(r.ask(2100, 'q3', BOB, RES3), ['2100 rc-renewed rc1 exp5000', '2100 respond READY [q3] GA2 rc1 exp5000']);
});

test('reconfigure: an RC and the queue made before keep going; a new holdMs applies from the next packet on; addresses are fixed', () => {
  const r = new Run();
  r.ask(0, 'a', ALICE);
  r.ask(10, 'b', BOB); // queued behind alice's RC on the one address
  assert.equal(r.s.queueLength, 1);
  r.s.reconfigure({ ...BASE, holdMs: 50 });
  assert.equal(r.s.config.holdMs, 50);
  assert.equal(r.s.queueLength, 1, 'the queue survives');
  assert.equal(r.pkt(100, EN1, 4000), 'alice', 'the RC made before the reload still maps');
  // The hold after this packet uses the new 50 ms: bob's RC comes at 150, not at 600.
  const out = r.poll(150);
  assert.ok(out.some((l) => l.startsWith('150 respond READY [b]')), out.join('\n'));
  assert.throws(() => r.s.reconfigure({ ...BASE, globalAddresses: [GA3] }), (e: unknown) => e instanceof NtssError && e.code === 'SCHEDULER_RECONFIGURE');
  assert.equal(r.s.config.holdMs, 50, 'a refused reconfigure changes nothing');
});
