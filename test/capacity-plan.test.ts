// The load generator's plans and verdicts (src/lab/capacity.ts, capacity-hosts.ts), without a lab.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { burstPlan, judge, poissonPlan, searchCapacity, summarize, type LoadSummary } from '../src/lab/capacity.js';
import { MAX_SOURCES, capacityHostAddress, capacityHostName, checkCapacityTuning, needsExtraPrefix, sourceAddress, sourceAddresses } from '../src/lab/capacity-hosts.js';
import { routerConfigObject, serverYaml, newSecrets } from '../src/lab/configs.js';
import { routerConfigSchema } from '../src/config/router-config.js';

test('sources: 151 on the ENs\' /24, then the extra prefix; all distinct; bounded', () => {
  assert.equal(sourceAddress(0), '198.51.100.100');
  assert.equal(sourceAddress(150), '198.51.100.250');
  assert.equal(sourceAddress(151), '100.64.0.1');
  assert.equal(sourceAddress(151 + 254), '100.64.1.1');
  const all = sourceAddresses(MAX_SOURCES);
  assert.equal(new Set(all).size, MAX_SOURCES);
  assert.ok(all.every((a) => !/\.(0|255)$/.test(a)));
  assert.equal(needsExtraPrefix(151), false);
  assert.equal(needsExtraPrefix(152), true);
  assert.throws(() => sourceAddresses(0), RangeError);
  assert.throws(() => sourceAddresses(MAX_SOURCES + 1), RangeError);
});

test('hosts: names and addresses; bad tuning is refused with a reason', () => {
  assert.equal(capacityHostName(1), 'h1.home.example.');
  assert.equal(capacityHostAddress(1), '192.168.50.100');
  assert.equal(capacityHostAddress(150), '192.168.50.249');
  assert.throws(() => checkCapacityTuning({ hosts: 0 }), /1\.\.150/);
  assert.throws(() => checkCapacityTuning({ hosts: 8, holdMs: -1 }), /holdMs/);
});

test('configs: the hosts are NTS-managed at the server and in the router\'s PHL; the knobs reach the router', () => {
  const s = newSecrets();
  const y = serverYaml(s, { globalAddresses: ['203.0.113.2'], resolver: 'unbound', ecs: false, capacity: { hosts: 3, oneResolver: true } });
  assert.match(y, /h3\.home\.example\. 0 IN A 203\.0\.113\.2/);
  assert.match(y, /maxPendingPerResolver: 4096/);
  const r = routerConfigObject(s, { dataplane: 'nftables', learning: true, delayMs: 20, capacity: { hosts: 3, holdMs: 0, oneResolver: true } });
  const parsed = routerConfigSchema.parse(r);
  assert.equal(parsed.scheduler.holdMs, 0);
  assert.equal(parsed.scheduler.resolverQueueLimit, 250);
  assert.deepEqual(parsed.phl.map((e) => e.address), ['192.168.50.100', '192.168.50.101', '192.168.50.102']);
  const plain = routerConfigSchema.parse(routerConfigObject(s, { dataplane: 'nftables', learning: true, delayMs: 20 }));
  assert.equal(plain.phl.length, 0);
  assert.equal(plain.scheduler.holdMs, 500);
});

test('plans: a burst from distinct sources over the hosts; Poisson repeats for a seed and has the rate', () => {
  const b = burstPlan(20, 8);
  assert.equal(new Set(b.map((p) => p.src)).size, 20);
  assert.deepEqual(b.slice(0, 9).map((p) => p.host), [1, 2, 3, 4, 5, 6, 7, 8, 1]);
  assert.ok(b.every((p) => p.at === 0));
  const p1 = poissonPlan(50, 20, 300, 150, 7);
  assert.deepEqual(poissonPlan(50, 20, 300, 150, 7), p1);
  assert.notDeepEqual(poissonPlan(50, 20, 300, 150, 8), p1);
  assert.ok(Math.abs(p1.length - 1000) < 100, `${p1.length} arrivals for 50/s x 20 s`);
  assert.ok(p1.every((p, i) => i === 0 || p.at >= p1[i - 1].at));
  assert.ok(p1.at(-1)!.at < 20_000);
});

test('verdicts: right host, wrong host, failed; waits over the successes', () => {
  const base = { id: 0, src: '198.51.100.100', name: 'h1.home.example.', tQuery: 1000, tries: 1 };
  const ok = judge({ ...base, tAnswer: 1100, tConnected: 1120, answer: '203.0.113.2', reached: '192.168.50.100' }, '192.168.50.100');
  const wrong = judge({ ...base, id: 1, tAnswer: 1100, tConnected: 1120, answer: '203.0.113.2', reached: '192.168.50.101' }, '192.168.50.100');
  const failed = judge({ ...base, id: 2, rcode: 2, error: 'dns-rcode-2' }, '192.168.50.100');
  assert.deepEqual([ok.outcome, wrong.outcome, failed.outcome], ['ok', 'wrong-host', 'failed']);
  const s = summarize([ok, wrong, failed]);
  assert.equal(s.ok, 1);
  assert.equal(s.wrongHost, 1);
  assert.equal(s.successRatio, 1 / 3);
  assert.deepEqual(s.answerMs, { p50: 100, p99: 100, max: 100 });
  assert.deepEqual(s.errors, { 'wrong-host': 1, 'dns-rcode-2': 1 });
});

test('search: doubling, then bisection to the largest burst served', async () => {
  const served = (limit: number) => async (n: number): Promise<LoadSummary> => ({
    lookups: n, ok: Math.min(n, limit), wrongHost: 0, failed: Math.max(0, n - limit), successRatio: Math.min(n, limit) / n, answerMs: null, connectMs: null, errors: {},
  });
  const r = await searchCapacity({ start: 10, max: 1000, resolution: 0.05, target: 0.99, settleMs: 0 }, served(137));
  assert.ok(r.capacity <= 137 && r.capacity >= 137 * 0.95, `found ${r.capacity}`);
  assert.deepEqual(r.steps.slice(0, 5).map((s) => s.burst), [10, 20, 40, 80, 160]);
  const all = await searchCapacity({ start: 10, max: 300, resolution: 0.05, target: 0.99, settleMs: 0 }, served(10_000));
  assert.equal(all.capacity, 300, 'every burst up to max served: capacity is max (a lower bound)');
  const none = await searchCapacity({ start: 10, max: 300, resolution: 0.05, target: 0.99, settleMs: 0 }, served(0));
  assert.equal(none.capacity, 0);
});
