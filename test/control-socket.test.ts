// The control socket: one JSON line per `status`, a clear error for anything else; a stale socket
// file is replaced, a live one or a plain file is refused; the file goes with the listener.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { listenControl, requestStatus } from '../src/control/socket.js';
import { memoryLogger } from '../src/util/log.js';

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ntss-control-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function send(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path, () => c.write(line));
    let buf = '';
    c.on('data', (d) => { buf += d.toString(); });
    c.on('end', () => resolve(buf));
    c.on('error', reject);
  });
}

test('status answers the JSON; an unknown command gets ok:false; the socket is 0600 and removed at close', async (t) => {
  const path = join(scratch(t), 'd.sock');
  let n = 0;
  const l = await listenControl(path, () => ({ daemon: 'x', n: ++n }), memoryLogger('debug'));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(await requestStatus(path), { daemon: 'x', n: 1 });
  assert.deepEqual(await requestStatus(path), { daemon: 'x', n: 2 }, 'read afresh each time');
  assert.deepEqual(JSON.parse(await send(path, 'reload\n')), { ok: false, error: 'unknown command "reload"; expected "status"' });
  await l.close();
  assert.equal(existsSync(path), false);
  await assert.rejects(requestStatus(path), (e: Error & { code?: string }) => e.code === 'CONTROL_FAILED' && /ENOENT/.test(e.message));
});

test('a status that throws is reported, the daemon goes on', async (t) => {
  const path = join(scratch(t), 'd.sock');
  const l = await listenControl(path, () => { throw new Error('boom'); }, memoryLogger('debug'));
  t.after(() => l.close());
  await assert.rejects(requestStatus(path), /status failed: boom/);
});

test('stale socket file replaced; live socket and plain file refused with the path', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'd.sock');
  // A socket file nobody listens on: what a daemon killed with SIGKILL leaves.
  // (process.exit skips the listener's close, which would unlink the file.)
  const child = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
  assert.equal(child.status, 0, child.stderr.toString());
  assert.ok(statSync(path).isSocket());
  const l = await listenControl(path, () => 'ok', memoryLogger('debug'));
  t.after(() => l.close());
  assert.equal(await requestStatus(path), 'ok');
  await assert.rejects(listenControl(path, () => 'other', memoryLogger('debug')), (e: Error & { code?: string }) => e.code === 'CONTROL_LISTEN' && e.message.includes(`${path} is in use`));
  assert.equal(await requestStatus(path), 'ok', 'the running one is untouched');
  const file = join(dir, 'plain');
  writeFileSync(file, 'x');
  await assert.rejects(listenControl(file, () => 'x', memoryLogger('debug')), /exists and is not a socket/);
});
