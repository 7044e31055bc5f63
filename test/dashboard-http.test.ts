// The dashboard without a browser: a real router on loopback with `dashboard:` configured,
// spoken to over HTTP. The token (401 without it, the cookie after `?token=`), read-only,
// the strict CSP, the files served from the package (no CDN), the event stream (snapshot,
// then deltas with the lookup, its response and wait), the client limit, a token reload that
// ends sessions; and on the listener alone: heartbeats and the dropping of a client that
// does not read.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { test, type TestContext } from 'node:test';
import { parseRouterConfig, schedulerSection, type RouterConfig } from '../src/config/router-config.js';
import { authorize, queryToken, sessionValue, withoutToken, COOKIE_NAME } from '../src/dashboard/auth.js';
import { DashboardFeed } from '../src/dashboard/feed.js';
import { listenDashboard } from '../src/dashboard/http.js';
import { NtsUdpClient } from '../src/nts/index.js';
import { startRouter } from '../src/routerd/index.js';
import { memoryLogger } from '../src/util/log.js';
import { pickPort } from './helpers/server-proc.js';

const KEY = randomBytes(32);
const TOKEN = randomBytes(24).toString('base64'); // may hold "+" and "/": kept as typed
const T = { timeout: 30_000 };

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface SseEvent { event: string; data: any; at: number }

/** An event-stream client that collects parsed events; `next` waits for one that matches. */
function sse(port: number, headers: Record<string, string>) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let closed = false;
  let res!: http.IncomingMessage;
  const opened = new Promise<number>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/events', headers }, (r) => {
      res = r;
      let buf = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) events.push({ event, data: JSON.parse(data), at: Date.now() });
        }
      });
      r.on('close', () => (closed = true));
      resolve(r.statusCode!);
    });
    req.on('error', (e) => (closed ? undefined : reject(e)));
  });
  const until = async <X>(what: string, f: () => X | undefined, ms = 5000): Promise<X> => {
    const end = Date.now() + ms;
    for (;;) {
      const x = f();
      if (x !== undefined && x !== false) return x;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    events, comments, opened, until,
    get closed() { return closed; },
    get res() { return res; },
    close: () => res?.destroy(),
    items: () => events.flatMap((e) => (e.event === 'delta' ? e.data.items : e.event === 'snapshot' ? e.data.items : [])),
  };
}

function routerConfig(port: number, token = TOKEN, maxClients = 2): RouterConfig {
  return parseRouterConfig({
    id: 'gw1', key: KEY.toString('base64'),
    nts: { listen: '127.0.0.1:0' },
    globalAddresses: ['127.0.0.2'],
    phl: [{ name: 'alice.home.example.', address: '127.0.0.10' }],
    scheduler: { holdMs: 300 },
    dataplane: { type: 'userspace', ports: [`tcp/${port}`] },
    dashboard: { listen: '127.0.0.1:0', token, maxClients },
  });
}

async function start(t: TestContext) {
  const relay = await pickPort();
  const cfg = routerConfig(relay);
  const router = await startRouter(cfg, memoryLogger('debug'));
  t.after(() => router.close());
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  t.after(() => client.close());
  const ask = (fqdn: string) => client.request(
    { host: '127.0.0.1', port: router.nts.port }, { id: 'gw1', secret: KEY },
    { fqdn, qtype: 1, mode: 'any', resolver: { address: '127.0.0.1', port: 5353 }, leaseMs: 0 },
    { deadlineMs: Date.now() + 3000 },
  );
  assert.ok(router.dashboard, 'dashboard configured: the router says where it listens');
  return { router, ask, port: router.dashboard.port, cfg, relay };
}

/** The cookie the `?token=` visit sets, as a Cookie header. */
async function login(port: number): Promise<string> {
  const r = await get(port, `/?token=${encodeURIComponent(TOKEN)}`);
  assert.equal(r.status, 303);
  return String(r.headers['set-cookie']![0]).split(';')[0]!;
}

