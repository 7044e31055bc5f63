// docs/deployment.md followed as a new operator would, end to end in the lab (issue 10 §3).
// The guide's own shell blocks are run (read from the guide, not copied), on two throwaway
// "machines" (test/helpers/machine.ts: overlays on /etc, /usr, /var/lib, so the host never
// changes) in the lab's `server` and `router` namespaces:
//   1. `npm pack` of this source, `sudo npm install -g ./ntss-V.tgz` (once, in a third machine
//      whose /usr then lies under both: the same package on each machine), `ntss --version`;
//   2. the sysusers file and `systemd-sysusers`, /etc/ntss, the example configuration and the
//      unit, as the guide's blocks say; the operator's edits on the lines marked EDIT only
//      (the example network -> the lab's), new secrets;
//   3. "systemctl start" without systemd: the unit file is parsed and its ExecStart run as its
//      User/Group with exactly its capabilities (setpriv), NoNewPrivileges, UMask and
//      StateDirectory; reload with its ExecReload, stop with its KillSignal;
//   4. alice registers with the guide's nsupdate through the gateway (PHL learning), en1
//      resolves alice.home.example through the lab's Unbound (NSD root) and connects to her;
//      the guide's checks (§6) and `ntss status` (§2).
// The rest of the units' sandbox needs systemd as PID 1 (test/systemd-boot.test.ts). Root and the
// lab's tools; skips without them (fails under NTSS_NO_SKIP=1). About 2 minutes, mostly npm
// compiling better-sqlite3.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { Lab, teardownLab } from '../src/lab/lab.js';
import { ADDR, LAN_IF, WAN_IF } from '../src/lab/topology.js';
import { labReady } from './lab-cli.js';
import { GUIDE, guideBlock as block, guideLine as line } from './helpers/guide.js';
import { Machine } from './helpers/machine.js';
import { ownSecrets } from './helpers/placeholders.js';
import { needTools } from './helpers/tools.js';
import { capabilityMask, parseUnitFile, unitList, unitValue, type UnitFile } from './helpers/unit-file.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const PREFIX = `deploy${process.pid}`;

let scratch = '';
let lab: Lab | undefined;
const machines: Machine[] = [];
const units: Unit[] = [];

function cleanup(): void {
  for (const u of units.splice(0)) u.kill();
  for (const m of machines.splice(0)) m.stop();
  if (lab) teardownLab(PREFIX); // every process in its namespaces, the machines' holders too
  lab = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = '';
}
process.on('exit', cleanup);
after(cleanup);

/**
 * What the operator does to an example file: the lines marked EDIT get this network's values
 * (the guide's example network -> the lab's), the example PHL entry goes ("EDIT or remove"),
 * every placeholder secret gets a new one (one memo: paired keys stay equal). A line that still
 * names the example network afterwards needed an edit the file does not mark.
 */
