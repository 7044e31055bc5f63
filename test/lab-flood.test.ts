// Issue 8's flood, lean (about 1.5 min): `ntss lab run flood` behind Unbound with one attacker at
// 300 q/s over UDP and over TCP, ten attackers at 300 q/s, and one forging the resolver's
// address, each in a fresh lab, while en1/en2 connect by name. Asserted: never the wrong host,
// the attack really ran, both daemons' memory bounded, nothing of the lab left, and against one
// attacker at most one failed attempt of the ~15 (issue 8's 99% cannot be told from 93% in 15
// tries; one miss is the noise the bench saw once in 7 runs of a cell). The full matrix:
// bench/flood/flood.mjs, docs/benchmarks.md.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needTools } from './helpers/tools.js';
import { lab, labReady, namespacesOf, prefixes, processesMentioning } from './lab-cli.js';

const nextPrefix = prefixes(`lf${process.pid}`);
const SECONDS = 10;
/** RSS either daemon may reach (measured ~80-100 MiB at 300 q/s on Node 20): far above, a leak or an unbounded queue. */
const MAX_RSS_MIB = 200;
/** Target against one attacker (issue 8); against ten, only printed. */
const TARGET_ONE = 0.99;

const CELLS = [
  { name: 'one attacker, 300 q/s udp', env: { NTSS_LAB_FLOOD_ATTACKERS: '1', NTSS_LAB_FLOOD_TRANSPORT: 'udp' }, target: TARGET_ONE },
  { name: 'one attacker, 300 q/s tcp', env: { NTSS_LAB_FLOOD_ATTACKERS: '1', NTSS_LAB_FLOOD_TRANSPORT: 'tcp' }, target: TARGET_ONE },
  { name: 'ten attackers, 300 q/s udp', env: { NTSS_LAB_FLOOD_ATTACKERS: '10', NTSS_LAB_FLOOD_TRANSPORT: 'udp' } },
  { name: 'one attacker forging the resolver, 300 q/s udp', env: { NTSS_LAB_FLOOD_ATTACKERS: '1', NTSS_LAB_FLOOD_FORGED: '1' }, target: TARGET_ONE },
];

for (const c of CELLS) {
  test(`lab run flood: ${c.name}`, { timeout: 60_000 }, async (t) => {
    if (!labReady(t, 'unbound') || !needTools(t, 'dnsperf')) return;
    const prefix = nextPrefix();
    const env = { NTSS_LAB_FLOOD_RATE: '300', NTSS_LAB_FLOOD_SECONDS: String(SECONDS), NTSS_LAB_FLOOD_WARM_S: '3', ...c.env };
    const r = await lab(['run', 'flood', '--prefix', prefix], 55_000, undefined, env);
    for (const l of r.out.trimEnd().split('\n')) console.log(`# ${l}`);
    assert.deepEqual(namespacesOf(prefix), [], 'no namespace of the lab may remain');
    assert.deepEqual(processesMentioning(`/run/ntss-lab/${prefix}/`), [], 'no lab process may remain');
    const m = /good (\d+)\/(\d+) \(([\d.]+)%\), wrong (\d+), attackers' RCs (\d+)\/(\d+), server RSS max (\d+) MiB, router RSS max (\d+) MiB/.exec(r.out);
    assert.ok(m, `no flood line in the output:\n${r.out}`);
    const [right, attempts, , wrong, , , serverMiB, routerMiB] = m.slice(1).map(Number);
    const sent = Number(/attackers sent (\d+) queries/.exec(r.out)?.[1]);
    // The attack ran at about the asked rate (a flood that did not happen proves nothing).
    assert.ok(sent >= 300 * SECONDS * 0.8, `the attackers sent only ${sent} queries`);
    assert.ok(attempts >= 4, `only ${attempts} attempts of the good ENs during the attack`);
    assert.equal(wrong, 0, 'never the wrong host');
    assert.ok(serverMiB > 0 && serverMiB < MAX_RSS_MIB, `server RSS reached ${serverMiB} MiB`);
    assert.ok(routerMiB > 0 && routerMiB < MAX_RSS_MIB, `router RSS reached ${routerMiB} MiB`);
    assert.equal(r.code, 0, r.out);
    const ratio = right / attempts;
    console.log(`# ${c.name}: good ENs ${right}/${attempts} = ${(ratio * 100).toFixed(1)}%${c.target ? ` (target ${c.target * 100}%)` : ''}`);
    if (c.target === undefined) return;
    assert.ok(right >= attempts - 1, `${c.name}: ${right}/${attempts} good connections (target ${c.target * 100}%: at most one miss here)`);
  });
}