test('dashboard config: loopback or private only unless allowPublic; the token is a secret', () => {
  const base = { id: 'gw1', key: KEY.toString('base64'), nts: { listen: '127.0.0.1:0' }, globalAddresses: ['192.0.2.1'], dataplane: { type: 'userspace', ports: ['tcp/80'] } };
  const cfg = (dashboard: Record<string, unknown>) => () => parseRouterConfig({ ...base, dashboard }, 'r.yaml');
  for (const host of ['127.0.0.1', '192.168.1.1', '10.1.2.3', '172.20.0.1', '[::1]', '[fd00::1]']) {
    assert.doesNotThrow(cfg({ listen: `${host}:8080`, token: TOKEN }), host);
  }
  assert.throws(cfg({ listen: '192.0.2.1:8080', token: TOKEN }), /r\.yaml: dashboard\.listen: 192\.0\.2\.1 is not a loopback or private address .*dashboard\.allowPublic: true/);
  assert.throws(cfg({ listen: '0.0.0.0:8080', token: TOKEN }), /0\.0\.0\.0 is not a loopback or private address/);
  assert.doesNotThrow(cfg({ listen: '0.0.0.0:8080', token: TOKEN, allowPublic: true }));
  assert.throws(cfg({ listen: '127.0.0.1:8080' }), /dashboard\.token/);
  assert.throws(cfg({ listen: '127.0.0.1:8080', token: 'short' }), /dashboard\.token: expected a token of 22 to 256 characters/);
  assert.throws(cfg({ listen: '127.0.0.1:8080', token: 'has space and is long enough' }), /expected a token/);
  assert.throws(cfg({ listen: '127.0.0.1:8080', token: 'REPLACE-ME-with-your-own-token' }), /placeholder token/);
  assert.throws(cfg({ listen: '127.0.0.1:8080', token: Buffer.from('REPLACE-ME-0123456789abcdef').toString('base64') }), /placeholder token/);
  assert.throws(cfg({ listen: '127.0.0.1:8080', token: TOKEN, extra: 1 }), /dashboard/);
});

test('dashboard auth: token by header or query (a "+" stays), cookie with expiry, bound to the token', () => {
  assert.equal(queryToken('/?token=a+b%2Fc'), 'a+b/c');
  assert.equal(queryToken('/?x=1&token=%zz'), undefined);
  assert.equal(withoutToken('/?token=abc'), '/');
  assert.equal(withoutToken('/x?a=1&token=abc&b=2'), '/x?a=1&b=2');
  const now = 1_000_000;
  const tok = 'x'.repeat(30);
  assert.deepEqual(authorize({ url: '/' }, tok, now, 60_000), { ok: false, reason: 'no token' });
  assert.equal(authorize({ url: `/?token=${'y'.repeat(30)}` }, tok, now, 60_000).ok, false);
  assert.equal(authorize({ url: '/', authorization: `Bearer ${'x'.repeat(29)}` }, tok, now, 60_000).ok, false, 'a shorter token');
  const q = authorize({ url: `/?token=${tok}` }, tok, now, 60_000);
  assert.ok(q.ok && q.via === 'query');
  assert.match(q.setCookie!, new RegExp(`^${COOKIE_NAME}=\\d+\\.[\\w-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60$`));
  assert.ok(!q.setCookie!.includes(tok), 'the cookie is not the token');
  const cookie = q.setCookie!.split(';')[0]!;
  assert.deepEqual(authorize({ url: '/', cookie: `a=b; ${cookie}` }, tok, now + 59_999, 60_000), { ok: true, via: 'cookie', until: now + 60_000 });
  assert.equal(authorize({ url: '/', cookie }, tok, now + 60_000, 60_000).ok, false, 'expired');
  assert.equal(authorize({ url: '/', cookie }, 'z'.repeat(30), now, 60_000).ok, false, 'another token');
  const forged = `${COOKIE_NAME}=${now + 10 ** 9}.${sessionValue(tok, now + 60_000).split('.')[1]}`;
  assert.equal(authorize({ url: '/', cookie: forged }, tok, now, 60_000).ok, false, 'a longer expiry with the old MAC');
});

