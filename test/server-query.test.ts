// End-to-end query tests: the real server process, queried with dig, kdig and raw Node sockets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { Opcode, RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { newMessage, type Message } from '../src/dns/types.js';
import {
  baseConfig, dig, kdig, parseDig, startServer, TcpClient, UdpClient, type ParsedDig, type ServerProc,
} from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';
import { readyWith, startFakeRouter, type FakeRouter } from './helpers/fake-router.js';

const ZONE = 'home.example.';
const SOA_TTL = 3600;
const SOA_MINIMUM = 60;
const ROUTER = '203.0.113.2';
const BIG_COUNT = 30;

/** ~100-byte TXT strings, distinct, so the RRset (~3.5 KB) exceeds every UDP limit in play. */
function bigTxt(i: number): string {
  return `big-${String(i).padStart(2, '0')}-`.padEnd(100, 'x');
}

const config = baseConfig({
  routers: [],
});
config.zone.soa.ttl = SOA_TTL;
config.zone.soa.minimum = SOA_MINIMUM;
config.zone.records!.push(
  `alice.home.example. 300 IN A ${ROUTER}`,
  ...Array.from({ length: BIG_COUNT }, (_, i) => `big.home.example. 300 IN TXT "${bigTxt(i)}"`),
);

/** A query built with the project's codec. */
function rawQuery(id: number, name: string, type: number, init: Partial<Message> = {}): Buffer {
  return encodeMessage(newMessage({ id, question: [{ name, type, class: RRClass.IN }], ...init }));
}

function assertHeader(p: ParsedDig, status: string, flags: { has?: string[]; not?: string[] }): void {
  assert.equal(p.status, status, `status in:\n${p.raw}`);
  for (const f of flags.has ?? []) assert.ok(p.flags.includes(f), `flag ${f} expected in [${p.flags}]:\n${p.raw}`);
  for (const f of flags.not ?? []) assert.ok(!p.flags.includes(f), `flag ${f} unexpected in [${p.flags}]:\n${p.raw}`);
}

function assertNegativeSoa(p: ParsedDig): void {
  assert.equal(p.answer.length, 0, `no answer expected:\n${p.raw}`);
  assert.equal(p.authority.length, 1, `one authority record expected:\n${p.raw}`);
  const soa = p.authority[0];
  assert.equal(soa.type, 'SOA');
  assert.equal(soa.name.toLowerCase(), ZONE);
  // RFC 2308 section 3: TTL of the negative-answer SOA = min(SOA TTL, SOA MINIMUM).
  assert.equal(soa.ttl, Math.min(SOA_TTL, SOA_MINIMUM), `negative SOA TTL:\n${p.raw}`);
  assert.match(soa.rdata, /^ns1\.home\.example\. hostmaster\.home\.example\. \d+ 3600 600 86400 60$/);
}

