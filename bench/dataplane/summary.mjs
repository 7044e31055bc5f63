// Pure helpers of the data-plane bench: iperf3's JSON -> the numbers we keep, medians, and the
// A/B comparison of interleaved rounds (test/bench-dataplane.test.ts).
import { median } from '../../dist/src/util/stats.js';

export { median };

/** iperf3 -J output of one client run -> { mbps, lossPct? }; throws with iperf3's own error. */
export function parseIperf(text, proto) {
  let j;
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error(`iperf3: no JSON (${String(text).trim().split('\n').slice(-1)[0] || 'empty output'})`);
  }
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  const r = j.end?.sum_received;
  if (!r || !(r.seconds > 0)) throw new Error('iperf3: no receiver summary in its JSON');
  // TCP: what the receiver got. UDP: the same (sum_received), and the loss the receiver saw.
  if (proto === 'tcp') return { mbps: r.bits_per_second / 1e6 };
  return { mbps: r.bits_per_second / 1e6, lossPct: r.lost_percent ?? 0, offeredMbps: (j.end.sum_sent?.bits_per_second ?? NaN) / 1e6 };
}

/**
 * Rounds of A and B measured side by side (a[i] and b[i] in the same round): medians of each,
 * the median of the per-round ratios a/b (drift between rounds cancels), and the ratio of the
 * medians. A round where either side failed (NaN) counts for neither.
 */
export function compare(a, b) {
  if (a.length !== b.length) throw new Error(`compare: ${a.length} rounds of A, ${b.length} of B`);
  const pairs = a.map((x, i) => [x, b[i]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && y > 0);
  const ma = median(pairs.map(([x]) => x));
  const mb = median(pairs.map(([, y]) => y));
  return { rounds: pairs.length, medianA: ma, medianB: mb, medianRatio: median(pairs.map(([x, y]) => x / y)), ratioOfMedians: ma / mb, ratios: pairs.map(([x, y]) => x / y) };
}
