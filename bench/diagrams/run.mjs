// Sequence diagrams of real runs (issue 9 §3), for `npm run eval`: the demo's four flows (no
// root) and, as root, the lab's basic / simultaneous / interference scenarios with real Unbound,
// each drawn to SVG by ntss itself. Prints a Markdown table of the times the diagrams show
// (demo: from the same --json timeline the diagrams are drawn from) and writes
// OUT/diagrams.json plus the SVGs (OUT/diagram-demo-<flow>.svg, OUT/diagram-lab-<scenario>.svg).
// Usage: node bench/diagrams/run.mjs [--quick] [--out DIR] [--no-lab]
//   --quick: the demo and one lab scenario (basic); otherwise three lab scenarios (~1 min).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const { values: args } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' }, 'no-lab': { type: 'boolean' } } });
if (!existsSync(MAIN)) {
  console.error('run.mjs: build first (npx tsc -p tsconfig.json): dist/src/cli/main.js is missing');
  process.exit(2);
}
const out = resolve(args.out ?? mkdtempSync(join(tmpdir(), 'ntss-diagrams-')));
mkdirSync(out, { recursive: true });
const ntss = (a, timeout) => spawnSync(process.execPath, [MAIN, ...a], { encoding: 'utf8', timeout, env: { ...process.env, NO_COLOR: '1' } });
const load = loadavg().map((x) => x.toFixed(2)).join(' ');

// 1. The demo: every flow, its timeline as JSON, its diagram as SVG.
const demo = ntss(['demo', '--json', '--diagram', join(out, 'diagram-demo.svg')], 60_000);
if (demo.status !== 0) {
  console.error(`run.mjs: ntss demo failed (exit ${demo.status}):\n${demo.stderr}`);
  process.exit(1);
}
const lines = demo.stdout.trim().split('\n').map((l) => JSON.parse(l));
const flows = {};
for (const d of lines.filter((l) => l.kind === 'diagram')) {
  const ev = lines.filter((l) => l.kind === 'event' && l.flow === d.flow);
  const at = (pred) => ev.find(pred)?.t;
  const query = at((e) => e.event === 'dns-query');
  const ready = at((e) => e.event === 'nts-response' && e.data?.status === 'READY');
  const answer = at((e) => e.event === 'dns-answer');
  const mapping = at((e) => e.event === 'mapping-created');
  const removed = at((e) => e.event === 'rc-removed');
  const diff = (a, b) => (a === undefined || b === undefined ? null : Math.round((b - a) * 10) / 10);
  flows[d.flow] = {
    file: d.path,
    events: ev.length,
    queryToReadyMs: diff(query, ready),
    queryToAnswerMs: diff(query, answer),
    answerToMappingMs: diff(answer, mapping),
    mappingToRcRemovedMs: diff(mapping, removed),
    retries: ev.filter((e) => e.event === 'dns-retry').length,
    queued: ev.filter((e) => e.event === 'request-queued').length,
  };
  if (!existsSync(d.path)) {
    console.error(`run.mjs: ${d.path} was announced but not written`);
    process.exit(1);
  }
}
if (Object.keys(flows).length !== 4) {
  console.error(`run.mjs: expected 4 demo diagrams, got ${Object.keys(flows).length}`);
  process.exit(1);
}

// 2. The lab (root only): real Unbound, the kernel data plane, captures in the namespaces.
let lab = { skipped: undefined, scenarios: {} };
const isRoot = process.getuid?.() === 0;
if (args['no-lab']) lab.skipped = '--no-lab';
else if (!isRoot) lab.skipped = 'the lab needs root';
else {
  const names = args.quick ? ['basic'] : ['basic', 'simultaneous', 'interference'];
  // One scenario keeps the given name, several get -<scenario>: name it so that both read diagram-lab-<scenario>.svg.
  const file = join(out, names.length === 1 ? `diagram-lab-${names[0]}.svg` : 'diagram-lab.svg');
  const r = ntss(['lab', 'run', names.join(','), '--prefix', `dgb${process.pid % 100000}`, '--diagram', file], 170_000);
  for (const m of r.stdout.matchAll(/diagram: (\S+) \((\d+) rows; captured: (\d+) DNS messages, (\d+) packets at the router\)/g)) {
    const name = names.find((n) => m[1].endsWith(`diagram-lab-${n}.svg`));
    lab.scenarios[name ?? m[1]] = { file: m[1], rows: Number(m[2]), dnsMessages: Number(m[3]), routerPackets: Number(m[4]) };
  }
  for (const n of names) {
    if (lab.scenarios[n]) lab.scenarios[n].pass = new RegExp(`PASS ${n} `).test(r.stdout);
  }
  if (r.status !== 0 || Object.keys(lab.scenarios).length !== names.length) {
    console.error(`run.mjs: ntss lab run ${names.join(',')} failed (exit ${r.status}):\n${r.stdout.split('\n').slice(-30).join('\n')}\n${r.stderr}`);
    process.exit(1);
  }
}

const result = { date: new Date().toISOString(), loadavg: load, quick: !!args.quick, out, demo: flows, lab };
writeFileSync(join(out, 'diagrams.json'), JSON.stringify(result, null, 2) + '\n');

const ms = (x) => (x === null || x === undefined ? '-' : x.toFixed(1));
console.log(`## Sequence diagrams of real runs (${result.date}, load ${load})\n`);
console.log('| demo flow | first query → READY | → answer at the EN | answer → mapping | mapping → RC removed (hold) | retries | queued | file |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [f, x] of Object.entries(flows)) {
  console.log(`| ${f} | ${ms(x.queryToReadyMs)} | ${ms(x.queryToAnswerMs)} | ${ms(x.answerToMappingMs)} | ${ms(x.mappingToRcRemovedMs)} | ${x.retries} | ${x.queued} | ${x.file} |`);
}
console.log('\n(ms; the demo on loopback, one process; first occurrences in each flow)\n');
if (lab.skipped) console.log(`lab: skipped (${lab.skipped})`);
else {
  console.log('| lab scenario | pass | rows | DNS messages captured | packets at the router | file |');
  console.log('|---|---|---|---|---|---|');
  for (const [n, x] of Object.entries(lab.scenarios)) console.log(`| ${n} | ${x.pass ? 'yes' : 'no'} | ${x.rows} | ${x.dnsMessages} | ${x.routerPackets} | ${x.file} |`);
}
console.log(`\nwritten: ${join(out, 'diagrams.json')}`);
