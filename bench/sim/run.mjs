// The simulator's evaluation (issue 9 §1, §3; docs/eval/sim.md): capacity per policy x resolver
// x RTT beside the paper's bound (in the paper's world and with the lab's settings), the M/D/1
// check, the slide's waits and the capacity-vs-RTT figure. Needs the built code (dist/).
// Usage: node bench/sim/run.mjs [--quick] [--out DIR]
//   --quick: Unbound (and the paper's glibc stubs for plain) at 20 and 100 ms; under 2 minutes.
//   --out DIR: DIR/sim.json, DIR/sim-waits.svg, DIR/sim-capacity.svg.
// Exits 1 if a claim the tests also make fails here (M/D/1 off by > 12 %, a wrong host in best).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const dist = new URL('../../dist/src/', import.meta.url);
const sim = await import(new URL('sim/index.js', dist).href);
const { markdownTable } = await import(new URL('cli/simulate-command.js', dist).href);
const { fixed } = await import(new URL('sim/random.js', dist).href);

let args;
try {
  ({ values: args } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' } } }));
} catch (e) {
  console.error(`usage: run.mjs [--quick] [--out DIR]: ${e.message}`);
  process.exit(2);
}
const quick = args.quick === true;
const started = Date.now();
const log = (s) => process.stderr.write(`${s}\n`);
const r3 = (x) => Math.round(x * 1000) / 1000;
const r1 = (x) => (Number.isNaN(x) ? '-' : Number.isFinite(x) ? Math.round(x * 10) / 10 : 'inf');
let failures = 0;

// 1. Capacity in the paper's world: no admission limits, a host per lookup, server next to router.
const POLICIES = ['plain', 'pool', 'services', 'ecs', 'v1', 'best'];
const RESOLVERS = quick ? ['unbound'] : ['unbound', 'bind', 'knot', 'powerdns'];
const RTTS = [20, 100];
const paper = (policy, resolver, rttMs) => sim.withoutLimits({ ...sim.defaultParams({ policy, rttMs, resolver }), hosts: 0 });
log('capacity, the paper\'s world ...');
const capPaper = [
  ...sim.capacityGrid(['plain'], ['glibc'], RTTS, { build: paper }),
  ...sim.capacityGrid(POLICIES, RESOLVERS, RTTS, { build: paper }),
];
// 2. The lab's settings (what bench/capacity measures): segments one RTT apart, verified
//    sources (one more resolver-server RTT), the product's limits, 64 hosts.
const lab = (policy, resolver, rttMs) => {
  const p = sim.defaultParams({ policy, rttMs, resolver });
  return { ...p, rtt: { ...p.rtt, serverRouter: fixed(rttMs) }, detour: true };
};
log('capacity, the lab\'s settings ...');
const capLab = sim.capacityGrid(['plain', 'pool', 'ecs', 'best'], ['unbound'], RTTS, { build: lab });
const capRow = (r) => ({
  policy: r.policy, resolver: r.resolver, rtt_ms: r.rttMs, capacity: r.capped ? `>=${r.capacity}` : r.capacity,
  paper_bound: r1(r.bound), ratio: r.capped ? `>=${r3(r.ratio)}` : r3(r.ratio), wrong_host: r.wrongHost,
});
for (const r of [...capPaper, ...capLab]) if (r.policy === 'best' && r.wrongHost > 0) { failures++; log(`FAIL: best reached a wrong host: ${JSON.stringify(capRow(r))}`); }

// 3. M/D/1: one address, a host per lookup, fixed 100 ms service; 20 virtual minutes per load.
log('M/D/1 ...');
const SERVICE = 100;
const md1Rows = [0.1, 0.3, 0.5, 0.7, 0.8, 0.9].map((rho) => {
  const r = sim.simulate({ ...sim.md1Setting(SERVICE), arrivals: { kind: 'poisson', ratePerS: (rho * 1000) / SERVICE, durationMs: quick ? 1_200_000 : 3_600_000 } });
  const want = sim.md1(rho / SERVICE, 1 / SERVICE).waitMs;
  const err = (r.waits.router.mean - want) / want;
  if (rho <= 0.7 && Math.abs(err) > 0.12) { failures++; log(`FAIL: M/D/1 at rho ${rho}: ${err}`); }
  return { rho, lookups: r.lookups, sim_wait_mean_ms: r1(r.waits.router.mean), md1_ms: r1(want), error_pct: r1(100 * err), sim_p99_ms: r1(r.waits.router.p99), mm1_ms: r1(sim.mm1(rho / SERVICE, 1 / SERVICE).waitMs) };
});

// 4. The slide: lambda 0..100 per 10 s, mu 100 per 10 s (100 ms per request).
log('the slide\'s waits ...');
const slide = sim.loadSweep(sim.md1Setting(SERVICE), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 10_000, quick ? 1_200_000 : 3_600_000);
const waitsSvg = sim.waitsFigure(slide.rows, { perLabel: '10 s', serviceMs: slide.serviceMs });
log('capacity vs RTT ...');
const figRtts = quick ? [20, 50, 100, 200] : [10, 20, 50, 100, 200, 400];
const figRows = [
  ...sim.capacityGrid(['plain'], ['glibc'], figRtts, { build: paper }),
  ...sim.capacityGrid(['plain', 'pool', 'services', 'best'], ['unbound'], figRtts, { build: paper }),
];
const capacitySvg = sim.capacityFigure(figRows);

const load = loadavg().map((x) => x.toFixed(2)).join(' ');
const out = {
  date: new Date().toISOString(), quick, loadavg: load, seconds: Math.round((Date.now() - started) / 1000),
  capacityPaper: capPaper.map(({ tried, ...r }) => r), capacityLab: capLab.map(({ tried, ...r }) => r),
  md1: md1Rows, slide: slide.rows, capacityFigure: figRows.map(({ tried, ...r }) => r),
};
console.log(`## Capacity, the paper's world (no admission limits, a host per lookup; glibc = stubs asking the server, 5 s)\n`);
console.log(markdownTable(capPaper.map(capRow)));
console.log(`\n## Capacity, the lab's settings (server-router one RTT apart, verified sources, product limits, 64 hosts)\n`);
console.log(markdownTable(capLab.map(capRow)));
console.log(`\n## M/D/1 check (one address, a host per lookup, service ${SERVICE} ms)\n`);
console.log(markdownTable(md1Rows));
console.log(`\n## The slide (lambda per 10 s, mu = 100 per 10 s)\n`);
console.log(markdownTable(slide.rows.map((r) => ({ lambda_per_10s: r.load, sim_wait_mean_ms: r1(r.waitMean), md1_ms: r1(r.md1Ms), mm1_ms: r1(r.mm1Ms), success: r3(r.success) }))));
console.log(`\n${out.seconds} s, load average ${load}${quick ? ', --quick' : ''}`);
if (args.out) {
  mkdirSync(args.out, { recursive: true });
  writeFileSync(path.join(args.out, 'sim.json'), JSON.stringify(out, null, 1));
  writeFileSync(path.join(args.out, 'sim-waits.svg'), waitsSvg);
  writeFileSync(path.join(args.out, 'sim-capacity.svg'), capacitySvg);
}
process.exit(failures > 0 ? 1 : 0);
