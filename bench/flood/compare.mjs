// Joins two tables printed by flood.mjs (before, after) into the before/after table of
// docs/benchmarks.md: node bench/flood/compare.mjs before.md after.md
import { readFileSync } from 'node:fs';

const [beforeFile, afterFile] = process.argv.slice(2);
if (!beforeFile || !afterFile) {
  console.error('usage: node bench/flood/compare.mjs BEFORE.md AFTER.md (tables printed by bench/flood/flood.mjs)');
  process.exit(2);
}
/** Cells by resolver (first word) | addresses | attackers | rate | transport | order. */
function cells(file) {
  const m = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const c = line.split('|').slice(1, -1).map((s) => s.trim());
    if (c.length !== 13 || !/^\d+$/.test(c[1])) continue;
    m.set([c[0].split(' ')[0], ...c.slice(1, 6)].join('|'), { good: c[6], wrong: c[7], rcs: c[8], server: c[11], router: c[12] });
  }
  return m;
}
const before = cells(beforeFile);
const after = cells(afterFile);
const ratio = (g) => (g ? (/\(([\d.]+%)\)/.exec(g.good)?.[1] ?? g.good) : '');
console.log('| resolver | addr. | attackers | q/s | transport | order | good ENs before | after | wrong before / after | attackers\' RCs before | after | RSS max server / router before, MiB | after |');
console.log('|---|---:|---:|---:|---|---|---:|---:|---|---:|---:|---|---|');
for (const key of new Set([...before.keys(), ...after.keys()])) {
  const b = before.get(key);
  const a = after.get(key);
  const rss = (x) => (x ? `${x.server.split(' ')[0]} / ${x.router.split(' ')[0]}` : '');
  console.log(`| ${key.split('|').join(' | ')} | ${b ? `${b.good.split(' ')[0]} ${ratio(b)}` : ''} | ${a ? `${a.good.split(' ')[0]} ${ratio(a)}` : ''} | ${b?.wrong ?? ''} / ${a?.wrong ?? ''} | ${b?.rcs ?? ''} | ${a?.rcs ?? ''} | ${rss(b)} | ${rss(a)} |`);
}
