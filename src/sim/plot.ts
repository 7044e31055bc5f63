// A small line/point chart as SVG (src/svg/svg.ts): axes with ticks (linear or log), series
// drawn as lines, points or both, a legend. Series are plain data, so other producers (the lab
// capacity bench's measured points) can be passed beside the simulator's.
import { el, svgDocument, text } from '../svg/svg.js';

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** 'line' (a model), 'points' (measured or simulated), or both. Default 'line'. */
  readonly style?: 'line' | 'points' | 'both';
  readonly color?: string;
  /** Dashed line (closed forms, bounds). */
  readonly dashed?: boolean;
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  /** Axis ranges; default: the data's, from 0 on linear axes. Points outside are clipped. */
  readonly xRange?: readonly [number, number];
  readonly yRange?: readonly [number, number];
  readonly width?: number;
  readonly height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf', '#bcbd22'];

/** "Nice" ticks: 1, 2, 5 x 10^k steps for linear axes, powers of ten (and 2, 5 between when few) for log ones. */
export function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of Math.ceil(Math.log10(hi)) - Math.floor(Math.log10(lo)) <= 2 ? [1, 2, 5] : [1]) {
        const v = m * 10 ** e;
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    }
    return out;
  }
  const span = hi - lo || 1;
  const raw = span / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= 7)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 10_000 || Math.abs(v) < 0.01) return v.toExponential(0).replace('e+', 'e');
  return String(Math.round(v * 100) / 100);
}

function range(vals: number[], log: boolean, given?: readonly [number, number]): [number, number] {
  if (given) return [given[0], given[1]];
  const finite = vals.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (finite.length === 0) return log ? [1, 10] : [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (hi <= lo) hi = lo * 10; // one decade at least (a single point on a power of ten)
  } else {
    lo = Math.min(0, lo);
    if (hi === lo) hi = lo + 1;
    hi *= 1.05;
  }
  return [lo, hi];
}

/** The chart as a standalone SVG document. */
export function chartSvg(c: Chart): string {
  const W = c.width ?? 720;
  const H = c.height ?? 440;
  const m = { l: 70, r: 200, t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = range(xs, c.xLog === true, c.xRange);
  const [y0, y1] = range(ys, c.yLog === true, c.yRange);
  const tx = (v: number) => (c.xLog ? Math.log10(v / x0) / Math.log10(x1 / x0) : (v - x0) / (x1 - x0));
  const ty = (v: number) => (c.yLog ? Math.log10(v / y0) / Math.log10(y1 / y0) : (v - y0) / (y1 - y0));
  const X = (v: number) => m.l + tx(v) * pw;
  const Y = (v: number) => m.t + ph - ty(v) * ph;
  const inside = (p: readonly [number, number]) =>
    Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!c.xLog || p[0] > 0) && (!c.yLog || p[1] > 0)
    && tx(p[0]) >= -1e-9 && tx(p[0]) <= 1 + 1e-9 && ty(p[1]) >= -1e-9 && ty(p[1]) <= 1 + 1e-9;

  const body: string[] = [text(W / 2, 22, c.title, { 'text-anchor': 'middle', 'font-size': 15 })];
  for (const v of ticks(x0, x1, c.xLog === true)) {
    body.push(el('line', { x1: X(v), y1: m.t, x2: X(v), y2: m.t + ph, stroke: '#eee' }));
    body.push(text(X(v), m.t + ph + 16, fmt(v), { 'text-anchor': 'middle' }));
  }
  for (const v of ticks(y0, y1, c.yLog === true)) {
    body.push(el('line', { x1: m.l, y1: Y(v), x2: m.l + pw, y2: Y(v), stroke: '#eee' }));
    body.push(text(m.l - 6, Y(v) + 4, fmt(v), { 'text-anchor': 'end' }));
  }
  body.push(el('rect', { x: m.l, y: m.t, width: pw, height: ph, fill: 'none', stroke: '#333' }));
  body.push(text(m.l + pw / 2, H - 12, c.xLabel, { 'text-anchor': 'middle' }));
  body.push(text(16, m.t + ph / 2, c.yLabel, { 'text-anchor': 'middle', transform: `rotate(-90 16 ${m.t + ph / 2})` }));

  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const style = s.style ?? 'line';
    const pts = s.points.filter(inside);
    if (style !== 'points') {
      // A line breaks where a point is outside (an infinite wait): no segment through it.
      let run: string[] = [];
      const flush = () => {
        if (run.length > 1) body.push(el('polyline', { points: run.join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': s.dashed ? '6 4' : undefined }));
        run = [];
      };
      for (const p of s.points) {
        if (inside(p)) run.push(`${Math.round(X(p[0]) * 100) / 100},${Math.round(Y(p[1]) * 100) / 100}`);
        else flush();
      }
      flush();
    }
    if (style !== 'line') for (const p of pts) body.push(el('circle', { cx: X(p[0]), cy: Y(p[1]), r: 3.5, fill: color }));
    const ly = m.t + 10 + i * 20;
    const lx = m.l + pw + 14;
    if (style !== 'points') body.push(el('line', { x1: lx, y1: ly, x2: lx + 24, y2: ly, stroke: color, 'stroke-width': 2, 'stroke-dasharray': s.dashed ? '6 4' : undefined }));
    if (style !== 'line') body.push(el('circle', { cx: lx + 12, cy: ly, r: 3.5, fill: color }));
    body.push(text(lx + 30, ly + 4, s.name));
  });
  return svgDocument(W, H, c.title, body);
}
