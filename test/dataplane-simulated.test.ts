// The simulated data plane driven by the real scheduler on a fake clock: no sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedDataPlane, type DataPlaneMappingEvent } from '../src/dataplane/index.js';
import { PrivateHostList, RcScheduler, type FirstPacket } from '../src/router/index.js';

const GA = '203.0.113.2';
const EN1 = '198.51.100.7';
const EN2 = '198.51.100.99';

function setup() {
  const phl = new PrivateHostList();
  phl.setConfigured('alice.home.example.', '192.168.50.10');
  const s = new RcScheduler({ globalAddresses: [GA], holdMs: 500, rcTimeoutMs: 3000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100 }, phl);
  let now = 1000;
  const dp = new SimulatedDataPlane((pkt) => s.packet(now, pkt));
  const events: DataPlaneMappingEvent[] = [];
  dp.onEvent((e) => events.push(e));
  return { s, dp, events, at: (t: number) => (now = t) };
}

const pkt = (src: string, srcPort: number, dstPort = 80): FirstPacket => ({ proto: 'tcp', src, srcPort, dst: GA, dstPort });

test('no RC: no-rc and counted; with an RC: mapped, recorded, later packets do not ask again', async () => {
  const { s, dp, events, at } = setup();
  await dp.start();
  assert.equal(dp.inject(pkt(EN1, 40000)).verdict, 'no-rc');
  const ev = s.request(1000, { id: 'r1', fqdn: 'alice.home.example.', qtype: 1, resolver: '192.0.2.53', deadlineMs: 5000 });
  const rc = ev.find((e) => e.type === 'rc-created');
  assert.ok(rc && rc.type === 'rc-created');
  await dp.activateRc(rc.rc);
  at(1020);
  const r = dp.inject(pkt(EN1, 40000), 60);
  assert.equal(r.verdict, 'mapped');
  assert.equal(r.verdict === 'mapped' && r.mapping.privateAddress, '192.168.50.10');
  assert.deepEqual(r.events.map((e) => e.type), ['mapping-created', 'rc-hold-started']);
  const again = dp.inject(pkt(EN1, 40000), 40);
  assert.deepEqual(again.verdict === 'mapped' && [again.existing, again.events.length], [true, 0]);
  assert.ok(dp.reply(pkt(EN1, 40000), 7));
  assert.equal(dp.listMappings().length, 1);
  assert.ok(dp.end(pkt(EN1, 40000)));
  assert.deepEqual(events.map((e) => [e.type, e.bytesIn, e.bytesOut]), [['mapping-opened', undefined, undefined], ['mapping-closed', 100, 7]]);
  assert.deepEqual(dp.counters(), { 'mapping-closed': 1, 'mapping-opened': 1, 'tcp-forwarded': 1, 'tcp-mapped': 1, 'tcp-no-rc': 1 });
});

test('like the kernel map: a second RC on one global address is refused, an unknown one cannot be removed', async () => {
  const { s, dp } = setup();
  await dp.start();
  const ev = s.request(1000, { id: 'r1', fqdn: 'alice.home.example.', qtype: 1, resolver: '192.0.2.53', deadlineMs: 5000 });
  const rc = ev.find((e) => e.type === 'rc-created');
  assert.ok(rc && rc.type === 'rc-created');
  await dp.activateRc(rc.rc);
  await assert.rejects(dp.activateRc({ ...rc.rc, id: 99 }), /overlaps RC 1/);
  await dp.deactivateRc(rc.rc);
  await assert.rejects(dp.deactivateRc(rc.rc), /not active/);
  // The plane trusts the scheduler's verdict (it still holds RC 1); stop() closes every flow.
  assert.equal(dp.inject(pkt(EN2, 1)).verdict, 'mapped');
  const closed: string[] = [];
  dp.onEvent((e) => closed.push(`${e.type} ${e.reason}`));
  await dp.stop();
  assert.deepEqual(closed, ['mapping-closed stop']);
  assert.throws(() => dp.inject(pkt(EN1, 2)), /before start/);
});
