// The server config's resolver profiles: `resolvers:` and the new `nts.*` keys, good and bad.
// Every mistake names the file, the key and what was expected.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { configuredProfile } from '../src/config/resolver-profiles-config.js';
import { loadServerConfig } from '../src/config/server-config.js';
import { formatPrefix } from '../src/server/prefix-table.js';
import { resolverProfiles } from '../src/server/server.js';
import { ConfigError } from '../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ntss-resolvers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = `
storage: ./s.db
zone:
  name: home.example.
  soa: { mname: ns1.home.example., rname: hostmaster.home.example., refresh: 3600, retry: 600, expire: 86400, minimum: 0 }
  ns: [ns1.home.example.]
`;

let n = 0;
function load(extra: string) {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, base + extra);
  return { f, cfg: () => loadServerConfig(f) };
}

function expectError(extra: string, key: string, pattern: RegExp): void {
  const { f, cfg } = load(extra);
  assert.throws(cfg, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.equal(e.key, key, e.message);
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(f + ': '), 'message names the file');
    return true;
  });
}

test('defaults: no resolvers, fingerprinting on, browsers\' 60 s EN cache, ECS prefixes from /16, patience 1800', () => {
  const c = load('').cfg();
  assert.deepEqual(c.resolvers, []);
  assert.equal(c.nts.enCacheMs, 60_000);
  assert.equal(c.nts.fingerprint, true);
  assert.equal(c.nts.ecsMinPrefix, 16);
  assert.equal(c.nts.resolverPatienceMs, 1800);
  const p = resolverProfiles(c);
  assert.deepEqual(p.defaultProfile, { name: 'unknown', patienceMs: 1800, ttlFloorMs: 5000, ecs: 'ignored' });
  assert.ok(p.fingerprint);
});

test('built-in, overridden and inline profiles; nts.resolverPatienceMs stays the default patience', () => {
  const c = load(`
nts: { resolverPatienceMs: 1600, enCacheMs: 60000, fingerprint: false, ecsMinPrefix: 24 }
resolvers:
  - prefixes: ["198.51.100.53/32", "2001:db8::53"]
    profile: knot
  - prefixes: ["198.51.100.0/24"]
    profile: powerdns
    ttlFloorMs: 3000            # minimum-ttl-override = 3 on that fleet
    ecs: trusted
  - prefixes: ["203.0.113.0/25"]
    profile: { name: campus, patienceMs: 4000, ttlFloorMs: 2000, ecs: trusted }
  - prefixes: ["192.0.2.0/24"]
    profile: unknown
`).cfg();
  assert.deepEqual(c.resolvers.map((r) => r.prefixes.map(formatPrefix)), [
    ['198.51.100.53/32', '2001:db8:0:0:0:0:0:53/128'], ['198.51.100.0/24'], ['203.0.113.0/25'], ['192.0.2.0/24'],
  ]);
  assert.deepEqual(c.resolvers.map((r) => configuredProfile(r, c.nts)), [
    { name: 'knot', patienceMs: 9500, ttlFloorMs: 5000, ecs: 'ignored' },
    { name: 'powerdns', patienceMs: 1500, ttlFloorMs: 3000, ecs: 'trusted' },
    { name: 'campus', patienceMs: 4000, ttlFloorMs: 2000, ecs: 'trusted' },
    { name: 'unknown', patienceMs: 1600, ttlFloorMs: 5000, ecs: 'ignored' },
  ]);
  const p = resolverProfiles(c);
  assert.equal(p.fingerprint, undefined, 'nts.fingerprint: false');
  assert.equal(p.defaultProfile.patienceMs, 1600);
  assert.equal(p.select(0, '198.51.100.53').profile.name, 'knot', 'the /32 beats the /24 whatever the order');
  assert.equal(p.select(0, '198.51.100.54').profile.name, 'powerdns');
  assert.equal(p.select(0, '2001:db8::53').profile.name, 'knot');
  assert.equal(p.select(0, '203.0.113.200').via, 'default');
  // Inline profiles: ecs defaults to ignored, name to "custom".
  const d = load(`
resolvers:
  - prefixes: ["203.0.113.9"]
    profile: { patienceMs: 2500, ttlFloorMs: 0 }
