// The nftables data plane against the real kernel, in three network namespaces this test creates:
//   en  (203.0.113.20, .21: two ENs) --- wan0 203.0.113.2 [router] lan0 192.168.50.1 --- lan (alice .10, bob .11)
// The plane runs in this process; its nft and conntrack run in the router namespace through
// the command prefix `ip netns exec`. Servers and clients are test/fixtures/nft/agent.mjs.
// Needs root, nft, conntrack and ip; skips without them (fails under NTSS_NO_SKIP=1).
// Prints the measurements (transaction and conntrack event latency) as "# nft-measure" lines.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ConntrackTool, isAlreadyExists, NftablesDataPlane, NftProcess, type DataPlaneMappingEvent, type NftCommand,
} from '../src/dataplane/index.js';
import { PrivateHostList, RcScheduler, type FirstPacket, type RouterEvent } from '../src/router/index.js';
import { needRoot, needTools } from './helpers/tools.js';
import { fixtureDir } from './helpers/fixtures.js';

const GA = '203.0.113.2';
const EN = '203.0.113.20';
const EN2 = '203.0.113.21';
const ALICE = '192.168.50.10';
const BOB = '192.168.50.11';
const NS = { en: `ntss-en-${process.pid}`, rt: `ntss-rt-${process.pid}`, lan: `ntss-lan-${process.pid}` };
const RT = ['ip', 'netns', 'exec', NS.rt];

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = fixtureDir('nft');
const MAIN = path.resolve(here, '../src/cli/main.js');

const agents: ChildProcess[] = [];
let built = false;

// Kills what runs in our namespaces (conntrack -E, nft -i, agents), then deletes them.
const TEARDOWN = `for n in ${Object.values(NS).join(' ')}; do ip netns pids "$n" 2>/dev/null | xargs -r kill -9; ip netns del "$n" 2>/dev/null; done`;

/** Synchronous, so that it also runs from process 'exit'. */
function cleanup(): void {
  for (const a of agents.splice(0)) a.kill('SIGKILL');
  if (!built) return;
  built = false;
  spawnSync('sh', ['-c', TEARDOWN], { stdio: 'ignore' });
}

