import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { Opcode, Rcode, RRClass, RRType } from '../src/dns/constants.js';
import {
  HMAC_MD5_NAME, algorithmFromName, buildErrorTsig, signMessage, tsigForResponse, u48, verifyRequest, verifyResponse,
  type TsigAlgorithm, type TsigKey, type TsigVerification,
} from '../src/dns/tsig.js';
import { newMessage, type Message } from '../src/dns/types.js';
import { needTools } from './helpers/tools.js';
import { fixtureDir } from './helpers/fixtures.js';

// ---- fixtures: real signed requests captured from nsupdate / knsupdate / dig / kdig -------------

const FIX = fixtureDir('tsig');
interface Capture { file: string; tool: string; keyName: string; algorithm: TsigAlgorithm; secret: string; timeSigned: number }
const captures: Capture[] = JSON.parse(fs.readFileSync(path.join(FIX, 'captures.json'), 'utf8')).captures;

const keyOf = (c: Capture): TsigKey => ({ name: c.keyName, algorithm: c.algorithm, secret: Buffer.from(c.secret, 'base64') });
const ring = (...keys: TsigKey[]) => (name: string) => keys.find((k) => k.name === name);
const errorOf = (v: TsigVerification) => (v.status === 'error' ? [v.error, v.rcode, v.signResponse] : v.status);

for (const c of captures) {
  const raw = fs.readFileSync(path.join(FIX, c.file));
  const key = keyOf(c);
  const opts = { allowSha1: c.algorithm === 'hmac-sha1' };

  test(`capture ${c.file} (${c.tool}) verifies`, () => {
    const msg = decodeMessage(raw);
    assert.ok(msg.tsig);
    assert.equal(msg.tsig.rr.rdata.timeSigned, c.timeSigned);
    const v = verifyRequest(raw, msg, ring(key), c.timeSigned, opts);
    assert.equal(v.status, 'ok', JSON.stringify(v));
    if (v.status === 'ok') {
      assert.equal(v.key, key);
      assert.deepEqual(v.requestMac, msg.tsig.rr.rdata.mac);
      assert.equal(v.timeSigned, c.timeSigned);
    }
    // at the edge of the fudge window
    assert.equal(verifyRequest(raw, msg, ring(key), c.timeSigned + 300, opts).status, 'ok');
    assert.equal(verifyRequest(raw, msg, ring(key), c.timeSigned - 300, opts).status, 'ok');
    // the ID is replaced by the Original ID in the digest (5.2 / 4.3.3): a new ID still verifies
    const reId = Buffer.from(raw);
    reId.writeUInt16BE(raw.readUInt16BE(0) ^ 0x5a5a, 0);
    assert.equal(verifyRequest(reId, decodeMessage(reId), ring(key), c.timeSigned, opts).status, 'ok');
  });

  test(`capture ${c.file}: tampering and policy errors`, () => {
    const msg = decodeMessage(raw);
    const off = msg.tsig!.offset;
    const check = (buf: Buffer, k: TsigKey[], now: number, o = opts) => verifyRequest(buf, decodeMessage(buf), ring(...k), now, o);
    // one bit of the header flags (AD), of the last byte before the TSIG, of the MAC
    const macStart = raw.length - 6 - msg.tsig!.rr.rdata.other.length - msg.tsig!.rr.rdata.mac.length;
    for (const pos of [3, off - 1, macStart + 3]) {
      const t = Buffer.from(raw);
      t[pos] ^= pos === 3 ? 0x20 : 0x01;
      assert.deepEqual(errorOf(check(t, [key], c.timeSigned)), [Rcode.BADSIG, Rcode.NOTAUTH, false], `byte ${pos}`);
    }
    // changed secret -> BADSIG, and nothing to sign with
    const wrong = { ...key, secret: Buffer.from(key.secret.map((b, i) => (i === 0 ? b ^ 1 : b))) };
    const bs = check(raw, [wrong], c.timeSigned);
    assert.deepEqual(errorOf(bs), [Rcode.BADSIG, Rcode.NOTAUTH, false]);
    assert.ok(bs.status === 'error' && bs.key === undefined && bs.requestMac === undefined);
    // unknown key name, or known name with another algorithm -> BADKEY
    assert.deepEqual(errorOf(check(raw, [{ ...key, name: 'other-key.' }], c.timeSigned)), [Rcode.BADKEY, Rcode.NOTAUTH, false]);
    const otherAlg: TsigAlgorithm = c.algorithm === 'hmac-sha256' ? 'hmac-sha512' : 'hmac-sha256';
    assert.deepEqual(errorOf(check(raw, [{ ...key, algorithm: otherAlg }], c.timeSigned)), [Rcode.BADKEY, Rcode.NOTAUTH, false]);
    // outside the fudge -> BADTIME, answered signed
    for (const now of [c.timeSigned + 301, c.timeSigned - 301]) {
      const v = check(raw, [key], now);
      assert.deepEqual(errorOf(v), [Rcode.BADTIME, Rcode.NOTAUTH, true]);
      assert.ok(v.status === 'error' && v.key === key);
    }
    if (c.algorithm === 'hmac-sha1') {
      assert.deepEqual(errorOf(check(raw, [key], c.timeSigned, { allowSha1: false })), [Rcode.BADKEY, Rcode.NOTAUTH, false]);
    }
  });
}