test('dashboard over HTTP: 401 without the token, the cookie after ?token=, read-only, CSP, own files', T, async (t) => {
  const { port } = await start(t);
  const none = await get(port, '/');
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Bearer/);
  assert.match(none.body, /unauthorized \(no token\)/);
  assert.equal((await get(port, '/events')).status, 401);
  assert.equal((await get(port, '/state.json')).status, 401);
  assert.equal((await get(port, '/?token=wrong-token-of-enough-length')).status, 401);
  assert.equal((await get(port, '/', { authorization: 'Bearer wrong-token-of-enough-length' })).status, 401);
  assert.equal((await get(port, '/', { cookie: `${COOKIE_NAME}=1.abc` })).status, 401);

  const visit = await get(port, `/?token=${encodeURIComponent(TOKEN)}&view=1`);
  assert.equal(visit.status, 303);
  assert.equal(visit.headers.location, '/?view=1', 'the token leaves the address bar');
  const setCookie = String(visit.headers['set-cookie']![0]);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  const cookie = setCookie.split(';')[0]!;

  const page = await get(port, '/', { cookie });
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe/);
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  // Every script and stylesheet the page loads is one of the router's own paths.
  const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(refs.sort(), ['/app.css', '/app.js', '/uplot.css', '/uplot.js']);
  assert.doesNotMatch(page.body, /<script>|style="/, 'no inline script or style (the CSP would refuse them)');
  for (const p of refs) {
    const a = await get(port, p, { cookie });
    assert.equal(a.status, 200, p);
    assert.ok(a.body.length > 100, p);
  }
  assert.match((await get(port, '/uplot.js', { cookie })).body, /uPlot/);
  assert.match((await get(port, '/app.js', { cookie })).body, /new EventSource\('\/events'\)/);
  assert.equal((await get(port, '/nope', { cookie })).status, 404);
  for (const m of ['POST', 'PUT', 'DELETE']) {
    const r = await get(port, '/state.json', { cookie }, m);
    assert.equal(r.status, 405, m);
    assert.equal(r.headers.allow, 'GET, HEAD');
  }
  const head = await get(port, '/app.js', { cookie }, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  const bearer = await get(port, '/state.json', { authorization: `Bearer ${TOKEN}` });
  assert.equal(bearer.status, 200);
  assert.equal(JSON.parse(bearer.body).state.phl[0].name, 'alice.home.example.');
});

