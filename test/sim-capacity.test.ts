// The simulator's claims about the real scheduler: plain NTSSv2 reaches the paper's bound
// (timeout / t), the policies beat it by far, never at the price of a wrong host, and a seed
// repeats a run exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capacity } from '../src/sim/capacity.js';
import { defaultParams, withoutLimits, type SimParams } from '../src/sim/model.js';
import { simulate } from '../src/sim/simulate.js';
import { paperBound } from '../src/sim/analytic.js';
import { predict } from '../src/sim/index.js';

/** The paper's world: stubs (5 s) asking the NTSv2 server, distinct hosts, no admission limits. */
const paperWorld = (rttMs: number, policy: SimParams['policy'] = 'plain'): SimParams =>
  withoutLimits({ ...defaultParams({ policy, rttMs, resolver: 'glibc' }), hosts: 0 });

test('plain NTSSv2 holds the paper\'s bound: capacity within 0.95..1.05 x timeout / t (20 and 100 ms)', () => {
  for (const rttMs of [20, 100]) {
    const c = capacity(paperWorld(rttMs));
    const ratio = c.capacity / paperBound(5000, rttMs);
    console.log(`plain, glibc stubs, t = ${rttMs} ms: capacity ${c.capacity}, bound ${paperBound(5000, rttMs)}, ratio ${ratio.toFixed(3)}`);
    assert.ok(ratio >= 0.95 && ratio <= 1.05, `t ${rttMs}: ${c.capacity} is ${ratio.toFixed(3)} x the bound`);
    assert.equal(c.wrongHost, 0);
  }
});

test('a naive scheduler would not do: plain (one serialised lock) is far below best, and waits far longer', () => {
  // If the scheduler serialised everything (as plain does), best could not beat the bound.
  const plain = capacity({ ...paperWorld(100), resolver: 'unbound' }, { maxN: 400 });
  const best = capacity({ ...paperWorld(100, 'best'), resolver: 'unbound' }, { maxN: 400 });
  console.log(`unbound, 100 ms, no limits: plain ${plain.capacity}, best ${best.capped ? '>=' : ''}${best.capacity}`);
  assert.ok(plain.capacity <= 1.05 * paperBound(1900, 100), `plain ${plain.capacity} is bounded by Unbound's patience / t (19)`);
  assert.ok(best.capacity >= 10 * paperBound(1900, 100), `best ${best.capacity} reaches 10 x the bound`);
  assert.equal(best.wrongHost, 0);
  // Under the same Poisson load (20 lookups/s, t = 100 ms: rho 2 for one lock) plain drowns, best does not wait.
  const load = (policy: SimParams['policy']) => simulate({ ...withoutLimits(defaultParams({ policy, rttMs: 100, resolver: 'bind' })), hosts: 200, arrivals: { kind: 'poisson', ratePerS: 20, durationMs: 20_000 } });
  const [lp, lb] = [load('plain'), load('best')];
  assert.ok(lp.success < 0.7, `plain at rho 2 fails lookups (${lp.success})`);
  assert.ok(lb.success >= 0.99 && lb.waits.router.p99 < 1, `best serves them at once (success ${lb.success}, p99 wait ${lb.waits.router.p99} ms)`);
});

test('never the wrong host in best, with caching resolvers, shared hosts and prefetchers; plain (no leases) does misdeliver', () => {
  let bestWrong = 0;
  let plainWrong = 0;
  let bestRight = 0;
  for (const resolver of ['knot', 'powerdns', 'unbound'] as const) {
    for (let seed = 1; seed <= 4; seed++) {
      const world = (policy: SimParams['policy']): SimParams => ({
        ...defaultParams({ policy, rttMs: 30, resolver, seed }), hosts: 6, prefetchFraction: 0.2,
        connectDelay: { kind: 'uniform', lo: 0, hi: 400 }, rtt: { enRouter: { kind: 'lognormal', median: 30, sigma: 0.6 }, resolverServer: { kind: 'uniform', lo: 5, hi: 60 }, serverRouter: { kind: 'fixed', ms: 1 }, enResolver: { kind: 'uniform', lo: 0, hi: 10 } },
        resolvers: 2, arrivals: { kind: 'poisson', ratePerS: 8, durationMs: 30_000 },
      });
      const b = simulate(world('best'));
      const p = simulate(world('plain'));
      bestWrong += b.wrongHost;
      bestRight += b.right;
      plainWrong += p.wrongHost;
    }
  }
  console.log(`best: ${bestRight} right, ${bestWrong} wrong; plain: ${plainWrong} wrong`);
  assert.equal(bestWrong, 0, 'best never reaches a wrong host');
  assert.ok(bestRight > 1000, 'the worlds do connect');
  assert.ok(plainWrong > 0, 'the paper\'s plain RCs (hold 0, no leases) reach wrong hosts in the same worlds: the check can fail');
});

test('a seed repeats a run exactly; another seed gives another run', () => {
  const p: SimParams = { ...defaultParams({ policy: 'pool', rttMs: 20, resolver: 'knot', seed: 7 }), prefetchFraction: 0.1, rtt: { ...defaultParams().rtt, enRouter: { kind: 'lognormal', median: 20, sigma: 0.5 } }, arrivals: { kind: 'poisson', ratePerS: 30, durationMs: 10_000 } };
  const a = JSON.stringify(simulate(p));
  assert.equal(JSON.stringify(simulate(p)), a);
  assert.notEqual(JSON.stringify(simulate({ ...p, seed: 8 })), a);
});

test('predict(): the lab bench\'s settings (40 ENs over 8 hosts at 20 ms, as its CI test)', () => {
  const best = predict({ policy: 'best', rttMs: 20, burst: 40, hosts: 8 });
  const plain = predict({ policy: 'plain', rttMs: 20, burst: 40, hosts: 8 });
  console.log(`predict, lab settings, 40 ENs / 8 hosts / 20 ms: best ${best.success} (wrong ${best.wrongHost}), plain ${plain.success} (wrong ${plain.wrongHost})`);
  assert.equal(best.success, 1);
  assert.equal(best.wrongHost, 0);
  assert.ok(plain.success < 0.99, `plain cannot serve the same burst (${plain.success})`);
  assert.throws(() => predict({ policy: 'best', rttMs: 20 }), /give burst or ratePerS/);
});
