// The nftables data plane against fakes of nft and conntrack (src/dataplane/nft-fake.ts), driven
// by the real scheduler the way routerd drives it: the ruleset and elements are compared as text
// with golden files in test/fixtures/nft/ (NTSS_UPDATE_GOLDEN=1 rewrites them).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  ctFlow, DataPlaneError, FakeConntrack, fakeHost, FakeNft, NftablesDataPlane, anyKey, formatKey, NftError, rcElementsFor,
  type DataPlaneMappingEvent, type NftablesOptions,
} from '../src/dataplane/index.js';
import { PrivateHostList, RcScheduler, type FirstPacket, type RouterEvent } from '../src/router/index.js';
import { fixtureDir } from './helpers/fixtures.js';

const GA = '203.0.113.2';
const EN = '203.0.113.20';
const EN2 = '198.51.100.7';
const ALICE = '192.168.50.10';
const BOB = '192.168.50.11';

const FIXTURES = fixtureDir('nft');

function golden(name: string, actual: string): void {
  assert.ok(FIXTURES, 'test/fixtures/nft not found (run from the repository root)');
  const file = path.join(FIXTURES, name);
  if (process.env.NTSS_UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `differs from ${file}`);
}

/** The plane, a real scheduler, fakes, and the daemon's way of applying events (one ordered chain). */
function setup(o: Partial<NftablesOptions> = {}) {
  let now = 1_000_000;
  const phl = new PrivateHostList();
  phl.setConfigured('alice.home.example.', ALICE);
  phl.setConfigured('bob.home.example.', BOB);
  const s = new RcScheduler({ globalAddresses: [GA], holdMs: 500, rcTimeoutMs: 3000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100, stickyMs: 30_000 }, phl);
  const nft = new FakeNft(() => now);
  const ct = new FakeConntrack();
  const asked: FirstPacket[] = [];
  const events: DataPlaneMappingEvent[] = [];
  let chain: Promise<void> = Promise.resolve();
  const errors: string[] = [];
  const apply = (evs: readonly RouterEvent[]) => {
    for (const e of evs) {
      if (e.type === 'sticky-created') dp.addSticky(e.sticky, e.replaced);
      const rc = e.type === 'rc-created' || e.type === 'rc-removed' ? e.rc : undefined;
      if (!rc) continue;
      const f = e.type === 'rc-created' ? () => dp.activateRc(rc) : () => dp.deactivateRc(rc);
      chain = chain.then(f).catch((err: Error) => void errors.push(err.message));
    }
  };
  const dp: NftablesDataPlane = new NftablesDataPlane({
    wan: 'wan0', lan: 'lan0', globalAddresses: [GA], nft, conntrack: ct, host: fakeHost(), now: () => now,
    localServices: [{ proto: 'udp', port: 5300 }], safetyTimeoutMs: 13_500, reconcileMs: 0,
    classify: (pkt) => {
      asked.push(pkt);
      const r = s.packet(now, pkt);
      apply(r.events);
      return r;
    },
    ...o,
  });
  dp.onEvent((e) => events.push(e));
  return {
    s, dp, nft, ct, asked, events, errors,
    /** A new flow from the WAN as the kernel would treat it: DNATed (and its events silenced) where FakeNft's rules say. */
    send: (proto: 'tcp' | 'udp', en: string, enPort: number, port: number, ga = GA) => {
      const k = nft.firstPacket('ntss', { proto, src: en, dst: ga, dport: port });
      return k === undefined ? undefined : ct.add(ctFlow(proto, en, enPort, ga, port, k.to), k);
    },
    at: (t: number) => (now = 1_000_000 + t),
    request: (id: string, fqdn: string, leaseMs = 0) => apply(s.request(now, { id, fqdn, qtype: 1, resolver: '192.0.2.53', deadlineMs: now + 5000, leaseMs })),
    poll: () => apply(s.poll(now)),
    settle: async () => {
      await chain;
      await dp.flush();
    },
  };
}

