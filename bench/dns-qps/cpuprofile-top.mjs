#!/usr/bin/env node
// Summarize a V8 .cpuprofile (node --cpu-prof): top functions by self time,
// and a coarse split by category (our code / node internals / GC / idle ...).
// usage: node cpuprofile-top.mjs FILE.cpuprofile [N=25]
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpuprofile-top.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const N = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));

// Self time per node from samples + timeDeltas (µs).
const selfUs = new Map();
let totalUs = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + dt);
  totalUs += dt;
}

const shortUrl = (u) => {
  if (!u) return '';
  const m = u.match(/\/(dist\/.*|node_modules\/.*)$/);
  if (m) return m[1];
  return u.replace(/^file:\/\//, '');
};
const category = (cf) => {
  const name = cf.functionName;
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'program (native/VM, unattributed)';
  const u = cf.url ?? '';
  if (u.includes('/dist/src/')) return 'ntss (dist/src)';
  if (u.includes('node_modules')) return 'node_modules';
  if (u.startsWith('node:')) return 'node core (JS)';
  if (!u) return 'native / builtins';
  return 'other';
};

const byFn = new Map();
const byCat = new Map();
for (const [id, us] of selfUs) {
  const cf = nodes.get(id).callFrame;
  const key = `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const c = category(cf);
  byCat.set(c, (byCat.get(c) ?? 0) + us);
}

const busyUs = totalUs - (byCat.get('idle') ?? 0);
const pct = (us, of) => ((100 * us) / of).toFixed(1).padStart(5);
console.log(`profile: ${file}`);
console.log(`samples: ${prof.samples.length}, wall ${(totalUs / 1e6).toFixed(2)} s, busy (non-idle) ${(busyUs / 1e6).toFixed(2)} s`);
console.log('\nby category (% of busy time):');
for (const [c, us] of [...byCat].sort((a, b) => b[1] - a[1])) {
  if (c === 'idle') continue;
  console.log(`  ${pct(us, busyUs)}%  ${c}`);
}
console.log(`\ntop ${N} functions by self time (% of busy time):`);
for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).filter(([k]) => !k.startsWith('(idle)')).slice(0, N)) {
  console.log(`  ${pct(us, busyUs)}%  ${k}`);
}

// Inclusive time for ntss functions (self + descendants), to see which of our
// entry points the time is spent under.
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (const [id, us] of selfUs) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = nodes.get(cur).callFrame;
    if (!(cf.url ?? '').includes('/dist/src/')) continue;
    const key = `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    incl.set(key, (incl.get(key) ?? 0) + us);
  }
}
if (incl.size) {
  console.log(`\ntop ntss functions by inclusive time (% of busy time):`);
  for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${pct(us, busyUs)}%  ${k}`);
}
