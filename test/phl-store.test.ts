// PHL persistence: learned entries survive a reopen; configured ones are never stored; one
// process per file; the config's relative path is relative to the config file.
import { ALL_SERVICES } from '../src/router/claims.js';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadRouterConfig } from '../src/config/router-config.js';
import { PrivateHostList } from '../src/router/index.js';
import { PhlStore } from '../src/store/phl-store.js';

const dir = mkdtempSync(join(tmpdir(), 'ntss-phl-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `case${++n}`, 'var', 'router.db');

test('save, remove, reopen: the PHL gets the stored entries with their learnedAt', () => {
  const path = freshPath();
  const s = PhlStore.open(path);
  s.save('alice.home.example.', '192.168.50.10', 1000);
  s.save('bob.home.example.', '192.168.50.11', 2000);
  s.save('alice.home.example.', '192.168.50.12', 3000); // relearned: replaced
  s.save('gone.home.example.', '192.168.50.13', 4000);
  assert.equal(s.remove('gone.home.example.'), true);
  assert.equal(s.remove('gone.home.example.'), false);
  s.close();

  const again = PhlStore.open(path);
  assert.deepEqual(again.all(), [
    { fqdn: 'alice.home.example.', address: '192.168.50.12', learnedAt: 3000 },
    { fqdn: 'bob.home.example.', address: '192.168.50.11', learnedAt: 2000 },
  ]);
  const phl = new PrivateHostList();
  phl.setConfigured('bob.home.example.', '192.168.50.99');
  assert.deepEqual(again.loadInto(phl), { loaded: 2, skipped: [] });
  assert.deepEqual(phl.lookup('alice.home.example.'), { fqdn: 'alice.home.example.', address: '192.168.50.12', source: 'learned', learnedAt: 3000, services: ALL_SERVICES });
  assert.equal(phl.lookup('bob.home.example.')?.source, 'configured', 'configuration still wins over a stored learned entry');
  assert.equal(phl.list({ all: true }).length, 3);
  again.close();
});

test('a row the PHL refuses is skipped and reported', () => {
  const path = freshPath();
  PhlStore.open(path).close();
  const db = new Database(path);
  db.prepare('INSERT INTO learned (fqdn, address, learned_at) VALUES (?, ?, ?)').run('bad.home.example.', 'not-an-ip', 1);
  db.prepare('INSERT INTO learned (fqdn, address, learned_at) VALUES (?, ?, ?)').run('ok.home.example.', '192.168.50.10', 1);
  db.close();
  const s = PhlStore.open(path);
  const phl = new PrivateHostList();
  const r = s.loadInto(phl);
  s.close();
  assert.equal(r.loaded, 1);
  assert.deepEqual(r.skipped.map((x) => x.fqdn), ['bad.home.example.']);
  assert.equal(phl.size, 1);
});

test('one router per file: a second open fails at once, naming the path', () => {
  const path = freshPath();
  const s = PhlStore.open(path);
  try {
    assert.throws(() => PhlStore.open(path), (e: Error) => e.message.includes(path) && /in use by another process/.test(e.message));
  } finally {
    s.close();
  }
  PhlStore.open(path).close(); // free again after close
});

test('a file from a newer schema is refused', () => {
  const path = freshPath();
  PhlStore.open(path).close();
  const db = new Database(path);
  db.prepare('UPDATE phl_schema_version SET version = 99').run();
  db.close();
  assert.throws(() => PhlStore.open(path), /schema version 99 is newer/);
});

test('config: a relative storage path is relative to the config file', () => {
  const etc = join(dir, 'etc');
  mkdirSync(etc, { recursive: true });
  const file = join(etc, 'router.yaml');
  const yaml = (storage: string) => [
    'id: gw1', `key: ${Buffer.alloc(32, 1).toString('base64')}`, 'nts: { listen: "127.0.0.1:5300" }',
    'globalAddresses: ["127.0.0.2"]', 'dataplane: { ports: ["tcp/8080"] }', `storage: ${storage}`, '',
  ].join('\n');
  writeFileSync(file, yaml('./var/router.db'));
  assert.equal(loadRouterConfig(file).storage, join(etc, 'var', 'router.db'));
  writeFileSync(file, yaml('/srv/ntss/router.db'));
  assert.equal(loadRouterConfig(file).storage, '/srv/ntss/router.db');
});

test('the lease horizon survives a reopen; a version-1 file gains it on open', () => {
  const p = freshPath();
  const s = PhlStore.open(p);
  assert.equal(s.leaseHorizon(), 0);
  s.setLeaseHorizon(1_800_000_000_000.5);
  s.save('alice.home.example.', '192.168.50.10', 1);
  s.close();
  const again = PhlStore.open(p);
  assert.equal(again.leaseHorizon(), 1_800_000_000_001);
  again.close();
  // A file written by the release before leases (schema 1): migrated, entries kept.
  const old = freshPath();
  mkdirSync(join(old, '..'), { recursive: true });
  const db = new Database(old);
  db.exec("CREATE TABLE phl_schema_version (version INTEGER NOT NULL); INSERT INTO phl_schema_version VALUES (1); CREATE TABLE learned (fqdn TEXT PRIMARY KEY, address TEXT NOT NULL, learned_at INTEGER NOT NULL); INSERT INTO learned VALUES ('bob.home.example.', '192.168.50.11', 5);");
  db.close();
  const migrated = PhlStore.open(old);
  assert.deepEqual(migrated.all().map((e) => e.fqdn), ['bob.home.example.']);
  assert.equal(migrated.leaseHorizon(), 0);
  migrated.setLeaseHorizon(7);
  assert.equal(migrated.leaseHorizon(), 7);
  migrated.close();
});
