// SIGHUP on the real server process: a new TSIG secret takes effect without a restart (same
// pid, the zone and an NTS lookup pending across the reload intact); a broken file and a
// changed `listen` are refused with one `reload-refused` line and the old configuration stays.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { baseConfig, digShort, HOST, run, startServer, waitFor, type RunResult, type ServerProc } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';
import { startFakeRouter, type FakeRouter } from './helpers/fake-router.js';
import type { IncomingRequest } from '../src/nts/index.js';

const ROUTER = '203.0.113.2';
const secret = (s: string) => Buffer.from(s.padEnd(32, '.')).toString('base64');
const OLD = { name: 'host-key.', algorithm: 'hmac-sha256', secret: secret('old-secret'), allow: ['*.home.example.'] };
const NEW = { ...OLD, secret: secret('new-secret') };

describe('server: reload on SIGHUP', () => {
  let srv: ServerProc;
  let router: FakeRouter;
  const held: IncomingRequest[] = [];
  before(async () => {
    router = await startFakeRouter((req) => { held.push(req); return undefined; });
    const cfg = baseConfig({ tsig: [OLD], routers: [router.entry([ROUTER])] });
    cfg.zone.records = [...cfg.zone.records!, `alice.home.example. 60 IN A ${ROUTER}`];
    // Long patience: the lookup stays pending while the test reloads.
    cfg.nts = { resolverPatienceMs: 8000, fingerprint: false };
    srv = await startServer(undefined, { config: cfg });
  });
  after(async () => {
    await srv?.dispose();
    await router?.close();
  });

  const nsupdate = (k: typeof OLD, name: string): Promise<RunResult> =>
    run('nsupdate', ['-t', '5', '-u', '1', '-y', `${k.algorithm}:${k.name}:${k.secret}`],
      [`server ${HOST} ${srv.port}`, 'zone home.example.', `update add ${name} 60 IN A 192.0.2.9`, 'send', ''].join('\n'));
  /** The file as the helper wrote it (a comment line, then JSON), changed by `edit`. */
  const rewrite = (edit: (c: Record<string, any>) => void) => {
    const c = JSON.parse(readFileSync(srv.configFile, 'utf8').replace(/^#.*\n/, ''));
    edit(c);
    writeFileSync(srv.configFile, `${JSON.stringify(c, null, 2)}\n`);
  };
  const events = (name: string) => srv.events().filter((e) => e.event === name);
  /** Sends SIGHUP and waits for the n-th reloaded or reload-refused line. */
  const hup = async () => {
    const n = events('reloaded').length + events('reload-refused').length;
    process.kill(srv.pid()!, 'SIGHUP');
    await waitFor('reload outcome', () => events('reloaded').length + events('reload-refused').length > n);
  };

  test('a new TSIG secret: old refused, new accepted; same pid, zone and a pending lookup intact', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const pid = srv.pid();
    const r0 = await nsupdate(NEW, 'too-early.home.example.');
    assert.notEqual(r0.code, 0, `the new secret is not known before the reload:\n${r0.output}`);
    const before1 = await nsupdate(OLD, 'before.home.example.');
    assert.equal(before1.code, 0, before1.output);

    // A lookup of an NTS-managed name, held by the router across the reload.
    const lookup = digShort(srv.port, 'alice.home.example.', 'A', ['+tcp', '+time=10', '+tries=1']);
    await waitFor('the NTS request', () => held.length === 1, 5000);

    rewrite((c) => { c.tsig = [NEW]; c.nts.enCacheMs = 30_000; });
    await hup();
    const ok = events('reloaded').at(-1)!;
    assert.match(String(ok.changed), /tsig/);
    assert.match(String(ok.changed), /nts\.enCacheMs/);
    assert.doesNotMatch(JSON.stringify(ok), /new-secret|bmV3LXNlY3JldC/, 'never a secret in the log');

    router.respond(held[0]!.requestId, { status: 'READY', answerAddress: ROUTER, rcId: 1, rcLifetimeMs: 3000 });
    assert.deepEqual(await lookup, [ROUTER], 'the lookup pending across the reload is answered');

    const withOld = await nsupdate(OLD, 'old.home.example.');
    assert.notEqual(withOld.code, 0, `the old secret must be refused:\n${withOld.output}`);
    assert.match(withOld.output, /BADSIG|NOTAUTH|tsig verify failure/i, withOld.output);
    const withNew = await nsupdate(NEW, 'new.home.example.');
    assert.equal(withNew.code, 0, `the new secret must be accepted:\n${withNew.output}`);
    assert.deepEqual(await digShort(srv.port, 'new.home.example.'), ['192.0.2.9']);
    assert.deepEqual(await digShort(srv.port, 'before.home.example.'), ['192.0.2.9'], 'the zone survived the reload');
    assert.equal(srv.pid(), pid, 'no restart');
  });

  test('a broken file: one reload-refused line naming it, the old configuration stays', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const refusedBefore = events('reload-refused').length;
    writeFileSync(srv.configFile, 'tsig: [ {name: "host-key."\n');
    await hup();
    const refused = events('reload-refused').slice(refusedBefore);
    assert.equal(refused.length, 1, JSON.stringify(refused));
    assert.equal(refused[0]!.file, srv.configFile);
    assert.match(String(refused[0]!.expected), /invalid YAML/);
    const r = await nsupdate(NEW, 'after-broken.home.example.');
    assert.equal(r.code, 0, `the last good key still works:\n${r.output}`);
  });

  test('a changed listen address is refused by name; a bad value names its key', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    writeFileSync(srv.configFile, `${JSON.stringify({ ...baseConfig({ tsig: [OLD] }), listen: [`${HOST}:1`], storage: './ntss.db' })}\n`);
    await hup();
    const r1 = events('reload-refused').at(-1)!;
    assert.equal(r1.key, 'listen');
    assert.match(String(r1.expected), /cannot change on reload; restart/);

    rewrite((c) => { c.listen = [`${HOST}:${srv.port}`]; c.rrl = { slip: 99 }; });
    await hup();
    const r2 = events('reload-refused').at(-1)!;
    assert.equal(r2.key, 'rrl.slip');
    const r = await nsupdate(NEW, 'still-new.home.example.');
    assert.equal(r.code, 0, `refused reloads changed nothing:\n${r.output}`);
  });
});
