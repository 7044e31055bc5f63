import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimatedFreeAt, expectedWaitMs, ServiceEstimator } from '../src/router/estimate.js';
import { MappingTable } from '../src/router/mappings.js';
import type { Mapping, Rc } from '../src/router/types.js';

const m = (id: number, rcId: number, en: string, enPort: number, pa = '192.168.50.10'): Mapping => ({
  id, rcId, proto: 'tcp', enAddress: en, enPort, globalAddress: '203.0.113.2', globalPort: 80,
  privateAddress: pa, privatePort: 80, fqdn: 'alice.home.example.', createdAt: id * 10,
});

test('mapping table: by flow, by EN, by RC, removal keeps indexes right', () => {
  const t = new MappingTable();
  t.add(m(1, 1, '198.51.100.7', 40001));
  t.add(m(2, 1, '198.51.100.99', 60000));
  t.add(m(3, 2, '198.51.100.7', 40002, '192.168.50.11'));
  assert.equal(t.size, 3);
  assert.equal(t.byFlow({ proto: 'tcp', src: '198.51.100.7', srcPort: 40002, dst: '203.0.113.2', dstPort: 80 })?.id, 3);
  assert.equal(t.byFlow({ proto: 'udp', src: '198.51.100.7', srcPort: 40002, dst: '203.0.113.2', dstPort: 80 }), undefined);
  assert.deepEqual(t.byEn('198.51.100.7').map((x) => x.id), [1, 3]);
  assert.deepEqual(t.byRc(1).map((x) => x.id), [1, 2]);
  assert.throws(() => t.add(m(4, 3, '198.51.100.7', 40001)), /exists/, 'one mapping per flow');
  assert.equal(t.remove(1)?.id, 1);
  assert.equal(t.remove(1), undefined);
  assert.deepEqual(t.byEn('198.51.100.7').map((x) => x.id), [3]);
  assert.deepEqual(t.byRc(1).map((x) => x.id), [2]);
  assert.deepEqual(t.list().map((x) => x.id), [2, 3]);
  t.add(m(5, 3, '198.51.100.7', 40001)); // the flow may be mapped again once its entry is gone
  assert.equal(t.size, 3);
});

const rc = (createdAt: number, releaseAt: number | null): Rc => ({
  id: 1, keys: [], globalAddress: '203.0.113.2', privateAddress: '192.168.50.10', fqdn: 'alice.home.example.',
  source: 'any', createdAt, armedAt: createdAt, expiresAt: createdAt + 3000, firstPacketAt: releaseAt === null ? null : releaseAt - 500, releaseAt,
});

test('estimate: free time of a lock and the wait formula', () => {
  // Waiting RC: expected packet at createdAt + E - hold, but never less than a full hold from now.
  assert.equal(estimatedFreeAt(rc(0, null), 10, 600, 500), 600);
  assert.equal(estimatedFreeAt(rc(0, null), 400, 600, 500), 900);
  assert.equal(estimatedFreeAt(rc(0, 620), 10, 600, 500), 620, 'holding: known exactly');
  // One lock: W = (F - now) + Q * E.
  assert.equal(expectedWaitMs(100, [600], 0, 600), 500);
  assert.equal(expectedWaitMs(100, [600], 3, 600), 2300);
  // Two locks: the queue spreads over both.
  assert.equal(expectedWaitMs(0, [600, 650], 0, 600), 600);
  assert.equal(expectedWaitMs(0, [600, 650], 1, 600), 650);
  assert.equal(expectedWaitMs(0, [600, 650], 2, 600), 1200);
  assert.equal(expectedWaitMs(0, [0, 650], 0, 600), 0, 'a free lock');
});

test('estimate: EWMA starts at serviceEstimate + hold and follows samples', () => {
  const e = new ServiceEstimator(100, 500, 0.5);
  assert.equal(e.occupancyMs, 600);
  e.observe(800);
  assert.equal(e.occupancyMs, 700);
  e.observe(700);
  assert.equal(e.occupancyMs, 700);
});