test('BADTIME answer to a captured request is signed, verifiable, and carries our time', () => {
  const c = captures.find((x) => x.file === 'nsupdate-hmac-sha256.bin')!;
  const raw = fs.readFileSync(path.join(FIX, c.file));
  const req = decodeMessage(raw);
  const key = keyOf(c);
  const serverNow = c.timeSigned + 1000;
  const v = verifyRequest(raw, req, ring(key), serverNow);
  assert.equal(v.status === 'error' && v.error, Rcode.BADTIME);
  const out = tsigForResponse(encodeMessage(answerFor(req, v.status === 'error' ? v.rcode : 0)), v, serverNow);
  const res = decodeMessage(out);
  assert.equal(res.rcode, Rcode.NOTAUTH);
  assert.equal(res.tsig!.rr.rdata.timeSigned, c.timeSigned, 'Time Signed = the request time');
  assert.equal(res.tsig!.rr.rdata.fudge, req.tsig!.rr.rdata.fudge);
  const r = verifyResponse(out, res, key, req.tsig!.rr.rdata.mac, c.timeSigned);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  if (r.status === 'ok') {
    assert.equal(r.error, Rcode.BADTIME);
    assert.deepEqual(r.otherData, u48(serverNow));
  }
  // the request MAC is part of the digest: another request MAC does not verify
  assert.equal(verifyResponse(out, res, key, Buffer.alloc(32), c.timeSigned).status, 'bad');
});

// ---- synthetic ---------------------------------------------------------------------------------

const ALGS: TsigAlgorithm[] = ['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'];
const NOW = 1_700_000_000;

function updateRequest(id = 0x1234): Buffer {
  return encodeMessage(newMessage({
    id, opcode: Opcode.UPDATE,
    question: [{ name: 'example.test.', type: RRType.SOA, class: RRClass.IN }],
    authority: [{ name: 'h.example.test.', type: RRType.A, class: RRClass.IN, ttl: 60, rdata: { kind: 'A', address: '192.0.2.7' } }],
  }));
}

function answerFor(req: Message, rcode: number, answer: Message['answer'] = []): Message {
  return { ...req, qr: true, aa: rcode === 0, ad: false, rcode, answer, authority: [], additional: [], edns: undefined, tsig: undefined };
}

test('algorithmFromName', () => {
  assert.equal(algorithmFromName('hmac-sha256.'), 'hmac-sha256');
  assert.equal(algorithmFromName('HMAC-SHA512'), 'hmac-sha512');
  assert.equal(algorithmFromName(HMAC_MD5_NAME), undefined);
  assert.equal(algorithmFromName('gss-tsig.'), undefined);
  assert.equal(algorithmFromName('hasOwnProperty'), undefined);
});

test('sign/verify round trip, request and response, every algorithm', () => {
  for (const algorithm of ALGS) {
    const key: TsigKey = { name: 'k.example.', algorithm, secret: Buffer.from(`secret-${algorithm}`) };
    const { message, mac } = signMessage(updateRequest(), key, { nowSeconds: NOW });
    const req = decodeMessage(message);
    assert.equal(req.tsig!.rr.rdata.fudge, 300);
    assert.deepEqual(req.tsig!.rr.rdata.mac, mac);
    const v = verifyRequest(message, req, ring(key), NOW + 5, { allowSha1: true });
    assert.equal(v.status, 'ok', algorithm);
    const out = tsigForResponse(encodeMessage(answerFor(req, 0)), v, NOW + 6);
    const res = decodeMessage(out);
    assert.deepEqual(verifyResponse(out, res, key, mac, NOW + 7),
      { status: 'ok', mac: res.tsig!.rr.rdata.mac, timeSigned: NOW + 6, error: 0, otherData: Buffer.alloc(0) });
  }
});