test('start installs the static table in one transaction that replaces a leftover table', async () => {
  const x = setup({ dnsRedirect: { server: '192.0.2.53', port: 5353 }, trustedInterfaces: ['mgmt0'], host: fakeHost({ interfaces: ['wan0', 'lan0', 'mgmt0'] }) });
  await x.nft.run([{ kind: 'raw', text: 'add table ip ntss' }, { kind: 'raw', text: 'add map ip ntss rc_any { type ipv4_addr . ipv4_addr . inet_proto . inet_service : ipv4_addr ; flags interval,timeout ; counter ; }' },
    { kind: 'add-element', table: 'ntss', map: 'rc_any', key: { source: '0.0.0.0/0', dst: GA, proto: 'any', ports: [0, 65535] }, value: BOB }]);
  await x.dp.start();
  assert.equal(x.nft.transactions.length, 2, 'one transaction for the whole table');
  assert.deepEqual(x.nft.transactions[1]!.slice(0, 3), ['add table ip ntss', 'delete table ip ntss', 'add table ip ntss']);
  golden('static.nft', x.nft.dump());
  assert.deepEqual(x.ct.watching(), [GA]);
  await x.dp.stop();
  assert.equal(x.nft.hasTable('ntss'), false, 'stop removes the table');
  assert.ok(x.nft.closed);
});

test('without learning there is no lan_dns chain; the table name is configurable', async () => {
  const x = setup({ table: 'gw1' });
  await x.dp.start();
  const dump = x.nft.dump();
  assert.doesNotMatch(dump, /lan_dns|redirect/);
  assert.match(dump, /^add table ip gw1$/m);
  await x.dp.stop();
});

test('activate/deactivate: one rc_any element with its safety timeout; deactivate + next activate is one transaction', async () => {
  const x = setup();
  await x.dp.start();
  const before = x.nft.transactions.length;
  x.request('r1', 'alice.home.example.');
  await x.settle();
  assert.deepEqual(x.nft.elements('ntss', 'rc_any'), [`0.0.0.0/0 . ${GA} . 0-255 . 0-65535 timeout 13500ms : ${ALICE}`]);
  x.request('r2', 'bob.home.example.'); // queued behind alice
  x.at(3000); // alice's RC expires unused; bob's is created in the same step
  x.poll();
  await x.settle();
  assert.deepEqual(x.nft.elements('ntss', 'rc_any'), [`0.0.0.0/0 . ${GA} . 0-255 . 0-65535 timeout 13500ms : ${BOB}`]);
  const tx = x.nft.transactions.slice(before);
  assert.equal(tx.length, 2, tx.join('\n'));
  assert.deepEqual(tx[1], [
    `delete element ip ntss rc_any { 0.0.0.0/0 . ${GA} . 0-255 . 0-65535 }`,
    `add element ip ntss rc_any { 0.0.0.0/0 . ${GA} . 0-255 . 0-65535 timeout 13500ms : ${BOB} }`,
  ]);
  x.at(6000);
  x.poll();
  await x.settle();
  assert.deepEqual(x.nft.elements('ntss', 'rc_any'), []);
  assert.deepEqual(x.errors, []);
  await x.dp.stop();
});

test('first packet: the NEW event reaches classify, a sticky element follows (lease-bound); DESTROY closes the mapping', async () => {
  const x = setup();
  await x.dp.start();
  x.request('r1', 'alice.home.example.', 5000); // a Knot-like resolver: the answer lives 5 s
  await x.settle();
  x.at(40);
  const flow = x.ct.add(ctFlow('tcp', EN, 40000, GA, 8080, ALICE));
  assert.deepEqual(x.asked, [{ proto: 'tcp', src: EN, srcPort: 40000, dst: GA, dstPort: 8080, deliveredTo: ALICE }]);
  assert.equal(x.s.rcFor(GA)?.firstPacketAt, 1_000_040, 'the hold started');
  await x.settle();
  golden('after-first-packet.nft', x.nft.dump());
  assert.deepEqual(x.events.map((e) => [e.type, e.mapping.enPort, e.mapping.privateAddress]), [['mapping-opened', 40000, ALICE]]);
  assert.equal(x.dp.listMappings().length, 1);
  x.ct.destroy(flow, { orig: 120, reply: 5000 });
  assert.deepEqual(x.events.slice(1).map((e) => [e.type, e.bytesIn, e.bytesOut, e.reason]), [['mapping-closed', 120, 5000, 'end']]);
  assert.equal(x.dp.listMappings().length, 0);
  await x.dp.stop();
});

