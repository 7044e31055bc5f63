// The userspace relay with real sockets on loopback and a fake scheduler: 127.0.0.2 is the
// router's global address, 127.0.0.10 alice's private address, 127.0.0.30 the EN.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { decodeProxyV2, listenError, UserspaceDataPlane, type ClassifyFirstPacket, type DataPlaneMappingEvent, type ProxyAddresses, type UserspaceOptions } from '../src/dataplane/index.js';
import type { FirstPacket, Mapping } from '../src/router/index.js';

const GA = '127.0.0.2';
const ALICE = '127.0.0.10';
const NOBODY = '127.0.0.11'; // no service: connections to it are refused
const EN = '127.0.0.30';
const LAN = '127.0.0.3'; // the router's inside address, when configured
const T = { timeout: 10_000 };

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Maps every new flow to `target` (or refuses when null), recording what it was asked. */
function fakeScheduler() {
  const f = {
    target: ALICE as string | null,
    seen: [] as FirstPacket[],
    classify: ((pkt) => {
      f.seen.push(pkt);
      if (f.target === null) return { verdict: 'no-rc', events: [] };
      const mapping: Mapping = {
        id: f.seen.length, rcId: 1, proto: pkt.proto, enAddress: pkt.src, enPort: pkt.srcPort, globalAddress: pkt.dst,
        globalPort: pkt.dstPort, privateAddress: f.target, privatePort: pkt.dstPort, fqdn: 'alice.home.example.', createdAt: 0,
      };
      return { verdict: 'mapped', mapping, existing: false, events: [] };
    }) as ClassifyFirstPacket,
  };
  return f;
}

interface SeenConn { remoteAddress?: string; proxy?: ProxyAddresses }

/** TCP service on ALICE: collects a stream until the peer's FIN, then answers it all and ends (needs half-close). */
async function tcpService(t: TestContext, opts: { proxy?: boolean } = {}) {
  const conns: SeenConn[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const c: SeenConn = { remoteAddress: s.remoteAddress };
    conns.push(c);
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => {
      let all = Buffer.concat(chunks);
      if (opts.proxy) {
        const h = decodeProxyV2(all);
        if (h.kind === 'header') {
          c.proxy = h.addresses;
          all = all.subarray(h.length);
        }
      }
      s.end(all);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, ALICE, r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { conns, port: (server.address() as net.AddressInfo).port };
}

/** EN side: connect from EN, send, half-close, read until the connection closes. */
function exchange(port: number, payload: string): Promise<{ data: string; error?: string; localPort?: number }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: GA, port, localAddress: EN });
    let data = '';
    let error: string | undefined;
    let localPort: number | undefined;
    s.on('connect', () => {
      localPort = s.localPort;
      s.end(payload);
    });
    s.on('data', (d) => (data += d.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    s.on('close', () => resolve({ data, error, localPort }));
  });
}

async function startPlane(t: TestContext, opts: Omit<UserspaceOptions, 'globalAddresses'>) {
  const dp = new UserspaceDataPlane({ globalAddresses: [GA], ...opts });
  const events: DataPlaneMappingEvent[] = [];
  dp.onEvent((e) => events.push(e));
  await dp.start();
  t.after(() => dp.stop());
  return { dp, events };
}