test('key names compare case-insensitively and are digested in canonical form', () => {
  const key: TsigKey = { name: 'mixed-key.example.', algorithm: 'hmac-sha256', secret: Buffer.from('s') };
  const { message } = signMessage(updateRequest(), { ...key, name: 'MiXeD-Key.Example.' }, { nowSeconds: NOW });
  assert.equal(verifyRequest(message, decodeMessage(message), ring(key), NOW).status, 'ok');
});

test('unsigned request, md5, truncation rules (RFC 8945 5.2.2.1, 5.2.4)', () => {
  const key: TsigKey = { name: 'k.', algorithm: 'hmac-sha256', secret: Buffer.from('0123456789abcdef') };
  const plain = updateRequest();
  assert.deepEqual(verifyRequest(plain, decodeMessage(plain), ring(key), NOW), { status: 'unsigned' });

  const md5 = buildErrorTsig(plain, { keyName: 'k.', algorithmName: HMAC_MD5_NAME, error: 0, nowSeconds: NOW });
  assert.deepEqual(errorOf(verifyRequest(md5, decodeMessage(md5), ring(key), NOW)), [Rcode.BADKEY, Rcode.NOTAUTH, false]);

  const check = (n: number, minMacLength?: number) => {
    const { message } = signMessage(plain, key, { nowSeconds: NOW, truncateTo: n });
    return verifyRequest(message, decodeMessage(message), ring(key), NOW, { minMacLength });
  };
  assert.deepEqual(errorOf(check(0)), [0, Rcode.FORMERR, false]); // empty MAC in a request
  assert.deepEqual(errorOf(check(15)), [0, Rcode.FORMERR, false]); // < half of 32
  assert.deepEqual(errorOf(check(16)), [Rcode.BADTRUNC, Rcode.NOTAUTH, true]); // allowed, but local policy: full
  assert.equal(check(16, 16).status, 'ok');
  assert.equal(check(20, 16).status, 'ok');
  // a truncated MAC that is wrong is still BADSIG
  const { message } = signMessage(plain, { ...key, secret: Buffer.from('x') }, { nowSeconds: NOW, truncateTo: 16 });
  assert.deepEqual(errorOf(verifyRequest(message, decodeMessage(message), ring(key), NOW, { minMacLength: 16 })), [Rcode.BADSIG, Rcode.NOTAUTH, false]);
  // BADTRUNC answers are signed over the truncated request MAC
  const t = signMessage(plain, key, { nowSeconds: NOW, truncateTo: 16 });
  const v = verifyRequest(t.message, decodeMessage(t.message), ring(key), NOW);
  const out = tsigForResponse(encodeMessage(answerFor(decodeMessage(t.message), Rcode.NOTAUTH)), v, NOW);
  const r = verifyResponse(out, decodeMessage(out), key, t.mac, NOW);
  assert.ok(r.status === 'ok' && r.error === Rcode.BADTRUNC, JSON.stringify(r));
});

test('BADKEY / BADSIG answers carry an unsigned error TSIG', () => {
  const key: TsigKey = { name: 'k.', algorithm: 'hmac-sha256', secret: Buffer.from('right') };
  const { message, mac } = signMessage(updateRequest(0x4321), key, { nowSeconds: NOW });
  const req = decodeMessage(message);
  for (const [keys, error] of [[[], Rcode.BADKEY], [[{ ...key, secret: Buffer.from('wrong') }], Rcode.BADSIG]] as const) {
    const v = verifyRequest(message, req, ring(...keys), NOW);
    assert.ok(v.status === 'error' && v.error === error && !v.signResponse);
    const out = tsigForResponse(encodeMessage(answerFor(req, v.rcode)), v, NOW);
    const res = decodeMessage(out);
    assert.equal(res.rcode, Rcode.NOTAUTH);
    const t = res.tsig!.rr;
    assert.equal(t.name, 'k.');
    assert.equal(t.rdata.algorithm, 'hmac-sha256.');
    assert.equal(t.rdata.mac.length, 0);
    assert.equal(t.rdata.error, error);
    assert.equal(t.rdata.originalId, 0x4321);
    assert.deepEqual(verifyResponse(out, res, key, mac, NOW), { status: 'unsigned-error', error });
  }
});

test('malformed TSIG: FORMERR, answered without TSIG', () => {
  const key: TsigKey = { name: 'k.', algorithm: 'hmac-sha256', secret: Buffer.from('s') };
  const { message } = signMessage(updateRequest(), key, { nowSeconds: NOW });
  const msg = decodeMessage(message);
  const v = verifyRequest(message, { ...msg, tsig: { ...msg.tsig!, offset: message.length } }, ring(key), NOW);
  assert.deepEqual(errorOf(v), [0, Rcode.FORMERR, false]);
  const stray = { ...msg, tsig: undefined, answer: [msg.tsig!.rr] };
  assert.deepEqual(errorOf(verifyRequest(message, stray, ring(key), NOW)), [0, Rcode.FORMERR, false]);
  const plain = encodeMessage(answerFor(msg, Rcode.FORMERR));
  assert.deepEqual(tsigForResponse(plain, v, NOW), plain);
});

