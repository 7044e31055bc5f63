// What an operator installs: the example configurations in packaging/etc/ntss/ load through the
// daemons' own loaders and agree with each other and with the units' directories; `npm pack`
// ships the program, the units and the docs. docs/deployment.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { loadRouterConfig } from '../src/config/router-config.js';
import { loadServerConfig } from '../src/config/server-config.js';
import { formatHostPort } from '../src/util/addr.js';
import { ownSecrets } from './helpers/placeholders.js';
import { needTools } from './helpers/tools.js';
import { readUnitFile, unitValue } from './helpers/unit-file.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ETC = join(ROOT, 'packaging/etc/ntss');
const STATE = '/var/lib/ntss'; // StateDirectory=ntss

/** The example files with every placeholder secret replaced. */
function filledIn(): { dir: string; placeholders: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ntss-etc-'));
  const memo = new Map<string, string>();
  const placeholders: string[] = [];
  for (const f of ['server.yaml', 'router.yaml']) {
    const r = ownSecrets(readFileSync(join(ETC, f), 'utf8'), memo);
    placeholders.push(...r.replaced);
    writeFileSync(join(dir, f), r.text);
  }
  return { dir, placeholders };
}

describe('packaging/etc/ntss', () => {
  const filled = filledIn();
  const server = loadServerConfig(join(filled.dir, 'server.yaml'));
  const router = loadRouterConfig(join(filled.dir, 'router.yaml'));
  rmSync(filled.dir, { recursive: true, force: true });

  test('both files load through the daemons\' config loaders; what the units need', () => {
    for (const name of ['server', 'router']) {
      const u = readUnitFile(join(ROOT, `packaging/systemd/ntss-${name}.service`));
      assert.equal(unitValue(u, 'Service', 'StateDirectory'), 'ntss');
      assert.equal(unitValue(u, 'Service', 'ConfigurationDirectory'), 'ntss');
    }
    // ProtectSystem=strict: the state directory is the only writable place.
    assert.equal(dirname(server.storage), STATE);
    assert.equal(dirname(router.storage!), STATE);
    assert.notEqual(server.storage, router.storage);
    assert.equal(router.dataplane.type, 'nftables', 'the gateway example uses the kernel data plane');
    assert.ok(server.listen.every((l) => l.port === 53), 'a DNS host answers on port 53 (CAP_NET_BIND_SERVICE)');
  });

  test('the gateway and the DNS host name each other consistently', () => {
    const gw = server.routers.find((r) => r.id === router.id);
    assert.ok(gw, `server.yaml: routers[] has ${router.id}`);
    assert.equal(gw.key.toString('base64'), router.key.toString('base64'), 'the same NTS key');
    assert.deepEqual(gw.addresses, router.globalAddresses);
    assert.equal(formatHostPort(gw.nts), formatHostPort(router.nts.listen));
    assert.equal(formatHostPort(router.server!), formatHostPort(server.nts.listen), 'REGISTER goes to the server\'s NTS socket');
    assert.ok(server.nts.listen.port !== 0, 'the server\'s NTS port is fixed, so the router can name it');
    assert.ok(server.listen.some((l) => formatHostPort(l) === formatHostPort(router.learning!.server)), 'learning relays to the server\'s DNS');
    assert.ok(server.tsig.every((k) => k.router === undefined || k.router === router.id));
  });

  test('every secret is a placeholder, and the daemons refuse to start until each is replaced', () => {
    assert.equal(filled.placeholders.length, 4, 'router key, the server\'s copy of it, a TSIG secret, the cookie secret');
    assert.throws(() => loadRouterConfig(join(ETC, 'router.yaml')), /router\.yaml.*key.*placeholder/s);
    assert.throws(() => loadServerConfig(join(ETC, 'server.yaml')), /server\.yaml.*placeholder/s);
  });
});

describe('npm pack', () => {
  test('the tarball holds the program, package.json, the units, the example configs and the docs, not the tests', (t) => {
    if (!needTools(t, 'npm')) return;
    // --ignore-scripts: the files list only (prepare would compile again); dist/ is built already.
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const [pack] = JSON.parse(r.stdout) as { name: string; version: string; files: { path: string }[] }[];
    const files = new Set(pack.files.map((f) => f.path));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
    assert.equal(pack.version, pkg.version);
    for (const f of [
      'package.json', pkg.bin.ntss, 'dist/src/cli/main.js', 'dist/src/cli/version.js', 'dist/src/lab/services.js', 'README.md',
      'docs/deployment.md', 'packaging/systemd/ntss-server.service', 'packaging/systemd/ntss-router.service',
      'packaging/systemd/ntss-resolver.service', 'packaging/sysusers.d/ntss.conf', 'packaging/etc/ntss/server.yaml',
      'packaging/etc/ntss/router.yaml', 'examples/resolver.yaml',
    ]) assert.ok(files.has(f), `${f} is packed`);
    const strays = [...files].filter((f) => /^(dist\/)?(test|bench)\/|^src\/|^\.ci\//.test(f));
    assert.deepEqual(strays, [], 'tests, benchmarks, TypeScript sources and CI stay out');
  });
});
