// The latency breakdown as a picture: one horizontal bar per lookup kind and run, its stages'
// medians laid end to end in order (ms; the bar's length is their sum, not the median total), so the NTS step's extra stages stand out against the
// plain lookup's bar. Written with src/svg/svg.ts; readable in any browser.
import { el, escapeXml, svgDocument, text } from '../svg/svg.js';
import type { Breakdown } from './latency-stages.js';

export interface BarRun {
  /** e.g. "this, RTT +0 ms". */
  label: string;
  breakdown: Breakdown;
}

/** Stage id -> colour: the NTS-only stages warm, the shared ones grey/blue. */
const COLOURS: Record<string, string> = {
  'en-to-server': '#9ecae1', 'server-tc': '#fdae6b', 'resolver-tcp': '#fdd0a2', 'server-request': '#e6550d',
  'net-request': '#fd8d3c', router: '#a63603', 'net-ready': '#fd8d3c', 'server-answer': '#e6550d',
  'server-plain': '#3182bd', 'server-to-en': '#c6dbef', 'en-syn': '#bdbdbd', 'net-syn': '#d9d9d9',
  dnat: '#969696', 'lan-syn': '#d9d9d9', handshake: '#737373',
};

export function breakdownSvg(runs: readonly BarRun[], title: string): string {
  const bars = runs.flatMap((r) => (['nts', 'plain'] as const).map((kind) => ({
    label: `${r.label}, ${kind === 'nts' ? 'NTS-managed' : 'plain'}`,
    parts: r.breakdown.stages.map((s) => ({ id: s.id, label: s.label, ms: s[kind] })).filter((p): p is { id: string; label: string; ms: number } => p.ms !== undefined && p.ms > 0),
  })));
  const longest = Math.max(1, ...bars.map((b) => b.parts.reduce((x, p) => x + p.ms, 0)));
  const left = 250;
  const width = 900;
  const scale = (width - left - 60) / longest;
  const rowH = 26;
  const top = 40;
  const out: string[] = [text(10, 22, title, { 'font-size': 14, 'font-weight': 'bold' })];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    out.push(text(10, y + 15, b.label));
    let x = left;
    for (const p of b.parts) {
      const w = p.ms * scale;
      out.push(el('rect', { x, y, width: Math.max(w, 0.5), height: rowH - 8, fill: COLOURS[p.id] ?? '#cccccc', stroke: 'white', 'stroke-width': 0.5 },
        el('title', {}, escapeXml(`${p.label}: ${p.ms.toFixed(2)} ms`))));
      x += w;
    }
    out.push(text(x + 4, y + 14, `${b.parts.reduce((t, p) => t + p.ms, 0).toFixed(1)} ms`, { 'font-size': 11 }));
  });
  // Legend: every stage that appears, in order.
  const seen = new Map<string, string>();
  for (const b of bars) for (const p of b.parts) if (!seen.has(p.id)) seen.set(p.id, p.label);
  const ly = top + bars.length * rowH + 16;
  [...seen.entries()].forEach(([id, label], i) => {
    const x = 10 + (i % 2) * 440;
    const y = ly + Math.floor(i / 2) * 18;
    out.push(el('rect', { x, y, width: 12, height: 12, fill: COLOURS[id] ?? '#cccccc' }), text(x + 18, y + 10, label, { 'font-size': 11 }));
  });
  const height = ly + Math.ceil(seen.size / 2) * 18 + 10;
  return svgDocument(width, height, title, out);
}