async function udpSocket(t: TestContext, host: string, port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(port, host, r));
  t.after(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

test('TCP with an RC: relayed both ways, half-close passed on, mapping events with byte counts', T, async (t) => {
  const svc = await tcpService(t);
  const fake = fakeScheduler();
  const { dp, events } = await startPlane(t, { ports: [{ proto: 'tcp', port: svc.port }], classify: fake.classify, lanAddress: LAN });
  const r = await exchange(svc.port, 'hello through the relay');
  assert.equal(r.error, undefined);
  assert.equal(r.data, 'hello through the relay', 'the answer sent after the EN half-closed came back');
  assert.deepEqual(fake.seen, [{ proto: 'tcp', src: EN, srcPort: r.localPort, dst: GA, dstPort: svc.port }]);
  assert.equal(svc.conns.length, 1);
  assert.equal(svc.conns[0].remoteAddress, LAN, 'the IN sees the relay, not the EN');
  await waitFor(() => events.length === 2, 'mapping-closed');
  assert.deepEqual(events.map((e) => e.type), ['mapping-opened', 'mapping-closed']);
  assert.deepEqual({ in: events[1].bytesIn, out: events[1].bytesOut, reason: events[1].reason }, { in: 23, out: 23, reason: 'end' });
  assert.deepEqual(dp.listMappings(), []);
  assert.equal(dp.counters()['tcp-mapped'], 1);
});

test('TCP without an RC: reset at once, the IN never sees it', T, async (t) => {
  const svc = await tcpService(t);
  const fake = fakeScheduler();
  fake.target = null;
  const { dp, events } = await startPlane(t, { ports: [{ proto: 'tcp', port: svc.port }], classify: fake.classify });
  const t0 = Date.now();
  const r = await exchange(svc.port, 'knock knock');
  assert.ok(Date.now() - t0 < 2000, 'closed at once');
  assert.equal(r.data, '');
  assert.equal(r.error, 'ECONNRESET');
  assert.equal(svc.conns.length, 0);
  assert.equal(events.length, 0);
  assert.equal(dp.counters()['tcp-no-rc'], 1);
});

test('TCP to an IN that refuses: the EN is reset, the mapping closes with the error', T, async (t) => {
  const svc = await tcpService(t); // only for a port number; NOBODY listens on it
  const fake = fakeScheduler();
  fake.target = NOBODY;
  const { dp, events } = await startPlane(t, { ports: [{ proto: 'tcp', port: svc.port }], classify: fake.classify });
  const r = await exchange(svc.port, 'anyone?');
  assert.equal(r.data, '');
  assert.ok(r.error === 'ECONNRESET' || r.error === undefined, `reset or closed, got ${r.error}`);
  await waitFor(() => events.some((e) => e.type === 'mapping-closed'), 'mapping-closed');
  assert.match(events[1].reason ?? '', /^error: in ECONNREFUSED/);
  assert.equal(dp.counters()['tcp-in-connect-failed'], 1);
});

test('PROXY v2 header: the IN learns the EN\'s real address and port', T, async (t) => {
  const svc = await tcpService(t, { proxy: true });
  const fake = fakeScheduler();
  await startPlane(t, { ports: [{ proto: 'tcp', port: svc.port }], classify: fake.classify, proxyProtocol: true });
  const r = await exchange(svc.port, 'payload after the header');
  assert.equal(r.data, 'payload after the header');
  assert.deepEqual(svc.conns[0].proxy, { proto: 'tcp', src: EN, srcPort: r.localPort, dst: GA, dstPort: svc.port });
});

test('UDP with an RC: echo through the relay from GA:port, one classify per flow, idle timeout closes it', T, async (t) => {
  const svc = await udpSocket(t, ALICE);
  const sources: string[] = [];
  svc.on('message', (m, r) => {
    sources.push(r.address);
    svc.send(m, r.port, r.address);
  });
  const port = svc.address().port;
  const fake = fakeScheduler();
  const { dp, events } = await startPlane(t, { ports: [{ proto: 'udp', port }], classify: fake.classify, udpIdleTimeoutMs: 600, lanAddress: LAN });
  const en = await udpSocket(t, EN);
  const replies: { msg: string; from: string }[] = [];
  en.on('message', (m, r) => replies.push({ msg: m.toString(), from: `${r.address}:${r.port}` }));
  en.send('ping1', port, GA);
  await waitFor(() => replies.length === 1, 'first reply');
  en.send('ping2', port, GA);
  await waitFor(() => replies.length === 2, 'second reply');
  assert.deepEqual(replies, [{ msg: 'ping1', from: `${GA}:${port}` }, { msg: 'ping2', from: `${GA}:${port}` }]);
  assert.equal(fake.seen.length, 1, 'the second datagram belongs to the flow');
  assert.equal(dp.listMappings().length, 1);
  assert.deepEqual(sources, [LAN, LAN], 'the IN sees the relay');
  await waitFor(() => events.some((e) => e.type === 'mapping-closed'), 'idle close');
  const closed = events.find((e) => e.type === 'mapping-closed')!;
  assert.deepEqual({ in: closed.bytesIn, out: closed.bytesOut, reason: closed.reason }, { in: 10, out: 10, reason: 'idle' });
  assert.deepEqual(dp.listMappings(), []);
});

test('UDP: a burst sent before the flow socket is connected arrives whole; only the IN\'s replies reach the EN', T, async (t) => {
  const svc = await udpSocket(t, ALICE);
  const got: string[] = [];
  let flowSocket: { address: string; port: number } | undefined;
  svc.on('message', (m, r) => {
    got.push(m.toString());
    flowSocket = { address: r.address, port: r.port };
    svc.send(m, r.port, r.address);
  });
  const port = svc.address().port;
  const fake = fakeScheduler();
  await startPlane(t, { ports: [{ proto: 'udp', port }], classify: fake.classify, lanAddress: LAN });
  const en = await udpSocket(t, EN);
  const replies: string[] = [];
  en.on('message', (m) => replies.push(m.toString()));
  const burst = Array.from({ length: 20 }, (_, i) => `d${i}`);
  for (const d of burst) en.send(d, port, GA); // in one turn: the first opens the flow, the rest wait for its connect
  await waitFor(() => replies.length === burst.length, 'every reply');
  assert.deepEqual([...got].sort(), [...burst].sort());
  assert.equal(fake.seen.length, 1);
  // A third party that learned the flow socket's port: the kernel keeps it out of the flow.
  const stray = await udpSocket(t, NOBODY);
  stray.send('stray', flowSocket!.port, flowSocket!.address);
  en.send('after', port, GA);
  await waitFor(() => replies.includes('after'), 'the reply after the stray');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(!replies.includes('stray'), `the EN got ${JSON.stringify(replies)}`);
});

test('UDP without an RC: dropped and counted; a later RC catches the same EN', T, async (t) => {
  const svc = await udpSocket(t, ALICE);
  let received = 0;
  svc.on('message', (m, r) => {
    received++;
    svc.send(m, r.port, r.address);
  });
  const port = svc.address().port;
  const fake = fakeScheduler();
  fake.target = null;
  const { dp } = await startPlane(t, { ports: [{ proto: 'udp', port }], classify: fake.classify });
  const en = await udpSocket(t, EN);
  const replies: string[] = [];
  en.on('message', (m) => replies.push(m.toString()));
  en.send('early', port, GA);
  await waitFor(() => dp.counters()['udp-no-rc'] === 1, 'the drop');
  assert.equal(received, 0);
  fake.target = ALICE;
  en.send('later', port, GA);
  await waitFor(() => replies.length === 1, 'reply once an RC exists');
  assert.deepEqual(replies, ['later']);
  assert.equal(fake.seen.length, 2);
});

test('listen errors say what to do', T, async (t) => {
  // 192.0.2.1 is nobody's address here: the bind fails locally, nothing is sent.
  const dp = new UserspaceDataPlane({ globalAddresses: ['192.0.2.1'], ports: [{ proto: 'tcp', port: 8080 }], classify: fakeScheduler().classify });
  await assert.rejects(dp.start(), (e: Error & { code?: string; errno?: string }) => {
    assert.equal(e.code, 'DATAPLANE_LISTEN');
    assert.equal(e.errno, 'EADDRNOTAVAIL');
    assert.match(e.message, /tcp 192\.0\.2\.1:8080 .*not an address of this host/);
    return true;
  });
  // A port in use: the plane closes what it had opened (the first port is free again).
  const svc = await tcpService(t);
  const blocker = await startPlane(t, { ports: [{ proto: 'tcp', port: svc.port }], classify: fakeScheduler().classify });
  const spare = await tcpService(t);
  const second = new UserspaceDataPlane({ globalAddresses: [GA], ports: [{ proto: 'udp', port: spare.port }, { proto: 'tcp', port: svc.port }], classify: fakeScheduler().classify });
  await assert.rejects(second.start(), /EADDRINUSE: another socket already uses it/);
  const again = await udpSocket(t, GA, spare.port);
  assert.equal(again.address().port, spare.port);
  assert.ok(blocker.dp.endpoints().length === 1);
  // EACCES cannot be provoked as root: check the advice itself.
  const e = listenError(Object.assign(new Error('bind EACCES'), { code: 'EACCES' }), 'tcp', GA, 80);
  assert.match(e.message, /ports below 1024 need privileges.*CAP_NET_BIND_SERVICE.*ip_unprivileged_port_start/);
});
