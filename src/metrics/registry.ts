// A prom-client registry whose counters are read from a daemon's Counters at scrape time:
// the hot paths keep incrementing a Map, and nothing is counted twice.
import { Counter, Gauge, Registry } from 'prom-client';
import { samplesOf, type FamilyRule } from './families.js';

/** Registers one Counter per rule; each scrape sets them from `snapshot()`. */
export function registerCounterFamilies(reg: Registry, rules: readonly FamilyRule[], snapshot: () => Record<string, number>): void {
  const byMetric = new Map<string, Counter>();
  for (const r of rules) {
    if (r.metric === '' || byMetric.has(r.metric)) continue;
    const help = r.help || rules.find((x) => x.metric === r.metric && x.help)!.help;
    const metric = r.metric;
    byMetric.set(metric, new Counter({
      name: metric, help, labelNames: r.label ? [r.label] : [], registers: [reg],
      collect(this: Counter) {
        this.reset();
        for (const s of samplesOf(rules, snapshot())) if (s.metric === metric) this.inc(s.labels, s.value);
      },
    }));
  }
}

/** A gauge whose value(s) are read at scrape time: `read` returns one value, or values by label. */
export function gaugeOf(reg: Registry, name: string, help: string, read: () => number | Map<string, number>, label?: string): void {
  new Gauge({
    name, help, labelNames: label ? [label] : [], registers: [reg],
    collect(this: Gauge) {
      const v = read();
      if (typeof v === 'number') {
        this.set(v);
        return;
      }
      this.reset();
      for (const [k, n] of v) this.set({ [label!]: k }, n);
    },
  });
}

/** Wait histograms: NTS round trips are tens of ms to a few seconds (resolver patience). */
export const WAIT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10];