describe('server: queries (dig, kdig, raw sockets)', () => {
  let srv: ServerProc;
  let port: number;
  let router: FakeRouter;
  before(async () => {
    // NTS-managed names are answered after the router's READY: a stand-in router on loopback.
    router = await startFakeRouter(readyWith(ROUTER));
    config.routers = [router.entry([ROUTER])];
    srv = await startServer(undefined, { config });
    port = srv.port;
  });
  after(async () => {
    srv?.dispose();
    await router?.close();
  });

  test('UDP answer is authoritative (dig)', async (t) => {
    if (!needTools(t, 'dig')) return;
    const r = await dig(port, ['www.home.example.', 'A']);
    assert.equal(r.code, 0, r.output);
    const p = parseDig(r.stdout);
    assertHeader(p, 'NOERROR', { has: ['qr', 'aa'], not: ['tc', 'ra'] });
    assert.deepEqual(p.answer, [{ name: 'www.home.example.', ttl: 300, class: 'IN', type: 'A', rdata: '192.0.2.80' }]);
    assert.equal(p.edns?.version, 0, 'dig sends EDNS: the reply has an OPT');
  });

  test('TCP answer is authoritative (dig +tcp)', async (t) => {
    if (!needTools(t, 'dig')) return;
    const r = await dig(port, ['+tcp', 'www.home.example.', 'AAAA']);
    assert.equal(r.code, 0, r.output);
    const p = parseDig(r.stdout);
    assertHeader(p, 'NOERROR', { has: ['qr', 'aa'], not: ['tc'] });
    assert.deepEqual(p.answer, [{ name: 'www.home.example.', ttl: 300, class: 'IN', type: 'AAAA', rdata: '2001:db8::80' }]);
  });

  test('UDP and TCP answers are authoritative (kdig)', async (t) => {
    if (!needTools(t, 'kdig')) return;
    for (const transport of ['+notcp', '+tcp']) {
      const r = await kdig(port, [transport, 'www.home.example.', 'A']);
      assert.equal(r.code, 0, r.output);
      const p = parseDig(r.stdout);
      assertHeader(p, 'NOERROR', { has: ['qr', 'aa'], not: ['tc'] });
      assert.deepEqual(p.answer, [{ name: 'www.home.example.', ttl: 300, class: 'IN', type: 'A', rdata: '192.0.2.80' }], `${transport}:\n${r.stdout}`);
    }
  });

  test('NXDOMAIN carries the SOA with TTL min(SOA TTL, minimum) (dig, kdig)', async (t) => {
    if (!needTools(t, 'dig', 'kdig')) return;
    for (const tool of [dig, kdig]) {
      const r = await tool(port, ['nope.home.example.', 'A']);
      assert.equal(r.code, 0, r.output);
      const p = parseDig(r.stdout);
      assertHeader(p, 'NXDOMAIN', { has: ['qr', 'aa'] });
      assertNegativeSoa(p);
    }
  });

  test('NODATA: NOERROR, empty answer, SOA in authority (dig, kdig)', async (t) => {
    if (!needTools(t, 'dig', 'kdig')) return;
    for (const tool of [dig, kdig]) {
      const r = await tool(port, ['www.home.example.', 'TXT']);
      assert.equal(r.code, 0, r.output);
      const p = parseDig(r.stdout);
      assertHeader(p, 'NOERROR', { has: ['qr', 'aa'] });
      assert.equal(p.counts.ANSWER, 0, r.stdout);
      assertNegativeSoa(p);
    }
  });

  test('names outside the zone are REFUSED, not authoritative', async (t) => {
    if (!needTools(t, 'dig')) return;
    for (const name of ['example.com.', 'example.', 'xhome.example.']) {
      const r = await dig(port, [name, 'A']);
      assert.equal(r.code, 0, r.output);
      const p = parseDig(r.stdout);
      assertHeader(p, 'REFUSED', { has: ['qr'], not: ['aa'] });
      assert.equal(p.answer.length, 0, r.stdout);
    }
  });

  test('0x20: the question keeps the case it was asked in', async (t) => {
    if (!needTools(t, 'dig')) return;
    // Lowercase first, so a response cache that ignores case would hand back the wrong one.
    for (const name of ['www.home.example.', 'WwW.HoMe.ExAmPlE.', 'WWW.HOME.EXAMPLE.']) {
      const r = await dig(port, [name, 'A']);
      assert.equal(r.code, 0, r.output);
      const p = parseDig(r.stdout);
      assertHeader(p, 'NOERROR', { has: ['aa'] });
      assert.deepEqual(p.question, [{ name, class: 'IN', type: 'A' }], r.stdout);
      assert.equal(p.answer.length, 1, r.stdout);
      assert.equal(p.answer[0].name.toLowerCase(), 'www.home.example.');
      assert.equal(p.answer[0].rdata, '192.0.2.80');
    }
  });

  test('a CNAME inside the zone is followed in one answer', async (t) => {
    if (!needTools(t, 'dig')) return;
    const r = await dig(port, ['mail.home.example.', 'A']);
    assert.equal(r.code, 0, r.output);
    const p = parseDig(r.stdout);
    assertHeader(p, 'NOERROR', { has: ['aa'] });
    assert.deepEqual(p.answer, [
      { name: 'mail.home.example.', ttl: 300, class: 'IN', type: 'CNAME', rdata: 'www.home.example.' },
      { name: 'www.home.example.', ttl: 300, class: 'IN', type: 'A', rdata: '192.0.2.80' },
    ], r.stdout);
  });

  test('EDNS Client Subnet is echoed with scope 0 for ordinary names (dig, kdig)', async (t) => {
    if (!needTools(t, 'dig', 'kdig')) return;
    for (const tool of [dig, kdig]) {
      const r = await tool(port, ['+subnet=192.0.2.0/24', 'www.home.example.', 'A']);
      assert.equal(r.code, 0, r.output);
      const p = parseDig(r.stdout);
      assertHeader(p, 'NOERROR', { has: ['aa'] });
      assert.equal(p.clientSubnet, '192.0.2.0/24/0', `ECS in the OPT:\n${r.stdout}`);
      assert.equal(p.answer.length, 1);
    }
  });

  test('EDNS Client Subnet is echoed for an NTS-managed name too', async (t) => {
    if (!needTools(t, 'dig')) return;
    const r = await dig(port, ['+subnet=198.51.100.0/24', 'alice.home.example.', 'A']);
    const p = parseDig(r.stdout);
    assertHeader(p, 'NOERROR', { has: ['aa'] });
    assert.match(p.clientSubnet ?? '', /^198\.51\.100\.0\/24\/\d+$/, r.stdout);
  });

  test('a large RRset over UDP with +bufsize=512 sets TC; TCP gets all of it', async (t) => {
    if (!needTools(t, 'dig')) return;
    const udp = await dig(port, ['+bufsize=512', '+ignore', 'big.home.example.', 'TXT']);
    assert.equal(udp.code, 0, udp.output);
    const pu = parseDig(udp.stdout);
    assertHeader(pu, 'NOERROR', { has: ['qr', 'aa', 'tc'] });
    assert.ok(pu.answer.length < BIG_COUNT, `a truncated answer cannot hold the whole RRset:\n${udp.stdout}`);

    // Without EDNS the limit is 512 too.
    const plain = await dig(port, ['+noedns', '+ignore', 'big.home.example.', 'TXT']);
    assertHeader(parseDig(plain.stdout), 'NOERROR', { has: ['tc'] });

    const tcp = await dig(port, ['+tcp', 'big.home.example.', 'TXT']);
    assert.equal(tcp.code, 0, tcp.output);
    const pt = parseDig(tcp.stdout);
    assertHeader(pt, 'NOERROR', { has: ['qr', 'aa'], not: ['tc'] });
    assert.equal(pt.answer.length, BIG_COUNT, tcp.stdout);
    const got = pt.answer.map((a) => a.rdata.replace(/"/g, '')).sort();
    assert.deepEqual(got, Array.from({ length: BIG_COUNT }, (_, i) => bigTxt(i)).sort());

    // dig's own fallback: UDP says TC, dig retries over TCP and shows the full answer.
    const fb = await dig(port, ['+bufsize=512', 'big.home.example.', 'TXT']);
    assert.equal(parseDig(fb.stdout).answer.length, BIG_COUNT, fb.stdout);
  });

  test('raw UDP: truncated answers fit the requester\'s size, capped at udp.maxPayload (1232)', async () => {
    const c = new UdpClient(port);
    const edns = (udpSize: number) => ({ edns: { udpSize, version: 0, dnssecOk: false, flags: 0, options: [] } });
    try {
      const cases: [string, Partial<Message>, number][] = [
        ['no EDNS', {}, 512],
        ['EDNS 512', edns(512), 512],
        ['EDNS 1000', edns(1000), 1000],
        ['EDNS 4096', edns(4096), 1232],
        ['EDNS 100 (below 512)', edns(100), 512],
      ];
      for (const [i, [what, init, limit]] of cases.entries()) {
        const raw = await c.exchange(rawQuery(0x2000 + i, 'big.home.example.', RRType.TXT, init));
        const m = decodeMessage(raw);
        assert.ok(raw.length <= limit, `${what}: ${raw.length} bytes > ${limit}`);
        assert.equal(m.tc, true, `${what}: TC`);
        assert.equal(m.id, 0x2000 + i);
        assert.equal(m.question[0]?.name, 'big.home.example.', `${what}: question echoed`);
        assert.equal(!!m.edns, !!init.edns, `${what}: OPT iff the query had one`);
      }
      // A small answer is not truncated by a small buffer.
      const small = decodeMessage(await c.exchange(rawQuery(0x2100, 'www.home.example.', RRType.A, edns(512))));
      assert.equal(small.tc, false);
      assert.equal(small.answer.length, 1);
    } finally {
      c.close();
    }
  });

  test('EDNS version 1 gets BADVERS with an OPT of version 0', async (t) => {
    if (!needTools(t, 'dig')) return;
    const r = await dig(port, ['+edns=1', '+noednsnegotiation', 'www.home.example.', 'A']);
    assert.equal(r.code, 0, r.output);
    const p = parseDig(r.stdout);
    assertHeader(p, 'BADVERS', { has: ['qr'] });
    assert.equal(p.edns?.version, 0, r.stdout);
    assert.equal(p.answer.length, 0);
  });

  test('+noedns: no OPT in the reply', async (t) => {
    if (!needTools(t, 'dig')) return;
    const r = await dig(port, ['+noedns', 'www.home.example.', 'A']);
    assert.equal(r.code, 0, r.output);
    const p = parseDig(r.stdout);
    assertHeader(p, 'NOERROR', { has: ['aa'] });
    assert.equal(p.opt, undefined, `no OPT pseudosection expected:\n${r.stdout}`);
    assert.equal(p.counts.ADDITIONAL, 0, r.stdout);
    assert.equal(p.answer.length, 1);
  });

  test('opcode NOTIFY gets NOTIMP (dig +opcode=notify)', async (t) => {
    if (!needTools(t, 'dig')) return;
    const r = await dig(port, ['+opcode=notify', '+norecurse', ZONE, 'SOA']);
    const p = parseDig(r.stdout);
    assert.equal(p.opcode, 'NOTIFY', r.output);
    assertHeader(p, 'NOTIMP', { has: ['qr'] });
  });

  test('a NOTIMP answer to an EDNS query carries an OPT (RFC 6891 6.1.1)', async (t) => {
    if (!needTools(t, 'dig')) return;
    const r = await dig(port, ['+opcode=notify', '+norecurse', ZONE, 'SOA']);
    const p = parseDig(r.stdout);
    assertHeader(p, 'NOTIMP', { has: ['qr'] });
    assert.equal(p.edns?.version, 0, `the query had an OPT, so must the response:\n${r.output}`);
  });

  test('other opcodes (raw: IQUERY, STATUS, NOTIFY, 15) get NOTIMP with the same ID and opcode', async () => {
    const c = new UdpClient(port);
    try {
      for (const [i, opcode] of [Opcode.IQUERY, Opcode.STATUS, Opcode.NOTIFY, 15].entries()) {
        const id = 0x1100 + i;
        const reply = decodeMessage(await c.exchange(rawQuery(id, ZONE, RRType.SOA, { opcode })));
        assert.equal(reply.id, id);
        assert.equal(reply.qr, true);
        assert.equal(reply.opcode, opcode);
        assert.equal(reply.rcode, Rcode.NOTIMP, `opcode ${opcode}`);
      }
    } finally {
      c.close();
    }
  });

  test('malformed datagram with a readable header gets FORMERR with the same ID', async () => {
    const c = new UdpClient(port);
    try {
      const header = (id: number, qd: number, an = 0) => {
        const h = Buffer.alloc(12);
        h.writeUInt16BE(id, 0);
        h.writeUInt16BE(qd, 4);
        h.writeUInt16BE(an, 6);
        return h;
      };
      const cases: [string, Buffer][] = [
        ['truncated label', Buffer.concat([header(0x4242, 1), Buffer.from([0x3f, 0x41, 0x42])])],
        ['compression loop', Buffer.concat([header(0x4243, 1), Buffer.from([0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01])])],
        ['counts beyond the end', header(0x4244, 1, 40)],
        ['garbage after a query header', Buffer.concat([header(0x4245, 1), Buffer.from('\xff\xfe\xfd\xfc\xfb\xfa\xf9', 'latin1')])],
      ];
      for (const [what, buf] of cases) {
        const id = buf.readUInt16BE(0);
        const raw = await c.exchange(buf);
        assert.equal(raw.readUInt16BE(0), id, `${what}: same ID`);
        assert.ok(raw[2] & 0x80, `${what}: QR set`);
        assert.equal(raw[3] & 0x0f, Rcode.FORMERR, `${what}: FORMERR`);
      }
      // ... and it still answers real queries.
      const ok = decodeMessage(await c.exchange(rawQuery(0x4250, 'www.home.example.', RRType.A)));
      assert.equal(ok.rcode, Rcode.NOERROR);
      assert.equal(ok.answer.length, 1);
    } finally {
      c.close();
    }
  });

  test('datagrams shorter than a header, and responses, get no reply; the server keeps answering', async () => {
    const c = new UdpClient(port);
    try {
      const response = rawQuery(0x5151, 'www.home.example.', RRType.A, { qr: true });
      for (const junk of [Buffer.alloc(0), Buffer.from([0x12]), Buffer.from('0123456789a'), response]) await c.sendRaw(junk);
      await c.sendRaw(rawQuery(0x5252, 'www.home.example.', RRType.A));
      // Datagrams on loopback arrive in order and the server handles them in order: if any of
      // the junk had been answered, that answer would come before this one.
      const first = await c.receive(undefined, 3000);
      assert.equal(first.readUInt16BE(0), 0x5252, 'the first datagram back answers the valid query');
      const msg = decodeMessage(first);
      assert.equal(msg.rcode, Rcode.NOERROR);
      assert.equal(msg.answer.length, 1);
      assert.deepEqual(c.pending(), [], 'nothing else arrived');
    } finally {
      c.close();
    }
  });

  test('TCP: several queries in one connection, sequential, pipelined and split', async () => {
    const c = await TcpClient.connect(port);
    try {
      // Sequential.
      for (const id of [1, 2]) {
        c.write(TcpClient.frame([rawQuery(id, 'www.home.example.', RRType.A)]));
        const [m] = await c.read(1);
        const d = decodeMessage(m);
        assert.equal(d.id, id);
        assert.equal(d.rcode, Rcode.NOERROR);
        assert.equal(d.aa, true);
      }
      // Pipelined: three framed queries in one write; answers may come in any order.
      const qs = [
        rawQuery(0x0a01, 'www.home.example.', RRType.A),
        rawQuery(0x0a02, 'mail.home.example.', RRType.A),
        rawQuery(0x0a03, 'nope.home.example.', RRType.A),
      ];
      c.write(TcpClient.frame(qs));
      const answers = new Map((await c.read(3)).map((m) => { const d = decodeMessage(m); return [d.id, d]; }));
      assert.deepEqual([...answers.keys()].sort(), [0x0a01, 0x0a02, 0x0a03]);
      assert.equal(answers.get(0x0a01)!.answer.length, 1);
      assert.equal(answers.get(0x0a02)!.answer.length, 2, 'CNAME + A');
      assert.equal(answers.get(0x0a03)!.rcode, Rcode.NXDOMAIN);
      // One query split over several writes (length prefix split too).
      const framed = TcpClient.frame([rawQuery(0x0b01, 'big.home.example.', RRType.TXT)]);
      c.write(framed.subarray(0, 1));
      await new Promise((r) => setImmediate(r));
      c.write(framed.subarray(1, 7));
      await new Promise((r) => setImmediate(r));
      c.write(framed.subarray(7));
      const [big] = await c.read(1);
      const d = decodeMessage(big);
      assert.equal(d.id, 0x0b01);
      assert.equal(d.tc, false);
      assert.equal(d.answer.length, BIG_COUNT);
    } finally {
      c.close();
    }
  });

  test('an NTS-managed name is served with TTL 0, an ordinary one keeps its TTL', async (t) => {
    if (!needTools(t, 'dig', 'kdig')) return;
    for (const tool of [dig, kdig]) {
      const a = parseDig((await tool(port, ['alice.home.example.', 'A'])).stdout);
      assertHeader(a, 'NOERROR', { has: ['aa'] });
      assert.deepEqual(a.answer, [{ name: 'alice.home.example.', ttl: 0, class: 'IN', type: 'A', rdata: ROUTER }], a.raw);
      const w = parseDig((await tool(port, ['www.home.example.', 'A'])).stdout);
      assert.deepEqual(w.answer, [{ name: 'www.home.example.', ttl: 300, class: 'IN', type: 'A', rdata: '192.0.2.80' }], w.raw);
    }
    // Over plain UDP (no cookie) the source is not verified: TC=1, nothing answered, so the
    // resolver retries over TCP (docs/verification.md). dig and kdig above did just that.
    const c = new UdpClient(port);
    try {
      const m = decodeMessage(await c.exchange(rawQuery(0x7000, 'alice.home.example.', RRType.A)));
      assert.ok(m.tc, 'TC=1 to an unverified UDP source');
      assert.equal(m.answer.length, 0);
    } finally {
      c.close();
    }
    // Twice in a row over TCP: a response cache must not turn the TTL back into 300.
    const tc = await TcpClient.connect(port);
    try {
      for (const id of [0x7001, 0x7002]) {
        tc.write(TcpClient.frame([rawQuery(id, 'alice.home.example.', RRType.A)]));
        const m = decodeMessage((await tc.read(1))[0]);
        assert.equal(m.answer.length, 1);
        assert.equal(m.answer[0].ttl, 0);
      }
    } finally {
      tc.close();
    }
  });

  test('the server stops cleanly on SIGTERM (exit 0), even with an idle TCP connection open', async () => {
    const c = await TcpClient.connect(port);
    try {
      c.write(TcpClient.frame([rawQuery(0x0c01, 'www.home.example.', RRType.A)]));
      await c.read(1);
      await srv.stop(); // asserts exit code 0 within 5 s
      await assert.rejects(c.read(1, 2000), /closed/, 'the server closes open connections when it stops');
    } finally {
      c.close();
    }
    assert.ok(srv.events().some((e) => e.event === 'stopped'), 'a "stopped" event is logged');
  });
});
