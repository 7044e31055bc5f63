#!/usr/bin/env node
// Element changes in the router's two kinds of nftables map, against the real kernel: an
// interval map (a pipapo set: `rc`, `rc_any`) and a hash map (`rc_host`, `sticky`), each filled
// with N elements first; one add and one delete per transaction through one long-lived `nft -i`
// (NftProcess, as the router runs it). Why the router keeps exact keys in hash maps
// (src/dataplane/README.md). Root only (a throwaway network namespace); exit 2 otherwise.
//   node bench/nft-maps/run.mjs [--quick] [--out DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, inner: { type: 'boolean', default: false } } });
const SIZES = a.quick ? [0, 1000, 3000] : [0, 300, 1000, 3000, 10000];
const REPEATS = a.quick ? 30 : 100;

if (!a.inner) {
  if (process.getuid?.() !== 0) {
    console.error('bench/nft-maps: needs root (a network namespace and nft); not measured');
    process.exit(2);
  }
  const ns = `nftmaps${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  let out;
  try {
    out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, new URL(import.meta.url).pathname, '--inner', ...(a.quick ? ['--quick'] : [])], { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'inherit'] });
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  const rows = JSON.parse(out);
  const meta = { date: new Date().toISOString(), command: `node bench/nft-maps/run.mjs ${process.argv.slice(2).join(' ')}`.trim(), cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: loadavg(), kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), nft: execFileSync('nft', ['--version'], { encoding: 'utf8' }).trim(), repeats: REPEATS };
  console.log(`\n## nftables element changes by map kind (${meta.kernel}, ${meta.nft}, median of ${REPEATS}, load ${meta.loadavg.map((x) => x.toFixed(1)).join(' ')})\n`);
  console.log('| elements in the map | interval map add ms | interval map delete ms | hash map add ms | hash map delete ms | delete ratio |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.n} | ${r.ranges.add} | ${r.ranges.del} | ${r.hash.add} | ${r.hash.del} | ${(r.ranges.del / r.hash.del).toFixed(1)}x |`);
  if (a.out) {
    mkdirSync(a.out, { recursive: true });
    writeFileSync(join(a.out, 'nft-maps.json'), JSON.stringify({ meta, rows }, null, 1));
    console.log(`\nwrote ${join(a.out, 'nft-maps.json')}`);
  }
  process.exit(0);
}

// Inside the namespace.
const { NftProcess } = await import(new URL('../../dist/src/dataplane/index.js', import.meta.url).href);
const { HOST_MAP, INTERVAL_MAP } = await import(new URL('../../dist/src/dataplane/nft-ruleset.js', import.meta.url).href);
const { median } = await import(new URL('../../dist/src/util/stats.js', import.meta.url).href);
const r = new NftProcess();
const raw = (text) => ({ kind: 'raw', text });
const round = (x) => Math.round(x * 100) / 100;
// The router's own map types (src/dataplane/nft-ruleset.ts).
await r.run([
  raw('add table ip bench'),
  raw(`add map ip bench ranges { ${INTERVAL_MAP} }`),
  raw(`add map ip bench hash { ${HOST_MAP} }`),
]);
const en = (i) => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const rows = [];
for (const n of SIZES) {
  await r.run([raw('flush map ip bench ranges'), raw('flush map ip bench hash')]);
  const fill = [];
  for (let i = 1; i <= n; i++) {
    fill.push(raw(`add element ip bench ranges { ${en(i)} . 203.0.113.2 . 0-255 . 0-65535 timeout 600s : 192.168.50.1 }`));
    fill.push(raw(`add element ip bench hash { ${en(i)} . 203.0.113.2 . tcp timeout 600s : 192.168.50.1 }`));
  }
  for (let i = 0; i < fill.length; i += 500) await r.run(fill.slice(i, i + 500));
  const row = { n };
  for (const [map, key] of [['ranges', '10.0.0.1 . 203.0.113.3 . 0-255 . 0-65535'], ['hash', '10.0.0.1 . 203.0.113.3 . tcp']]) {
    const add = [];
    const del = [];
    for (let k = 0; k < REPEATS; k++) {
      let t0 = performance.now();
      await r.run([raw(`add element ip bench ${map} { ${key} timeout 60s : 192.168.50.1 }`)]);
      add.push(performance.now() - t0);
      t0 = performance.now();
      await r.run([raw(`delete element ip bench ${map} { ${key} }`)]);
      del.push(performance.now() - t0);
    }
    row[map] = { add: round(median(add)), del: round(median(del)) };
  }
  rows.push(row);
}
await r.close();
process.stdout.write(JSON.stringify(rows));