test('dashboard events: a snapshot, then deltas with the lookup, its response and wait, at most every ~250 ms', T, async (t) => {
  const { ask, port } = await start(t);
  const cookie = await login(port);
  const s = sse(port, { cookie });
  t.after(() => s.close());
  assert.equal(await s.opened, 200);
  const snap = await s.until('snapshot', () => s.events.find((e) => e.event === 'snapshot'));
  assert.equal(snap.data.state.id, 'gw1');
  assert.equal(snap.data.state.queueLength, 0);
  assert.deepEqual(snap.data.state.rcs, []);

  assert.equal((await ask('alice.home.example.')).status, 'READY');
  assert.equal((await ask('nobody.home.example.')).status, 'UNKNOWN_HOST');
  const items = () => s.items();
  const lookup = await s.until('alice lookup', () => items().find((x: any) => x.kind === 'lookup' && x.fqdn === 'alice.home.example.'));
  assert.equal(lookup.resolver, '127.0.0.1');
  const ready = await s.until('alice READY', () => items().find((x: any) => x.kind === 'response' && x.req === lookup.req));
  assert.equal(ready.status, 'READY');
  assert.equal(ready.address, '127.0.0.2');
  assert.ok(ready.waitMs >= 0 && ready.waitMs < 3000, `wait ${ready.waitMs}`);
  assert.ok(items().some((x: any) => x.kind === 'rc' && x.event === 'created' && x.fqdn === 'alice.home.example.' && x.req === lookup.req), 'the RC names the lookup');
  const refused = await s.until('UNKNOWN_HOST', () => items().find((x: any) => x.kind === 'response' && x.status === 'UNKNOWN_HOST'));
  assert.ok(refused.reason);
  const withState = await s.until('a delta with the RC', () => s.events.find((e) => e.event === 'delta' && e.data.state?.rcs.length === 1));
  assert.equal(withState.data.state.rcs[0].privateAddress, '127.0.0.10');
  assert.equal(withState.data.state.counters['respond.READY'], 1);
  const waits = s.events.flatMap((e) => (e.event === 'delta' ? e.data.waits : []));
  assert.deepEqual(waits.map((w: [number, number, string]) => w[2]).sort(), ['READY', 'UNKNOWN_HOST']);

  // Batching: a burst of lookups arrives in few deltas, spaced by the interval.
  const before = s.events.length;
  await Promise.all(Array.from({ length: 20 }, () => ask('nobody.home.example.')));
  await s.until('20 more refusals', () => items().filter((x: any) => x.kind === 'response' && x.status === 'UNKNOWN_HOST').length >= 21);
  const burst = s.events.slice(before);
  assert.ok(burst.length <= 6, `${burst.length} deltas for 20 lookups (40 items)`);
  // Spacing by the router's clock (`now` of each delta): the reader may get two in one read.
  const deltas = s.events.filter((e) => e.event === 'delta').map((e) => e.data.now as number);
  for (let i = 1; i < deltas.length; i++) assert.ok(deltas[i]! - deltas[i - 1]! >= 200, `deltas ${deltas[i]! - deltas[i - 1]!} ms apart`);

  // A second client starts from a snapshot that already holds the history.
  const s2 = sse(port, { cookie });
  t.after(() => s2.close());
  const snap2 = await s2.until('snapshot', () => s2.events.find((e) => e.event === 'snapshot'));
  assert.ok(snap2.data.items.some((x: any) => x.kind === 'lookup' && x.fqdn === 'alice.home.example.'));
  assert.ok(snap2.data.waits.length >= 22);
});

test('dashboard events: at most maxClients streams; a new token ends the sessions of the old one', T, async (t) => {
  const { router, port, cfg, relay } = await start(t);
  const cookie = await login(port);
  const a = sse(port, { cookie });
  const b = sse(port, { cookie });
  t.after(() => { a.close(); b.close(); });
  assert.equal(await a.opened, 200);
  assert.equal(await b.opened, 200);
  const c = await get(port, '/events', { cookie });
  assert.equal(c.status, 503);
  assert.match(c.body, /too many dashboard clients \(dashboard\.maxClients 2\)/);
  assert.equal(router.counters.get('dashboard.clients-refused'), 1);
  a.close();
  // The router sees the close a moment later: a closed stream frees its place.
  let d = sse(port, { cookie });
  for (let i = 0; i < 50 && (await d.opened) === 503; i++) {
    await new Promise((r) => setTimeout(r, 20));
    d = sse(port, { cookie });
  }
  t.after(() => d.close());
  assert.equal(await d.opened, 200, 'a closed stream frees its place');

  const next = { ...routerConfig(relay, randomBytes(24).toString('base64url')), nts: cfg.nts };
  const changed = router.reload(next);
  assert.ok(changed.includes('dashboard.token'), changed.join(','));
  await b.until('b ended', () => b.closed);
  await d.until('d ended', () => d.closed);
  assert.equal((await get(port, '/state.json', { cookie })).status, 401, 'the old session is void');
  assert.throws(() => router.reload({ ...next, dashboard: { ...next.dashboard!, maxClients: 9 } }), /dashboard\.maxClients: cannot change on reload/);
});

