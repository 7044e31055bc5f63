// The simulator's two figures, drawn with plot.ts. `extra` series (e.g. the lab's measured
// points) are drawn over the prediction.
import { chartSvg, type Series } from './plot.js';
import type { CapacityRow, LoadRow } from './sweeps.js';

export function waitsFigure(rows: readonly LoadRow[], o: { perLabel: string; serviceMs: number; extra?: Series[] }): string {
  const sim: Series = { name: 'simulated (mean)', style: 'both', points: rows.map((r) => [r.load, r.waitMean]) };
  const p99: Series = { name: 'simulated (p99)', style: 'points', points: rows.map((r) => [r.load, r.waitP99]) };
  const md: Series = { name: 'M/D/1', dashed: true, points: rows.map((r) => [r.load, r.md1Ms]) };
  const mm: Series = { name: 'M/M/1 (slide)', dashed: true, points: rows.map((r) => [r.load, r.mm1Ms]) };
  const finite = rows.flatMap((r) => [r.waitMean, r.md1Ms, r.waitP99]).filter(Number.isFinite);
  const yMax = Math.max(1, ...finite) * 1.1;
  return chartSvg({
    title: `Wait at the router vs offered load (service ${Math.round(o.serviceMs * 10) / 10} ms)`,
    xLabel: `offered load (lookups per ${o.perLabel})`, yLabel: 'wait NTS request -> READY (ms)',
    series: [sim, p99, md, mm, ...(o.extra ?? [])], yRange: [0, yMax],
  });
}

export function capacityFigure(rows: readonly CapacityRow[], extra: Series[] = []): string {
  const series: Series[] = [];
  const groups = new Map<string, CapacityRow[]>();
  for (const r of rows) {
    const k = `${r.policy} / ${r.resolver}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const [name, rs] of groups) {
    // A capped search only says "at least": the legend says so.
    const capped = rs.some((r) => r.capped) ? ' (>=, search cap)' : '';
    series.push({ name: `${name}${capped}`, style: 'both', points: rs.map((r) => [r.rttMs, Math.max(1, r.capacity)]) });
  }
  const bounds = new Map<string, CapacityRow[]>();
  for (const r of rows) bounds.set(r.resolver, [...(bounds.get(r.resolver) ?? []).filter((x) => x.rttMs !== r.rttMs), r]);
  const greys = ['#444', '#999', '#666', '#bbb'];
  [...bounds].forEach(([resolver, rs], i) => {
    const patience = rs[0]!.bound * rs[0]!.rttMs;
    series.push({ name: `bound ${resolver} (${patience / 1000} s / t)`, dashed: true, color: greys[i % greys.length], points: rs.map((r) => [r.rttMs, r.bound]) });
  });
  return chartSvg({
    title: 'Capacity (largest burst with >= 99% success) vs RTT', xLabel: 'RTT EN-router (ms)', yLabel: 'lookups in one burst',
    series: [...series, ...extra], xLog: true, yLog: true,
  });
}
