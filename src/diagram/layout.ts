// Where everything goes: one row per message or note, time downward. A real run is a few
// milliseconds of traffic, then hundreds of idle ones (a hold, a resolver's retry timer), so
// time is scaled but every row gets room for its label, and a gap that would take more than
// `maxGapPx` is drawn short and marked with its length. Pure numbers, no SVG.
import { byTime, type SeqEvent, type SequenceDiagram } from './model.js';

export interface LayoutOptions {
  /** Pixels per millisecond where time is drawn to scale. */
  pxPerMs: number;
  /** The least distance between two rows (a label's height). */
  rowPx: number;
  /** A gap longer than this (in pixels at scale) is compressed and marked. */
  maxGapPx: number;
  /** Height of a compressed gap, its marker included. */
  breakPx: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { pxPerMs: 1.5, rowPx: 22, maxGapPx: 90, breakPx: 34 };

export type RowEvent = Exclude<SeqEvent, { kind: 'span' }>;
export type SpanEvent = Extract<SeqEvent, { kind: 'span' }>;

export interface Row {
  event: RowEvent;
  /** y of the row's line (arrow or note centre), from the first row at 0. */
  y: number;
}

export interface Gap {
  /** Between which y values the gap marker sits. */
  y0: number;
  y1: number;
  /** The real time it stands for. */
  ms: number;
}

export interface Layout {
  rows: Row[];
  gaps: Gap[];
  spans: SpanEvent[];
  /** y for any time (spans end between rows); monotonic. */
  yAt(t: number): number;
  /** y of the last row (0 without rows). */
  height: number;
}

export function layout(d: SequenceDiagram, o: LayoutOptions = DEFAULT_LAYOUT): Layout {
  const rowsIn = byTime(d.events.filter((e): e is RowEvent => e.kind !== 'span'));
  const spans = d.events.filter((e): e is SpanEvent => e.kind === 'span');
  const rows: Row[] = [];
  const gaps: Gap[] = [];
  // Anchors of the time map: (t, y) pairs; between two, time runs linearly.
  const anchors: { t: number; y: number }[] = [];
  let y = 0;
  rowsIn.forEach((e, i) => {
    if (i > 0) {
      const prev = rowsIn[i - 1].t;
      const atScale = (e.t - prev) * o.pxPerMs;
      if (atScale > o.maxGapPx) {
        // Anchor the gap's edges so that spans crossing it end in the right place.
        anchors.push({ t: prev, y });
        gaps.push({ y0: y + o.rowPx / 2, y1: y + o.rowPx / 2 + o.breakPx, ms: e.t - prev });
        y += o.rowPx + o.breakPx;
      } else {
        y += Math.max(o.rowPx, atScale);
      }
    }
    rows.push({ event: e, y });
    anchors.push({ t: e.t, y });
  });
  const yAt = (t: number): number => {
    if (anchors.length === 0) return 0;
    if (t <= anchors[0].t) return anchors[0].y;
    for (let i = 1; i < anchors.length; i++) {
      const a = anchors[i - 1];
      const b = anchors[i];
      if (t <= b.t) return b.t === a.t ? b.y : a.y + ((t - a.t) / (b.t - a.t)) * (b.y - a.y);
    }
    // After the last row (a span still running at the end): a little further, capped.
    const last = anchors[anchors.length - 1];
    return last.y + Math.min(o.maxGapPx, (t - last.t) * o.pxPerMs);
  };
  const spanEnd = spans.reduce((m, s) => Math.max(m, yAt(s.end)), 0);
  return { rows, gaps, spans, yAt, height: Math.max(y, spanEnd) };
}
