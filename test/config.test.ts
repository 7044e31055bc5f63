import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadServerConfig } from '../src/config/server-config.js';
import { ConfigError } from '../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ntss-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const good = `
listen: ["127.0.0.1:5300", "[::1]:5300"]
storage: ./var/s.db
zone:
  name: Home.Example.
  soa: { mname: ns1.home.example., rname: hostmaster.home.example., refresh: 3600, retry: 600, expire: 86400, minimum: 0 }
  ns: [ns1.home.example.]
  records:
    - "ns1.home.example. 3600 IN A 192.0.2.53"
tsig:
  - name: alice-key.
    algorithm: hmac-sha256
    secret: "c2VjcmV0LWZvci1hbGljZS1vbmx5LWluLXRoZS1leGFtcGxl"
    allow: [alice.home.example., "*.lab.home.example."]
routers:
  - id: gw1
    addresses: [203.0.113.2]
    nts: "203.0.113.2:5300"
    key: "bnRzLXJvdXRlci1rZXktZm9yLWd3MS1leGFtcGxlLW9ubHk="
`;

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

function expectError(text: string, key: string, pattern: RegExp): void {
  const f = write('bad.yaml', text);
  assert.throws(() => loadServerConfig(f), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.equal(e.key, key);
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(f + ': '), 'message names the file');
    return true;
  });
}

test('a valid file loads with defaults and canonical names', () => {
  const f = write('good.yaml', good);
  const c = loadServerConfig(f);
  assert.equal(c.zone.name, 'home.example.');
  assert.deepEqual(c.listen.map((l) => [l.host, l.port, l.family]), [['127.0.0.1', 5300, 4], ['::1', 5300, 6]]);
  assert.equal(c.storage, join(dir, 'var/s.db'), 'storage is relative to the config file');
  assert.equal(c.udp.maxPayload, 1232);
  assert.equal(c.tcp.maxConnections, 256);
  assert.equal(c.zone.soa.serial, 1);
  assert.equal(c.zone.records.length, 1);
  assert.equal(c.zone.records[0].rdata.kind, 'A');
  assert.deepEqual(c.tsig[0].allow, [{ name: 'alice.home.example.', subtree: false }, { name: 'lab.home.example.', subtree: true }]);
  assert.equal(c.tsig[0].secret.toString(), 'secret-for-alice-only-in-the-example');
});

test('mistakes name the key and what was expected', () => {
  expectError(good.replace('minimum: 0', 'minimum: "zero"'), 'zone.soa.minimum', /number/);
  expectError(good.replace('"127.0.0.1:5300"', '"localhost:53"'), 'listen[0]', /IP address/);
  expectError(good.replace('"[::1]:5300"', '"127.0.0.1:70000"'), 'listen[1]', /port/);
  expectError(good.replace('name: Home.Example.', 'name: home.example'), 'zone.name', /absolute/);
  expectError(good.replace('algorithm: hmac-sha256', 'algorithm: hmac-md5'), 'tsig[0].algorithm', /hmac-sha256/);
  expectError(good.replace('c2VjcmV0LWZvci1hbGljZS1vbmx5LWluLXRoZS1leGFtcGxl', 'c2hvcnQ='), 'tsig[0].secret', /too short/);
  expectError(good.replace('192.0.2.53"', '192.0.2"'), 'zone.records[0]', /invalid record/);
  expectError(good.replace('ns1.home.example. 3600 IN A', 'ns1.other.example. 3600 IN A'), 'zone.records[0]', /outside the zone/);
  expectError(good.replace('addresses: [203.0.113.2]', 'addresses: [gw.example]'), 'routers[0].addresses[0]', /IPv4 or IPv6/);
  expectError(good + 'listne: []\n', '', /unknown key.*listne/);
  expectError(good.replace('storage: ./var/s.db\n', ''), 'storage', /./);
  expectError('listen: [\n', 'line 2 column 1', /invalid YAML/);
});

test('source verification, cookies and RRL: defaults, and mistakes name the key', () => {
  const c = loadServerConfig(write('verify.yaml', good));
  assert.equal(c.nts.verifySource, 'cookie-or-tcp');
  assert.equal(c.nts.maxPending, 4096);
  assert.equal(c.cookies.secret, undefined, 'random at start');
  assert.deepEqual([c.rrl.responsesPerSecond, c.rrl.slip, c.rrl.maxEntries, c.rrl.ipv4PrefixLength, c.rrl.ipv6PrefixLength], [20, 1, 100_000, 24, 56]);
  assert.deepEqual(c.rrl.exempt.map((p) => `${p.family}/${p.length}`), ['4/8', '6/128'], 'loopback exempt');
  const d = loadServerConfig(write('verify2.yaml', good + 'cookies: { secret: "MDEyMzQ1Njc4OWFiY2RlZg==" }\nrrl: { responsesPerSecond: 0, exempt: [] }\n'));
  assert.equal(d.cookies.secret?.toString(), '0123456789abcdef');
  assert.equal(d.rrl.responsesPerSecond, 0);
  assert.equal(d.rrl.slip, 1, 'the other keys keep their defaults');
  expectError(good + 'cookies: { secret: "MDEyMzQ1Njc4OWFiY2RlZjA=" }\n', 'cookies.secret', /exactly 16 octets/);
  expectError(good + 'cookies: { secret: "c2hvcnQ=" }\n', 'cookies.secret', /16 octets/);
  expectError(good + 'rrl: { exempt: ["127.0.0.1/8"] }\n', 'rrl.exempt[0]', /bits set past/);
  expectError(good + 'rrl: { slip: 11 }\n', 'rrl.slip', /10/);
  expectError(good + 'rrl: { rate: 5 }\n', 'rrl', /unknown key.*rate/);
});

test('a missing file is a clear error', () => {
  assert.throws(() => loadServerConfig(join(dir, 'nope.yaml')), /nope\.yaml: \(top level\): cannot read/);
});
