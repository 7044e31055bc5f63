// The summary statistics of bench/nts-processing (nearest-rank percentiles, ns in, us out).
import { test } from 'node:test';
import assert from 'node:assert/strict';

type Summary = { n: number; medianUs: number; p90Us: number; p99Us: number; meanUs: number };
// From dist/test/ to the repository's bench/ (plain JavaScript, run as it is).
const statsUrl = new URL('../../bench/nts-processing/stats.mjs', import.meta.url).href;
const { summarize } = await import(statsUrl) as { summarize: (ns: number[]) => Summary };

test('summarize: nearest-rank median, p90, p99 and mean of 1..100 us, in any order', () => {
  const ns = Array.from({ length: 100 }, (_, i) => (100 - i) * 1000);
  assert.deepEqual(summarize(ns), { n: 100, medianUs: 50, p90Us: 90, p99Us: 99, meanUs: 50.5 });
});

test('summarize: one sample is every percentile; an empty sample is an error', () => {
  assert.deepEqual(summarize([2500]), { n: 1, medianUs: 2.5, p90Us: 2.5, p99Us: 2.5, meanUs: 2.5 });
  assert.throws(() => summarize([]), /empty sample/);
});
