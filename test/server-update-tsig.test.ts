// TSIG attacks on the update path (RFC 8945): replays after the fudge window and within it (the
// last-time-signed check, 5.2.3), truncated MACs (5.2.2.1, 5.2.4), and several signed messages
// pipelined on one TCP connection (RFC 7766). First the handler with a fake clock and real
// captured nsupdate bytes, then the real server process with nsupdate and raw TCP.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { Opcode, RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { parseRecord } from '../src/dns/presentation.js';
import { signMessage, u48, verifyResponse, type TsigAlgorithm, type TsigKey } from '../src/dns/tsig.js';
import { newMessage, type Message } from '../src/dns/types.js';
import { Zone } from '../src/dns/zone.js';
import { DnsHandler, type RequestContext } from '../src/server/handler.js';
import { ZoneStore } from '../src/store/zone-store.js';
import { Counters } from '../src/util/counters.js';
import { memoryLogger } from '../src/util/log.js';
import { fixtureDir } from './helpers/fixtures.js';
import { baseConfig, HOST, queryUdp, run, soaSerial, startServer, TcpClient, UdpClient, waitFor, type ServerProc } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';

// A real nsupdate 9.18 request (fixture): zone example.test., add host.example.test. A 192.0.2.10.
const FIX = fixtureDir('tsig');
const capture = (JSON.parse(fs.readFileSync(path.join(FIX, 'captures.json'), 'utf8')).captures as
  { file: string; keyName: string; algorithm: TsigAlgorithm; secret: string; timeSigned: number }[])
  .find((c) => c.file === 'nsupdate-hmac-sha256.bin')!;
const CAPTURED = fs.readFileSync(path.join(FIX, capture.file));
const T0 = capture.timeSigned;
const ALICE: TsigKey = { name: capture.keyName, algorithm: capture.algorithm, secret: Buffer.from(capture.secret, 'base64') };