test('the kernel model: rc, then rc_any, then sticky; local services are never DNATed', async () => {
  const x = setup();
  await x.dp.start();
  const el = (map: string, source: string, value: string, proto: 'tcp' | 'any' = 'tcp', ports: [number, number] = [443, 443]) =>
    x.nft.run([{ kind: 'add-element', table: 'ntss', map, key: { source, dst: GA, proto, ports }, value }]);
  const to = (src: string, port = 443, proto: 'tcp' | 'udp' = 'tcp') => x.nft.route('ntss', { proto, src, dst: GA, dport: port });
  await el('sticky', EN, ALICE);
  assert.equal(to(EN), ALICE);
  await el('rc_any', '0.0.0.0/0', BOB, 'any', [0, 65535]);
  assert.equal(to(EN), BOB, 'an active any RC wins over the sticky element');
  assert.equal(to(EN2, 22), BOB);
  assert.equal(to(EN2, 5300, 'udp'), undefined, 'the NTS port');
  await el('rc', '198.51.100.0/24', ALICE);
  assert.equal(to(EN2), ALICE, 'a source-specific RC wins over rc_any');
  await el('rc_host', `${EN}/32`, BOB, 'tcp', [0, 65535]);
  assert.equal(to(EN, 8443), BOB, 'rc_host is looked up first');
  await x.dp.stop();
});

test('RC elements: an EN\'s /32 over all ports is exact (rc_host, one per protocol); prefixes and port ranges stay in rc', () => {
  const key = (source: string, proto: 'tcp' | 'udp' | 'any', ports: [number, number]) => ({ source, dst: GA, proto, ports });
  assert.deepEqual(rcElementsFor([key(`${EN}/32`, 'any', [0, 65535])]).map((e) => [e.map, formatKey(e.key, e.map)]),
    [['rc_host', `${EN} . ${GA} . tcp`], ['rc_host', `${EN} . ${GA} . udp`]]);
  assert.deepEqual(rcElementsFor([key(`${EN}/32`, 'tcp', [22, 22]), key('198.51.100.0/24', 'any', [0, 65535]), key('0.0.0.0/0', 'any', [0, 65535])])
    .map((e) => [e.map, formatKey(e.key, e.map)]), [
    ['rc', `${EN} . ${GA} . tcp . 22`], ['rc', `198.51.100.0/24 . ${GA} . 0-255 . 0-65535`], ['rc_any', `0.0.0.0/0 . ${GA} . 0-255 . 0-65535`],
  ]);
});

test('without a lease past the hold there is no sticky element (no exposure beyond the hold)', async () => {
  const x = setup();
  await x.dp.start();
  x.request('r1', 'alice.home.example.');
  await x.settle();
  x.send('tcp', EN, 40000, 443);
  await x.settle();
  assert.deepEqual(x.nft.elements('ntss', 'sticky'), []);
  x.at(600);
  x.poll();
  await x.settle();
  assert.equal(x.send('tcp', EN, 40001, 443), undefined, 'after the hold nothing admits the EN');
  await x.dp.stop();
});

