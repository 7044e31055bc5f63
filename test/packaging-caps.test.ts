// The units' capability sets are enough, and needed: the packaged configurations run as an
// unprivileged user holding exactly the unit's AmbientCapabilities (setpriv does what systemd's
// User= + AmbientCapabilities= do), in a network namespace this test creates with the example
// network's addresses (192.0.2.53 on eth0, 198.51.100.1 on eth0, 192.168.50.1 on eth1).
// The server answers on port 53; the router installs its nftables table through its nft child
// and deletes it on SIGTERM. Without the capability each refuses to start. Root, ip, setpriv,
// nft, conntrack, dig; skips without them (fails under NTSS_NO_SKIP=1). The rest of the sandbox
// (seccomp, ProtectSystem) needs systemd as PID 1: test/systemd-nspawn.test.ts.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import { MAIN_JS } from './helpers/server-proc.js';
import { ownSecrets } from './helpers/placeholders.js';
import { needRoot, needTools } from './helpers/tools.js';
import { readUnitFile, unitList } from './helpers/unit-file.js';

const PACKAGING = fileURLToPath(new URL('../../packaging/', import.meta.url));
const NS = `ntss-pkg-${process.pid}`;
const NOBODY = 65534;
let dir = '';
let made = false;

function sh(...argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** Synchronous, so it also runs from 'exit': kills what runs in the namespace, deletes it. */
function cleanup(): void {
  if (made) {
    made = false;
    spawnSync('sh', ['-c', `ip netns pids ${NS} 2>/dev/null | xargs -r kill -9; ip netns del ${NS}`], { stdio: 'ignore' });
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);

function ready(t: TestContext): boolean {
  return needRoot(t) && needTools(t, 'ip', 'setpriv', 'nft', 'conntrack', 'dig');
}

/** setpriv arguments for the unit's AmbientCapabilities (or `caps` instead). */
function privileges(unit: string, caps?: string[]): string[] {
  const set = (caps ?? unitList(readUnitFile(join(PACKAGING, 'systemd', unit)), 'Service', 'AmbientCapabilities'))
    .map((c) => `,+${c.replace(/^CAP_/, '').toLowerCase()}`).join('');
  return ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs',
    `--inh-caps=-all${set}`, `--ambient-caps=-all${set}`, `--bounding-set=-all${set}`];
}

interface Daemon { pid: number; log: () => string; exited: Promise<number | null>; stop(): Promise<number | null> }

/** `ntss NAME --config` from packaging/etc/ntss with the storage moved into the scratch dir. */
function start(name: 'server' | 'router', priv: string[]): Daemon {
  const cfg = join(dir, `${name}.yaml`);
  // One memo for both files: the router's key and the server's copy of it stay equal.
  writeFileSync(cfg, ownSecrets(readFileSync(join(PACKAGING, `etc/ntss/${name}.yaml`), 'utf8'), SECRETS).text.replaceAll('/var/lib/ntss/', `${dir}/`));
  chmodSync(cfg, 0o644);
  const child = spawn('ip', ['netns', 'exec', NS, ...priv, process.execPath, MAIN_JS, name, '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    pid: child.pid!, log: () => log, exited,
    stop: async () => {
      child.kill('SIGTERM'); // ip netns exec and setpriv exec: this pid is node itself
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function logged(d: Daemon, event: RegExp): Promise<void> {
  const deadline = Date.now() + 8_000;
  while (!event.test(d.log())) {
    if (Date.now() > deadline) throw new Error(`no ${event} within 8 s; log:\n${d.log()}`);
    const code = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('wait'), 50))]);
    if (code !== 'wait') throw new Error(`exited (${String(code)}) before ${event}; log:\n${d.log()}`);
  }
}

const SECRETS = new Map<string, string>();
const status = (pid: number, key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
const table = () => spawnSync('ip', ['netns', 'exec', NS, 'nft', 'list', 'table', 'ip', 'ntss'], { encoding: 'utf8' }).status === 0;

describe('the units\' capabilities, as an unprivileged user', () => {
  before(() => {
    if (process.geteuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v ip setpriv nft conntrack dig'], { stdio: 'ignore' }).status !== 0) return;
    dir = mkdtempSync(join(tmpdir(), 'ntss-caps-'));
    chmodSync(dir, 0o755);
    chownSync(dir, NOBODY, NOBODY); // the StateDirectory: the daemon's own
    made = true;
    sh('ip', 'netns', 'add', NS);
    const ip = (...a: string[]) => sh('ip', '-n', NS, ...a);
    ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'wanp');
    ip('link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'lanp');
    for (const [a, dev] of [['192.0.2.53/24', 'eth0'], ['198.51.100.1/24', 'eth0'], ['192.168.50.1/24', 'eth1']]) ip('addr', 'add', a, 'dev', dev);
    for (const dev of ['lo', 'eth0', 'eth1', 'wanp', 'lanp']) ip('link', 'set', dev, 'up');
  });
  after(cleanup);

  test('ntss-server.service: port 53 with CAP_NET_BIND_SERVICE alone, refused without it', async (t) => {
    if (!ready(t)) return;
    const d = start('server', privileges('ntss-server.service'));
    try {
      await logged(d, /listening .*udp=192\.0\.2\.53:53/);
      assert.equal(status(d.pid, 'Uid')?.split(/\s+/)[1], String(NOBODY), 'effective uid');
      assert.equal(status(d.pid, 'CapEff'), '0000000000000400', 'CAP_NET_BIND_SERVICE (bit 10) only');
      const r = sh('ip', 'netns', 'exec', NS, 'dig', '+short', '+tries=1', '+time=2', '@192.0.2.53', 'ns1.home.example', 'A');
      assert.equal(r.trim(), '192.0.2.53');
    } finally {
      assert.equal(await d.stop(), 0, d.log());
    }
    const bare = start('server', privileges('ntss-server.service', []));
    assert.equal(await bare.exited, 1);
    assert.match(bare.log(), /EACCES/);
  });

  test('ntss-router.service: nftables through nft and conntrack with CAP_NET_ADMIN; the table goes on SIGTERM', async (t) => {
    if (!ready(t)) return;
    const d = start('router', privileges('ntss-router.service'));
    try {
      await logged(d, /router-started .*dataplane=nftables/);
      assert.equal(status(d.pid, 'Uid')?.split(/\s+/)[1], String(NOBODY));
      assert.ok(table(), 'table ip ntss installed');
      const children = sh('ps', '-o', 'user=,comm=', '--ppid', String(d.pid)).trim().split('\n').map((l) => l.trim().split(/\s+/));
      assert.ok(children.some(([, c]) => c === 'nft') && children.some(([, c]) => c === 'conntrack'), JSON.stringify(children));
      for (const [user] of children) assert.ok(user === 'nobody' || user === String(NOBODY), `children run unprivileged: ${JSON.stringify(children)}`);
    } finally {
      assert.equal(await d.stop(), 0, d.log());
    }
    assert.match(d.log(), /nftables-removed/);
    assert.equal(table(), false, 'the table is gone after SIGTERM');
    const weak = start('router', privileges('ntss-router.service', ['CAP_NET_BIND_SERVICE']));
    assert.equal(await weak.exited, 1);
    assert.match(weak.log(), /needs root or CAP_NET_ADMIN/);
    assert.equal(table(), false);
  });
});