test('verifyResponse rejects missing TSIG, other key, bad MAC, stale time', () => {
  const key: TsigKey = { name: 'k.', algorithm: 'hmac-sha256', secret: Buffer.from('s') };
  const { message, mac } = signMessage(updateRequest(), key, { nowSeconds: NOW });
  const req = decodeMessage(message);
  const v = verifyRequest(message, req, ring(key), NOW);
  const bare = encodeMessage(answerFor(req, 0));
  const out = tsigForResponse(bare, v, NOW);
  const res = decodeMessage(out);
  assert.equal(verifyResponse(bare, decodeMessage(bare), key, mac, NOW).status, 'bad');
  assert.equal(verifyResponse(out, res, { ...key, name: 'j.' }, mac, NOW).status, 'bad');
  assert.equal(verifyResponse(out, res, { ...key, secret: Buffer.from('t') }, mac, NOW).status, 'bad');
  assert.equal(verifyResponse(out, res, key, mac, NOW + 301).status, 'bad');
  assert.equal(verifyResponse(out, res, key, mac, NOW + 300).status, 'ok');
});

// ---- interoperability with the real tools ------------------------------------------------------

const ALICE = keyOf(captures.find((c) => c.keyName === 'alice-key.' && c.algorithm === 'hmac-sha256')!);
const BOB = keyOf(captures.find((c) => c.keyName === 'bob-key.')!);
const b64 = (k: TsigKey) => k.secret.toString('base64');
/** ok: signed NOERROR; corrupt: one MAC bit flipped; badtime: our clock is 1000 s ahead (signed
 *  BADTIME); badtime-corrupt: same with a flipped MAC bit; wrongsecret: unsigned BADSIG. */
type Mode = 'ok' | 'corrupt' | 'badtime' | 'badtime-corrupt' | 'wrongsecret';

/** UDP server on 127.0.0.1 answering updates with NOERROR and queries with one A record. */
async function withServer(mode: Mode, fn: (port: number, seen: TsigVerification[]) => Promise<void>): Promise<void> {
  const sock = dgram.createSocket('udp4');
  const seen: TsigVerification[] = [];
  const keys = mode === 'wrongsecret' ? [{ ...ALICE, secret: Buffer.from('not the secret') }] : [ALICE, BOB];
  sock.on('message', (raw, rinfo) => {
    const now = Math.floor(Date.now() / 1000) + (mode.startsWith('badtime') ? 1000 : 0);
    const req = decodeMessage(raw);
    const v = verifyRequest(raw, req, ring(...keys), now);
    seen.push(v);
    const rcode = v.status === 'error' ? v.rcode : Rcode.NOERROR;
    const q = req.question[0];
    const answer = req.opcode === Opcode.QUERY && rcode === 0
      ? [{ name: q.name, type: RRType.A, class: RRClass.IN, ttl: 60, rdata: { kind: 'A' as const, address: '192.0.2.1' } }]
      : [];
    const out = tsigForResponse(encodeMessage(answerFor(req, rcode, answer)), v, now);
    if (mode.endsWith('corrupt')) out[out.length - 6 - (mode === 'badtime-corrupt' ? 6 : 0) - 4] ^= 0x01; // inside the MAC
    sock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  try {
    await fn(sock.address().port, seen);
  } finally {
    sock.close();
  }
}

function run(cmd: string, args: string[], input = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill(), 20_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
    child.stdin.end(input);
  });
}

const updateScript = (port: number) =>
  `server 127.0.0.1 ${port}\nzone example.test.\nupdate add host.example.test. 300 A 192.0.2.10\nsend\n`;
const Y = `hmac-sha256:alice-key.:${b64(ALICE)}`;
const queryArgs = (port: number) => ['-y', Y, '@127.0.0.1', '-p', String(port), 'host.example.test', 'A'];
const TSIG_OK = /TSIG PSEUDOSECTION:\s*\nalice-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/;

