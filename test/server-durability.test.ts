// Durability: SIGKILL in the middle of a stream of signed updates loses nothing acknowledged.
// A Node client (the project's codec + TSIG) sends updates one after another and records every
// NOERROR it gets; the server is killed at a random moment, restarted on the same storage, and
// every acknowledged name must be there, with an SOA serial that matches what was applied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { Opcode, RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { signMessage, verifyResponse, type TsigKey } from '../src/dns/tsig.js';
import { newMessage } from '../src/dns/types.js';
import { baseConfig, startServer, UdpClient, waitFor } from './helpers/server-proc.js';

const ZONE = 'home.example.';
const KEY: TsigKey = { name: 'dur-key.', algorithm: 'hmac-sha256', secret: Buffer.from('durability-test-secret-32-bytes!') };
const ROUNDS = 3;
const INITIAL_SERIAL = 1;

const nameOf = (n: number) => `h${n}.${ZONE}`;
// 198.18.0.0/15 (RFC 2544): public-looking data, so the private-address rule does not apply.
const addressOf = (n: number) => `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;

function signedAdd(id: number, n: number): { message: Buffer; mac: Buffer } {
  const msg = newMessage({
    id, opcode: Opcode.UPDATE,
    question: [{ name: ZONE, type: RRType.SOA, class: RRClass.IN }],
    authority: [{ name: nameOf(n), type: RRType.A, class: RRClass.IN, ttl: 60, rdata: { kind: 'A', address: addressOf(n) } }],
  });
  return signMessage(encodeMessage(msg), KEY, { nowSeconds: Math.floor(Date.now() / 1000) });
}

function query(id: number, name: string, type: number): Buffer {
  return encodeMessage(newMessage({ id, question: [{ name, type, class: RRClass.IN }] }));
}

test('kill -9 during a stream of updates loses no acknowledged update', { timeout: 45_000 }, async (t) => {
  const cfg = baseConfig({ tsig: [{ name: KEY.name, algorithm: KEY.algorithm, secret: KEY.secret.toString('base64'), allow: ['*.home.example.'] }] });
  cfg.zone.soa.serial = INITIAL_SERIAL;
  const srv = await startServer(t, { config: cfg });

  const acked = new Set<number>();
  /** Sent but never acknowledged (at most one per round: the one in flight at the kill). */
  const unacked = new Set<number>();
  let next = 0;
  let idSeq = 1;

  for (let round = 0; round < ROUNDS; round++) {
    const client = new UdpClient(srv.port);
    const ackedThisRound: number[] = [];
    let failure: Error | undefined;
    // The update stream: one signed update at a time, each reply checked.
    const stream = (async () => {
      for (;;) {
        const n = next++;
        const id = idSeq++ & 0xffff;
        const { message, mac } = signedAdd(id, n);
        let raw: Buffer;
        try {
          raw = await client.exchange(message, 500);
        } catch {
          unacked.add(n); // no reply: the server is gone
          return;
        }
        const reply = decodeMessage(raw);
        if (reply.rcode !== Rcode.NOERROR || !reply.qr || reply.opcode !== Opcode.UPDATE) {
          failure = new Error(`update h${n}: rcode ${reply.rcode}, qr ${reply.qr}, opcode ${reply.opcode}`);
          return;
        }
        const v = verifyResponse(raw, reply, KEY, mac, Math.floor(Date.now() / 1000));
        if (v.status !== 'ok' || v.error !== 0) {
          failure = new Error(`update h${n}: reply TSIG ${JSON.stringify(v)}`);
          return;
        }
        acked.add(n);
        ackedThisRound.push(n);
      }
    })();

    // Kill at a random moment once the stream is under way.
    await waitFor('a few acknowledged updates', () => ackedThisRound.length >= 3 || failure, 10_000);
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
    await srv.kill9();
    await stream;
    client.close();
    if (failure) throw failure;
    assert.ok(ackedThisRound.length >= 3);
    t.diagnostic(`round ${round}: ${ackedThisRound.length} acknowledged before SIGKILL`);

    await srv.restart();

    // Every name sent so far: acknowledged ones must exist; the in-flight one may or may not.
    const q = new UdpClient(srv.port);
    try {
      const present: number[] = [];
      for (let n = 0; n < next; n++) {
        const id = idSeq++ & 0xffff;
        const m = decodeMessage(await q.exchange(query(id, nameOf(n), RRType.A)));
        const addrs = m.answer.filter((r) => r.rdata.kind === 'A').map((r) => (r.rdata.kind === 'A' ? r.rdata.address : ''));
        if (addrs.length > 0) {
          assert.deepEqual(addrs, [addressOf(n)], `h${n} content`);
          present.push(n);
        } else {
          assert.equal(m.rcode, Rcode.NXDOMAIN, `h${n}: absent names are NXDOMAIN`);
          assert.ok(!acked.has(n), `h${n} was acknowledged (NOERROR) before the SIGKILL in round ${round} but is missing after restart`);
        }
      }
      for (const n of present) assert.ok(acked.has(n) || unacked.has(n), `h${n} present but never sent?`);
      const soa = decodeMessage(await q.exchange(query(idSeq++ & 0xffff, ZONE, RRType.SOA)));
      assert.equal(soa.answer.length, 1);
      const serial = soa.answer[0].rdata.kind === 'SOA' ? soa.answer[0].rdata.serial : NaN;
      assert.ok(serial >= INITIAL_SERIAL + acked.size, `serial ${serial} < initial ${INITIAL_SERIAL} + ${acked.size} acknowledged`);
      // Each applied update adds one name and steps the serial once.
      assert.equal(serial, INITIAL_SERIAL + present.length, `serial ${serial} vs ${present.length} names present`);
    } finally {
      q.close();
    }
  }
  await srv.stop();
});

test('the last time signed survives kill -9: an older signed update replayed after the restart is BADTIME', { timeout: 30_000 }, async (t) => {
  const cfg = baseConfig({ tsig: [{ name: KEY.name, algorithm: KEY.algorithm, secret: KEY.secret.toString('base64'), allow: ['*.home.example.'] }] });
  const srv = await startServer(t, { config: cfg });
  const now = Math.floor(Date.now() / 1000);
  const at = (id: number, n: number, time: number) => {
    const msg = newMessage({
      id, opcode: Opcode.UPDATE,
      question: [{ name: ZONE, type: RRType.SOA, class: RRClass.IN }],
      authority: [{ name: nameOf(n), type: RRType.A, class: RRClass.IN, ttl: 60, rdata: { kind: 'A', address: addressOf(n) } }],
    });
    return signMessage(encodeMessage(msg), KEY, { nowSeconds: time }).message;
  };
  // Captured by an attacker: an update signed 20 s ago (inside the 300 s fudge), then a newer one.
  const older = at(101, 9001, now - 20);
  const newer = at(102, 9002, now);
  let c = new UdpClient(srv.port);
  assert.equal(decodeMessage(await c.exchange(older)).rcode, Rcode.NOERROR);
  assert.equal(decodeMessage(await c.exchange(newer)).rcode, Rcode.NOERROR);
  assert.equal(decodeMessage(await c.exchange(older)).rcode, Rcode.NOTAUTH, 'a replay before the restart: BADTIME (NOTAUTH + TSIG error)');
  c.close();
  await srv.kill9();
  await srv.restart();
  c = new UdpClient(srv.port);
  const r = decodeMessage(await c.exchange(older));
  c.close();
  assert.equal(r.rcode, Rcode.NOTAUTH, 'the replay after the restart is refused too');
  const tsig = r.tsig?.rr.rdata;
  assert.equal(tsig?.error, Rcode.BADTIME, 'the TSIG error is BADTIME');
  await srv.stop();
});
