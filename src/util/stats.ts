// The two sample statistics the benches, the lab and the simulator report: one definition each,
// so a "median" or a "p99" means the same in every table.

/** The median (mean of the middle two for an even count); non-finite samples (failed rounds) are left out; NaN when none is left. */
export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile of an ascending sample, p in 0..100; NaN for an empty one. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  return n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
}
