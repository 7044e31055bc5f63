// Summaries of the simulator's samples: nearest-rank percentiles (as bench/nts-processing) and
// a time-weighted queue length.

import { nearestRank } from '../util/stats.js';

export interface Summary { readonly n: number; readonly mean: number; readonly p50: number; readonly p99: number; readonly max: number }

export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) return { n: 0, mean: NaN, p50: NaN, p99: NaN, max: NaN };
  const s = Float64Array.from(xs).sort();
  const pct = (p: number) => nearestRank(s, p);
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, mean: sum / s.length, p50: pct(50), p99: pct(99), max: s[s.length - 1]! };
}

/** A step function over time (queue length): changes, its time-weighted mean and maximum. */
export class StepSeries {
  private readonly points: Array<[number, number]> = [];
  private area = 0;
  private lastT = 0;
  private lastV = 0;
  private maxV = 0;

  note(t: number, v: number): void {
    if (v === this.lastV && this.points.length > 0) return;
    this.area += this.lastV * (t - this.lastT);
    this.lastT = t;
    this.lastV = v;
    this.maxV = Math.max(this.maxV, v);
    this.points.push([t, v]);
  }

  /** Mean over [0, endMs]. */
  mean(endMs: number): number {
    const area = this.area + this.lastV * Math.max(0, endMs - this.lastT);
    return endMs > 0 ? area / endMs : 0;
  }

  get max(): number {
    return this.maxV;
  }

  /** At most `bins` points: the maximum within each time bin (a queue's peaks stay visible). */
  downsample(endMs: number, bins = 200): Array<[number, number]> {
    if (this.points.length <= bins || endMs <= 0) return this.points.map(([t, v]) => [t, v]);
    const w = endMs / bins;
    const out: Array<[number, number]> = [];
    let i = 0;
    let cur = 0;
    for (let b = 0; b < bins; b++) {
      const end = (b + 1) * w;
      let m = cur;
      while (i < this.points.length && this.points[i]![0] < end) {
        cur = this.points[i]![1];
        m = Math.max(m, cur);
        i++;
      }
      out.push([Math.round(b * w), m]);
    }
    return out;
  }
}
