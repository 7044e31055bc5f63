// dataplane.svg: one line per comparison, each round's ratio A/B as a dot, the median of them
// as a bar, the target as a red tick, 1.0 as the grey axis. Log scale (0.25x .. 4x), so 0.5x and
// 2x sit equally far from parity. Written with the shared writer (src/svg/svg.ts).
const { el, text, svgDocument } = await import(new URL('../../dist/src/svg/svg.js', import.meta.url).href);

const NAMES = { tcp: 'TCP throughput', udp: 'UDP received', conn: 'connections/s' };

export function ratioPlot(comparisons, title) {
  const W = 760;
  const left = 290;
  const right = 30;
  const rowH = 26;
  const top = 40;
  const H = top + rowH * comparisons.length + 40;
  const lo = Math.log(0.25);
  const hi = Math.log(4);
  const x = (r) => left + ((Math.log(Math.min(4, Math.max(0.25, r))) - lo) / (hi - lo)) * (W - left - right);
  const body = [];
  for (const t of [0.25, 0.5, 1, 2, 4]) {
    body.push(el('line', { x1: x(t), x2: x(t), y1: top - 10, y2: H - 30, stroke: t === 1 ? '#888' : '#ddd', 'stroke-width': t === 1 ? 1.5 : 1 }));
    body.push(text(x(t), H - 14, `${t}x`, { 'text-anchor': 'middle', 'font-size': 11 }));
  }
  comparisons.forEach((c, i) => {
    const y = top + i * rowH + rowH / 2;
    body.push(text(left - 8, y + 4, `${c.a} / ${c.b}: ${NAMES[c.test] ?? c.test}`, { 'text-anchor': 'end', 'font-size': 12 }));
    if (Number.isFinite(c.target)) body.push(el('line', { x1: x(c.target), x2: x(c.target), y1: y - 9, y2: y + 9, stroke: '#c00', 'stroke-width': 2 }));
    for (const r of c.ratios) body.push(el('circle', { cx: x(r), cy: y, r: 3, fill: '#69c', 'fill-opacity': 0.7 }));
    if (Number.isFinite(c.medianRatio)) body.push(el('rect', { x: x(c.medianRatio) - 1.5, y: y - 8, width: 3, height: 16, fill: '#024' }));
  });
  body.push(text(left, 22, title, { 'font-size': 13 }));
  return svgDocument(W, H, title, body);
}
