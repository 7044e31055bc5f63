// The page's files, read once at start: the HTML and CSS (here), the browser code compiled
// from client/app.ts (beside this file in dist/), and uPlot's build from node_modules. The
// router serves all of them itself: the page loads nothing from anywhere else.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NtssError } from '../util/errors.js';

export interface Asset {
  type: string;
  body: Buffer;
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>ntss router</title>
<link rel="stylesheet" href="/uplot.css">
<link rel="stylesheet" href="/app.css">
<script src="/uplot.js" defer></script>
<script src="/app.js" type="module"></script>
</head>
<body>
<header>
  <h1>ntss router <span id="router-id"></span></h1>
  <span id="conn" class="conn" data-state="connecting">connecting</span>
</header>
<section id="summary" class="summary"></section>
<main>
  <section class="wide"><h2>Lookups</h2><p class="note" id="lost"></p><table id="timeline"></table></section>
  <section class="wide"><h2>Waits (request to response)</h2><div id="chart"></div></section>
  <section><h2>Reachability contexts</h2><table id="rcs"></table></section>
  <section><h2>Mappings</h2><table id="mappings"></table></section>
  <section><h2>Answer leases</h2><table id="leases"></table></section>
  <section><h2>Private host list</h2><table id="phl"></table></section>
  <section><h2>Recent refusals</h2><table id="refusals"></table></section>
  <section><h2>Alerts</h2><table id="alerts"></table></section>
</main>
</body>
</html>
`;

const APP_CSS = `
:root { --fg: #1d2733; --muted: #64707d; --line: #d9dee4; --ok: #1a7f37; --bad: #b42318; --warn: #9a6700; font-family: system-ui, sans-serif; color: var(--fg); }
body { margin: 0 1.5rem 2rem; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.3rem; margin: 1rem 0 .5rem; }
h2 { font-size: 1rem; margin: 1rem 0 .3rem; }
.conn { font-size: .85rem; padding: .1rem .5rem; border-radius: .6rem; background: #eee; }
.conn[data-state="live"] { background: #dafbe1; color: var(--ok); }
.conn[data-state="closed"] { background: #ffebe9; color: var(--bad); }
.summary { display: flex; gap: 1.5rem; flex-wrap: wrap; font-size: .95rem; }
.summary b { font-size: 1.3rem; display: block; }
section { overflow-x: auto; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(28rem, 1fr)); gap: 0 2rem; }
.wide { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .15rem .5rem .15rem 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.empty { color: var(--muted); font-style: italic; }
.s-READY { color: var(--ok); font-weight: 600; }
.s-refused { color: var(--bad); font-weight: 600; }
.s-waiting { color: var(--warn); }
.note { color: var(--warn); font-size: .85rem; margin: 0; }
#timeline { display: block; max-height: 22rem; overflow-y: auto; }
`;

const here = dirname(fileURLToPath(import.meta.url));

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new NtssError('DASHBOARD_ASSET', `cannot read the dashboard's ${what} (${file}): ${(e as Error).message}; is the package complete (npm ci)?`);
  }
}

/** Path -> file, for the HTTP adapter; throws DASHBOARD_ASSET when a file is missing. */
export function loadAssets(): Map<string, Asset> {
  const req = createRequire(import.meta.url);
  const uplot = dirname(req.resolve('uplot')); // node_modules/uplot/dist
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  return new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', body: Buffer.from(INDEX_HTML) }],
    ['/app.css', { type: css, body: Buffer.from(APP_CSS) }],
    ['/app.js', { type: js, body: read(join(here, 'client', 'app.js'), 'page code') }],
    ['/uplot.js', { type: js, body: read(join(uplot, 'uPlot.iife.min.js'), 'chart library') }],
    ['/uplot.css', { type: css, body: read(join(uplot, 'uPlot.min.css'), 'chart styles') }],
  ]);
}