`).cfg();
  assert.deepEqual(configuredProfile(d.resolvers[0], d.nts), { name: 'custom', patienceMs: 2500, ttlFloorMs: 0, ecs: 'ignored' });
});

test('mistakes in resolvers[] name the key and what was expected', () => {
  expectError('resolvers: [{ prefixes: ["198.51.100.53/32"], profile: unbund }]', 'resolvers[0].profile', /expected one of unbound, bind, knot, powerdns, unknown/);
  expectError('resolvers: [{ prefixes: ["198.51.100.53/32"] }]', 'resolvers[0].profile', /expected one of/);
  expectError('resolvers: [{ prefixes: ["198.51.100.53/24"], profile: bind }]', 'resolvers[0].prefixes[0]', /the network is 198\.51\.100\.0\/24/);
  expectError('resolvers: [{ prefixes: ["ns.example"], profile: bind }]', 'resolvers[0].prefixes[0]', /expected "ADDRESS\/LENGTH"/);
  expectError('resolvers: [{ prefixes: [], profile: bind }]', 'resolvers[0].prefixes', /at least one/);
  expectError(`resolvers:
  - { prefixes: ["198.51.100.0/24"], profile: bind }
  - { prefixes: ["192.0.2.1", "198.51.100.0/24"], profile: knot }`, 'resolvers[1].prefixes[1]', /198\.51\.100\.0\/24 is already in resolvers\[0\]/);
  expectError('resolvers: [{ prefixes: ["192.0.2.1"], profile: { patienceMs: 2000 } }]', 'resolvers[0].profile.ttlFloorMs', /number/);
  expectError('resolvers: [{ prefixes: ["192.0.2.1"], profile: { patienceMs: 2000, ttlFloorMs: 0, ttl: 5 } }]', 'resolvers[0].profile', /unknown key\(s\) "ttl"/);
  expectError('resolvers: [{ prefixes: ["192.0.2.1"], profile: { name: "Big Resolver", patienceMs: 2000, ttlFloorMs: 0 } }]', 'resolvers[0].profile.name', /lowercase/);
  expectError('resolvers: [{ prefixes: ["192.0.2.1"], profile: knot, ecs: yes }]', 'resolvers[0].ecs', /trusted|ignored/);
  expectError('resolvers: [{ prefixes: ["192.0.2.1"], profile: knot, ttlFloorMs: -1 }]', 'resolvers[0].ttlFloorMs', />=\s*0|too small/i);
  expectError('resolvers: [{ prefixes: ["192.0.2.1"], profile: knot, ttlFloorMs: 3600000 }]', 'resolvers[0].ttlFloorMs', /600000|too big/i);
  expectError('resolvers: [{ prefixes: ["192.0.2.1"], profile: knot, floor: 1 }]', 'resolvers[0]', /unknown key\(s\) "floor"/);
  // A patience the margin eats up would fail every request at once.
  expectError('resolvers: [{ prefixes: ["192.0.2.1"], profile: knot, patienceMs: 200 }]', 'resolvers[0].patienceMs', /must exceed nts\.marginMs \(150\)/);
  expectError('nts: { marginMs: 1450 }\nresolvers: [{ prefixes: ["192.0.2.1"], profile: powerdns }]', 'resolvers[0].profile', /patience 1500 ms must exceed nts\.marginMs \(1450\)/);
  expectError('nts: { marginMs: 1750 }', 'nts.resolverPatienceMs', /must exceed nts\.marginMs/);
});

test('mistakes in the new nts keys', () => {
  expectError('nts: { enCacheMs: -5 }', 'nts.enCacheMs', /.+/);
  expectError('nts: { enCacheMs: 86400000 }', 'nts.enCacheMs', /600000|too big/i);
  expectError('nts: { fingerprint: "yes" }', 'nts.fingerprint', /boolean/);
  expectError('nts: { ecsMinPrefix: 0 }', 'nts.ecsMinPrefix', /1|too small/);
  expectError('nts: { ecsMinPrefix: 33 }', 'nts.ecsMinPrefix', /32|too big/);
});

test('examples/server.yaml: its resolver profiles load as documented', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const examples = [resolve(here, '../../examples'), resolve('examples')].find((d) => existsSync(join(d, 'server.yaml')));
  assert.ok(examples, 'examples/ found (run from the repository root)');
  const c = loadServerConfig(join(examples, 'server.yaml'));
  const p = resolverProfiles(c);
  assert.deepEqual(['127.0.0.1', '198.51.100.7', '203.0.113.1', '192.0.2.1'].map((a) => p.select(0, a).profile.name), ['unbound', 'knot', 'isp-ecs', 'unknown']);
  assert.equal(p.select(0, '203.0.113.1').profile.ecs, 'trusted');
});
