// The load generator through resolvers other than Unbound (issue 9 section 2, bench/capacity
// --resolver; docs/eval/capacity-resolvers.md), so CI keeps them working: a small burst at
// --delay 20 must connect every EN to the host it asked for (>= 99%), never another.
// - PowerDNS Recursor, best (8 addresses, ECS-keyed RCs, hold 0): half the ENs in 198.51.100.0/24,
//   half in the load run's extra prefix 100.64.0.0/16 (its ACL; ecs-add-for, which by default
//   leaves CGNAT clients out and sends 127.0.0.1/32 for them). Every NTS request must be keyed on
//   the asking EN's own /32.
// - BIND 9.18, pool (its best: no ECS; 8 addresses, `any` RCs, the lab's hold), names repeated
//   (two ENs behind one answer: the hold lets both through).
// Needs root and the lab's tools.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addSources, runPlan, summarize, type LoadSummary, type PlannedLookup } from '../src/lab/capacity.js';
import { sourceAddress } from '../src/lab/capacity-hosts.js';
import { Lab } from '../src/lab/lab.js';
import type { ResolverKind } from '../src/lab/resolvers/index.js';
import { labReady, namespacesOf, processesMentioning } from './lab-cli.js';

const HOSTS = 8;
const IN_LAB = 151; // sources 0..150 are 198.51.100.100..250, then 100.64.0.1.. (capacity-hosts.ts)

async function burstThrough(prefix: string, resolver: ResolverKind, o: { ecs: boolean; holdMs?: number }, plan: PlannedLookup[]): Promise<{ s: LoadSummary; requests: Array<Record<string, unknown>> }> {
  const lab = await Lab.up({
    prefix, resolver, delayMs: 20, lossPct: 0, dataplane: 'auto', globalAddresses: 8, ecs: o.ecs, enCacheMs: 0,
    capacity: { hosts: HOSTS, holdMs: o.holdMs, oneResolver: true },
  });
  let remove = () => undefined as void;
  try {
    remove = addSources(lab, IN_LAB + 40);
    const outcomes = await runPlan(lab, plan);
    for (const x of outcomes.filter((y) => y.outcome === 'wrong-host')) console.log(`WRONG HOST: ${x.src} asked ${x.name}, reached ${x.reached}`);
    const s = summarize(outcomes);
    console.log(`${resolver}: ${s.ok}/${s.lookups} ok, wrong ${s.wrongHost}, answer p50/p99 ${s.answerMs?.p50}/${s.answerMs?.p99} ms ${JSON.stringify(s.errors)}`);
    // The server's NTS requests, read before down() removes the lab's directory.
    return { s, requests: lab.events('server').filter((e) => e.event === 'nts-request') };
  } finally {
    remove();
    assert.deepEqual(lab.down(), []);
    assert.deepEqual(namespacesOf(prefix), [], 'no namespace of the lab may remain');
    assert.deepEqual(processesMentioning(`/run/ntss-lab/${prefix}/`), [], 'no lab process may remain');
  }
}

test('capacity through PowerDNS Recursor, best: 32 ENs (half in 100.64.0.0/16), each RC keyed on its EN', { timeout: 60_000 }, async (t) => {
  if (!labReady(t, 'powerdns')) return;
  // Distinct hosts per source half: h1..h8 from each prefix, twice (a /32 RC per EN).
  const plan = Array.from({ length: 32 }, (_, i) => ({ at: 0, src: sourceAddress(i % 2 === 0 ? i / 2 : IN_LAB + (i - 1) / 2), host: (i % HOSTS) + 1 }));
  const { s, requests } = await burstThrough(`lr${process.pid % 100000}p`, 'powerdns', { ecs: true, holdMs: 0 }, plan);
  assert.equal(s.wrongHost, 0, 'no connection may reach another host');
  assert.ok(s.successRatio >= 0.99, `the burst must be served: ${s.ok}/${s.lookups} (${JSON.stringify(s.errors)})`);
  // The server keyed each request on the EN's own address, the 100.64 ones too.
  const subnets = new Set(requests.map((e) => `${e.mode} ${e.subnet}`));
  for (const l of plan) assert.ok(subnets.has(`prefix ${l.src}/32`), `an RC keyed on ${l.src}/32 (seen: ${[...subnets].slice(0, 6).join(', ')} ...)`);
});

test('capacity through BIND, pool (its best without ECS): 24 ENs over 8 hosts with the lab hold', { timeout: 60_000 }, async (t) => {
  if (!labReady(t, 'bind')) return;
  const plan = Array.from({ length: 24 }, (_, i) => ({ at: 0, src: sourceAddress(i), host: (i % HOSTS) + 1 }));
  const { s } = await burstThrough(`lr${process.pid % 100000}b`, 'bind', { ecs: false }, plan);
  assert.equal(s.wrongHost, 0, 'no connection may reach another host');
  assert.ok(s.successRatio >= 0.99, `the burst must be served: ${s.ok}/${s.lookups} (${JSON.stringify(s.errors)})`);
});
