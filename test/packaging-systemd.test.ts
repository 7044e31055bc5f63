// The systemd units and the sysusers file in packaging/: parsed, so a later edit cannot silently
// drop a hardening key or widen a capability set; checked by systemd's own tools when present
// (systemd-analyze verify, systemd-sysusers into a scratch root). docs/deployment.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { MAIN_JS } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';
import { parseUnitFile, readUnitFile, unitList, unitValue } from './helpers/unit-file.js';

const PACKAGING = fileURLToPath(new URL('../../packaging/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ntss-units-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// What each unit runs and the least it needs (comments in the unit files say why).
const UNITS = {
  'ntss-server.service': { command: 'server', caps: ['CAP_NET_BIND_SERVICE'], families: ['AF_INET', 'AF_INET6', 'AF_UNIX'], state: true, reload: true },
  'ntss-router.service': { command: 'router', caps: ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE'], families: ['AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_NETLINK'], state: true, reload: true },
  'ntss-resolver.service': { command: 'resolver', caps: ['CAP_NET_BIND_SERVICE'], families: ['AF_INET', 'AF_INET6', 'AF_UNIX'], state: false, reload: false },
} as const;

const HARDENING: Record<string, string> = {
  User: 'ntss', Group: 'ntss', NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes',
  PrivateDevices: 'yes', ProtectKernelTunables: 'yes', ProtectKernelModules: 'yes', ProtectKernelLogs: 'yes',
  ProtectControlGroups: 'yes', ProtectClock: 'yes', ProtectHostname: 'yes', RestrictNamespaces: 'yes', RestrictRealtime: 'yes',
  RestrictSUIDSGID: 'yes', LockPersonality: 'yes', PrivateMounts: 'yes', SystemCallArchitectures: 'native',
  SystemCallFilter: '@system-service', ConfigurationDirectory: 'ntss', UMask: '0077', Restart: 'on-failure', KillSignal: 'SIGTERM',
};

describe('unit files', () => {
  for (const [name, want] of Object.entries(UNITS)) {
    test(`${name}: runs ntss ${want.command} as ntss, hardened, only ${want.caps.join(' + ')}`, () => {
      const u = readUnitFile(join(PACKAGING, 'systemd', name));
      assert.deepEqual([...u.keys()], ['Unit', 'Service', 'Install']);
      assert.equal(unitValue(u, 'Service', 'ExecStart'), `/usr/bin/ntss ${want.command} --config /etc/ntss/${want.command}.yaml`);
      assert.equal(unitValue(u, 'Install', 'WantedBy'), 'multi-user.target');
      for (const [key, value] of Object.entries(HARDENING)) assert.equal(unitValue(u, 'Service', key), value, `${name}: ${key}=`);
      assert.equal(unitValue(u, 'Service', 'StateDirectory'), want.state ? 'ntss' : undefined, 'StateDirectory=ntss where there is a storage file');
      // V8's JIT needs W+X pages: Node aborts under MemoryDenyWriteExecute. PrivateUsers would make
      // the capabilities useless in the host's network namespace.
      assert.equal(u.get('Service')!.has('MemoryDenyWriteExecute'), false, 'MemoryDenyWriteExecute must not be set');
      assert.equal(u.get('Service')!.has('PrivateUsers'), false, 'PrivateUsers must not be set');
      // SIGHUP reloads the server and the router (test/server-reload, routerd-reload); the resolver does not reload.
      assert.equal(unitValue(u, 'Service', 'ExecReload'), want.reload ? '/bin/kill -HUP $MAINPID' : undefined, `${name}: ExecReload=`);
      assert.deepEqual(unitList(u, 'Service', 'CapabilityBoundingSet').sort(), [...want.caps]);
      assert.deepEqual(unitList(u, 'Service', 'AmbientCapabilities').sort(), [...want.caps]);
      assert.deepEqual(unitList(u, 'Service', 'RestrictAddressFamilies'), [...want.families]);
    });
  }

  test('the router: SIGTERM to the router alone, so its nft child can still delete the table', () => {
    const u = readUnitFile(join(PACKAGING, 'systemd/ntss-router.service'));
    assert.equal(unitValue(u, 'Service', 'KillMode'), 'mixed');
    assert.match(unitList(u, 'Unit', 'After').join(' '), /\bnftables\.service\b/);
  });

  test('each ExecStart names a real subcommand with --config', () => {
    for (const want of Object.values(UNITS)) {
      const r = spawnSync(process.execPath, [MAIN_JS, want.command, '--help'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /--config VALUE/);
    }
  });

  test('the parser sees what systemd sees: continuations, repeats, resets, and refuses junk', () => {
    const u = parseUnitFile('# c\n[Service]\nCapabilityBoundingSet=CAP_A \\\n  CAP_B\n; c\nCapabilityBoundingSet=\nCapabilityBoundingSet=CAP_C\nUser=a\nUser=b\n');
    assert.deepEqual(unitList(u, 'Service', 'CapabilityBoundingSet'), ['CAP_C']);
    assert.equal(unitValue(u, 'Service', 'User'), 'b');
    assert.throws(() => parseUnitFile('User=a\n'), /before any \[Section\]/);
    assert.throws(() => parseUnitFile('[Service]\nnot a key\n'), /not "Key=value"/);
    // A dropped hardening key is noticed.
    const text = readFileSync(join(PACKAGING, 'systemd/ntss-server.service'), 'utf8').replace(/^ProtectSystem=strict\n/m, '');
    assert.equal(unitValue(parseUnitFile(text), 'Service', 'ProtectSystem'), undefined);
  });
});

describe('systemd tools', () => {
  test('systemd-analyze verify accepts every unit', (t) => {
    if (!needTools(t, 'systemd-analyze')) return;
    // verify insists the binary exists: point ExecStart at this build instead of /usr/bin/ntss.
    const files = Object.keys(UNITS).map((name) => {
      const f = join(dir, name);
      const text = readFileSync(join(PACKAGING, 'systemd', name), 'utf8');
      writeFileSync(f, text.replace(/^ExecStart=\/usr\/bin\/ntss /m, `ExecStart=${process.execPath} ${MAIN_JS} `));
      return f;
    });
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings');
    // And it does complain about a broken unit (the check can fail).
    const bad = join(dir, 'ntss-bad.service');
    writeFileSync(bad, '[Service]\nExecStart=relative/path\nProtectSystem=sometimes\n');
    const rb = spawnSync('systemd-analyze', ['verify', '--man=no', bad], { encoding: 'utf8', timeout: 10_000 });
    assert.notEqual(rb.stderr.trim(), '');
  });

  test('systemd-analyze security rates every unit\'s exposure 2.5 or below (of 10)', (t) => {
    if (!needTools(t, 'systemd-analyze')) return;
    for (const name of Object.keys(UNITS)) {
      const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', join(PACKAGING, 'systemd', name)], { encoding: 'utf8', timeout: 10_000 });
      const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout);
      assert.ok(m, `${name}: ${r.stdout.slice(-300)} ${r.stderr}`);
      console.log(`${name}: systemd-analyze security exposure ${m[1]}`);
      assert.ok(Number(m[1]) <= 2.5, `${name}: exposure ${m[1]}`);
    }
  });

  test('systemd-sysusers creates the ntss system user, without a login shell', (t) => {
    if (!needTools(t, 'systemd-sysusers')) return;
    const root = join(dir, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    const r = spawnSync('systemd-sysusers', [`--root=${root}`, '-'], { input: readFileSync(join(PACKAGING, 'sysusers.d/ntss.conf')), encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('ntss:'));
    assert.ok(passwd, 'ntss in /etc/passwd');
    const [, , uid, gid, , home, shell] = passwd.split(':');
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid, got ${uid}`);
    assert.equal(gid, uid);
    assert.equal(home, '/');
    assert.match(shell, /nologin$/);
    assert.match(readFileSync(join(root, 'etc/group'), 'utf8'), new RegExp(`^ntss:x:${gid}:`, 'm'));
  });
});

