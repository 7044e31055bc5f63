#!/usr/bin/env node
// The router scheduler's work per lookup as its tables grow: `ntss simulate` (the real
// RcScheduler on a virtual clock) with the product's 60 s answer leases at rising lookup rates
// (the lease table holds ~rate x 61 s), and with ECS bursts of rising size (the active RCs).
// Reported: CPU ms of the simulating process per simulated lookup, minus a 1-lookup baseline;
// flat across a row means no scan grows with the tables (src/router/bindings.ts). No root.
//   node bench/scheduler/run.mjs [--quick] [--out DIR]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
// NTSS_MAIN: another build's main.js, to compare two versions on one machine.
const MAIN = process.env.NTSS_MAIN ?? new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
const RATES = a.quick ? [10, 40, 80] : [10, 40, 80, 160];
const BURSTS = a.quick ? [250, 1000] : [250, 1000, 2000, 4000];
const SECONDS = a.quick ? 60 : 120;

/** CPU ms (user + system) of one `ntss simulate` run, measured inside the child. */
function cpuMs(args) {
  const wrapper = `const t0 = process.cpuUsage(); process.argv = [process.argv[0], ${JSON.stringify(MAIN)}, ...${JSON.stringify(['simulate', ...args, '--json'])}];
    process.on('exit', () => { const u = process.cpuUsage(t0); process.stderr.write('CPU-MS ' + ((u.user + u.system) / 1000) + '\\n'); });
    await import(${JSON.stringify(MAIN)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', wrapper], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const m = /CPU-MS ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`simulate ${args.join(' ')}: exit ${r.status}: ${r.stderr.slice(-300)}`);
  const rows = JSON.parse(r.stdout);
  const res = rows.runs[0].result;
  return { ms: Number(m[1]), lookups: res.lookups ?? null, wrongHost: res.wrongHost ?? null };
}

const base = cpuMs(['--policy', 'ecs', '--burst', '1', '--hosts', '0', '--no-limits']).ms;
const rows = [];
for (const rate of RATES) {
  const r = cpuMs(['--policy', 'ecs', '--rate', String(rate), '--duration', `${SECONDS}s`, '--hosts', '0', '--en-cache', '60000', '--no-limits']);
  rows.push({ kind: `Poisson ${rate}/s, 60 s leases`, tableSize: `~${rate * 61} leases`, lookups: r.lookups, cpuMsPerLookup: (r.ms - base) / r.lookups, wrongHost: r.wrongHost });
}
for (const n of BURSTS) {
  const r = cpuMs(['--policy', 'best', '--burst', String(n), '--hosts', '0', '--no-limits']);
  rows.push({ kind: `best burst ${n}`, tableSize: `up to ${n} RCs`, lookups: r.lookups, cpuMsPerLookup: (r.ms - base) / r.lookups, wrongHost: r.wrongHost });
}
const meta = { date: new Date().toISOString(), command: `node bench/scheduler/run.mjs ${process.argv.slice(2).join(' ')}`.trim(), cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: loadavg(), baselineMs: base };
console.log(`\n## Scheduler work per lookup as the tables grow (ntss simulate, ${meta.date}, load ${meta.loadavg.map((x) => x.toFixed(1)).join(' ')})\n`);
console.log('| load | tables | lookups | CPU ms per lookup | wrong host |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.kind} | ${r.tableSize} | ${r.lookups} | ${r.cpuMsPerLookup.toFixed(3)} | ${r.wrongHost} |`);
if (a.out) {
  mkdirSync(a.out, { recursive: true });
  writeFileSync(join(a.out, 'scheduler.json'), JSON.stringify({ meta, rows }, null, 1));
}