test('sticky: after alice\'s hold the EN\'s next connection follows its sticky element silently; bob waits for alice\'s lease', async () => {
  const x = setup();
  await x.dp.start();
  x.request('r1', 'alice.home.example.', 2000);
  await x.settle();
  x.send('tcp', EN, 40000, 443);
  await x.settle();
  x.at(600); // hold over
  x.poll();
  x.request('r2', 'bob.home.example.'); // alice's lease (until 2500) keeps the address: bob queues
  await x.settle();
  assert.deepEqual(x.nft.elements('ntss', 'rc_any'), [], 'no RC for bob while alice\'s answer may still be used');
  assert.equal(x.s.queueLength, 1);
  const f = x.send('tcp', EN, 40001, 443); // the kernel: sticky -> alice, no conntrack events
  assert.equal(f?.reply.src, ALICE);
  assert.equal(x.send('tcp', EN2, 5000, 443), undefined, 'a third party gets nothing after the hold');
  await x.settle();
  // The router never hears of the sticky flow: no classify, no mapping, not adopted by a re-list.
  assert.deepEqual(x.asked.map((p) => p.srcPort), [40000]);
  assert.equal(x.dp.counters()['sticky-admitted'], 0, 'as read at start');
  await x.dp.refreshMappings();
  assert.deepEqual(x.dp.listMappings().map((m) => m.enPort), [40000]);
  assert.equal(x.dp.counters()['sticky-admitted'], 1, 'the kernel\'s count, read with the re-list');
  x.ct.destroy(f!);
  assert.deepEqual(x.events.map((e) => [e.type, e.mapping.enPort, e.mapping.privateAddress, e.mapping.via]), [
    ['mapping-opened', 40000, ALICE, 'rc'],
  ]);
  x.at(2500); // the lease (and the sticky entry with it) ends: bob's RC is made
  x.poll();
  await x.settle();
  assert.deepEqual(x.nft.elements('ntss', 'rc_any'), [`0.0.0.0/0 . ${GA} . 0-255 . 0-65535 timeout 13500ms : ${BOB}`]);
  assert.deepEqual(x.errors, []);
  await x.dp.stop();
});

test('race: the kernel DNATed to the old host after the scheduler moved on -> entry deleted; the new host\'s RC is not touched', async () => {
  const x = setup();
  await x.dp.start();
  x.request('r1', 'alice.home.example.');
  x.request('r2', 'bob.home.example.');
  await x.settle();
  x.at(3000); // alice's RC expired unused, bob's now; the kernel still had alice for a moment
  const e = ctFlow('udp', EN2, 7000, GA, 9999, ALICE);
  x.ct.add(e);
  assert.deepEqual(x.ct.deletes, [{ proto: 'udp', src: EN2, sport: 7000, dst: GA, dport: 9999, replySrc: ALICE }]);
  // The packet went to alice: it must not start bob's hold (bob's EN still needs that RC).
  assert.deepEqual(x.events, []);
  assert.equal(x.s.mappings.size, 0);
  assert.deepEqual(x.s.activeRcs().map((rc) => [rc.privateAddress, rc.firstPacketAt]), [[BOB, null]]);
  assert.equal(x.dp.counters()['first-packet-race'], 1);
  assert.equal(x.ct.entries.size, 0);
  await x.dp.stop();
});

test('trap 4: a non-NAT entry to the global address is deleted when an RC is activated; local services are left alone', async () => {
  const x = setup();
  await x.dp.start();
  x.ct.add(ctFlow('udp', EN, 6000, GA, 7000)); // accepted locally before any RC (not DNATed)
  x.ct.add(ctFlow('udp', '192.0.2.53', 40000, GA, 5300)); // an NTS request
  assert.deepEqual(x.asked, [], 'not DNATed: no first packet');
  x.request('r1', 'alice.home.example.');
  await x.settle();
  assert.deepEqual(x.ct.deletes, [{ proto: 'udp', src: EN, sport: 6000, dst: GA, dport: 7000, replySrc: GA }]);
  assert.equal(x.ct.entries.size, 1);
  assert.equal(x.dp.counters()['stale-deleted'], 1);
  await x.dp.stop();
});

