// `npm run eval`: every table and figure of docs/evaluation.md, regenerated in one go on a
// 2-core machine. Each piece is its own script (`bench/<piece>/run.mjs --quick --out DIR`):
// it writes DIR/<piece>.json (+ any .svg) and prints a Markdown table. This runner only
// sequences them (never in parallel: they measure time), collects their tables into
// DIR/report.md and exits non-zero when a piece failed. Pieces that need root and the lab
// exit 2 with a reason; they are reported as skipped (an error under NTSS_NO_SKIP=1).
// Usage: node bench/eval.mjs [--out DIR] [--only a,b] [--full]   (--full: without --quick)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const PIECES = [
  { name: 'sim', what: 'simulator: capacity per policy and RTT, M/D/1 check, plots', root: false },
  { name: 'nts-processing', what: 'NTS processing time per request, server and router', root: false },
  { name: 'scheduler', what: 'the router scheduler\'s work per lookup as its lease and RC tables grow (simulator)', root: false },
  { name: 'latency', what: 'query to first byte, NTS vs plain, per-stage breakdown (lab)', root: true },
  { name: 'capacity', what: 'capacity and load with real Unbound (lab)', root: true },
  { name: 'dataplane', what: 'kernel plane vs static DNAT, relay vs socat (lab)', root: true },
  { name: 'nft-maps', what: 'nftables element changes: interval (pipapo) vs hash maps, by map size', root: true },
  { name: 'diagrams', what: 'sequence diagrams of real runs: the demo\'s flows; as root, lab scenarios with real Unbound', root: false },
  { name: 'dashboard', what: 'the live dashboard: router CPU and throughput off vs on with 8 event streams, event delivery latency', root: false },
];

const { values: a } = parseArgs({ options: { out: { type: 'string', default: 'eval-out' }, only: { type: 'string' }, full: { type: 'boolean', default: false } } });
const known = new Set(PIECES.map((p) => p.name));
const only = a.only ? a.only.split(',') : undefined;
for (const n of only ?? []) {
  if (!known.has(n)) {
    console.error(`eval: --only: unknown piece '${n}' (expected one of ${[...known].join(', ')})`);
    process.exit(2);
  }
}
const out = resolve(a.out);
mkdirSync(out, { recursive: true });
const noSkip = process.env.NTSS_NO_SKIP === '1';
const report = [`# ntss evaluation, ${new Date().toISOString()}`, '',
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, Node ${process.version}${a.full ? '' : ', --quick'}.`, ''];
let failed = 0;
for (const p of PIECES.filter((p) => !only || only.includes(p.name))) {
  const script = join(import.meta.dirname, p.name, 'run.mjs');
  report.push(`## ${p.name}: ${p.what}`, '');
  if (!existsSync(script)) {
    report.push(`not built: ${script} is missing`, '');
    failed++;
    continue;
  }
  const args = p.name === 'nts-processing'
    ? ['--n', a.full ? '20000' : '5000', '--json', join(out, 'nts-processing.json')]
    : [...(a.full ? [] : ['--quick']), '--out', out];
  const t0 = Date.now();
  process.stderr.write(`eval: ${p.name} ...\n`);
  const r = spawnSync(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20 });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (r.status === 2 && p.root) {
    report.push(`skipped (${secs} s): needs root and the lab; see the script's message above`, '');
    if (noSkip) failed++;
  } else if (r.status !== 0) {
    report.push(`FAILED (exit ${r.status ?? r.signal}, ${secs} s)`, '', r.stdout ?? '', '');
    failed++;
  } else {
    report.push(r.stdout.trim(), '', `(${secs} s)`, '');
    if (p.name === 'capacity') {
      // The measured points beside the simulator's prediction for the same settings.
      const o = spawnSync(process.execPath, [join(import.meta.dirname, 'capacity', 'overlay.mjs'), join(out, 'capacity.json'), '--out', out], { encoding: 'utf8' });
      report.push('### The lab beside the simulator (bench/capacity/overlay.mjs)', '', o.status === 0 ? o.stdout.trim() : `overlay failed (exit ${o.status}): ${o.stderr.trim()}`, '');
      if (o.status !== 0) failed++;
    }
  }
}
writeFileSync(join(out, 'report.md'), report.join('\n'));
console.log(report.join('\n'));
console.error(`eval: report in ${join(out, 'report.md')}${failed ? `; ${failed} piece(s) failed or were skipped` : ''}`);
process.exit(failed ? 1 : 0);