function operatorEdits(text: string, memo: Map<string, string>): string {
  const edits: [RegExp, string][] = [[/\b198\.51\.100\.1\b/g, ADDR.routerWan], [/\beth0\b/g, WAN_IF], [/\beth1\b/g, LAN_IF]];
  const out: string[] = [];
  for (const l of text.split('\n')) {
    if (!/#.*\bEDIT\b/.test(l)) out.push(l);
    else if (/^\s*- \{ name: nas\./.test(l)) {
      if (/^phl:/.test(out.at(-1) ?? '')) out.pop(); // "the last one: with phl:" (an empty phl: is null, refused)
    } else out.push(edits.reduce((acc, [re, to]) => acc.replace(re, to), l));
  }
  for (const l of out) {
    assert.doesNotMatch(l.replace(/#.*$/, ''), /\b198\.51\.100\.1\b|\beth[01]\b/, `a line that must change is not marked EDIT: ${l}`);
  }
  return ownSecrets(out.join('\n'), memo).text;
}

/** The unit as systemd would read it in the machine: the file and its drop-ins, in order. */
function readUnit(m: Machine, name: string): UnitFile {
  const base = m.path(`/etc/systemd/system/${name}`);
  let text = readFileSync(base, 'utf8');
  const dropins = `${base}.d`;
  if (existsSync(dropins)) for (const f of readdirSync(dropins).filter((x) => x.endsWith('.conf')).sort()) text += `\n${readFileSync(join(dropins, f), 'utf8')}`;
  // Drop-ins repeat [Service]: fold repeated sections into one (values keep their order).
  const merged = new Map<string, string[]>();
  let section = '';
  for (const l of text.split('\n')) {
    const h = /^\[([A-Za-z]+)\]\s*$/.exec(l.trim());
    if (h) section = h[1];
    else if (section) merged.set(section, [...(merged.get(section) ?? []), l]);
  }
  return parseUnitFile([...merged].map(([s, ls]) => `[${s}]\n${ls.join('\n')}`).join('\n'), name);
}

interface Unit { pid: number; log(): string; exited: Promise<number | null>; kill(): void; u: UnitFile }

/**
 * `systemctl start NAME` without systemd: StateDirectory= made as systemd makes it, then the
 * ExecStart line as User=/Group= (with the user's groups), exactly the unit's ambient and bounding
 * capabilities, no_new_privs and UMask=, from /, stderr to a log (the journal).
 */
function startUnit(m: Machine, name: string, logFile: string): Unit {
  const u = readUnit(m, name);
  const svc = (k: string) => unitValue(u, 'Service', k);
  const [user, group] = [svc('User')!, svc('Group')!];
  const state = svc('StateDirectory');
  if (state) m.must(`install -d -m ${svc('StateDirectoryMode') ?? '0755'} -o ${user} -g ${group} /var/lib/${state}`);
  const caps = (k: string) => unitList(u, 'Service', k).map((c) => `,+${c.replace(/^CAP_/, '').toLowerCase()}`).join('');
  const exec = svc('ExecStart')!.split(/\s+/);
  const fd = openSync(logFile, 'a');
  const child = spawn(m.enter()[0], [...m.enter().slice(1), '--', 'setpriv', `--reuid=${user}`, `--regid=${group}`, '--init-groups',
    ...(svc('NoNewPrivileges') === 'yes' ? ['--no-new-privs'] : []),
    `--inh-caps=-all${caps('AmbientCapabilities')}`, `--ambient-caps=-all${caps('AmbientCapabilities')}`, `--bounding-set=-all${caps('CapabilityBoundingSet')}`,
    'sh', '-c', `umask ${svc('UMask') ?? '0022'} && exec "$0" "$@"`, ...exec], { stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const unit: Unit = {
    pid: child.pid!, u, exited,
    log: () => readFileSync(logFile, 'utf8'),
    kill: () => {
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch { /* gone */ }
    },
  };
  units.push(unit);
  return unit;
}

async function logged(unit: Unit, event: RegExp, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!event.test(unit.log())) {
    if (Date.now() > end) throw new Error(`no ${event} within ${ms} ms; log:\n${unit.log()}`);
    const r = await Promise.race([unit.exited, new Promise((res) => setTimeout(() => res('wait'), 100))]);
    if (r !== 'wait') throw new Error(`exited (${String(r)}) before ${event}; log:\n${unit.log()}`);
  }
}

/** `systemctl reload`: the unit's ExecReload with $MAINPID. */
function reload(unit: Unit): void {
  const cmd = unitValue(unit.u, 'Service', 'ExecReload')!;
  const r = spawnSync('sh', ['-c', cmd], { env: { ...process.env, MAINPID: String(unit.pid) }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** `systemctl stop`: KillSignal= to the main process; the exit code. */
async function stop(unit: Unit): Promise<number | null> {
  process.kill(unit.pid, unitValue(unit.u, 'Service', 'KillSignal') as NodeJS.Signals);
  const timer = setTimeout(() => unit.kill(), 15_000); // TimeoutStopSec
  const code = await unit.exited;
  clearTimeout(timer);
  return code;
}

const procStatus = (pid: number, key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

test('docs/deployment.md, followed in the lab: pack, install, user, configs, units, nsupdate, an EN connects', { timeout: 420_000 }, async (t) => {
  if (!labReady(t) || !needTools(t, 'npm', 'setpriv', 'nsenter', 'unshare', 'systemd-sysusers', 'nsupdate')) return;
  scratch = mkdtempSync(join(tmpdir(), 'ntss-deploy-'));
  const hostPasswd = readFileSync('/etc/passwd', 'utf8');

  // §1: build the package where the source is. `npm ci` made node_modules already; a copy, so
  // that "prepare" (tsc) does not rewrite this build's dist/ under other running tests.
  const build = join(scratch, 'build');
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'src', 'examples', 'packaging', 'docs']) cpSync(join(ROOT, f), join(build, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'));
  assert.match(block('npm ci && npm pack'), /^npm ci && npm pack\b/m);
  const pack = spawnSync('npm', ['pack'], { cwd: build, encoding: 'utf8', timeout: 120_000 });
  assert.equal(pack.status, 0, pack.stderr);
  const tgz = pack.stdout.trim().split('\n').at(-1)!;
  assert.equal(tgz, `ntss-${VERSION}.tgz`);
  // The guide's install lines, run as they stand in a machine with the host's network.
  const installLines = block('npm ci && npm pack').split('\n').filter((l) => !l.startsWith('npm ci')).join('\n');
  assert.ok(installLines.includes(`npm install -g ./${tgz}`), `the guide installs ./${tgz} (the version in package.json)`);
  // better-sqlite3 is native: without a prebuilt binary npm compiles it, 1-5 min here. This
  // build's binary, handed over as a local prebuild as the guide's note says.
  const sqlite = join(ROOT, 'node_modules/better-sqlite3');
  const sqliteVersion = (JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string }).version;
  const prebuilds = join(scratch, 'prebuilds');
  mkdirSync(prebuilds);
  const tar = spawnSync('tar', ['-czf', join(prebuilds, `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-linux-${process.arch}.tar.gz`), '-C', sqlite, 'build/Release/better_sqlite3.node']);
  assert.equal(tar.status, 0, String(tar.stderr));
  assert.match(GUIDE, /npm_config_better_sqlite3_local_prebuilds=/, 'the guide names the local prebuild');
  const installer = await Machine.start({ dir: join(scratch, 'installer') });
  machines.push(installer);
  const t0 = Date.now();
  const installed = installer.must(`set -e\n${installLines.replace('sudo npm install', `sudo npm_config_better_sqlite3_local_prebuilds=${prebuilds} npm install`)}`, { cwd: build, hostNet: true, timeoutMs: 400_000 });
  console.log(`# npm install -g ./${tgz}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.match(installed, new RegExp(`^ntss ${VERSION.replace(/\./g, '\\.')} \\(node v\\d+`, 'm'));
  const ntssPath = installed.trim().split('\n').at(-1)!;
  installer.stop();

  lab = await Lab.up({ prefix: PREFIX, delayMs: 0, lossPct: 0, dataplane: 'nftables', withoutNtss: true, say: (l) => console.log(`# ${l}`) });
  const usrLayers = [installer.upper('usr')];
  const dns = await Machine.start({ dir: join(scratch, 'dns'), netns: lab.ns('server'), usrLayers });
  const gw = await Machine.start({ dir: join(scratch, 'gw'), netns: lab.ns('router'), usrLayers });
  machines.push(dns, gw);

  // §2, on each machine: the user, /etc/ntss, the role's configuration and unit.
  const common = block('systemd-sysusers');
  dns.must(`set -e\n${common}\n${block('packaging/etc/ntss/server.yaml')}`);
  gw.must(`set -e\n${common}\n${block('packaging/etc/ntss/router.yaml')}`);
  assert.equal(readFileSync('/etc/passwd', 'utf8'), hostPasswd, 'the host\'s own users are untouched');
  for (const [m, role] of [[dns, 'server'], [gw, 'router']] as const) {
    const [, , uid, gid, , home, shell] = m.must('getent passwd ntss').trim().split(':');
    assert.ok(Number(uid) > 0 && Number(uid) < 1000 && home === '/' && /nologin$/.test(shell), `a system user without a login: ${uid} ${home} ${shell}`);
    const dir = statSync(m.path('/etc/ntss'));
    assert.deepEqual([dir.mode & 0o7777, dir.uid, dir.gid], [0o750, 0, Number(gid)], '/etc/ntss root:ntss 0750');
    const f = statSync(m.path(`/etc/ntss/${role}.yaml`));
    assert.deepEqual([f.mode & 0o7777, f.uid, f.gid], [0o640, 0, Number(gid)], `${role}.yaml root:ntss 0640`);
    // The units run /usr/bin/ntss; where npm put it elsewhere, the guide's drop-in points them there.
    const exec = unitValue(readUnit(m, `ntss-${role}.service`), 'Service', 'ExecStart')!;
    if (!exec.startsWith(`${ntssPath} `)) {
      mkdirSync(m.path(`/etc/systemd/system/ntss-${role}.service.d`), { recursive: true });
      writeFileSync(m.path(`/etc/systemd/system/ntss-${role}.service.d/override.conf`), `[Service]\nExecStart=\nExecStart=${exec.replace(/^\S+/, ntssPath)}\n`);
    }
  }

  // A daemon refuses the example's placeholder secrets, naming the file and the key.
  const early = startUnit(dns, 'ntss-server.service', join(scratch, 'server-placeholder.log'));
  assert.notEqual(await early.exited, 0);
  assert.match(early.log(), /server\.yaml.*still the example's placeholder secret/s);
  assert.match(dns.must('grep -l UkVQTEFDRS1NRS /etc/ntss/*.yaml || true'), /server\.yaml/);

  // The operator's edits; the files keep their owner and mode.
  const memo = new Map<string, string>();
  for (const [m, role] of [[dns, 'server'], [gw, 'router']] as const) {
    const f = m.path(`/etc/ntss/${role}.yaml`);
    writeFileSync(f, operatorEdits(readFileSync(f, 'utf8'), memo));
    assert.equal(m.must('grep -l UkVQTEFDRS1NRS /etc/ntss/*.yaml || true').trim(), '', 'no placeholder left');
  }
  const serverYaml = parseYaml(readFileSync(dns.path('/etc/ntss/server.yaml'), 'utf8')) as { tsig: { name: string; secret: string }[] };

  // "systemctl enable --now": the DNS host's server, then the gateway's router.
  const server = startUnit(dns, 'ntss-server.service', join(scratch, 'server.log'));
  await logged(server, /listening .*udp=192\.0\.2\.53:53/);
  forwardingOn(gw);
  const router = startUnit(gw, 'ntss-router.service', join(scratch, 'router.log'));
  await logged(router, /router-started .*dataplane=nftables/);
  await logged(router, /server-ack/);
  await logged(server, /router-announce/);
  assert.doesNotMatch(router.log(), /dataplane-warning/, 'forwarding is on');
  for (const [unit, m] of [[server, dns], [router, gw]] as const) {
    const uid = m.must('id -u ntss').trim();
    assert.equal(procStatus(unit.pid, 'Uid')?.split(/\s+/)[1], uid, 'runs as ntss');
    const want = capabilityMask(unitList(unit.u, 'Service', 'AmbientCapabilities'));
    assert.equal(procStatus(unit.pid, 'CapEff'), want, 'exactly the unit\'s capabilities');
    assert.equal(procStatus(unit.pid, 'CapBnd'), capabilityMask(unitList(unit.u, 'Service', 'CapabilityBoundingSet')));
    assert.equal(procStatus(unit.pid, 'NoNewPrivs'), '1');
  }
  const db = statSync(dns.path('/var/lib/ntss/server.db'));
  assert.deepEqual([db.mode & 0o777, db.uid], [0o600, Number(dns.must('id -u ntss'))], 'UMask=0077: the zone database is the daemon\'s alone');

  // §4: alice registers as the guide says; the gateway learns her from her own UPDATE.
  await lab.waitResolver();
  const m = /`(nsupdate -y hmac-sha256:alice-key\.:SECRET)` with `(server [^`]+)`, `(update add [^`]+)`, `send`/.exec(GUIDE.replace(/\s*\n\s*/g, ' '));
  assert.ok(m, 'docs/deployment.md §4: the nsupdate example');
  const secret = serverYaml.tsig.find((k) => k.name === 'alice-key.')!.secret;
  const nsupdate = await lab.exec('alice', 'sh', ['-c', m[1].replace('SECRET', secret)], { input: `${m[2]}\n${m[3]}\nsend\n`, timeoutMs: 15_000 });
  assert.equal(nsupdate.code, 0, `${nsupdate.stdout}${nsupdate.stderr}\n${server.log()}\n${router.log()}`);
  const status = gw.must(line('ntss status', 'sudo ntss status'));
  assert.match(status, /alice\.home\.example\.\s+192\.168\.50\.10\s+learned/, status);
  console.log(`# nsupdate as the guide says: ok in ${nsupdate.ms.toFixed(0)} ms; the gateway's PHL: ${/alice\.home\.example\..*/.exec(status)![0]}`);

  // An EN looks alice up through a real resolver and connects.
  const curl = await lab.exec('en1', 'curl', ['-sS', '--max-time', '8', 'http://alice.home.example/'], { timeoutMs: 15_000 });
  assert.equal(curl.code, 0, `${curl.stderr}\n${server.log()}\n${router.log()}`);
  assert.match(curl.stdout, new RegExp(`^host=alice (local=\\S+ )?client=${ADDR.en1.replace(/\./g, '\\.')}:`));
  console.log(`# en1: curl http://alice.home.example/ -> "${curl.stdout.trim()}" in ${curl.ms.toFixed(0)} ms (lookup through Unbound, READY, connect)`);
  // The log lines §6 names (the mapping comes from conntrack's event, a moment after curl is done).
  for (const ev of ['nts-request', 'rc-created', 'respond', 'mapping-created']) await logged(router, new RegExp(`\\b${ev}\\b`), 5_000);

  // §6, the guide's checks from an EN (the example network's router address is the lab's).
  const soa = await lab.exec('en1', 'sh', ['-c', line('home.example SOA +norec', 'dig @192.0.2.53 home.example SOA')]);
  assert.match(soa.stdout, /flags: qr aa/, soa.stdout);
  const alice = await lab.exec('en1', 'sh', ['-c', `${line('home.example SOA +norec', 'dig @192.0.2.53 alice.home.example A')} +noall +answer`]);
  assert.match(alice.stdout, new RegExp(`^alice\\.home\\.example\\.\\s+0\\s+IN\\s+A\\s+${ADDR.routerWan.replace(/\./g, '\\.')}$`, 'm'), alice.stdout);

  // §3 signals: an edit, then `systemctl reload` re-reads the root:ntss 0640 file as ntss.
  const sf = dns.path('/etc/ntss/server.yaml');
  writeFileSync(sf, readFileSync(sf, 'utf8').replace(/responsesPerSecond: 20\b/, 'responsesPerSecond: 25'));
  reload(server);
  await logged(server, /reloaded .*changed=\S*rrl/);
  reload(router);
  await logged(router, /reloaded /);

  // `systemctl stop`: both exit cleanly; the router's nft child deletes its table.
  assert.equal(await stop(server), 0, server.log());
  assert.equal(await stop(router), 0, router.log());
  assert.match(router.log(), /nftables-removed/);
  assert.notEqual(gw.sh('nft list table ip ntss').code, 0, 'the router\'s table is gone');
});

/** §4 "Forwarding": the guide's sysctl.d line, applied to this namespace only (`sysctl --system` would touch the host's kernel settings). */
function forwardingOn(gw: Machine): void {
  const l = /`(echo net\.ipv4\.ip_forward=1 \| sudo tee (\S+))/.exec(GUIDE);
  assert.ok(l, 'docs/deployment.md §4: the forwarding line');
  gw.must(`${l[1]} >/dev/null && sysctl -q -p ${l[2]}`);
  assert.equal(gw.must('sysctl -n net.ipv4.ip_forward').trim(), '1');
}