const dir = mkdtempSync(join(tmpdir(), 'ntss-tsig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ORIGIN = 'example.test.';
const udp: RequestContext = { transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 5353 };

function setup(key: TsigKey = ALICE) {
  const file = join(dir, `z${Math.random().toString(36).slice(2)}.db`);
  const store = ZoneStore.open(file);
  after(() => store.close());
  store.seedZone(ORIGIN, [
    'example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 30',
    'example.test. 3600 IN NS ns1.example.test.',
    'ns1.example.test. 3600 IN A 192.0.2.53',
  ].map(parseRecord));
  const zone = Zone.fromRecords(ORIGIN, store.loadZone(ORIGIN) ?? []);
  const counters = new Counters();
  const log = memoryLogger();
  const clock = { now: T0 * 1000 };
  const h = new DnsHandler({
    zone, store, counters, log,
    keys: new Map([[key.name, { key, allow: [{ name: 'example.test.', subtree: true }] }]]),
    routerAddresses: new Set(), udpMaxPayload: 1232, tsigFudge: 300, responseCacheSize: 100, now: () => clock.now,
  });
  /** What is in the zone and on disk: the serial and host.example.test.'s A records, both ways. */
  const state = () => ({
    serial: zone.serial(),
    host: zone.get('host.example.test.', RRType.A).map((r) => (r.rdata.kind === 'A' ? r.rdata.address : '')),
    stored: (store.loadZone(ORIGIN) ?? []).filter((r) => r.name === 'host.example.test.').length,
  });
  return { h, zone, counters, log, clock, state };
}

function ask(h: DnsHandler, raw: Buffer, ctx = udp): { bytes: Buffer; msg: Message } {
  const out = h.handle(raw, ctx);
  assert.ok(out && !(out instanceof Promise), 'expected a synchronous answer');
  return { bytes: out, msg: decodeMessage(out) };
}

/** An UPDATE of example.test. with `lines` (records; class NONE = delete that RR), signed at t. */
function update(lines: string[], t: number | undefined, opts: { id?: number; key?: TsigKey; truncateTo?: number } = {}): { message: Buffer; mac: Buffer } {
  const raw = encodeMessage(newMessage({
    id: opts.id ?? 0x3131, opcode: Opcode.UPDATE, question: [{ name: ORIGIN, type: RRType.SOA, class: RRClass.IN }],
    authority: lines.map((l) => {
      const [text, cls] = l.split(' | ');
      const rr = parseRecord(text);
      return cls === 'NONE' ? { ...rr, class: RRClass.NONE, ttl: 0 } : rr;
    }),
  }));
  if (t === undefined) return { message: raw, mac: Buffer.alloc(0) };
  return signMessage(raw, opts.key ?? ALICE, { nowSeconds: t, truncateTo: opts.truncateTo });
}
const DEL_HOST = 'host.example.test. 0 IN A 192.0.2.10 | NONE';

/** The client's view: the answer's TSIG verifies with the request MAC; returns the TSIG error. */
function clientVerifies(res: { bytes: Buffer; msg: Message }, requestMac: Buffer, clientNow: number, key = ALICE): number {
  const r = verifyResponse(res.bytes, res.msg, key, requestMac, clientNow);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  return r.status === 'ok' ? r.error : -1;
}

describe('handler: BADTIME and replays change nothing', () => {
  test('a captured nsupdate UPDATE replayed after the fudge window: BADTIME, signed, nothing changes', () => {
    const { h, counters, clock, state, log } = setup();
    const before = state();
    const reqMac = decodeMessage(CAPTURED).tsig!.rr.rdata.mac;
    for (const skew of [301, 3600, -301]) {
      clock.now = (T0 + skew) * 1000;
      const res = ask(h, CAPTURED);
      assert.equal(res.msg.rcode, Rcode.NOTAUTH);
      assert.equal(clientVerifies(res, reqMac, T0), Rcode.BADTIME);
      assert.deepEqual(res.msg.tsig!.rr.rdata.other, u48(T0 + skew), 'Other Data: our time');
      assert.deepEqual(state(), before, `skew ${skew}: nothing changed`);
    }
    assert.equal(counters.get('tsig_badtime'), 3);
    assert.equal(counters.get('updates_applied'), 0);
    assert.ok(log.lines.some((l) => l.includes('tsig-error') && l.includes('alice-key.') && l.includes('badtime')), log.lines.join('\n'));
    // the same bytes inside the window are applied: the check above is about time, nothing else
    clock.now = (T0 + 300) * 1000;
    const ok = ask(h, CAPTURED);
    assert.equal(ok.msg.rcode, Rcode.NOERROR);
    assert.equal(clientVerifies(ok, reqMac, T0 + 300), 0);
    assert.deepEqual(state(), { serial: before.serial + 1, host: ['192.0.2.10'], stored: 1 });
  });

  test('last time signed: a replay inside the fudge, after a newer message, is BADTIME and changes nothing', () => {
    const { h, counters, clock, state, log } = setup();
    const reqMac = decodeMessage(CAPTURED).tsig!.rr.rdata.mac;
    clock.now = T0 * 1000;
    assert.equal(ask(h, CAPTURED).msg.rcode, Rcode.NOERROR); // add host
    // a retransmission (same bytes, same second, nothing newer yet) is accepted: idempotent add
    clock.now = (T0 + 1) * 1000;
    assert.equal(ask(h, CAPTURED).msg.rcode, Rcode.NOERROR);
    const added = state();
    assert.deepEqual(added.host, ['192.0.2.10']);
    // the owner deletes it one second later
    const del = update([DEL_HOST], T0 + 1, { id: 7 });
    assert.equal(ask(h, del.message).msg.rcode, Rcode.NOERROR);
    const deleted = state();
    assert.deepEqual(deleted, { serial: added.serial + 1, host: [], stored: 0 });
    // the attacker replays the captured add, 10 s after it was signed: inside the fudge
    clock.now = (T0 + 10) * 1000;
    const res = ask(h, CAPTURED);
    assert.equal(res.msg.rcode, Rcode.NOTAUTH);
    assert.equal(clientVerifies(res, reqMac, T0 + 10), Rcode.BADTIME);
    assert.deepEqual(state(), deleted, 'the replay changed nothing');
    assert.equal(counters.get('tsig_replay'), 1);
    assert.equal(counters.get('tsig_badtime'), 0);
    assert.ok(log.lines.some((l) => l.includes('tsig-error') && l.includes('alice-key.') && l.includes('replay')), log.lines.join('\n'));
    // over TCP too
    assert.equal(ask(h, CAPTURED, { ...udp, transport: 'tcp' }).msg.rcode, Rcode.NOTAUTH);
    assert.equal(counters.get('tsig_replay'), 2);
    // the owner goes on: equal and later times are fine
    assert.equal(ask(h, update(['other.example.test. 60 IN A 192.0.2.11'], T0 + 1, { id: 8 }).message).msg.rcode, Rcode.NOERROR);
    assert.equal(ask(h, update(['third.example.test. 60 IN A 192.0.2.12'], T0 + 9, { id: 9 }).message).msg.rcode, Rcode.NOERROR);
    assert.equal(state().serial, deleted.serial + 2);
  });

  test('signed queries move the key\'s clock too; unverified messages never do', () => {
    const { h, counters, clock, state } = setup();
    clock.now = (T0 + 100) * 1000;
    // a forged update far ahead (bad MAC) must not lock the key's owner out
    const forged = Buffer.from(update(['x.example.test. 60 IN A 192.0.2.1'], T0 + 250).message);
    forged[forged.length - 10] ^= 1;
    assert.equal(ask(h, forged).msg.rcode, Rcode.NOTAUTH);
    assert.equal(counters.get('tsig_badsig'), 1);
    assert.equal(ask(h, update(['y.example.test. 60 IN A 192.0.2.2'], T0 + 100).message).msg.rcode, Rcode.NOERROR);
    const q = signMessage(encodeMessage(newMessage({ id: 5, question: [{ name: 'ns1.example.test.', type: RRType.A, class: RRClass.IN }] })), ALICE, { nowSeconds: T0 + 120 });
    assert.equal(ask(h, q.message).msg.rcode, Rcode.NOERROR);
    const s = state();
    const late = ask(h, update(['z.example.test. 60 IN A 192.0.2.3'], T0 + 110).message);
    assert.equal(late.msg.rcode, Rcode.NOTAUTH);
    assert.equal(late.msg.tsig!.rr.rdata.error, Rcode.BADTIME);
    assert.deepEqual(state(), s);
    assert.equal(counters.get('tsig_replay'), 1);
  });
});

describe('handler: truncated MACs on updates', () => {
  test('below the RFC 8945 minimum: FORMERR, unsigned, nothing changes', () => {
    const { h, counters, clock, state } = setup();
    clock.now = T0 * 1000;
    const before = state();
    const res = ask(h, update(['host.example.test. 60 IN A 192.0.2.10'], T0, { truncateTo: 15 }).message);
    assert.equal(res.msg.rcode, Rcode.FORMERR);
    assert.equal(res.msg.tsig, undefined);
    assert.deepEqual(state(), before);
    assert.equal(counters.get('tsig_formerr'), 1);
  });

  test('allowed by the RFC but not by the key\'s policy: BADTRUNC, signed over the truncated request MAC', () => {
    const { h, counters, clock, state } = setup();
    clock.now = T0 * 1000;
    const before = state();
    const req = update(['host.example.test. 60 IN A 192.0.2.10'], T0, { truncateTo: 16 });
    const res = ask(h, req.message);
    assert.equal(res.msg.rcode, Rcode.NOTAUTH);
    assert.equal(clientVerifies(res, req.mac, T0), Rcode.BADTRUNC);
    assert.deepEqual(state(), before);
    assert.equal(counters.get('tsig_badtrunc'), 1);
    // a BADTRUNC message does not move the key's clock
    assert.equal(ask(h, update([DEL_HOST], T0 - 5).message).msg.rcode, Rcode.NOERROR);
  });

  test('a key that allows 16 octets: the truncated update applies, the answer carries a full MAC', () => {
    const { h, clock, state } = setup({ ...ALICE, minMacLength: 16 });
    clock.now = T0 * 1000;
    const req = update(['host.example.test. 60 IN A 192.0.2.10'], T0, { truncateTo: 16 });
    const res = ask(h, req.message);
    assert.equal(res.msg.rcode, Rcode.NOERROR);
    assert.equal(res.msg.tsig!.rr.rdata.mac.length, 32);
    assert.equal(clientVerifies(res, req.mac, T0), 0);
    assert.deepEqual(state().host, ['192.0.2.10']);
    // one bit off inside the 16 octets: BADSIG, nothing changes
    const bad = Buffer.from(update([DEL_HOST], T0, { truncateTo: 16 }).message);
    bad[bad.length - 6 - 16] ^= 0x40;
    assert.equal(ask(h, bad).msg.tsig!.rr.rdata.error, Rcode.BADSIG);
    assert.deepEqual(state().host, ['192.0.2.10']);
  });
});

// ---- the real server process -------------------------------------------------------------------

const ZONE = 'home.example.';
const KEY_CFG = { name: ALICE.name, algorithm: ALICE.algorithm, secret: capture.secret, allow: ['*.home.example.'] };
const nowS = () => Math.floor(Date.now() / 1000);

function homeUpdate(id: number, name: string, address: string, key?: TsigKey): { message: Buffer; mac: Buffer } {
  const raw = encodeMessage(newMessage({
    id, opcode: Opcode.UPDATE, question: [{ name: ZONE, type: RRType.SOA, class: RRClass.IN }],
    authority: [parseRecord(`${name} 60 IN A ${address}`)],
  }));
  return key ? signMessage(raw, key, { nowSeconds: nowS() }) : { message: raw, mac: Buffer.alloc(0) };
}

/** A UDP relay on loopback in front of the server that keeps every request it forwards. */
async function udpRelay(serverPort: number): Promise<{ port: number; seen: Buffer[]; close(): void }> {
  const front = dgram.createSocket('udp4');
  const seen: Buffer[] = [];
  front.on('message', (m, rinfo) => {
    seen.push(Buffer.from(m));
    const back = dgram.createSocket('udp4');
    back.on('message', (r) => { front.send(r, rinfo.port, rinfo.address); back.close(); });
    back.send(m, serverPort, HOST);
  });
  await new Promise<void>((r) => front.bind(0, HOST, r));
  return { port: front.address().port, seen, close: () => front.close() };
}

async function counters(srv: ServerProc): Promise<Record<string, unknown>> {
  const n = srv.events().filter((e) => e.event === 'counters').length;
  process.kill(srv.pid()!, 'SIGUSR1');
  return waitFor('counters', () => srv.events().filter((e) => e.event === 'counters')[n]);
}

describe('server process: replays and pipelined TCP', () => {
  let srv: ServerProc;
  before(async () => {
    srv = await startServer(undefined, { config: baseConfig({ tsig: [KEY_CFG] }) });
  });
  after(async () => srv?.dispose());
  const a = async (name: string) => (await queryUdp(srv.port, name, RRType.A)).answer.map((r) => (r.rdata.kind === 'A' ? r.rdata.address : ''));

  test('a real nsupdate UPDATE, captured and replayed after the owner moved on: BADTIME, nothing changes', async (t) => {
    if (!needTools(t, 'nsupdate')) return;
    const relay = await udpRelay(srv.port);
    t.after(() => relay.close());
    const nsupdate = (port: number, lines: string[]) =>
      run('nsupdate', ['-t', '5', '-u', '1', '-y', `${KEY_CFG.algorithm}:${KEY_CFG.name}:${KEY_CFG.secret}`],
        [`server ${HOST} ${port}`, `zone ${ZONE}`, ...lines, 'send', ''].join('\n'));
    const add = await nsupdate(relay.port, ['update add replay.home.example. 300 A 192.0.2.77']);
    assert.equal(add.code, 0, add.output);
    const captured = relay.seen.find((m) => decodeMessage(m).opcode === Opcode.UPDATE);
    assert.ok(captured, 'the relay saw the UPDATE');
    const capMac = decodeMessage(captured).tsig!.rr.rdata.mac;
    assert.deepEqual(await a('replay.home.example.'), ['192.0.2.77']);
    // the owner deletes the name in a later second
    const signedAt = decodeMessage(captured).tsig!.rr.rdata.timeSigned;
    await waitFor('the next second', () => nowS() > signedAt, 3000);
    const del = await nsupdate(srv.port, ['update delete replay.home.example. A']);
    assert.equal(del.code, 0, del.output);
    const s0 = await soaSerial(srv.port);
    assert.equal((await queryUdp(srv.port, 'replay.home.example.', RRType.A)).rcode, Rcode.NXDOMAIN);
    // the replay, over UDP and over TCP: BADTIME, signed with the key, nothing changes
    const client = new UdpClient(srv.port);
    t.after(() => client.close());
    const tcp = await TcpClient.connect(srv.port);
    t.after(() => tcp.close());
    tcp.write(TcpClient.frame([captured]));
    for (const bytes of [await client.exchange(captured), (await tcp.read(1))[0]]) {
      const msg = decodeMessage(bytes);
      assert.equal(msg.rcode, Rcode.NOTAUTH);
      const r = verifyResponse(bytes, msg, ALICE, capMac, signedAt);
      assert.ok(r.status === 'ok' && r.error === Rcode.BADTIME, JSON.stringify(r));
    }
    assert.equal(await soaSerial(srv.port), s0);
    assert.equal((await queryUdp(srv.port, 'replay.home.example.', RRType.A)).rcode, Rcode.NXDOMAIN);
    const ev = srv.events().find((e) => e.event === 'tsig-error' && e.check === 'replay');
    assert.ok(ev && ev.key === 'alice-key.', JSON.stringify(srv.events().filter((e) => e.event === 'tsig-error')));
    assert.equal((await counters(srv)).tsig_replay, 2);
    // and nsupdate itself goes on working (several updates within the same second are fine)
    for (let i = 0; i < 3; i++) {
      const r = await nsupdate(srv.port, [`update add again${i}.home.example. 300 A 192.0.2.${80 + i}`]);
      assert.equal(r.code, 0, r.output);
    }
    assert.equal(await soaSerial(srv.port), s0 + 3);
  });

  test('the captured fixture (days old) replayed to the server: BADTIME, signed, nothing changes', async () => {
    const s0 = await soaSerial(srv.port);
    const client = new UdpClient(srv.port);
    try {
      const bytes = await client.exchange(CAPTURED);
      const msg = decodeMessage(bytes);
      assert.equal(msg.rcode, Rcode.NOTAUTH);
      const r = verifyResponse(bytes, msg, ALICE, decodeMessage(CAPTURED).tsig!.rr.rdata.mac, T0);
      assert.ok(r.status === 'ok' && r.error === Rcode.BADTIME && Math.abs(r.otherData.readUIntBE(0, 6) - nowS()) <= 2, JSON.stringify(r));
    } finally {
      client.close();
    }
    assert.equal(await soaSerial(srv.port), s0);
  });

  test('pipelined on one TCP connection: each signed message verified, each answer signed over its own MAC; an unsigned or forged one in the middle is refused', async () => {
    const s0 = await soaSerial(srv.port);
    const msgs = [
      { ...homeUpdate(101, 'p1.home.example.', '192.0.2.101', ALICE), want: 'ok' },
      { ...homeUpdate(102, 'p2.home.example.', '192.0.2.102', ALICE), want: 'ok' },
      { ...homeUpdate(103, 'evil.home.example.', '192.0.2.66'), want: 'unsigned' },
      { ...homeUpdate(104, 'p3.home.example.', '192.0.2.103', ALICE), want: 'ok' },
      { ...homeUpdate(105, 'forged.home.example.', '192.0.2.67', { ...ALICE, secret: Buffer.from('not the secret') }), want: 'badsig' },
      { ...homeUpdate(106, 'p4.home.example.', '192.0.2.104', ALICE), want: 'ok' },
    ];
    const q = signMessage(encodeMessage(newMessage({ id: 107, question: [{ name: 'www.home.example.', type: RRType.A, class: RRClass.IN }] })), ALICE, { nowSeconds: nowS() });
    msgs.push({ ...q, want: 'query' });
    const tcp = await TcpClient.connect(srv.port);
    try {
      // one stream, cut into 7-octet pieces: framing must hand each message over byte-exact
      const stream = TcpClient.frame(msgs.map((m) => m.message));
      for (let i = 0; i < stream.length; i += 7) tcp.write(stream.subarray(i, i + 7));
      const answers = new Map((await tcp.read(msgs.length, 5000)).map((b) => [b.readUInt16BE(0), b]));
      for (const m of msgs) {
        const id = m.message.readUInt16BE(0);
        const bytes = answers.get(id);
        assert.ok(bytes, `an answer for ${id}`);
        const res = decodeMessage(bytes);
        if (m.want === 'unsigned') {
          assert.equal(res.rcode, Rcode.REFUSED);
          assert.equal(res.tsig, undefined);
          continue;
        }
        if (m.want === 'badsig') {
          assert.equal(res.rcode, Rcode.NOTAUTH);
          assert.deepEqual(verifyResponse(bytes, res, ALICE, m.mac, nowS()), { status: 'unsigned-error', error: Rcode.BADSIG });
          continue;
        }
        assert.equal(res.rcode, Rcode.NOERROR, `${id}`);
        const r = verifyResponse(bytes, res, ALICE, m.mac, nowS());
        assert.ok(r.status === 'ok' && r.error === 0, `${id}: ${JSON.stringify(r)}`);
        // answers are bound to their own request: another message's MAC does not verify them
        assert.equal(verifyResponse(bytes, res, ALICE, msgs[0].mac.equals(m.mac) ? msgs[1].mac : msgs[0].mac, nowS()).status, 'bad');
        if (m.want === 'query') assert.deepEqual(res.answer.map((x) => x.rdata.kind === 'A' && x.rdata.address), ['192.0.2.80']);
      }
    } finally {
      tcp.close();
    }
    assert.equal(await soaSerial(srv.port), s0 + 4);
    for (let i = 1; i <= 4; i++) assert.deepEqual(await a(`p${i}.home.example.`), [`192.0.2.${100 + i}`]);
    for (const n of ['evil.home.example.', 'forged.home.example.']) {
      assert.equal((await queryUdp(srv.port, n, RRType.A)).rcode, Rcode.NXDOMAIN, n);
    }
  });
});

test('config: tsig[].minMacLength reaches the verifier; below the RFC minimum is refused with the key named', async () => {
  const { serverConfigSchema } = await import('../src/config/server-config.js');
  const base = {
    storage: 'x.db',
    zone: { name: 'home.example.', soa: { mname: 'ns1.home.example.', rname: 'h.home.example.', refresh: 1, retry: 1, expire: 1, minimum: 0 }, ns: ['ns1.home.example.'] },
  };
  const key = { name: 'k.', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 1).toString('base64') };
  assert.equal(serverConfigSchema.parse({ ...base, tsig: [{ ...key, minMacLength: 16 }] }).tsig[0].minMacLength, 16);
  const bad = serverConfigSchema.safeParse({ ...base, tsig: [{ ...key, minMacLength: 8 }] });
  assert.ok(!bad.success && bad.error.issues[0].path.join('.') === 'tsig.0.minMacLength');
});
