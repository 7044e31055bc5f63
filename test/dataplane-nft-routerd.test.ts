// The router daemon (routerd) with the nftables data plane on fakes of nft and conntrack: a
// READY leaves only after `nft` acknowledged the RC's element; a conntrack NEW event becomes the
// scheduler's mapping and DESTROY removes it; a hold's end and the next RC are one transaction.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { schedulerSection, type RouterConfig } from '../src/config/router-config.js';
import { ctFlow, FakeConntrack, fakeHost, FakeNft, NftablesDataPlane } from '../src/dataplane/index.js';
import { NtsUdpClient, type NtsResult } from '../src/nts/index.js';
import { startRouter } from '../src/routerd/index.js';
import { memoryLogger } from '../src/util/log.js';

const KEY = randomBytes(32);
const GA = '203.0.113.2';
const EN = '198.51.100.7';
const ALICE = '192.168.50.10';
const BOB = '192.168.50.11';
const HOLD_MS = 200;

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const config: RouterConfig = {
  file: '(test)', id: 'gw1', key: KEY,
  nts: { listen: { host: '127.0.0.1', port: 0, family: 4 }, windowMs: 30_000, keepaliveIntervalMs: 30_000 },
  globalAddresses: [GA],
  phl: [{ name: 'alice.home.example.', address: ALICE }, { name: 'bob.home.example.', address: BOB }],
  scheduler: schedulerSection({ holdMs: HOLD_MS, rcTimeoutMs: 3000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100, serviceEwmaAlpha: 0.125, idMemoryMs: 60_000, stickyMs: 30_000 }),
  dataplane: { type: 'nftables', wan: 'wan0', lan: 'lan0', table: 'ntss', localServices: [], trustedInterfaces: [], reconcileMs: 0 },
};

async function start(t: TestContext) {
  const nft = new FakeNft(Date.now);
  const ct = new FakeConntrack();
  const router = await startRouter(config, memoryLogger('debug'), Date.now, {
    dataplane: (classify) => new NftablesDataPlane({
      wan: 'wan0', lan: 'lan0', globalAddresses: [GA], classify, nft, conntrack: ct, host: fakeHost(), reconcileMs: 0, safetyTimeoutMs: 13_200,
    }),
  });
  t.after(() => router.close());
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  t.after(() => client.close());
  const ask = (fqdn: string): Promise<NtsResult> => client.request(
    { host: '127.0.0.1', port: router.nts.port }, { id: 'gw1', secret: KEY },
    { fqdn, qtype: 1, mode: 'any', resolver: { address: '127.0.0.1', port: 5353 } },
    { deadlineMs: Date.now() + 3000 },
  );
  return { router, nft, ct, ask };
}

test('READY waits for nft\'s acknowledgement; first packet and flow end reach the scheduler', { timeout: 15_000 }, async (t) => {
  const { router, nft, ct, ask } = await start(t);
  const release = nft.hold();
  let answered = false;
  const ready = ask('alice.home.example.').then((r) => {
    answered = true;
    return r;
  });
  await waitFor(() => router.scheduler.activeRcs().length === 1, 'the RC');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(answered, false, 'no READY before the element is in the kernel');
  release();
  const r = await ready;
  assert.ok(r.status === 'READY' && r.answerAddress === GA);
  assert.deepEqual(nft.elements('ntss', 'rc_any'), [`0.0.0.0/0 . ${GA} . 0-255 . 0-65535 timeout 13200ms : ${ALICE}`]);

  const flow = ct.add(ctFlow('tcp', EN, 40000, GA, 443, ALICE));
  assert.equal(router.scheduler.mappings.size, 1);
  assert.notEqual(router.scheduler.rcFor(GA)?.firstPacketAt, null);
  ct.destroy(flow, { orig: 10, reply: 20 });
  assert.equal(router.scheduler.mappings.size, 0, 'mapping-closed removed it from the scheduler\'s table');
  assert.equal(router.counters.get('dataplane.mapping-closed'), 1);
});

test('a hold\'s end and the next RC go to the kernel as one transaction', { timeout: 15_000 }, async (t) => {
  const { router, nft, ct, ask } = await start(t);
  assert.equal((await ask('alice.home.example.')).status, 'READY');
  const bob = ask('bob.home.example.');
  await waitFor(() => router.scheduler.queueLength === 1, 'bob queued');
  ct.add(ctFlow('udp', EN, 5000, GA, 53, ALICE)); // alice's first packet: the hold starts
  const b = await bob;
  assert.ok(b.status === 'READY' && b.rcId === 2);
  const step = nft.transactions.find((tx) => tx.some((c) => c.includes(`: ${BOB} }`)));
  assert.deepEqual(step, [
    `delete element ip ntss rc_any { 0.0.0.0/0 . ${GA} . 0-255 . 0-65535 }`,
    `add element ip ntss rc_any { 0.0.0.0/0 . ${GA} . 0-255 . 0-65535 timeout 13200ms : ${BOB} }`,
  ]);
  assert.deepEqual(nft.elements('ntss', 'sticky'), [], 'no lease past the hold: no sticky element (bob may have the address)');
  await router.close();
  assert.equal(nft.hasTable('ntss'), false);
});