/** For the exit paths no handler sees (SIGKILL, a runner killing its child): a detached janitor. */
function janitor(): void {
  const j = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; ${TEARDOWN}`], { detached: true, stdio: 'ignore' });
  j.unref();
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanup(); // a signal skips 'exit' handlers
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

function sh(argv: readonly string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function buildTopology(): void {
  built = true;
  janitor();
  for (const ns of Object.values(NS)) sh(['ip', 'netns', 'add', ns]);
  // Created inside the namespaces: the host never sees these interfaces.
  sh(['ip', 'link', 'add', 'wan0', 'netns', NS.rt, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.en]);
  sh(['ip', 'link', 'add', 'lan0', 'netns', NS.rt, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.lan]);
  const ip = (ns: string, ...a: string[]) => sh(['ip', '-n', ns, ...a]);
  for (const a of [`${EN}/24`, `${EN2}/24`]) ip(NS.en, 'addr', 'add', a, 'dev', 'eth0');
  ip(NS.rt, 'addr', 'add', `${GA}/24`, 'dev', 'wan0');
  ip(NS.rt, 'addr', 'add', '192.168.50.1/24', 'dev', 'lan0');
  for (const a of [`${ALICE}/24`, `${BOB}/24`]) ip(NS.lan, 'addr', 'add', a, 'dev', 'eth0');
  for (const [ns, dev] of [[NS.en, 'eth0'], [NS.rt, 'wan0'], [NS.rt, 'lan0'], [NS.lan, 'eth0']] as const) ip(ns, 'link', 'set', dev, 'up');
  for (const ns of Object.values(NS)) ip(ns, 'link', 'set', 'lo', 'up');
  ip(NS.lan, 'route', 'add', 'default', 'via', '192.168.50.1');
  sh([...RT, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  sh([...RT, 'sysctl', '-qw', 'net.netfilter.nf_conntrack_acct=1']);
}

/** One agent.mjs in a namespace; `cmd` sends a JSON command and resolves with its answer. */
async function agent(ns: string) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, path.join(FIXTURES, 'agent.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  agents.push(child);
  const waiting = new Map<number, (v: Record<string, any>) => void>();
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const m = JSON.parse(l) as Record<string, any>;
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  let next = 1;
  const cmd = (op: string, args: Record<string, unknown> = {}) => new Promise<Record<string, any>>((resolve, reject) => {
    const id = next++;
    waiting.set(id, (m) => (m.ok ? resolve(m) : reject(new Error(`${ns} ${op}: ${m.error}`))));
    child.stdin!.write(JSON.stringify({ ...args, id, op }) + '\n');
  });
  await new Promise<void>((resolve) => waiting.set(0, () => resolve()));
  return { cmd, id: () => next };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (ns: bigint) => Number(ns) / 1e6;
const measure = (what: string, value: string) => console.log(`# nft-measure: ${what}: ${value}`);

test('nftables data plane in network namespaces', { timeout: 180_000 }, async (t) => {
  if (!needTools(t, 'nft', 'conntrack', 'ip') || !needRoot(t)) return;
  t.after(cleanup);
  buildTopology();
  const [en, lan] = await Promise.all([agent(NS.en), agent(NS.lan)]);
  for (const [proto, host, name] of [['tcp', ALICE, 'alice'], ['udp', ALICE, 'alice'], ['tcp', BOB, 'bob'], ['udp', BOB, 'bob']]) {
    await lan.cmd('serve', { proto, host, port: proto === 'tcp' ? 8080 : 7000, name });
  }

  // The scheduler and the daemon's way of applying its events (routerd/router.ts). Its clock
  // runs `skew` ahead of real time so a test can end a hold without waiting for it.
  let skew = 0;
  const now = () => Date.now() + skew;
  const phl = new PrivateHostList();
  phl.setConfigured('alice.home.example.', ALICE);
  phl.setConfigured('bob.home.example.', BOB);
  const s = new RcScheduler({ globalAddresses: [GA], holdMs: 60_000, rcTimeoutMs: 600_000, queueLimit: 250, serviceEstimateMs: 100, safetyMarginMs: 100, stickyMs: 300_000 }, phl);
  const asked: { pkt: FirstPacket; at: bigint }[] = [];
  const events: (DataPlaneMappingEvent & { at: bigint })[] = [];
  let chain: Promise<void> = Promise.resolve();
  const apply = (evs: readonly RouterEvent[]) => {
    for (const e of evs) {
      if (e.type === 'rc-created') chain = chain.then(() => dp.activateRc(e.rc));
      if (e.type === 'rc-removed') chain = chain.then(() => dp.deactivateRc(e.rc));
      if (e.type === 'sticky-created') dp.addSticky(e.sticky, e.replaced);
    }
  };
  const dp: NftablesDataPlane = new NftablesDataPlane({
    wan: 'wan0', lan: 'lan0', globalAddresses: [GA], commandPrefix: RT, localServices: [{ proto: 'udp', port: 5300 }],
    safetyTimeoutMs: 700_000, reconcileMs: 0,
    classify: (pkt) => {
      asked.push({ pkt, at: process.hrtime.bigint() });
      const r = s.packet(now(), pkt);
      apply(r.events);
      return r;
    },
  });
  dp.onEvent((e) => events.push({ ...e, at: process.hrtime.bigint() }));
  const settle = async () => {
    await chain;
    await dp.flush();
  };
  let rid = 0;
  const request = async (fqdn: string, leaseMs = 0) => {
    apply(s.request(now(), { id: `r${++rid}`, fqdn, qtype: 1, resolver: '192.0.2.53', deadlineMs: now() + 5000, leaseMs }));
    await settle();
  };
  const endHold = async () => {
    skew += 60_001;
    apply(s.poll(now()));
    await settle();
  };
  const list = (map: string) => sh([...RT, 'nft', 'list', 'map', 'ip', 'ntss', map]);
  const ctList = () => new ConntrackTool({ prefix: RT }).list(GA);
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(cond(), `timed out waiting for ${what}`);
  };
  // The EN may see its answer before the router process has read the NEW event (a loaded machine).
  const classified = (src: string, srcPort: number, proto: 'tcp' | 'udp') =>
    until(() => asked.some((a) => a.pkt.src === src && a.pkt.srcPort === srcPort && a.pkt.proto === proto), `classify(${proto} ${src}:${srcPort})`);

  try {
    await dp.start();

    await t.test('the static table is in the kernel; the golden file passes nft -c', () => {
      const table = sh([...RT, 'nft', 'list', 'table', 'ip', 'ntss']);
      assert.match(table, /map rc_any[\s\S]*map sticky[\s\S]*chain prerouting[\s\S]*udp dport 5300 accept/);
      assert.match(table, /map @rc_host\n[\s\S]*map @rc\n[\s\S]*map @rc_any\n[\s\S]*map @sticky\n/, 'lookup order rc_host -> rc -> rc_any -> sticky');
      // Exact keys live in hash maps (element deletes in constant time): no interval flag.
      assert.match(table, /map rc_host \{\s*type ipv4_addr \. ipv4_addr \. inet_proto : ipv4_addr\s*flags timeout\s/);
      assert.match(table, /map sticky \{\s*type ipv4_addr \. ipv4_addr \. inet_proto \. inet_service : ipv4_addr\s*flags timeout\s/);
      sh([...RT, 'nft', '-c', '-f', path.join(FIXTURES, 'static.nft')]);
    });

    await t.test('one nft -i input line is one transaction: a failing second command undoes the first', async () => {
      const r = new NftProcess({ prefix: RT });
      const el = (source: string, value: string): NftCommand => ({ kind: 'add-element', table: 'ntss', map: 'rc_any', key: { source, dst: '203.0.113.99', proto: 'any', ports: [0, 65535] }, value });
      try {
        await assert.rejects(r.run([el('0.0.0.0/0', ALICE), el('198.51.100.0/24', BOB)]), (e: unknown) => isAlreadyExists(e));
        assert.doesNotMatch(list('rc_any'), /203\.0\.113\.99/);
      } finally {
        await r.close();
      }
    });

    let kept = 0;
    await t.test('TCP: alice sees the EN\'s own address; the NEW event reached classify; a lease-bound sticky element follows', async () => {
      await request('alice.home.example.', 150_000); // a caching resolver: the answer may be used 150 s
      assert.match(list('rc_any'), /0\.0\.0\.0\/0 \. 203\.0\.113\.2 \. 0-255 \. 0-65535 .*: 192\.168\.50\.10/);
      kept = en.id();
      const r = await en.cmd('tcp', { from: EN, to: GA, port: 8080, keep: true });
      assert.equal(r.reply, `alice ${EN}:${r.localPort} hello`);
      await classified(EN, r.localPort, 'tcp');
      assert.deepEqual(asked.at(-1)?.pkt, { proto: 'tcp', src: EN, srcPort: r.localPort, dst: GA, dstPort: 8080, deliveredTo: ALICE });
      await until(() => dp.counters()['sticky-added'] === 1, 'the sticky element');
      assert.match(list('sticky'), /203\.0\.113\.20 \. 203\.0\.113\.2 \. tcp \. 8080 .*timeout 3m2\ds.*: 192\.168\.50\.10/);
      assert.equal(dp.listMappings().length, 1);
    });

    await t.test('RC gone: the established connection still works, another EN is dropped and leaves no conntrack entry', async () => {
      await endHold();
      assert.doesNotMatch(list('rc_any'), /203\.0\.113\.2 \./);
      assert.match((await en.cmd('again', { conn: kept, data: 'more' })).reply, /^alice /);
      const r = await en.cmd('tcp', { from: EN2, to: GA, port: 8080, timeoutMs: 700 });
      assert.equal(r.connected, false);
      assert.ok(!(await ctList()).some((e) => e.orig.src === EN2), 'no conntrack entry for the dropped SYN');
    });

    await t.test('sticky: after alice\'s hold the EN still reaches alice, silently (no conntrack event); bob waits for alice\'s lease; a third party gets nothing', async () => {
      await request('bob.home.example.'); // the lease outlasts bob's patience: TOO_LATE at once
      assert.deepEqual([s.queueLength, s.activeRcs().length], [0, 0], 'bob refused, not given alice\'s address');
      assert.doesNotMatch(list('rc_any'), /203\.0\.113\.2 \./, 'no RC for bob on the address alice\'s answer still names');
      const mine = await en.cmd('tcp', { from: EN, to: GA, port: 8080 });
      assert.equal(mine.reply, `alice ${EN}:${mine.localPort} hello`);
      // The kernel let it in by the sticky element alone: counted and marked there, and the
      // conntrack re-list leaves it out (it would be adopted as an unknown flow otherwise).
      assert.match(sh([...RT, 'nft', 'list', 'counter', 'ip', 'ntss', 'sticky_admitted']), /packets 1 /);
      assert.match(sh([...RT, 'conntrack', '-L', '-p', 'tcp', '-s', EN, '--sport', String(mine.localPort)]), /mark=16384 /);
      assert.ok((await ctList()).some((e) => e.orig.sport === mine.localPort), 'listed without the mark filter');
      assert.ok(!(await new ConntrackTool({ prefix: RT }).list(GA, { withoutMark: 0x4000 })).some((e) => e.orig.sport === mine.localPort), 'left out with it');
      const other = await en.cmd('tcp', { from: EN2, to: GA, port: 8080, timeoutMs: 700 });
      assert.equal(other.connected, false, 'the sticky element is the EN\'s alone');
      // Past the lease (the scheduler's clock): a new request for bob is served.
      skew += 150_001;
      apply(s.poll(now()));
      await request('bob.home.example.');
      const b = await en.cmd('tcp', { from: EN2, to: GA, port: 8080 });
      assert.equal(b.reply, `bob ${EN2}:${b.localPort} hello`);
      // An RC-matched flow still reaches classify. One conntrack -E stream carries both in order:
      // had the sticky flow sent NEW, classify would have seen it before this one.
      await classified(EN2, b.localPort, 'tcp');
      assert.ok(!asked.some((a) => a.pkt.src === EN && a.pkt.srcPort === mine.localPort), 'no NEW event for the sticky flow');
      assert.ok(!(await dp.refreshMappings()).some((m) => m.enPort === mine.localPort), 'not adopted by the re-list');
      assert.equal(dp.counters()['sticky-admitted'], 1, 'the kernel\'s count, read with the re-list');
      assert.equal(dp.counters()['error.sticky'], undefined);
    });

    await t.test('UDP: mapped with the source kept, survives the RC, nothing for others', async () => {
      await endHold();
      await request('alice.home.example.');
      // EN's tcp/8080 sticky element is still in the kernel, but an RC element matches first: that
      // flow is the scheduler's to see (it may start a hold), so its NEW event comes.
      assert.match(list('sticky'), /203\.0\.113\.20 \. 203\.0\.113\.2 \. tcp \. 8080 /);
      const both = await en.cmd('tcp', { from: EN, to: GA, port: 8080 });
      assert.equal(both.reply, `alice ${EN}:${both.localPort} hello`);
      await classified(EN, both.localPort, 'tcp');
      const sock = en.id();
      const r = await en.cmd('udp', { from: EN, to: GA, port: 7000, keep: true });
      assert.equal(r.reply, `alice ${EN}:${r.localPort} hello`);
      await classified(EN, r.localPort, 'udp');
      await endHold();
      assert.match((await en.cmd('udp-again', { conn: sock, to: GA, port: 7000, data: 'again' })).reply, /^alice /);
      const other = await en.cmd('udp', { from: EN2, to: GA, port: 7000, timeoutMs: 500 });
      assert.equal(other.reply, null);
      assert.ok(!(await ctList()).some((e) => e.orig.src === EN2 && e.proto === 'udp'), 'no non-NAT entry left by the dropped datagram');
    });

    await t.test('trap 4: a non-NAT entry to the global address is deleted when an RC is activated', async () => {
      sh([...RT, 'conntrack', '-I', '-p', 'udp', '-s', EN2, '-d', GA, '--sport', '6000', '--dport', '7000', '-r', GA, '-q', EN2,
        '--reply-port-src', '7000', '--reply-port-dst', '6000', '-t', '120', '-u', 'SEEN_REPLY']);
      await until(() => dp.counters()['ct-non-nat'] === 1, 'the NEW event of the inserted entry');
      await request('alice.home.example.');
      assert.equal(dp.counters()['stale-deleted'], 1);
      const r = await en.cmd('udp', { from: EN2, fromPort: 6000, to: GA, port: 7000 });
      assert.equal(r.reply, `alice ${EN2}:6000 hello`);
      await classified(EN2, 6000, 'udp');
      await endHold();
    });

    await t.test('per-service and ECS-prefix RCs: two hosts on one address at once, each packet to its own host', async () => {
      // alice serves tcp/8080 only, bob udp/7000 only: disjoint keys, two rc_any elements together.
      phl.setConfigured('alice.home.example.', ALICE, [{ proto: 'tcp', ports: [8080, 8080] }]);
      phl.setConfigured('bob.home.example.', BOB, [{ proto: 'udp', ports: [7000, 7000] }]);
      try {
        await request('alice.home.example.');
        await request('bob.home.example.');
        assert.equal(s.activeRcs().length, 2, 'no waiting: the services do not overlap');
        assert.match(list('rc_any'), /tcp \. 8080 .*: 192\.168\.50\.10/);
        assert.match(list('rc_any'), /udp \. 7000 .*: 192\.168\.50\.11/);
        const a = await en.cmd('tcp', { from: EN, to: GA, port: 8080 });
        assert.equal(a.reply, `alice ${EN}:${a.localPort} hello`);
        const b = await en.cmd('udp', { from: EN2, to: GA, port: 7000 });
        assert.equal(b.reply, `bob ${EN2}:${b.localPort} hello`);
        const no = await en.cmd('udp', { from: EN, to: GA, port: 7001, timeoutMs: 500 });
        assert.equal(no.reply, null, 'a port neither serves matches nothing');
        await endHold();
        // ECS: RCs keyed on two client subnets run in parallel for two hosts (both ENs share a
        // /24 here, so the resolver is taken to send /32, as Unbound can: max-client-subnet-ipv4).
        phl.setConfigured('alice.home.example.', ALICE);
        phl.setConfigured('bob.home.example.', BOB);
        const prefix = (a: string) => `${a}/32`;
        assert.notEqual(prefix(EN), prefix(EN2));
        apply(s.request(now(), { id: `r${++rid}`, fqdn: 'alice.home.example.', qtype: 1, resolver: '192.0.2.53', deadlineMs: now() + 5000, mode: 'prefix', ecs: prefix(EN) }));
        apply(s.request(now(), { id: `r${++rid}`, fqdn: 'bob.home.example.', qtype: 1, resolver: '192.0.2.54', deadlineMs: now() + 5000, mode: 'prefix', ecs: prefix(EN2) }));
        await settle();
        assert.equal(s.activeRcs().length, 2);
        // An EN's /32 over all ports: exact elements in rc_host, one per protocol; nothing in rc.
        assert.match(list('rc_host'), /203\.0\.113\.20 \. 203\.0\.113\.2 \. tcp .*: 192\.168\.50\.10/);
        assert.match(list('rc_host'), /203\.0\.113\.20 \. 203\.0\.113\.2 \. udp .*: 192\.168\.50\.10/);
        assert.doesNotMatch(list('rc'), /203\.0\.113\.2/);
        const c = await en.cmd('tcp', { from: EN2, to: GA, port: 8080 });
        assert.equal(c.reply, `bob ${EN2}:${c.localPort} hello`, 'EN2 is inside bob\'s prefix only');
        const d = await en.cmd('tcp', { from: EN, to: GA, port: 8080 });
        assert.equal(d.reply, `alice ${EN}:${d.localPort} hello`);
        await classified(EN, d.localPort, 'tcp');
        await endHold();
        assert.doesNotMatch(list('rc_host'), /203\.0\.113\.20 \./);
      } finally {
        phl.setConfigured('alice.home.example.', ALICE);
        phl.setConfigured('bob.home.example.', BOB);
      }
    });

    await t.test('measure: transaction latency, persistent nft -i vs one nft -f per change (run inside the namespace)', async () => {
      // No RC is active: the bench flushes rc_any at its end.
      const out = sh([...RT, process.execPath, path.join(FIXTURES, 'txn-bench.mjs'), path.resolve(here, '../src/dataplane/index.js'), '200']);
      const m = JSON.parse(out) as Record<string, number>;
      measure('add+delete pair, persistent nft -i, each acknowledged (median of 200)', `${m.persistentPairMs!.toFixed(2)} ms`);
      measure('add+delete pair, persistent nft -i, pipelined (mean of 200)', `${m.pipelinedPairMs!.toFixed(2)} ms`);
      measure('add+delete in one transaction (median of 200)', `${m.oneTransactionPairMs!.toFixed(2)} ms`);
      measure('add+delete pair, a new nft -f - per change (median of 200)', `${m.spawnedPairMs!.toFixed(2)} ms`);
      measure('one transaction of 200 adds', `${m.batch200Ms!.toFixed(2)} ms`);
      assert.ok(m.persistentPairMs! < m.spawnedPairMs!);
    });

    await t.test('measure: send() on the EN -> conntrack NEW event in this process', async () => {
      await request('alice.home.example.');
      for (const proto of ['udp', 'tcp'] as const) {
        const { samples } = await en.cmd('burst', { proto, from: EN2, to: GA, port: proto === 'tcp' ? 8080 : 7000, count: 60, gapMs: 15 }) as { samples: { port: number; t0: string }[] };
        const opened = (x: { port: number; t0: string }) => events.find((e) => e.type === 'mapping-opened' && e.at >= BigInt(x.t0) && e.mapping.enPort === x.port && e.mapping.proto === proto);
        await until(() => samples.every((x) => opened(x)), `${proto} events`).catch(async (e: Error) => {
          const missing = samples.filter((x) => !opened(x)).map((x) => x.port);
          const ct = (await ctList()).filter((c) => missing.includes(c.orig.sport));
          throw new Error(`${e.message}: no event for ports ${missing.join(',')}; conntrack has ${JSON.stringify(ct)}; counters ${JSON.stringify(dp.counters())}`);
        });
        const lat = samples.slice(5).map((x) => ms(opened(x)!.at - BigInt(x.t0))); // the first ones pay for ARP
        measure(`${proto} first packet -> mapping-opened (median of ${lat.length}, min ${Math.min(...lat).toFixed(2)}, max ${Math.max(...lat).toFixed(2)})`, `${median(lat).toFixed(2)} ms`);
      }
    });

    await t.test('stop removes the table', async () => {
      await endHold();
      await dp.stop();
      const r = spawnSync(RT[0]!, [...RT.slice(1), 'nft', 'list', 'table', 'ip', 'ntss'], { encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /No such file or directory/);
    });
  } finally {
    await dp.stop();
    cleanup();
  }
});

test('ntss router refuses to start, in one line, when an interface is missing (changes nothing)', async (t) => {
  if (!needTools(t, 'nft', 'conntrack', 'ip') || !needRoot(t)) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'ntss-nft-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = path.join(dir, 'router.yaml');
  const wan = `nope${process.pid}`.slice(0, 15);
  writeFileSync(cfg, [
    'id: gw1', 'key: "bnRzLXJvdXRlci1rZXktZm9yLWd3MS1leGFtcGxlLW9ubHk="', 'nts: { listen: "127.0.0.1:5301" }',
    'globalAddresses: [203.0.113.2]', `dataplane: { type: nftables, wan: ${wan}, lan: lo }`, '',
  ].join('\n'));
  const r = spawnSync(process.execPath, [MAIN, 'router', '--config', cfg], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('ntss:'));
  assert.deepEqual(lines, [`ntss: nftables data plane: interface "${wan}" (dataplane.wan) does not exist on this host (see "ip link")`]);
});
