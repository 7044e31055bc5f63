// The lab's measured points (bench/capacity/run.mjs's capacity.json) beside the simulator's
// prediction for the same settings (src/sim predict(): the lab topology, the policy's hold and
// addresses, the limits the bench lifted, a distinct host per lookup as the bench's round robin
// gives). Prints one row per measured point and writes capacity-vs-sim.svg: success vs offered
// load and vs burst size, measured as points, predicted as lines. No root: it reads JSON.
// Usage: node bench/capacity/overlay.mjs CAPACITY_JSON [--out DIR]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const dist = new URL('../../dist/src/', import.meta.url);
const { predict, chartSvg, defaultParams } = await import(new URL('sim/index.js', dist).href);
const { ONE_RESOLVER } = await import(new URL('lab/capacity-hosts.js', dist).href);

const { values: a, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: '.' } } });
if (positionals.length !== 1) {
  console.error('usage: node bench/capacity/overlay.mjs CAPACITY_JSON [--out DIR]');
  process.exit(2);
}
mkdirSync(a.out, { recursive: true });
const lab = JSON.parse(readFileSync(positionals[0], 'utf8'));
// The bench's stub (capacity.ts DEFAULT_STUB: one try, 5 s), not the simulator's glibc default of
// two: a second try joins the resolver's pending lookup and is served behind BIND or Knot at 5-10 s.
const stub = lab.meta?.stub ? { timeoutMs: lab.meta.stub.timeoutMs, attempts: lab.meta.stub.tries } : { timeoutMs: 5000, attempts: 1 };
const settingsOf = new Map((lab.capacity ?? []).map((c) => [`${c.resolverKind ?? 'unbound'}/${c.policy}/${c.delayMs}`, c.settings]));

/** The bench's policy names -> the simulator's, with the bench's hold and lifted limits. */
function simulated(pt) {
  const s = settingsOf.get(`${pt.resolverKind ?? 'unbound'}/${pt.policy}/${pt.delayMs}`) ?? {};
  const policy = pt.policy === 'plain-hold' ? 'plain' : pt.policy;
  // The point's own resolver profile (patience, TTL floor): Knot's 5 s floor leases every answer.
  const resolver = pt.resolverKind ?? 'unbound';
  const base = defaultParams({ policy, rttMs: pt.delayMs, resolver });
  const lifted = s.oneResolver !== false;
  const overrides = {
    ...(s.holdMs !== undefined ? { holdMs: s.holdMs } : {}),
    // The lab's server leases every answer for the resolver's TTL floor, plain or not.
    plainLeases: true,
    stub,
    // The bench's `oneResolver` (src/lab/capacity-hosts.ts ONE_RESOLVER): the per-resolver shares lifted.
    ...(lifted ? { resolverQueueLimit: ONE_RESOLVER.resolverQueueLimit, server: { ...base.server, maxPendingPerResolver: ONE_RESOLVER.maxPendingPerResolver } } : {}),
  };
  const arrivals = pt.kind === 'burst' ? { burst: pt.burst } : { ratePerS: pt.offeredPerS, durationMs: (pt.seconds ?? 8) * 1000 };
  return predict({ policy, rttMs: pt.delayMs, resolver, hosts: 0, ...arrivals, overrides });
}

const rows = [];
for (const pt of lab.points ?? []) {
  if (pt.kind !== 'burst' && pt.kind !== 'load') continue;
  const sim = simulated(pt);
  rows.push({
    kind: pt.kind, resolver: pt.resolverKind ?? 'unbound', policy: pt.policy, delayMs: pt.delayMs, x: pt.kind === 'burst' ? pt.burst : pt.offeredPerS,
    lab: pt.successRatio, sim: sim.success, labAnswerP50: pt.answerMs?.p50 ?? null, simAnswerP50: Number.isFinite(sim.waits.lookup.p50) ? sim.waits.lookup.p50 : null,
    labWrong: pt.wrongHost, simWrong: sim.wrongHost,
  });
}
const f = (x, d = 0) => (x === null || x === undefined ? '-' : Number(x).toFixed(d));
console.log('| point | resolver | policy | delay ms | lab success | simulated | lab answer p50 ms | simulated p50 ms | wrong host lab / sim |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.kind === 'burst' ? `burst ${r.x}` : `${r.x}/s`} | ${r.resolver} | ${r.policy} | ${r.delayMs} | ${f(r.lab * 100)}% | ${f(r.sim * 100)}% | ${f(r.labAnswerP50)} | ${f(r.simAnswerP50)} | ${r.labWrong} / ${r.simWrong} |`);
}

// One chart per kind: measured points, predicted lines, one colour per policy and delay.
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];
const figures = [];
for (const kind of ['load', 'burst']) {
  const mine = rows.filter((r) => r.kind === kind);
  if (mine.length === 0) continue;
  const series = [];
  const label = (r) => `${r.resolver} ${r.policy} ${r.delayMs} ms`;
  [...new Set(mine.map(label))].forEach((k, i) => {
    const pts = mine.filter((r) => label(r) === k).sort((x, y) => x.x - y.x);
    const color = palette[i % palette.length];
    series.push({ name: `${k}: lab`, style: 'points', color, points: pts.map((r) => [r.x, r.lab * 100]) });
    series.push({ name: `${k}: simulated`, style: 'line', dashed: true, color, points: pts.map((r) => [r.x, r.sim * 100]) });
  });
  const who = [...new Set(mine.map((r) => r.resolver))].join(', ');
  figures.push(chartSvg({
    title: kind === 'load' ? `Success vs offered load: lab (points) and simulator (dashed), ${who}` : `Success vs burst size: lab (points) and simulator (dashed), ${who}`,
    xLabel: kind === 'load' ? 'offered lookups per second (Poisson)' : 'lookups in one burst', yLabel: 'connected to the right host (%)',
    series, yRange: [0, 105],
  }));
}
figures.forEach((svg, i) => writeFileSync(join(a.out, `capacity-vs-sim${figures.length > 1 ? `-${i + 1}` : ''}.svg`), svg));
writeFileSync(join(a.out, 'capacity-vs-sim.json'), JSON.stringify(rows, null, 1));
console.error(`wrote ${figures.length} figure(s) and capacity-vs-sim.json to ${a.out}`);
