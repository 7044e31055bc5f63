// Summary statistics of a sample of durations (ns as Numbers): nearest-rank percentiles.
import { nearestRank } from '../../dist/src/util/stats.js';

export function summarize(ns) {
  if (ns.length === 0) throw new Error('summarize: empty sample');
  const s = Float64Array.from(ns).sort();
  const pct = (p) => nearestRank(s, p);
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, medianUs: pct(50) / 1e3, p90Us: pct(90) / 1e3, p99Us: pct(99) / 1e3, meanUs: sum / s.length / 1e3 };
}
