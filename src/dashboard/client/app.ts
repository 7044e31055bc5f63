// The dashboard page's code (runs in the browser; compiled with the rest, served as /app.js).
// One EventSource: a snapshot on connect, then deltas. Everything is written with textContent
// (names come from the network: never parsed as HTML). The chart is uPlot (/uplot.js, a global).
import type uPlot from 'uplot';
import type { FeedItem, WaitPoint } from '../feed.js';
import type { DashboardState } from '../state.js';

type Cell = string | number | undefined;

interface Lookup {
  req: string;
  at: number;
  fqdn: string;
  resolver: string;
  en?: string;
  status: string;
  waitMs?: number;
  address?: string;
  detail?: string;
  rc?: string;
  mapping?: string;
}

const MAX_ROWS = 200;
const MAX_POINTS = 500;
/** The chart shows at least this much time (s), ending at the newest point. */
const MIN_SPAN_S = 60;
const UPlot = (window as unknown as { uPlot: typeof uPlot }).uPlot;

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const lookups = new Map<string, Lookup>();
const alerts: FeedItem[] = [];
let waits: WaitPoint[] = [];
let chart: uPlot | undefined;
let lastState: DashboardState | undefined;
/** Router clock minus ours: countdowns use the router's time. */
let skewMs = 0;

function time(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function left(until: number): string {
  const s = (until - (Date.now() + skewMs)) / 1000;
  return s > 0 ? `${s.toFixed(1)} s` : 'ending';
}

/** Replaces a table's rows; `cls` gives a cell its class (status colours). */
function table(id: string, head: string[], rows: Cell[][], opts: { cls?: (row: Cell[], col: number) => string | undefined; key?: (row: Cell[]) => string } = {}): void {
  const t = $(id);
  const thead = document.createElement('tr');
  for (const h of head) {
    const th = document.createElement('th');
    th.textContent = h;
    thead.append(th);
  }
  const out: HTMLElement[] = [thead];
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = head.length;
    td.className = 'empty';
    td.textContent = 'none';
    tr.append(td);
    out.push(tr);
  }
  for (const r of rows) {
    const tr = document.createElement('tr');
    if (opts.key) tr.dataset.key = opts.key(r);
    r.forEach((c, i) => {
      const td = document.createElement('td');
      td.textContent = c === undefined ? '' : String(c);
      const cls = opts.cls?.(r, i);
      if (cls) td.className = cls;
      tr.append(td);
    });
    out.push(tr);
  }
  t.replaceChildren(...out);
}

const statusClass = (s: Cell): string | undefined =>
  s === 'READY' ? 's-READY' : s === 'waiting' || String(s).startsWith('queued') ? 's-waiting' : s ? 's-refused' : undefined;

function renderState(s: DashboardState): void {
  lastState = s;
  $('router-id').textContent = s.id;
  const c = s.counters;
  const refused = Object.entries(c).filter(([k]) => k.startsWith('respond.') && k !== 'respond.READY').reduce((a, [, v]) => a + v, 0);
  const facts: [string, Cell][] = [
    ['queue', s.queueLength], ['RCs', s.rcs.length], ['leases', s.leases.length], ['mappings', s.mappings], ['stickies', s.stickies],
    ['PHL', s.phl.length], ['lookups', c.requests ?? 0], ['READY', c['respond.READY'] ?? 0], ['refused', refused], ['resolvers', s.resolvers],
  ];
  $('summary').replaceChildren(...facts.map(([k, v]) => {
    const d = document.createElement('div');
    d.dataset.fact = k;
    const b = document.createElement('b');
    b.textContent = String(v);
    d.append(b, k);
    return d;
  }));
  table('rcs', ['RC', 'name', 'address', 'to', 'since', 'state'], s.rcs.map((r) => [
    r.id, r.fqdn, r.globalAddress, r.privateAddress, time(r.createdAt),
    r.releaseAt != null ? `hold, ${left(r.releaseAt)}` : r.firstPacketAt != null ? 'used' : `waiting, ${left(r.expiresAt)}`,
  ]));
  const more = s.mappings - s.mappingList.length;
  table('mappings', ['#', 'EN', 'proto', 'via', 'to', 'name', 'by', 'since'], [
    ...s.mappingList.map((m): Cell[] => [m.id, m.en, m.proto, m.via, m.to, m.fqdn, m.by, time(m.createdAt)]),
    ...(more > 0 ? [[`+${more} more`] as Cell[]] : []),
  ], { key: (r) => String(r[1]) });
  table('leases', ['lease', 'name', 'address', 'to', 'left'], s.leases.map((l) => [l.id, l.fqdn, l.globalAddress, l.privateAddress, left(l.until)]));
  table('phl', ['name', 'address', 'source', 'services'], s.phl.map((e) => [e.name, e.address, e.source, e.services.join(' ') || 'all']));
  table('refusals', ['at', 'status', 'reason', 'requests'], s.recentRefusals.slice().reverse().map((r) => [time(r.at), r.status, r.reason, r.requests]),
    { cls: (r, i) => (i === 1 ? statusClass(r[1]) : undefined) });
}

function lookupOf(req: string): Lookup | undefined {
  return lookups.get(req);
}

