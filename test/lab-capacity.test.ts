// Capacity in the lab (issue 9 section 2, bench/capacity): a burst of 40 ENs (distinct source
// addresses) over 8 inside hosts through the lab's real Unbound at --delay 20. Under `best`
// (8 global addresses, ECS-keyed RCs) every lookup connects to the host it asked for; under
// plain v2 with the lab's hold (one address, `any` RCs, 500 ms hold) the same burst is not
// served (8 hosts x ~530 ms each exceed Unbound's 1.9 s): the policies reach the router, and
// the test fails if they did not. Never a wrong host in either. Needs root and the lab's tools.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { addSources, burstPlan, runPlan, summarize, type LoadSummary } from '../src/lab/capacity.js';
import { Lab } from '../src/lab/lab.js';
import { labReady, namespacesOf, processesMentioning } from './lab-cli.js';

const BURST = 40;
const HOSTS = 8;

async function burstUnder(prefix: string, o: { globalAddresses: number; ecs: boolean; holdMs?: number }): Promise<LoadSummary> {
  const lab = await Lab.up({
    prefix, delayMs: 20, lossPct: 0, dataplane: 'auto', globalAddresses: o.globalAddresses, ecs: o.ecs, enCacheMs: 0,
    capacity: { hosts: HOSTS, holdMs: o.holdMs, oneResolver: true },
  });
  let remove = () => undefined as void;
  try {
    remove = addSources(lab, BURST);
    const en1 = spawnSync('ip', ['-n', lab.ns('en1'), '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;
    assert.match(en1, /198\.51\.100\.100\/32/, 'the sources are on the ENs');
    const outcomes = await runPlan(lab, burstPlan(BURST, HOSTS));
    for (const o of outcomes.filter((x) => x.outcome === 'wrong-host')) console.log(`WRONG HOST: ${o.src} asked ${o.name}, reached ${o.reached}`);
    const s = summarize(outcomes);
    console.log(`${o.ecs ? 'ECS' : 'any'} RCs, ${o.globalAddresses} address(es), hold ${o.holdMs ?? 'lab'}: ${s.ok}/${s.lookups} ok, wrong ${s.wrongHost}, answer p50/p99 ${s.answerMs?.p50}/${s.answerMs?.p99} ms ${JSON.stringify(s.errors)}`);
    return s;
  } finally {
    remove();
    const left = spawnSync('ip', ['-n', lab.ns('en1'), '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(left, /198\.51\.100\.100\//, 'the sources are removed after the run');
    assert.deepEqual(lab.down(), []);
    assert.deepEqual(namespacesOf(prefix), [], 'no namespace of the lab may remain');
    assert.deepEqual(processesMentioning(`/run/ntss-lab/${prefix}/`), [], 'no lab process may remain');
  }
}

test(`capacity: a burst of ${BURST} over ${HOSTS} hosts, best vs plain v2 (--delay 20, Unbound)`, { timeout: 90_000 }, async (t) => {
  if (!labReady(t, 'unbound')) return;
  const best = await burstUnder(`lc${process.pid % 100000}b`, { globalAddresses: 8, ecs: true, holdMs: 0 });
  assert.equal(best.wrongHost, 0, 'best: no connection may reach another host');
  assert.ok(best.successRatio >= 0.99, `best must serve the burst: ${best.ok}/${best.lookups} (${JSON.stringify(best.errors)})`);
  const plain = await burstUnder(`lc${process.pid % 100000}p`, { globalAddresses: 1, ecs: false });
  assert.equal(plain.wrongHost, 0, 'plain with a hold: no connection may reach another host');
  assert.ok(plain.successRatio <= 0.8, `plain v2 with the lab's hold cannot serve ${HOSTS} hosts in Unbound's 1.9 s: ${plain.ok}/${plain.lookups}`);
  assert.ok(plain.ok > 0, 'plain v2 serves some of it (else the lab, not the policy, failed)');
});
