// A sequence diagram as a standalone SVG, in the manner of the paper's Figs. 5-8: one column
// per lifeline, time downward, the measured time of every row on the left, arrows for what
// crossed the wire, boxes for state changes on a lifeline, bars for RC lives and holds
// (hatched like the paper's Fig. 9). Written with src/svg/svg.ts only; no fonts are measured,
// so text widths are estimates (generous, for DejaVu Sans at 11-12 px).
import { el, escapeXml, svgDocument, text } from '../svg/svg.js';
import { DEFAULT_LAYOUT, layout, type LayoutOptions } from './layout.js';
import { validate, type MessageStyle, type NoteStyle, type SequenceDiagram } from './model.js';

const LEFT = 92; // the time column
const COL = 180; // between two lifelines
const TOP = 58; // title and subtitle above the lifeline heads
/** A lifeline head: the title and up to this many detail lines (a detail splits at " + "). */
const MAX_DETAIL_LINES = 3;
const CHAR_PX = 6.6;

const MSG: Record<MessageStyle, { color: string; dash?: string; width: number }> = {
  dns: { color: '#1f5fbf', width: 1.4 },
  'dns-retry': { color: '#d9730d', dash: '6 4', width: 1.6 },
  nts: { color: '#7b3fb5', width: 1.6 },
  packet: { color: '#1b8a3a', width: 2.2 },
  refused: { color: '#c62828', dash: '2 3', width: 1.6 },
};

const NOTE: Record<NoteStyle, { fill: string; stroke: string }> = {
  state: { fill: '#fff6cc', stroke: '#b59a00' },
  hold: { fill: '#ffe4c7', stroke: '#d9730d' },
  refusal: { fill: '#fde0e0', stroke: '#c62828' },
  info: { fill: '#f2f2f2', stroke: '#9e9e9e' },
};

const textWidth = (s: string, px = 12) => s.length * CHAR_PX * (px / 12);

function defs(): string {
  const markers = Object.entries(MSG).map(([k, s]) =>
    el('marker', { id: `arrow-${k}`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' },
      el('path', { d: 'M0,0 L10,5 L0,10 z', fill: s.color })));
  const hatch = el('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, [
    el('rect', { width: 6, height: 6, fill: '#ffe4c7' }),
    el('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#d9730d', 'stroke-width': 2 }),
  ]);
  return el('defs', {}, [...markers, hatch]);
}

export interface RenderOptions {
  layout?: LayoutOptions;
}

