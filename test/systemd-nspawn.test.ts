// The units under a real systemd (issue 10 §3). This machine's PID 1 is not systemd, so the test
// boots one: systemd-nspawn --volatile=yes on a tree holding only the host's /usr (read-only),
// so /etc and /var start empty and nothing the host enables runs; to basic.target. In it, the
// guide's §2 blocks as they stand (PKG = this build, bound read-only at /opt/ntss; the guide's
// drop-in points ExecStart at it), the example configurations with new secrets, the example
// network on veths, then the guide's `systemctl enable --now`. Checked in /proc: the user, the
// capabilities, no_new_privs, seccomp, the read-only root (ProtectSystem=strict), the private
// /tmp, the writable state directory; the server answers, the router installs its table and
// registers; `systemctl reload` reloads; `systemctl stop` ends both cleanly and the router's
// table goes with it (KillMode=mixed). Root, systemd-nspawn (Debian: systemd-container); skips
// without them (fails under NTSS_NO_SKIP=1). About 20 s.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { guideBlock } from './helpers/guide.js';
import { ownSecrets } from './helpers/placeholders.js';
import { needRoot, needTools } from './helpers/tools.js';
import { capabilityMask, readUnitFile, unitList } from './helpers/unit-file.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OPT = '/opt/ntss';
const MAIN = `${OPT}/dist/src/cli/main.js`;
const SYSTEMD = ['/usr/lib/systemd/systemd', '/lib/systemd/systemd'];

let dir = '';
let nspawn: ChildProcess | undefined;
let pid1 = 0;

function cleanup(): void {
  for (const p of [pid1, nspawn?.pid ?? 0]) {
    try {
      if (p) process.kill(p, 'SIGKILL'); // the container's init: everything in its PID namespace goes with it
    } catch { /* gone */ }
  }
  pid1 = 0;
  nspawn = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
}
process.on('exit', cleanup);
after(cleanup);

/** A shell script in the container (all its namespaces), as root. */
function inside(script: string, timeoutMs = 30_000): { code: number | null; out: string } {
  const r = spawnSync('nsenter', [`--target=${pid1}`, '--all', '--', 'sh', '-c', script], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
function must(script: string, timeoutMs?: number): string {
  const r = inside(script, timeoutMs);
  assert.equal(r.code, 0, `in the container:\n${script}\n${r.out}`);
  return r.out;
}

const ppid = (p: number): number => Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);

/** The container's init: a process that is PID 1 in its own namespace and descends from our nspawn. */
function findInit(ancestor: number): number {
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!/^NSpid:\s*\d+\s+1$/m.test(readFileSync(`/proc/${d}/status`, 'utf8'))) continue;
      for (let p = Number(d), i = 0; p > 1 && i < 6; p = ppid(p), i++) if (p === ancestor) return Number(d);
    } catch { /* gone */ }
  }
  return 0;
}