test('dashboard: a taken port stops the router\'s start with DASHBOARD_LISTEN, and nothing stays open', T, async (t) => {
  const taken = http.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const cfg = routerConfig(await pickPort());
  const nts = await pickPort();
  const bad = { ...cfg, nts: { ...cfg.nts, listen: { ...cfg.nts.listen, port: nts } }, dashboard: { ...cfg.dashboard!, listen: { host: '127.0.0.1', port, family: 4 as const } } };
  await assert.rejects(startRouter(bad, memoryLogger('debug')), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'DASHBOARD_LISTEN');
    assert.match(e.message, /dashboard\.listen/);
    return true;
  });
  // The NTS socket of the failed start is closed: a router can start on the same port.
  const ok = await startRouter({ ...bad, dashboard: { ...bad.dashboard, listen: { host: '127.0.0.1', port: 0, family: 4 } } }, memoryLogger('debug'));
  t.after(() => ok.close());
  assert.equal(ok.nts.port, nts);
});

test('dashboard listener: heartbeats when quiet; a client that does not read is dropped, not buffered', T, async (t) => {
  const feed = new DashboardFeed({ batch: 100_000 });
  const l = await listenDashboard(
    { listen: { host: '127.0.0.1', port: 0 }, maxClients: 4, sessionMs: 60_000, intervalMs: 50, heartbeatMs: 200, maxBufferedBytes: 64 * 1024 },
    { feed, token: () => TOKEN, state: () => ({ ok: true }) }, memoryLogger('debug'),
  );
  t.after(() => l.close());
  const auth = { authorization: `Bearer ${TOKEN}` };
  const quiet = sse(l.address.port, auth);
  t.after(() => quiet.close());
  await quiet.opened;
  await quiet.until('two heartbeats', () => quiet.comments.filter((c) => c.startsWith(': heartbeat')).length >= 2 || undefined, 3000);
  assert.equal(quiet.events.filter((e) => e.event === 'delta').length, 0, 'nothing happened: no delta');
  quiet.close();

  // A client that stops reading: the router keeps writing deltas until its unsent bytes pass the bound.
  const slow = sse(l.address.port, auth);
  await slow.opened;
  await slow.until('clients 1', () => l.clients === 1 || undefined);
  slow.res.pause();
  const res = { status: 'UNKNOWN_HOST' as const, reason: 'x'.repeat(200) };
  const end = Date.now() + 10_000;
  while (l.clients > 0 && Date.now() < end) {
    feed.responded(Array.from({ length: 2000 }, (_, i) => `gw1 ${i}`), res, [], Date.now());
    await new Promise((r) => setTimeout(r, 60));
  }
  assert.equal(l.clients, 0, 'the client that did not read was dropped');
  assert.equal(l.counters()['clients-dropped-slow'], 1);
  const ok = sse(l.address.port, auth);
  t.after(() => ok.close());
  assert.equal(await ok.opened, 200, 'others are still served');
});

test('dashboard listener: an event stream ends with the session that opened it', T, async (t) => {
  const feed = new DashboardFeed({ batch: 100_000 });
  const l = await listenDashboard(
    { listen: { host: '127.0.0.1', port: 0 }, maxClients: 4, sessionMs: 300, intervalMs: 50, heartbeatMs: 200, maxBufferedBytes: 64 * 1024 },
    { feed, token: () => TOKEN, state: () => ({ ok: true }) }, memoryLogger('debug'),
  );
  t.after(() => l.close());
  const s = sse(l.address.port, { authorization: `Bearer ${TOKEN}` });
  t.after(() => s.close());
  assert.equal(await s.opened, 200);
  await s.until('clients 1', () => l.clients === 1 || undefined);
  await s.until('the session ended', () => l.clients === 0 || undefined, 3000);
  assert.equal(l.counters()['clients-session-ended'], 1);
});