test('start lists conntrack: DNATed flows from before are adopted, closed when gone; stop reports the rest', async () => {
  const x = setup();
  x.ct.add(ctFlow('tcp', EN, 1234, GA, 22, ALICE));
  x.ct.add(ctFlow('tcp', EN, 1235, GA, 22, ALICE));
  await x.dp.start();
  assert.deepEqual(x.dp.listMappings().map((m) => [m.id, m.rcId, m.enPort]), [[-1, 0, 1234], [-2, 0, 1235]]);
  x.ct.entries.clear(); // their DESTROY events were lost
  x.at(5);
  await x.dp.refreshMappings();
  assert.deepEqual(x.events.filter((e) => e.type === 'mapping-closed').map((e) => [e.mapping.enPort, e.reason]), [[1234, 'gone'], [1235, 'gone']]);
  x.request('r1', 'alice.home.example.');
  await x.settle();
  x.ct.add(ctFlow('tcp', EN, 1236, GA, 22, ALICE));
  await x.dp.stop();
  assert.deepEqual([x.events.at(-1)?.mapping.enPort, x.events.at(-1)?.reason], [1236, 'stop']);
});

test('a dead conntrack watch is restarted and the table re-listed', async () => {
  const x = setup({ watchRestartMs: 1 });
  await x.dp.start();
  x.ct.endWatches('conntrack -E exited (SIGKILL)');
  assert.deepEqual(x.ct.watching(), []);
  for (let i = 0; i < 200 && x.ct.watching().length === 0; i++) await new Promise((r) => setTimeout(r, 2));
  assert.deepEqual(x.ct.watching(), [GA]);
  assert.equal(x.dp.counters()['conntrack-watch-restart'], 1);
  await x.dp.stop();
});

test('batch failure: each change retried alone; a missing element counts as deleted, a stale one is replaced', async () => {
  const x = setup();
  await x.dp.start();
  x.request('r1', 'alice.home.example.');
  await x.settle();
  // The kernel's safety timeout removed alice's element early; bob's key meets a leftover.
  x.at(20_000);
  await x.nft.run([{ kind: 'add-element', table: 'ntss', map: 'sticky', key: { source: EN, dst: GA, proto: 'tcp', ports: [80, 80] }, value: BOB }]);
  x.request('r2', 'bob.home.example.', 30_000);
  x.poll();
  await x.settle();
  x.ct.add(ctFlow('tcp', EN2, 40000, GA, 80, BOB));
  await x.settle();
  assert.deepEqual(x.errors, []);
  assert.deepEqual(x.nft.elements('ntss', 'rc_any'), [`0.0.0.0/0 . ${GA} . 0-255 . 0-65535 timeout 13500ms : ${BOB}`]);
  const c = x.dp.counters();
  assert.equal(c['nft-delete-missing'], 1);
  assert.equal(c['nft-batch-failed'], 1);
  // A leftover sticky with another value (EEXIST): replaced, delete + add in one transaction.
  // (EN2 started bob's hold, so its other ports get sticky entries too.)
  await x.nft.run([{ kind: 'add-element', table: 'ntss', map: 'sticky', key: { source: EN2, dst: GA, proto: 'udp', ports: [53, 53] }, value: ALICE }]);
  x.ct.add(ctFlow('udp', EN2, 1, GA, 53, BOB));
  await x.settle();
  assert.equal(x.dp.counters()['nft-replaced'], 1);
  assert.ok(x.nft.elements('ntss', 'sticky').includes(`${EN2} . ${GA} . udp . 53 timeout 29990ms : ${BOB}`));
  await x.dp.stop();
});

test('an RC the kernel refuses rejects activateRc (routerd answers BUSY)', async () => {
  const x = setup();
  await x.dp.start();
  x.nft.failOnce(() => new NftError('other', 'nft: Could not process rule: Operation not supported'));
  const rc = { id: 9, keys: [anyKey(GA)], globalAddress: GA, privateAddress: ALICE, fqdn: 'alice.home.example.', source: 'any' as const, createdAt: 0, armedAt: 0, expiresAt: 3000, firstPacketAt: null, releaseAt: null };
  await assert.rejects(x.dp.activateRc(rc), (e: unknown) => e instanceof DataPlaneError && e.code === 'DATAPLANE_RC' && /Operation not supported/.test(e.message));
  assert.deepEqual(x.dp.activeRcs(), []);
  await x.dp.stop();
});