function apply(x: FeedItem): void {
  switch (x.kind) {
    case 'lookup':
      if (lookups.has(x.req)) break; // a retransmission of a request shown already
      lookups.set(x.req, { req: x.req, at: x.at, fqdn: x.fqdn, resolver: x.resolver, en: x.en, status: 'waiting' });
      if (lookups.size > MAX_ROWS) lookups.delete(lookups.keys().next().value!);
      break;
    case 'queued': {
      const l = lookupOf(x.req);
      if (l) l.status = `queued #${x.position}`;
      break;
    }
    case 'response': {
      const l = lookupOf(x.req);
      if (!l) break;
      l.status = x.status;
      l.waitMs = x.waitMs;
      l.address = x.address;
      l.detail = x.reason;
      if (x.rc !== undefined) l.rc = `${x.rc}`;
      break;
    }
    case 'rc':
    case 'mapping':
      for (const id of x.req?.split(',') ?? []) {
        const l = lookupOf(id);
        if (!l) continue;
        if (x.kind === 'rc') l.rc = `${x.rc} ${x.event}`;
        else if (x.event === 'created') {
          l.en = x.en;
          l.mapping = `${x.proto} ${x.en} -> ${x.to}`;
        } else l.mapping = `${x.proto} ${x.en} closed${x.reason ? ` (${x.reason})` : ''}`;
      }
      break;
    case 'alert':
      alerts.unshift(x);
      alerts.splice(50);
      break;
  }
}

function renderTimeline(): void {
  const rows = [...lookups.values()].reverse().map((l): Cell[] => [
    time(l.at), l.fqdn, l.resolver, l.en, l.status, l.waitMs === undefined ? undefined : `${l.waitMs} ms`, l.address ?? l.detail, l.rc, l.mapping, l.req,
  ]);
  table('timeline', ['at', 'name', 'resolver', 'EN', 'status', 'wait', 'address / reason', 'RC', 'mapping', 'request'], rows,
    { cls: (r, i) => (i === 4 ? statusClass(r[4]) : undefined), key: (r) => String(r[9]) });
  table('alerts', ['at', 'event', 'detail'], alerts.map((a) => (a.kind === 'alert' ? [time(a.at), a.event, a.detail] : [])));
}

function chartData(): uPlot.AlignedData {
  const xs = waits.map((w) => w[0] / 1000);
  const ready = waits.map((w) => (w[2] === 'READY' ? w[1] : null));
  const other = waits.map((w) => (w[2] !== 'READY' ? w[1] : null));
  return [xs, ready, other];
}

function renderChart(): void {
  const el = $('chart');
  const width = Math.max(300, el.clientWidth || 800);
  if (!chart) {
    const points = (stroke: string): uPlot.Series => ({ stroke, paths: () => null, points: { show: true, size: 6, fill: stroke } });
    chart = new UPlot({
      width, height: 220,
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(10, Math.ceil(max * 1.1))] },
      },
      axes: [{}, { label: 'ms', size: 60 }],
      series: [{}, { label: 'READY', ...points('#1a7f37') }, { label: 'refused', ...points('#b42318') }],
    }, chartData(), el);
  } else {
    if (chart.width !== width) chart.setSize({ width, height: 220 });
    chart.setData(chartData());
  }
  // A few points must not stretch the time axis over years: at least MIN_SPAN_S, ending at the newest.
  if (waits.length > 0) {
    const hi = waits[waits.length - 1]![0] / 1000 + 1;
    chart.setScale('x', { min: Math.min(waits[0]![0] / 1000, hi - MIN_SPAN_S), max: hi });
  }
}

function addWaits(ws: WaitPoint[]): void {
  waits = waits.concat(ws).slice(-MAX_POINTS);
}

function connect(): void {
  const conn = $('conn');
  const es = new EventSource('/events');
  const state = (s: string, text = s) => {
    conn.dataset.state = s;
    conn.textContent = text;
  };
  es.onopen = () => state('live');
  es.onerror = () => state(es.readyState === EventSource.CLOSED ? 'closed' : 'connecting', es.readyState === EventSource.CLOSED ? 'closed (reload the page with ?token=...)' : 'reconnecting');
  es.addEventListener('snapshot', (m) => {
    const d = JSON.parse((m as MessageEvent<string>).data) as { now: number; state: DashboardState; items: FeedItem[]; waits: WaitPoint[] };
    skewMs = d.now - Date.now();
    lookups.clear();
    alerts.length = 0;
    waits = [];
    d.items.forEach(apply);
    addWaits(d.waits);
    renderState(d.state);
    renderTimeline();
    renderChart();
    state('live');
  });
  es.addEventListener('delta', (m) => {
    const d = JSON.parse((m as MessageEvent<string>).data) as { now: number; state?: DashboardState; items: FeedItem[]; waits: WaitPoint[]; lost: number };
    skewMs = d.now - Date.now();
    d.items.forEach(apply);
    addWaits(d.waits);
    if (d.state) renderState(d.state);
    if (d.lost > 0) $('lost').textContent = `${d.lost} events at ${time(d.now)} were too many to send (a burst); the tables are exact`;
    renderTimeline();
    if (d.waits.length > 0) renderChart();
  });
}

connect();
// Countdowns (RC timeouts, holds, leases) move between deltas too.
setInterval(() => { if (lastState) renderState(lastState); }, 1000);
