// One lookup followed by its request id through both daemons' JSON logs (issue 10 §1): the real
// `ntss server` (child process, --log-format json), the router daemon with its userspace relay
// (JSON log to memory), dig as the resolver, an EN connecting. Then `ntss logs follow` (the real
// CLI) and the jq one-liner of docs/operations.md on the two log files.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseRouterConfig } from '../src/config/router-config.js';
import { follow } from '../src/logs/follow.js';
import { startRouter } from '../src/routerd/index.js';
import { createLogger } from '../src/util/log.js';
import { baseConfig, dig, MAIN_JS, parseDig, run, startServer, waitFor } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';

const GA = '127.0.0.2';
const ALICE = '127.0.0.10';
const EN = '127.0.0.41';
const KEY = randomBytes(32);

/** The documented one-liner (docs/operations.md), with the id as an argument. */
const JQ = 'map(select(.req // "" | split(",") | index($id))) | sort_by(.time) | .[] | "\\(.time) \\(.event) \\(.)"';

test('one request id follows a lookup: query held -> NTS request -> RC -> READY -> answer -> mapping, across both logs', { timeout: 30_000 }, async (t) => {
  if (!needTools(t, 'dig', 'jq')) return;
  const dir = mkdtempSync(join(tmpdir(), 'ntss-logs-follow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const alice = net.createServer((s) => {
    s.on('error', () => {});
    s.end('hello from alice');
  });
  await new Promise<void>((r) => alice.listen(0, ALICE, () => r()));
  t.after(() => new Promise<void>((r) => alice.close(() => r())));
  const port = (alice.address() as net.AddressInfo).port;

  const routerLines: string[] = [];
  const router = await startRouter(parseRouterConfig({
    id: 'gw1', key: KEY.toString('base64'), nts: { listen: '127.0.0.1:0' }, globalAddresses: [GA],
    phl: [{ name: 'alice.home.example.', address: ALICE }],
    scheduler: { holdMs: 200, rcTimeoutMs: 2000 },
    dataplane: { type: 'userspace', ports: [`tcp/${port}`] },
  }), createLogger({ format: 'json', level: 'info', write: (l) => routerLines.push(l) }));
  t.after(() => router.close());

  const config = baseConfig({
    routers: [{ id: 'gw1', addresses: [GA], nts: `127.0.0.1:${router.nts.port}`, key: KEY.toString('base64') }],
    resolvers: [{ prefixes: ['127.0.0.0/8'], profile: 'unbound' }],
    nts: { enCacheMs: 0 },
  });
  config.zone.records!.push(`alice.home.example. 300 IN A ${GA}`);
  const srv = await startServer(t, { config });

  // One lookup (over TCP: verified at once, one query held), one connection, the RC's end.
  const r = parseDig((await dig(srv.port, ['+tcp', 'alice.home.example.', 'A'])).stdout);
  assert.deepEqual(r.answer.map((a) => a.rdata), [GA], r.raw);
  const got = await new Promise<string>((resolve) => {
    let s = '';
    const c = net.connect({ host: GA, port, localAddress: EN });
    c.on('data', (d) => (s += d.toString()));
    c.on('end', () => resolve(s));
    c.on('error', (e) => resolve(`error:${(e as NodeJS.ErrnoException).code}`));
  });
  assert.equal(got, 'hello from alice');
  await waitFor('the RC to go after its hold', () => routerLines.some((l) => l.includes('"rc-removed"')), 5000);
  await srv.waitForEvent((e) => e.event === 'nts-answer');

  const held = srv.events().filter((e) => e.event === 'nts-held');
  assert.equal(held.length, 1, 'one query held');
  const id = held[0]!.req as string;
  assert.match(id, /^[0-9a-f]{16}$/);
  const serverFile = join(dir, 'server.log');
  const routerFile = join(dir, 'router.log');
  writeFileSync(serverFile, srv.stderrLines.join('\n') + '\n');
  writeFileSync(routerFile, routerLines.join('\n') + '\n');

  const chain = follow(id, srv.stderrLines.join('\n'), routerLines.join('\n'));
  // rc-active (the kernel's activation time) is logged after the READY left: its place among the
  // server's lines depends on the clock's millisecond, so it is checked on its own.
  const active = chain.filter((c) => c.line.event === 'rc-active');
  assert.equal(active.length, 1, 'one rc-active line');
  assert.equal(typeof active[0]!.line.dataplaneMs, 'number');
  const steps = chain.filter((c) => c.line.event !== 'rc-active').map((c) => `${c.daemon} ${c.line.event}`);
  // The lookup's chain, in order; after it the RC's end and the flow's lines (their order is the relay's timing).
  assert.deepEqual(steps.slice(0, 8), [
    'server nts-held', 'server nts-request', 'router nts-request', 'router rc-created', 'router respond',
    'server nts-ready', 'server nts-answer', 'router mapping-created',
  ], steps.join('\n'));
  const rest = steps.slice(8);
  // mapping-opened repeats mapping-created and is debug; the flow's close carries its bytes.
  assert.ok(rest.includes('router mapping-closed') && !rest.includes('router mapping-opened'), steps.join('\n'));
  assert.ok(rest.indexOf('router rc-hold-started') >= 0 && rest.indexOf('router rc-hold-started') < rest.indexOf('router rc-removed'), steps.join('\n'));
  assert.ok(rest.every((x) => x.startsWith('router ')), steps.join('\n'));
  const by = (daemon: string, event: string) => chain.find((c) => c.daemon === daemon && c.line.event === event)!.line;
  assert.equal(by('router', 'respond').status, 'READY');
  assert.equal(by('server', 'nts-answer').rcode, 'NOERROR');
  assert.equal(by('server', 'nts-answer').address, GA);
  assert.equal(by('server', 'nts-answer').resolver, by('server', 'nts-held').resolver, 'the answer went to the resolver whose query was held');
  assert.equal(by('router', 'mapping-created').rc, by('router', 'rc-created').rc, 'the mapping came through the lookup\'s RC');
  assert.equal(by('server', 'nts-ready').rc, by('router', 'rc-created').rc);

  // The CLI prints the same chain; an id nobody logged: exit 1; a malformed one: usage error.
  const cli = await run('node', [MAIN_JS, 'logs', 'follow', id, '--server', serverFile, '--router', routerFile, '--json']);
  assert.equal(cli.code, 0, cli.output);
  assert.deepEqual(cli.stdout.trim().split('\n').map((l) => { const o = JSON.parse(l); return `${o.daemon} ${o.event}`; }).filter((x) => x !== 'router rc-active'), steps);
  const text = await run('node', [MAIN_JS, 'logs', 'follow', id, '--server', serverFile, '--router', routerFile]);
  assert.equal(text.code, 0, text.output);
  assert.match(text.stdout, new RegExp(`router +rc-created .*\\breq=${id} `));
  const none = await run('node', [MAIN_JS, 'logs', 'follow', '0123456789abcdef', '--server', serverFile, '--router', routerFile]);
  assert.equal(none.code, 1, none.output);
  assert.equal((await run('node', [MAIN_JS, 'logs', 'follow', 'nope', '--server', serverFile])).code, 2);
  const missing = await run('node', [MAIN_JS, 'logs', 'follow', id, '--server', join(dir, 'absent.log')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /absent\.log: ENOENT/);

  // The jq one-liner finds the same lines (in time order; lines of one millisecond may swap).
  const jq = await run('jq', ['-rs', '--arg', 'id', id, JQ, serverFile, routerFile]);
  assert.equal(jq.code, 0, jq.output);
  assert.deepEqual(jq.stdout.trim().split('\n').map((l) => l.split(' ')[1]).sort(), chain.map((c) => String(c.line.event)).sort());
});
