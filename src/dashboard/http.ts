// The dashboard's listener (`dashboard.listen`): the page, its files, `/state.json` and the
// server-sent events at `/events`. Read-only (GET and HEAD), every path behind the token
// (auth.ts), a strict Content-Security-Policy, a bounded number of event clients; a client
// that falls behind (its unsent bytes pass a bound) is dropped rather than buffered.
import http from 'node:http';
import { listenError } from '../dataplane/errors.js';
import { formatHostPort } from '../util/addr.js';
import { Counters } from '../util/counters.js';
import { NtssError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { loadAssets } from './assets.js';
import { authorize, withoutToken } from './auth.js';
import type { DashboardFeed } from './feed.js';
import { DASHBOARD_DEFAULTS } from '../config/dashboard-config.js';

export interface DashboardSource {
  feed: DashboardFeed;
  /** The tables (PHL, queue, RCs, leases, mappings, refusals) as JSON-able data. */
  state(now: number): unknown;
  /** The token in force (a reload may change it). */
  token(): string;
}

export interface DashboardOptions {
  listen: { host: string; port: number };
  maxClients: number;
  sessionMs: number;
  intervalMs?: number;
  heartbeatMs?: number;
  maxBufferedBytes?: number;
}

export interface DashboardListener {
  readonly address: { host: string; port: number };
  /** Event-stream clients connected now. */
  readonly clients: number;
  /** Clients accepted, refused (maxClients), dropped for falling behind; unauthorized requests; deltas sent. */
  counters(): Record<string, number>;
  /** Ends every event stream (a new token: their sessions are void). */
  dropClients(): void;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

export async function listenDashboard(o: DashboardOptions, src: DashboardSource, log: Logger, now: () => number = Date.now): Promise<DashboardListener> {
  const assets = loadAssets();
  const intervalMs = o.intervalMs ?? DASHBOARD_DEFAULTS.intervalMs;
  const heartbeatMs = o.heartbeatMs ?? DASHBOARD_DEFAULTS.heartbeatMs;
  const maxBuffered = o.maxBufferedBytes ?? DASHBOARD_DEFAULTS.maxBufferedBytes;
  const counters = new Counters();
  /** Each open event stream, and when its session ends. */
  const sessionEnds = new Map<http.ServerResponse, number>();
  const clients = new Set<http.ServerResponse>();

  const plain = (res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}) =>
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', ...extra }).end(`${text}\n`);

  /** Writes one event; false (and the client gone) when it has fallen behind. */
  const send = (res: http.ServerResponse, text: string): boolean => {
    if (res.writableLength > maxBuffered) {
      counters.inc('clients-dropped-slow');
      log.warn('dashboard-client-dropped', { reason: `more than ${maxBuffered} bytes unsent` });
      res.destroy();
      return false;
    }
    res.write(text);
    return true;
  };
  const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

  const stream = (req: http.IncomingMessage, res: http.ServerResponse, headers: Record<string, string>, until: number) => {
    if (clients.size >= o.maxClients) {
      counters.inc('clients-refused');
      plain(res, 503, `too many dashboard clients (dashboard.maxClients ${o.maxClients})`, { 'retry-after': '10' });
      return;
    }
    req.socket.setNoDelay(true);
    res.writeHead(200, { ...SECURITY_HEADERS, ...headers, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    clients.add(res);
    sessionEnds.set(res, until);
    src.feed.listening = true;
    counters.inc('clients-accepted');
    res.on('close', () => {
      clients.delete(res);
      sessionEnds.delete(res);
      if (clients.size === 0) src.feed.listening = false;
    });
    const t = now();
    send(res, `retry: 2000\n${event('snapshot', { now: t, state: src.state(t), ...src.feed.snapshot() })}`);
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'method not allowed: the dashboard is read-only', { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS).end(); // none: spares the browser a 404 in its console
      return;
    }
    const auth = authorize({ url, authorization: req.headers.authorization, cookie: req.headers.cookie }, src.token(), now(), o.sessionMs);
    if (!auth.ok) {
      counters.inc('unauthorized');
      plain(res, 401, `unauthorized (${auth.reason}): open the dashboard as /?token=TOKEN, or send "Authorization: Bearer TOKEN"`, { 'www-authenticate': 'Bearer realm="ntss dashboard"' });
      return;
    }
    const cookie: Record<string, string> = auth.setCookie ? { 'set-cookie': auth.setCookie } : {};
    if (auth.via === 'query' && path === '/') {
      // The token leaves the address bar (and the history) at once; the cookie carries on.
      res.writeHead(303, { ...SECURITY_HEADERS, ...cookie, location: withoutToken(url) }).end();
      return;
    }
    if (path === '/events') {
      if (req.method === 'HEAD') res.writeHead(200, { ...SECURITY_HEADERS, ...cookie, 'content-type': 'text/event-stream; charset=utf-8' }).end();
      else stream(req, res, cookie, auth.until);
      return;
    }
    if (path === '/state.json') {
      const t = now();
      res.writeHead(200, { ...SECURITY_HEADERS, ...cookie, 'content-type': 'application/json' })
        .end(req.method === 'HEAD' ? undefined : JSON.stringify({ now: t, state: src.state(t), ...src.feed.snapshot() }));
      return;
    }
    const a = assets.get(path);
    if (!a) {
      plain(res, 404, 'not found', cookie);
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, ...cookie, 'content-type': a.type, 'content-length': String(a.body.length) }).end(req.method === 'HEAD' ? undefined : a.body);
  });
  // Like /metrics: a client that never finishes its request must not hold a socket. The event
  // streams are responses, which these do not limit.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxConnections = o.maxClients + 32;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new NtssError('DASHBOARD_LISTEN', listenError(e, 'tcp', o.listen.host, o.listen.port, 'dashboard.listen').message)));
    server.listen(o.listen.port, o.listen.host, () => resolve());
  });

  // One timer for every client: a delta when something happened, else a heartbeat now and then.
  let quietSince = now();
  const timer = setInterval(() => {
    if (clients.size === 0) {
      src.feed.take(); // nothing is kept for nobody
      return;
    }
    const d = src.feed.take();
    const t = now();
    // A stream lives no longer than the session that opened it: the browser reconnects and meets 401.
    for (const [c, end] of sessionEnds) {
      if (end <= t) {
        counters.inc('clients-session-ended');
        c.destroy();
      }
    }
    let text: string | undefined;
    if (d) {
      text = event('delta', { now: t, items: d.items, waits: d.waits, lost: d.lost, ...(d.changed ? { state: src.state(t) } : {}) });
      counters.inc('deltas');
    } else if (t - quietSince >= heartbeatMs) {
      text = `: heartbeat ${t}\n\n`;
    }
    if (text === undefined) return;
    quietSince = t;
    for (const c of clients) send(c, text);
  }, intervalMs);
  timer.unref();

  const a = server.address() as { address: string; port: number };
  log.info('dashboard-listening', { listen: formatHostPort({ host: a.address, port: a.port }), maxClients: o.maxClients });
  return {
    address: { host: a.address, port: a.port },
    get clients() {
      return clients.size;
    },
    counters: () => counters.snapshot(),
    dropClients() {
      for (const c of clients) c.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      clearInterval(timer);
      for (const c of clients) c.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
