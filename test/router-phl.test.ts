import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrivateHostList } from '../src/router/phl.js';
import { ALL_SERVICES } from '../src/router/claims.js';
import { NtssError } from '../src/util/errors.js';

test('names are canonical: any case, trailing dot optional', () => {
  const phl = new PrivateHostList();
  const e = phl.setConfigured('Alice.Home.Example', '192.168.50.10');
  assert.equal(e.fqdn, 'alice.home.example.');
  assert.equal(phl.lookup('ALICE.home.example.')?.address, '192.168.50.10');
  assert.equal(phl.lookup('alice.home.example')?.address, '192.168.50.10');
  assert.equal(phl.lookup('bob.home.example.'), undefined);
  assert.equal(phl.lookup('bad..name'), undefined, 'an invalid name is simply not found');
});

test('learned entries carry their time and are refreshed by relearning', () => {
  const phl = new PrivateHostList();
  const e = phl.learn(1000, 'bob.home.example.', '192.168.50.11');
  assert.deepEqual(e, { fqdn: 'bob.home.example.', address: '192.168.50.11', source: 'learned', learnedAt: 1000, services: ALL_SERVICES });
  phl.learn(5000, 'BOB.home.example', '192.168.50.12');
  assert.deepEqual(phl.lookup('bob.home.example.'), { fqdn: 'bob.home.example.', address: '192.168.50.12', source: 'learned', learnedAt: 5000, services: ALL_SERVICES });
  assert.equal(phl.size, 1);
});

test('configured entries may declare services; an empty list is refused', () => {
  const phl = new PrivateHostList();
  const e = phl.setConfigured('alice.home.example.', '192.168.50.10', [{ proto: 'tcp', ports: [22, 22] }]);
  assert.deepEqual(e.services, [{ proto: 'tcp', ports: [22, 22] }]);
  assert.throws(() => phl.setConfigured('bob.home.example.', '192.168.50.11', []), /empty service list/);
});

test('configured wins over learned; the learned entry is kept underneath', () => {
  const phl = new PrivateHostList();
  phl.learn(10, 'alice.home.example.', '192.168.50.99');
  const effective = phl.setConfigured('alice.home.example.', '192.168.50.10');
  assert.equal(phl.lookup('alice.home.example.'), effective);
  // Learning again does not override the operator, and says what is in effect.
  const now = phl.learn(20, 'alice.home.example.', '192.168.50.98');
  assert.equal(now.source, 'configured');
  assert.equal(now.address, '192.168.50.10');
  assert.deepEqual(phl.list().map((e) => [e.fqdn, e.source, e.address]), [['alice.home.example.', 'configured', '192.168.50.10']]);
  assert.deepEqual(phl.list({ all: true }).map((e) => [e.source, e.address, e.learnedAt]), [
    ['configured', '192.168.50.10', null],
    ['learned', '192.168.50.98', 20],
  ]);
  // Removing the configuration reveals the learned entry.
  assert.equal(phl.remove('alice.home.example.', 'configured'), true);
  assert.equal(phl.lookup('alice.home.example.')?.address, '192.168.50.98');
  assert.equal(phl.remove('alice.home.example.'), true);
  assert.equal(phl.lookup('alice.home.example.'), undefined);
  assert.equal(phl.size, 0);
  assert.equal(phl.remove('alice.home.example.'), false);
});

test('removing one source leaves the other', () => {
  const phl = new PrivateHostList();
  phl.setConfigured('a.home.example.', '192.168.50.1');
  phl.learn(1, 'a.home.example.', '192.168.50.2');
  assert.equal(phl.remove('a.home.example.', 'learned'), true);
  assert.equal(phl.lookup('a.home.example.')?.source, 'configured');
  assert.equal(phl.remove('a.home.example.', 'learned'), false);
});

test('list is sorted by name; IPv6 private addresses are accepted', () => {
  const phl = new PrivateHostList();
  phl.setConfigured('zeta.home.example.', '192.168.50.30');
  phl.learn(1, 'bob.home.example.', 'fd00::11');
  phl.setConfigured('alice.home.example.', '192.168.50.10');
  assert.deepEqual(phl.list().map((e) => e.fqdn), ['alice.home.example.', 'bob.home.example.', 'zeta.home.example.']);
});

test('stale learned entries can be pruned by learn time; configured ones stay', () => {
  const phl = new PrivateHostList();
  phl.learn(100, 'old.home.example.', '192.168.50.1');
  phl.learn(900, 'new.home.example.', '192.168.50.2');
  phl.setConfigured('cfg.home.example.', '192.168.50.3');
  phl.learn(100, 'cfg.home.example.', '192.168.50.4');
  const gone = phl.removeLearnedBefore(500);
  assert.deepEqual(gone.map((e) => e.fqdn).sort(), ['cfg.home.example.', 'old.home.example.']);
  assert.deepEqual(phl.list({ all: true }).map((e) => [e.fqdn, e.source]), [
    ['cfg.home.example.', 'configured'],
    ['new.home.example.', 'learned'],
  ]);
});

test('bad names and addresses throw coded errors', () => {
  const phl = new PrivateHostList();
  const code = (c: string) => (e: unknown) => e instanceof NtssError && e.code === c;
  assert.throws(() => phl.setConfigured('alice.home.example.', '192.168.50.256'), code('PHL_BAD_ADDRESS'));
  assert.throws(() => phl.setConfigured('alice.home.example.', 'alice'), code('PHL_BAD_ADDRESS'));
  assert.throws(() => phl.learn(0, 'alice.home.example.', '1:2:3'), code('PHL_BAD_ADDRESS'));
  assert.throws(() => phl.setConfigured('.', '192.168.50.1'), code('PHL_BAD_NAME'));
  assert.throws(() => phl.setConfigured('a..b', '192.168.50.1'), code('PHL_BAD_NAME'));
  assert.equal(phl.size, 0);
});