/** The whole document; throws DiagramError on an invalid diagram. */
export function renderSequence(d: SequenceDiagram, o: RenderOptions = {}): string {
  validate(d);
  const lay = layout(d, o.layout ?? DEFAULT_LAYOUT);
  const xOf = new Map(d.lifelines.map((l, i) => [l.id, LEFT + COL / 2 + i * COL]));
  const x = (id: string) => xOf.get(id)!;
  const details = new Map(d.lifelines.map((l) => [l.id, detailLines(l.detail)]));
  const headH = 22 + 12 * Math.max(1, ...[...details.values()].map((x) => x.length));
  const y0 = TOP + headH + 26; // the first row
  const yRow = (y: number) => y0 + y;
  const bottom = yRow(lay.height) + 24;
  let maxX = LEFT + d.lifelines.length * COL;
  const body: string[] = [defs()];

  // Title.
  body.push(text(12, 22, d.title, { 'font-size': 15, 'font-weight': 'bold' }));
  if (d.subtitle) body.push(text(12, 40, d.subtitle, { 'font-size': 11, fill: '#555' }));
  maxX = Math.max(maxX, 12 + textWidth(d.title, 15), 12 + textWidth(d.subtitle ?? '', 11));

  // Lifelines: head boxes and dashed lines, broken where time is compressed.
  body.push(text(12, TOP + 20, 'ms since', { 'font-size': 11, fill: '#555' }), text(12, TOP + 33, 'flow start', { 'font-size': 11, fill: '#555' }));
  for (const l of d.lifelines) {
    const cx = x(l.id);
    const lines = details.get(l.id)!;
    const w = Math.min(COL - 14, Math.max(textWidth(l.title, 12), ...lines.map((x) => textWidth(x, 10))) + 16);
    body.push(el('g', { class: `lifeline role-${l.role}`, 'data-id': l.id }, [
      el('rect', { x: cx - w / 2, y: TOP, width: w, height: headH, rx: 4, fill: '#eef3fb', stroke: '#4a6fa5' }),
      text(cx, TOP + 15, l.title, { 'text-anchor': 'middle', 'font-weight': 'bold' }),
      ...lines.map((x, i) => text(cx, TOP + 28 + 12 * i, x, { 'text-anchor': 'middle', 'font-size': 10, fill: '#444' })),
      el('line', { x1: cx, y1: TOP + headH, x2: cx, y2: bottom, stroke: '#888', 'stroke-dasharray': '4 4' }),
    ]));
  }

  // Compressed gaps: a band over the lifelines, the real length in the time column.
  for (const g of lay.gaps) {
    const ya = yRow(g.y0);
    const h = g.y1 - g.y0;
    body.push(el('g', { class: 'gap' }, [
      el('rect', { x: LEFT, y: ya + 4, width: d.lifelines.length * COL, height: h - 8, fill: '#ffffff' }),
      el('path', { d: `M${LEFT},${ya + 6} l8,-4 l8,8 l8,-8 l8,4`, fill: 'none', stroke: '#999' }),
      text(12, ya + h / 2 + 4, `≈ ${fmtMs(g.ms)} ms`, { 'font-size': 11, fill: '#777', 'font-style': 'italic' }),
      text(LEFT + 44, ya + h / 2 + 4, `(${fmtMs(g.ms)} ms of idle time compressed)`, { 'font-size': 11, fill: '#999', 'font-style': 'italic' }),
    ]));
  }

  // Spans, under the rows (notes keep clear of them; arrows and labels cross them): RC lives
  // side by side when several overlap on a lifeline; a hold is drawn over the RC bar that
  // contains it.
  const lanes = new Map<string, { end: number }[]>();
  const placed: { s: typeof lay.spans[number]; lane: number }[] = [];
  const laneFor = (on: string, t: number, end: number) => {
    const ls = lanes.get(on) ?? [];
    lanes.set(on, ls);
    let lane = ls.findIndex((l) => l.end < t);
    if (lane < 0) lane = ls.push({ end }) - 1;
    else ls[lane] = { end };
    return lane;
  };
  for (const s of [...lay.spans].sort((a, b) => a.t - b.t)) {
    if (s.style !== 'rc') continue;
    placed.push({ s, lane: laneFor(s.on, s.t, s.end) });
  }
  for (const s of lay.spans) {
    if (s.style === 'rc') continue;
    const host = placed.find((p) => p.s.style === 'rc' && p.s.on === s.on && p.s.t <= s.t && s.end <= p.s.end);
    placed.push({ s, lane: host ? host.lane : laneFor(s.on, s.t, s.end) });
  }
  for (const { s, lane } of placed) {
    const sx = x(s.on) + 3 + lane * 9;
    const ya = yRow(lay.yAt(s.t));
    const yb = Math.max(ya + 2, yRow(lay.yAt(s.end)));
    body.push(el('rect', {
      class: `span span-${s.style}`, x: sx, y: ya, width: 7, height: yb - ya,
      fill: s.style === 'hold' ? 'url(#hatch)' : '#fff0a8', stroke: s.style === 'hold' ? '#d9730d' : '#b59a00',
    }, el('title', {}, escapeXml(s.label))));
  }

  // Rows.
  for (const r of lay.rows) {
    const e = r.event;
    const y = yRow(r.y);
    body.push(text(LEFT - 10, y + 4, `+${fmtMs(e.t)}`, { 'text-anchor': 'end', 'font-size': 11, fill: '#333', class: 't' }));
    if (e.kind === 'message') {
      const s = MSG[e.style];
      const x1 = x(e.from);
      const x2 = x(e.to);
      const cls = `msg msg-${e.style}`;
      if (x1 === x2) {
        // To itself (rare): a small loop.
        body.push(el('path', { class: cls, d: `M${x1},${y - 6} h24 v12 h-22`, fill: 'none', stroke: s.color, 'stroke-width': s.width, 'marker-end': `url(#arrow-${e.style})` }));
        body.push(text(x1 + 30, y + 4, e.label, { 'font-size': 11, fill: s.color }));
        maxX = Math.max(maxX, x1 + 30 + textWidth(e.label, 11));
        continue;
      }
      body.push(el('line', {
        class: cls, 'data-from': e.from, 'data-to': e.to, x1, y1: y, x2: x2 + (x2 > x1 ? -1 : 1), y2: y,
        stroke: s.color, 'stroke-width': s.width, 'stroke-dasharray': s.dash, 'marker-end': `url(#arrow-${e.style})`,
      }));
      if (e.style === 'refused') body.push(text(x2 + (x2 > x1 ? 4 : -12), y + 4, '✗', { fill: s.color, 'font-weight': 'bold' }));
      const w = textWidth(e.label, 11);
      const lo = Math.min(x1, x2);
      const span = Math.abs(x2 - x1);
      const lx = w + 8 <= span ? lo + span / 2 : lo + 6;
      body.push(text(lx, y - 4, e.label, { 'text-anchor': w + 8 <= span ? 'middle' : 'start', 'font-size': 11, fill: s.color }));
      maxX = Math.max(maxX, lo + 6 + w);
    } else {
      const s = NOTE[e.style];
      const cx = x(e.on);
      const w = textWidth(e.label, 11) + 12;
      // Notes grow towards the middle of the picture, so that the outer columns' stay inside it.
      const idx = d.lifelines.findIndex((l) => l.id === e.on);
      const right = idx < d.lifelines.length / 2;
      // They keep clear of the lifeline's right side, where the RC and hold bars are.
      const bx = right ? cx + 14 : cx - 1 - w;
      body.push(el('g', { class: `note note-${e.style}`, 'data-on': e.on }, [
        el('rect', { x: bx, y: y - 9, width: w, height: 18, rx: 3, fill: s.fill, stroke: s.stroke }),
        text(bx + 6, y + 4, e.label, { 'font-size': 11 }),
      ]));
      maxX = Math.max(maxX, bx + w);
    }
  }

  // Legend and footnotes.
  let ly = bottom + 26;
  const legend: [MessageStyle, string][] = [['dns', 'DNS'], ['dns-retry', 'retry (DNS: new id; TCP: SYN again)'], ['nts', 'NTS request/response'], ['packet', 'data packet'], ['refused', 'refused / reset']];
  let lx = 12;
  for (const [k, label] of legend) {
    const s = MSG[k];
    body.push(el('line', { x1: lx, y1: ly, x2: lx + 34, y2: ly, stroke: s.color, 'stroke-width': s.width, 'stroke-dasharray': s.dash, 'marker-end': `url(#arrow-${k})` }));
    body.push(text(lx + 40, ly + 4, label, { 'font-size': 11 }));
    lx += 52 + textWidth(label, 11);
  }
  body.push(el('rect', { x: lx, y: ly - 7, width: 7, height: 14, fill: '#fff0a8', stroke: '#b59a00' }), text(lx + 12, ly + 4, 'RC alive', { 'font-size': 11 }));
  lx += 74;
  body.push(el('rect', { x: lx, y: ly - 7, width: 7, height: 14, fill: 'url(#hatch)', stroke: '#d9730d' }), text(lx + 12, ly + 4, 'hold (paper 3.5)', { 'font-size': 11 }));
  lx += 120;
  maxX = Math.max(maxX, lx);
  for (const f of d.footnotes ?? []) {
    ly += 16;
    body.push(text(12, ly, f, { 'font-size': 11, fill: '#555' }));
    maxX = Math.max(maxX, 12 + textWidth(f, 11));
  }
  return svgDocument(Math.ceil(maxX + 16), Math.ceil(ly + 16), d.title, body);
}

/** A head's detail as lines that fit the column: split at " + ", each cut with an ellipsis. */
function detailLines(detail: string | undefined): string[] {
  if (!detail) return [];
  const fit = Math.floor((COL - 14) / 5.2); // 31 characters: "198.51.100.53 (Unbound 1.17.1)" fits
  return detail.split(' + ').slice(0, MAX_DETAIL_LINES).map((x, i) => {
    const line = i > 0 ? `+ ${x}` : x;
    return line.length > fit ? `${line.slice(0, fit - 1)}…` : line;
  });
}

/** ms with one decimal below 100, whole above: the timeline's precision. */
export function fmtMs(ms: number): string {
  return Math.abs(ms) < 100 ? ms.toFixed(1) : ms.toFixed(0);
}
