// SIGHUP on the real `ntss router` process (userspace data plane on loopback): a PHL entry
// added by a reload resolves (NTS request -> READY) while an RC made before the reload still
// takes its EN to alice; a changed globalAddresses is refused with one line and nothing changes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NtsUdpClient, type NtsResult } from '../src/nts/index.js';
import { MAIN_JS, pickPort, waitFor } from './helpers/server-proc.js';

const KEY = randomBytes(32);
const GA = ['127.0.0.2', '127.0.0.3'];
const ALICE = '127.0.0.10';
const CAROL = '127.0.0.12';

/** A TCP service answering `name` to every connection. */
async function service(name: string, host: string, port: number): Promise<net.Server> {
  const s = net.createServer((c) => { c.on('error', () => {}); c.end(name); });
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, host, () => resolve()); });
  return s;
}

/** What an EN connecting to address:port reads. */
function read(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const s = net.connect({ host: address, port, localAddress: '127.0.0.30' });
    s.on('data', (d) => (data += d.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => (data += `error:${e.code}`));
    s.on('close', () => resolve(data));
  });
}

test('router: SIGHUP adds a PHL entry and changes policy; RCs survive; globalAddresses refused', { timeout: 30_000 }, async (t) => {
  const port = await pickPort();
  const servers = [await service('alice', ALICE, port), await service('carol', CAROL, port)];
  t.after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  const nts = await pickPort();
  const dir = mkdtempSync(join(tmpdir(), 'ntss-router-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'router.yaml');
  const base = {
    id: 'gw1', key: KEY.toString('base64'),
    nts: { listen: `127.0.0.1:${nts}` },
    globalAddresses: GA,
    phl: [{ name: 'alice.home.example.', address: ALICE }],
    scheduler: { holdMs: 200, rcTimeoutMs: 10_000, stickyMs: 0 },
    dataplane: { type: 'userspace', ports: [`tcp/${port}`] },
  };
  const write = (c: object) => writeFileSync(file, `${JSON.stringify(c, null, 2)}\n`); // JSON is YAML
  write(base);

  const child = spawn(process.execPath, [MAIN_JS, 'router', '--config', file, '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const events: Record<string, unknown>[] = [];
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      try { events.push(JSON.parse(buf.slice(0, i))); } catch { /* not a log line */ }
      buf = buf.slice(i + 1);
    }
  });
  const named = (e: string) => events.filter((x) => x.event === e);
  await waitFor('router-started', () => named('router-started').length === 1, 10_000);
  const hup = async () => {
    const n = named('reloaded').length + named('reload-refused').length;
    child.kill('SIGHUP');
    await waitFor('reload outcome', () => named('reloaded').length + named('reload-refused').length > n);
  };

  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  t.after(() => client.close());
  const ask = (fqdn: string): Promise<NtsResult> => client.request(
    { host: '127.0.0.1', port: nts }, { id: 'gw1', secret: KEY },
    { fqdn, qtype: 1, mode: 'any', resolver: { address: '127.0.0.1', port: 5353 } }, { deadlineMs: Date.now() + 3000 },
  );

  assert.equal((await ask('carol.home.example.')).status, 'UNKNOWN_HOST', 'carol is not in the PHL before the reload');
  const a = await ask('alice.home.example.');
  assert.equal(a.status, 'READY');
  const aliceAt = a.status === 'READY' ? a.answerAddress ?? '' : '';

  write({ ...base, phl: [...base.phl, { name: 'carol.home.example.', address: CAROL }], scheduler: { ...base.scheduler, stickyMs: 5000 } });
  await hup();
  const ok = named('reloaded').at(-1)!;
  assert.match(String(ok.changed), /phl/);
  assert.match(String(ok.changed), /scheduler\.stickyMs/);
  assert.doesNotMatch(JSON.stringify(ok), new RegExp(KEY.toString('base64').slice(0, 12)), 'never the key in the log');

  const c = await ask('carol.home.example.');
  assert.equal(c.status, 'READY', 'the entry added by the reload resolves');
  const carolAt = c.status === 'READY' ? c.answerAddress ?? '' : '';
  assert.notEqual(carolAt, aliceAt, 'alice\'s RC still holds its address');
  assert.equal(await read(aliceAt, port), 'alice', 'the RC made before the reload survived it');
  assert.equal(await read(carolAt, port), 'carol');

  write({ ...base, globalAddresses: ['127.0.0.4'] });
  const refusedBefore = named('reload-refused').length;
  await hup();
  const refused = named('reload-refused').slice(refusedBefore);
  assert.equal(refused.length, 1);
  assert.equal(refused[0]!.key, 'globalAddresses');
  assert.match(String(refused[0]!.expected), /cannot change on reload; restart/);
  // The last good configuration stays: carol (not in the refused file) still resolves.
  await waitFor('carol free again', async () => (await ask('carol.home.example.')).status === 'READY', 8000, 200);

  writeFileSync(file, 'phl: [\n');
  await hup();
  assert.match(String(named('reload-refused').at(-1)!.expected), /invalid YAML/);

  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  assert.equal(child.exitCode, 0);
});