async function boot(binds: [string, string][]): Promise<string> {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'usr'), { recursive: true });
  const args = ['-q', '-D', root, '--volatile=yes', '--register=no', '--keep-unit', '--private-network',
    ...binds.map(([from, to]) => `--bind-ro=${from}:${to}`), '-b', '--console=pipe', 'systemd.unit=basic.target'];
  // A private mount namespace for the read-only bind of /usr; nspawn makes the rest.
  const script = `mount --bind /usr ${root}/usr && mount -o remount,bind,ro ${root}/usr && exec systemd-nspawn "$@"`;
  let log = '';
  nspawn = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  nspawn.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  nspawn.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const end = Date.now() + 20_000;
  while (!(pid1 = findInit(nspawn.pid!))) {
    if (Date.now() > end || nspawn.exitCode !== null) throw new Error(`systemd-nspawn: no init within 20 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // basic.target reached; "degraded": nftables.service has no /etc/nftables.conf in an empty /etc.
  let state = '';
  for (const end = Date.now() + 60_000; Date.now() < end;) {
    state = inside('systemctl is-system-running --wait', 60_000).out.trim();
    if (!/Failed to connect to bus|^offline$/.test(state)) break; // init is there, its manager not yet
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(state, /^(running|degraded)$/, `${state}\n${inside('systemctl --failed --no-pager').out}\n${log}`);
  return log;
}

const status = (pid: string, key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(must(`cat /proc/${pid}/status`))?.[1];
const capHex = (unit: string, key: string) => capabilityMask(unitList(readUnitFile(join(ROOT, 'packaging/systemd', unit)), 'Service', key));

test('the units under systemd (nspawn): hardening in /proc, start, reload, stop', { timeout: 180_000 }, async (t) => {
  if (!needRoot(t) || !needTools(t, 'systemd-nspawn', 'unshare', 'nsenter', 'nft', 'conntrack', 'dig')) return;
  if (!SYSTEMD.some(existsSync)) return void needTools(t, SYSTEMD[0]!); // a path, never on PATH: skips, or fails under NTSS_NO_SKIP
  dir = mkdtempSync(join(tmpdir(), 'ntss-nspawn-'));
  // What the package holds, at one fixed path (PrivateTmp/ProtectHome would hide a checkout under /tmp or /home).
  await boot([[join(ROOT, 'dist'), `${OPT}/dist`], [join(ROOT, 'package.json'), `${OPT}/package.json`],
    [join(ROOT, 'packaging'), `${OPT}/packaging`], [realpathSync(join(ROOT, 'node_modules')), `${OPT}/node_modules`]]);

  // §2 as the guide says, both roles on this one machine.
  const common = guideBlock('systemd-sysusers').replace(/^PKG=.*$/m, `PKG=${OPT}`);
  must(`sudo() { env "$@"; }\nset -e\n${common}\n${guideBlock('packaging/etc/ntss/server.yaml')}\n${guideBlock('packaging/etc/ntss/router.yaml')}`);
  const memo = new Map<string, string>();
  for (const role of ['server', 'router']) {
    const f = `/proc/${pid1}/root/etc/ntss/${role}.yaml`;
    writeFileSync(f, ownSecrets(readFileSync(f, 'utf8'), memo).text);
    // The guide's drop-in, for a binary that is not /usr/bin/ntss.
    mkdirSync(`/proc/${pid1}/root/etc/systemd/system/ntss-${role}.service.d`, { recursive: true });
    writeFileSync(`/proc/${pid1}/root/etc/systemd/system/ntss-${role}.service.d/override.conf`,
      `[Service]\nExecStart=\nExecStart=/usr/bin/node ${MAIN} ${role} --config /etc/ntss/${role}.yaml\n`);
  }
  // The example network: the DNS host's and the gateway's addresses (as test/packaging-caps).
  must(['ip link add eth0 type veth peer name wanp', 'ip link add eth1 type veth peer name lanp',
    'ip addr add 192.0.2.53/24 dev eth0', 'ip addr add 198.51.100.1/24 dev eth0', 'ip addr add 192.168.50.1/24 dev eth1',
    'for d in eth0 eth1 wanp lanp; do ip link set $d up; done', 'sysctl -qw net.ipv4.ip_forward=1',
    // The units want network-online.target. Nothing manages this container's links, and the
    // first boot's presets enabled systemd-networkd-wait-online, which would hold it 2 minutes.
    'systemctl mask -q systemd-networkd-wait-online.service'].join(' && '));

  // The guide's systemctl lines, as they stand (`ntss status` has no /usr/bin/ntss here: below).
  const lines = guideBlock('systemctl enable --now ntss-server').split('\n').filter((l) => /^\s*(sudo )?systemctl /.test(l));
  assert.ok(lines.length >= 4, lines.join('\n'));
  must(`sudo() { env "$@"; }\nset -e\n${lines.join('\n')}`);
  assert.equal(must('systemctl is-active ntss-server ntss-router').trim(), 'active\nactive');
  const journal = (u: string) => must(`journalctl -u ${u} --no-pager -o cat`);
  const waitJournal = async (u: string, re: RegExp) => {
    for (const end = Date.now() + 15_000; !re.test(journal(u));) {
      assert.ok(Date.now() < end, `${u}: no ${re} in the journal:\n${journal(u)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await waitJournal('ntss-server', /listening .*udp=192\.0\.2\.53:53/);
  await waitJournal('ntss-router', /server-ack .*status=ACCEPTED/);
  assert.match(must('dig +short +tries=1 +time=2 @192.0.2.53 ns1.home.example A'), /^192\.0\.2\.53$/m);
  assert.match(must(`node ${MAIN} status --socket /var/lib/ntss/router.sock`), /router gw1:/);
  must('nft list table ip ntss >/dev/null');

  // The hardening, as the kernel sees it.
  const uid = must('id -u ntss').trim();
  for (const unit of ['ntss-server.service', 'ntss-router.service']) {
    const pid = must(`systemctl show -p MainPID --value ${unit}`).trim();
    assert.equal(status(pid, 'Uid')?.split(/\s+/)[1], uid, `${unit}: User=ntss`);
    for (const [k, key] of [['CapEff', 'AmbientCapabilities'], ['CapAmb', 'AmbientCapabilities'], ['CapBnd', 'CapabilityBoundingSet']]) {
      assert.equal(status(pid, k), capHex(unit, key), `${unit}: ${k}`);
    }
    assert.equal(status(pid, 'NoNewPrivs'), '1', `${unit}: NoNewPrivileges`);
    assert.equal(status(pid, 'Seccomp'), '2', `${unit}: SystemCallFilter (seccomp filter mode)`);
    const mounts = must(`cat /proc/${pid}/mountinfo`).split('\n').map((l) => l.split(' ')).filter((f) => f.length > 5);
    const at = (p: string) => mounts.filter((f) => f[4] === p).at(-1);
    assert.match(at('/')?.[5] ?? '', /^ro\b/, `${unit}: ProtectSystem=strict makes / read-only`);
    assert.match(at('/var/lib/ntss')?.[5] ?? '', /^rw\b/, `${unit}: StateDirectory= stays writable`);
    assert.match(at('/tmp')?.[3] ?? '', /systemd-private-.*\/tmp$/, `${unit}: PrivateTmp`);
    assert.match(at('/home')?.[5] ?? '', /^ro\b/, `${unit}: ProtectHome`);
    console.log(`# ${unit} under systemd: uid ${uid}, CapEff ${status(pid, 'CapEff')}, NoNewPrivs 1, seccomp filter, / ro, /var/lib/ntss rw, private /tmp`);
  }
  const routerPid = must('systemctl show -p MainPID --value ntss-router').trim();
  const children = must(`ps -o user=,comm= --ppid ${routerPid}`).trim().split('\n').map((l) => l.trim().split(/\s+/));
  assert.deepEqual(children.map(([u, c]) => `${u} ${c}`).sort(), ['ntss conntrack', 'ntss nft']);
  const exposure = /Overall exposure level for \S+: (\d+\.\d+)/.exec(must('systemd-analyze security --no-pager ntss-server ntss-router'));
  assert.ok(exposure && Number(exposure[1]) <= 2.5, exposure?.[0]);
  console.log(`# systemd-analyze security (live, with the drop-in): ${exposure[0]}`);

  // `systemctl reload` after an edit: the daemon (as ntss) re-reads the root:ntss 0640 file.
  const f = `/proc/${pid1}/root/etc/ntss/server.yaml`;
  writeFileSync(f, readFileSync(f, 'utf8').replace(/responsesPerSecond: 20\b/, 'responsesPerSecond: 25'));
  must('systemctl reload ntss-server ntss-router');
  await waitJournal('ntss-server', /reloaded .*changed=\S*rrl/);
  await waitJournal('ntss-router', /reloaded /);
  assert.equal(must('systemctl show -p MainPID --value ntss-router').trim(), routerPid, 'reload keeps the process');

  // `systemctl stop`: a clean exit (not a kill), and the router's table is gone.
  must('systemctl stop ntss-router ntss-server');
  for (const unit of ['ntss-server', 'ntss-router']) {
    assert.equal(must(`systemctl show -p Result --value ${unit}`).trim(), 'success', journal(unit));
    assert.equal(must(`systemctl show -p ExecMainStatus --value ${unit}`).trim(), '0');
  }
  assert.match(journal('ntss-router'), /nftables-removed/);
  assert.notEqual(inside('nft list table ip ntss').code, 0, 'the table went with the router');
  inside('systemctl poweroff');
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([new Promise((r) => nspawn!.once('close', () => r(true))), new Promise((r) => (timer = setTimeout(() => r(false), 20_000)))]);
  clearTimeout(timer);
  assert.ok(exited, 'the container shut down');
});
