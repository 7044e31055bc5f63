// A data plane that cannot install RCs: routerd answers BUSY instead of READY, counts the
// failure, and forgets the failed RC when the scheduler removes it (no set that only grows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { schedulerSection, type RouterConfig } from '../src/config/router-config.js';
import { SimulatedDataPlane } from '../src/dataplane/index.js';
import { NtsUdpClient } from '../src/nts/index.js';
import type { Rc } from '../src/router/index.js';
import { startRouter } from '../src/routerd/index.js';
import { memoryLogger } from '../src/util/log.js';

const KEY = randomBytes(32);

class BrokenPlane extends SimulatedDataPlane {
  override async activateRc(_rc: Rc): Promise<void> {
    throw new Error('no room in the kernel map');
  }
  override async deactivateRc(_rc: Rc): Promise<void> {}
}

test('routerd: RCs the data plane cannot install get BUSY, and are forgotten when they expire', { timeout: 15_000 }, async (t) => {
  const cfg: RouterConfig = {
    file: '(test)', id: 'gw1', key: KEY,
    nts: { listen: { host: '127.0.0.1', port: 0, family: 4 }, windowMs: 30_000, keepaliveIntervalMs: 30_000 },
    globalAddresses: ['127.0.0.2'],
    phl: [{ name: 'alice.home.example.', address: '127.0.0.10' }, { name: 'bob.home.example.', address: '127.0.0.11' }],
    scheduler: schedulerSection({ holdMs: 100, allowShortHold: true, rcTimeoutMs: 200, queueLimit: 10, serviceEstimateMs: 50, safetyMarginMs: 50, serviceEwmaAlpha: 0.125, idMemoryMs: 60_000, stickyMs: 0, reputation: { enabled: false } }),
    dataplane: { type: 'userspace', ports: [{ proto: 'tcp', port: 9 }], udpIdleTimeoutMs: 30_000, proxyProtocol: false },
  };
  const router = await startRouter(cfg, memoryLogger('error'), Date.now, { dataplane: (c) => new BrokenPlane(c) });
  t.after(() => router.close());
  const client = await NtsUdpClient.open({ host: '127.0.0.1' });
  t.after(() => client.close());
  const ask = (fqdn: string) => client.request(
    { host: '127.0.0.1', port: router.nts.port }, { id: 'gw1', secret: KEY },
    { fqdn, qtype: 1, mode: 'any', resolver: { address: '127.0.0.1', port: 5353 } }, { deadlineMs: Date.now() + 3000 },
  );
  for (const name of ['alice.home.example.', 'bob.home.example.']) {
    const r = await ask(name);
    assert.equal(r.status, 'BUSY', JSON.stringify(r));
    assert.equal(router.counters.get('state.failed-rcs'), 1);
    // The RC expires without a packet (rcTimeoutMs); its removal empties the set.
    const until = Date.now() + 3000;
    while (router.counters.get('state.failed-rcs') !== 0) {
      if (Date.now() > until) assert.fail(`failed RC still remembered: ${JSON.stringify(router.counters.snapshot())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  assert.equal(router.counters.get('dataplane-error'), 2);
  assert.equal(router.counters.get('event.rc-removed'), 2);
});