interface Tool {
  cmd: string;
  args: (port: number) => string[];
  update: boolean;
  /** What the tool prints for each mode; exit code 0 expected only for 'ok' when it is an update client. */
  expect: Record<Mode, { match: RegExp; not?: RegExp }>;
}
// A wrong response MAC must be reported as such; a signed BADTIME must get PAST the MAC check
// (BIND: DNS_R_CLOCKSKEW "clocks are unsynchronized"; Knot checks time only after the MAC).
const TOOLS: Tool[] = [
  {
    cmd: 'nsupdate', update: true, args: () => ['-t', '5', '-r', '0', '-y', Y],
    expect: {
      ok: { match: /^$/ },
      corrupt: { match: /tsig verify failure/ },
      badtime: { match: /clocks are unsynchronized\nupdate failed: NOTAUTH\(BADTIME\)/, not: /verify failure/ },
      'badtime-corrupt': { match: /tsig verify failure/ },
      wrongsecret: { match: /tsig indicates error\nupdate failed: NOTAUTH\(BADSIG\)/ },
    },
  },
  {
    cmd: 'knsupdate', update: true, args: () => ['-t', '5', '-r', '0', '-y', Y],
    expect: {
      ok: { match: /^$/ },
      corrupt: { match: /reply verification \(failed to verify TSIG\)/ },
      badtime: { match: /reply verification \(TSIG out of time window\)[^]*status: BADTIME/, not: /failed to verify/ },
      'badtime-corrupt': { match: /failed to verify TSIG/ },
      wrongsecret: { match: /status: BADSIG[^]*hmac-sha256\. \d+ 300 0 \d+ BADSIG 0/ },
    },
  },
  {
    cmd: 'dig', update: false, args: (port) => ['+tries=1', '+time=5', ...queryArgs(port)],
    expect: {
      ok: { match: new RegExp(`status: NOERROR[^]*192\\.0\\.2\\.1[^]*${TSIG_OK.source}`), not: /Couldn't verify|could not be validated/ },
      corrupt: { match: /Couldn't verify signature: tsig verify failure/ },
      badtime: { match: /Couldn't verify signature: clocks are unsynchronized[^]*status: NOTAUTH[^]*BADTIME 6 \S+/ },
      'badtime-corrupt': { match: /Couldn't verify signature: tsig verify failure/ },
      wrongsecret: { match: /Couldn't verify signature: tsig indicates error[^]*status: NOTAUTH[^]* 300 0 \d+ BADSIG 0/ },
    },
  },
  {
    cmd: 'kdig', update: false, args: (port) => ['+retry=0', '+time=5', ...queryArgs(port)],
    expect: {
      ok: { match: new RegExp(`status: NOERROR[^]*192\\.0\\.2\\.1[^]*${TSIG_OK.source}`), not: /WARNING/ },
      corrupt: { match: /reply verification for \S+ \(failed to verify TSIG\)/ },
      badtime: { match: /reply verification for \S+ \(TSIG out of time window\)[^]*BADTIME 6 \d+/, not: /failed to verify/ },
      'badtime-corrupt': { match: /\(failed to verify TSIG\)/ },
      wrongsecret: { match: /status: BADSIG[^]* 300 0 \d+ BADSIG 0/ },
    },
  },
];

for (const tool of TOOLS) {
  test(`${tool.cmd} -y against our server: signed answers verify, bad ones are caught`, async (t) => {
    if (!needTools(t, tool.cmd)) return;
    for (const mode of Object.keys(tool.expect) as Mode[]) {
      await withServer(mode, async (port, seen) => {
        const r = await run(tool.cmd, tool.args(port), tool.update ? updateScript(port) : '');
        const e = tool.expect[mode];
        assert.match(r.out, e.match, `${mode}: ${r.out}`);
        if (e.not) assert.doesNotMatch(r.out, e.not, `${mode}: ${r.out}`);
        if (tool.update) assert.equal(r.code === 0, mode === 'ok', `${mode} exit ${r.code}: ${r.out}`);
        const expected = { ok: 'ok', corrupt: 'ok', badtime: Rcode.BADTIME, 'badtime-corrupt': Rcode.BADTIME, wrongsecret: Rcode.BADSIG }[mode];
        assert.equal(seen[0]?.status === 'error' ? seen[0].error : seen[0]?.status, expected, `${mode}: request verification`);
      });
    }
  });
}

test('nsupdate -k (hmac-sha384 key file) accepts our signed NOERROR', async (t) => {
  if (!needTools(t, 'nsupdate')) return;
  await withServer('ok', async (port, seen) => {
    const r = await run('nsupdate', ['-t', '5', '-r', '0', '-k', path.join(FIX, 'bob-key.conf')], updateScript(port));
    assert.equal(r.code, 0, r.out);
    assert.equal(seen[0]?.status === 'ok' && seen[0].key.name, 'bob-key.');
  });
});
