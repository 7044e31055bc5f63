// The dashboard's feed, without sockets: what becomes a timeline item, what a new client gets,
// and the bounds (the snapshot's rings, one delta's size, nothing kept while nobody listens).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DashboardFeed } from '../src/dashboard/feed.js';
import type { IncomingRequest } from '../src/nts/index.js';
import type { RouterEvent } from '../src/router/index.js';

const request = (id: string, fqdn = 'alice.home.example.'): IncomingRequest => ({
  requestId: `gw1 ${id}`, keyId: 'gw1', id, timestamp: 0, receivedAt: 0, deadlineMs: 1000, from: { address: '192.0.2.53', port: 5300 },
  request: { fqdn, qtype: 1, mode: 'any', resolver: { address: '198.51.100.53', port: 4000 }, leaseMs: 0 },
} as unknown as IncomingRequest);

const rc = { id: 7, fqdn: 'alice.home.example.', globalAddress: '203.0.113.2', privateAddress: '192.168.50.10' };

test('feed: a lookup, its READY with the wait, the RC and the mapping, with the request id', () => {
  const f = new DashboardFeed();
  f.listening = true;
  f.request(request('aa01'), 1000);
  f.event({ type: 'rc-created', at: 1001, rc } as unknown as RouterEvent, 'aa01');
  f.responded(['gw1 aa01'], { status: 'READY', answerAddress: '203.0.113.2', rcId: 7, rcLifetimeMs: 3000 }, [1.234], 1002);
  f.event({ type: 'mapping-created', at: 1010, mapping: { id: 3, rcId: 7, proto: 'tcp', enAddress: '198.51.100.11', enPort: 40000, globalAddress: '203.0.113.2', globalPort: 80, privateAddress: '192.168.50.10', privatePort: 80, fqdn: 'alice.home.example.', createdAt: 1010 } } as unknown as RouterEvent, 'aa01');
  f.event({ type: 'lease-created', at: 1011 } as unknown as RouterEvent, undefined);
  const d = f.take()!;
  assert.deepEqual(d.items.map((x) => x.kind), ['lookup', 'rc', 'response', 'mapping']);
  assert.deepEqual(d.items[0], { kind: 'lookup', at: 1000, req: 'aa01', fqdn: 'alice.home.example.', qtype: 1, mode: 'any', resolver: '198.51.100.53' });
  assert.deepEqual(d.items[2], { kind: 'response', at: 1002, req: 'aa01', status: 'READY', waitMs: 1.2, address: '203.0.113.2', rc: 7 });
  assert.deepEqual(d.items[3], { kind: 'mapping', at: 1010, event: 'created', mapping: 3, rc: 7, fqdn: 'alice.home.example.', en: '198.51.100.11', to: '192.168.50.10:80', proto: 'tcp', req: 'aa01' });
  assert.deepEqual(d.waits, [[1002, 1.2, 'READY']]);
  assert.equal(d.changed, true);
  assert.equal(d.lost, 0);
  assert.equal(f.take(), undefined, 'nothing new: no delta');
  f.event({ type: 'lease-ended', at: 2000 } as unknown as RouterEvent, undefined);
  assert.deepEqual(f.take(), { items: [], waits: [], lost: 0, changed: true }, 'a table changed: a delta with the state only');
});

test('feed: bounded snapshot rings and deltas; nothing batched while nobody listens', () => {
  const f = new DashboardFeed({ recent: 5, waits: 3, batch: 4 });
  for (let i = 0; i < 10; i++) f.request(request(`q${i}`), i);
  assert.equal(f.take()?.items.length ?? 0, 0, 'nobody listened: no batch kept');
  const s = f.snapshot();
  assert.deepEqual(s.items.map((x) => (x.kind === 'lookup' ? x.req : '')), ['q5', 'q6', 'q7', 'q8', 'q9'], 'the newest 5');
  f.listening = true;
  f.responded(Array.from({ length: 10 }, (_, i) => `gw1 q${i}`), { status: 'TOO_LATE', reason: 'deadline' }, Array(10).fill(5), 100);
  const d = f.take()!;
  assert.equal(d.items.length, 4, 'a delta holds at most `batch` items');
  assert.equal(d.lost, 6, 'and says how many it dropped');
  assert.deepEqual(d.items.map((x) => x.kind === 'response' && x.req), ['q6', 'q7', 'q8', 'q9'], 'the newest');
  assert.equal(f.snapshot().waits.length, 3);
  f.responded(['gw1 x'], { status: 'TOO_LATE', reason: 'deadline' }, [1], 200);
  assert.equal(f.take()!.lost, 0, 'the count starts again');
});