for (const [what, host, pattern] of [
  ['without root', fakeHost({ privileged: false }), /needs root or CAP_NET_ADMIN/],
  ['without nft', fakeHost({ commands: ['conntrack'] }), /the nft tool is not installed .*apt-get install nftables/],
  ['without conntrack', fakeHost({ commands: ['nft'] }), /the conntrack tool is not installed/],
  ['without the WAN interface', fakeHost({ interfaces: ['lan0'] }), /interface "wan0" \(dataplane\.wan\) does not exist/],
  ['without the LAN interface', fakeHost({ interfaces: ['wan0'] }), /interface "lan0" \(dataplane\.lan\) does not exist/],
] as const) {
  test(`start refuses ${what}, with one line, changing nothing`, async () => {
    const x = setup({ host });
    await assert.rejects(x.dp.start(), (e: unknown) => {
      assert.ok(e instanceof DataPlaneError && e.code === 'DATAPLANE_UNSUPPORTED', String(e));
      assert.match(e.message, pattern);
      assert.match(e.message, /^nftables data plane: [^\n]+$/);
      return true;
    });
    assert.deepEqual(x.nft.transactions, []);
    assert.deepEqual(x.ct.watching(), []);
  });
}

test('a table the kernel refuses stops the start with the nft message', async () => {
  const x = setup();
  x.nft.failOnce(() => new NftError('other', 'nft: Could not process rule: No buffer space available'));
  await assert.rejects(x.dp.start(), /cannot install table ip ntss: nft: Could not process rule: No buffer space/);
  assert.deepEqual(x.ct.watching(), []);
});

test('a sticky element is timed when its transaction is built: a queue does not stretch it, an ended one is not added', async () => {
  const x = setup();
  await x.dp.start();
  const sticky = (port: number, until: number) => ({
    id: port, key: { source: `${EN}/32`, dst: GA, proto: 'tcp' as const, ports: [port, port] as const }, enAddress: EN,
    privateAddress: ALICE, fqdn: 'alice.home.example.', rcId: 1, createdAt: 1_000_000, until,
  });
  const release = x.nft.hold(); // a transaction in flight that the kernel has not acknowledged yet
  x.dp.addSticky(sticky(80, 1_000_000 + 5000));
  await new Promise((r) => setImmediate(r));
  x.dp.addSticky(sticky(443, 1_000_000 + 5000)); // queued behind it
  x.dp.addSticky(sticky(22, 1_000_000 + 1000));
  x.at(2000); // the kernel answers 2 s later: port 22's entry has ended meanwhile
  release();
  await x.dp.flush();
  assert.deepEqual(x.nft.elements('ntss', 'sticky'), [
    `${EN} . ${GA} . tcp . 443 timeout 2990ms : ${ALICE}`, // 5000 - 2000 - the margin, not 5000
    `${EN} . ${GA} . tcp . 80 timeout 4990ms : ${ALICE}`,
  ]);
  assert.equal(x.dp.counters()['nft-add-ended'], 1);
  await x.dp.stop();
});

test('the fake refuses ranges in the hash maps as the kernel does (rc_host: an EN over all ports; sticky: one port)', async () => {
  const x = setup();
  await x.dp.start();
  const add = (map: string, source: string, proto: 'tcp' | 'any', ports: [number, number]) =>
    x.nft.run([{ kind: 'add-element', table: 'ntss', map, key: { source, dst: GA, proto, ports }, value: ALICE }]);
  await assert.rejects(add('rc_host', '198.51.100.0/24', 'tcp', [0, 65535]), /single points/);
  await assert.rejects(add('rc_host', `${EN}/32`, 'any', [0, 65535]), /single points/);
  await assert.rejects(add('rc_host', `${EN}/32`, 'tcp', [22, 22]), /single points/, 'rc_host has no port: a one-port key would open all');
  await assert.rejects(add('sticky', `${EN}/32`, 'tcp', [80, 90]), /single points/);
  await add('rc_host', `${EN}/32`, 'tcp', [0, 65535]);
  await add('sticky', `${EN}/32`, 'tcp', [80, 80]);
  await add('rc', '198.51.100.0/24', 'any', [0, 65535]);
  await x.dp.stop();
});
