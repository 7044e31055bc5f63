// End-to-end RFC 2136 update tests: the real server process, updated with nsupdate (-y and -k)
// and knsupdate, checked with dig.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType, Rcode } from '../src/dns/constants.js';
import { baseConfig, digShort, HOST, queryUdp, run, soaSerial, startServer, type RunResult, type ServerProc } from './helpers/server-proc.js';
import { needTools } from './helpers/tools.js';
import { readyWith, startFakeRouter, type FakeRouter } from './helpers/fake-router.js';

const ZONE = 'home.example.';
const ROUTER = '203.0.113.2';
const secret = (s: string) => Buffer.from(s.padEnd(32, '.')).toString('base64');

const KEYS = {
  alice: { name: 'alice-key.', algorithm: 'hmac-sha256', secret: secret('alice-secret'), allow: ['alice.home.example.'] },
  bob: { name: 'bob-key.', algorithm: 'hmac-sha256', secret: secret('bob-secret'), allow: ['bob.home.example.'] },
  sub: { name: 'sub-key.', algorithm: 'hmac-sha256', secret: secret('subtree-secret'), allow: ['*.home.example.'] },
  big: { name: 'big-key.', algorithm: 'hmac-sha512', secret: Buffer.from('k'.repeat(64)).toString('base64'), allow: ['*.home.example.'] },
  file: { name: 'file-key.', algorithm: 'hmac-sha384', secret: Buffer.from('f'.repeat(48)).toString('base64'), allow: ['*.home.example.'] },
} as const;
type KeyId = keyof typeof KEYS;

/** nsupdate's -y argument. */
const y = (k: { name: string; algorithm: string; secret: string }) => ['-y', `${k.algorithm}:${k.name}:${k.secret}`];

describe('server: dynamic updates (nsupdate, knsupdate)', () => {
  let srv: ServerProc;
  let keyFile: string;
  let router: FakeRouter;
  before(async () => {
    router = await startFakeRouter(readyWith(ROUTER));
    srv = await startServer(undefined, {
      config: baseConfig({
        tsig: Object.values(KEYS).map((k) => ({ ...k, allow: [...k.allow] })),
        routers: [router.entry([ROUTER])],
      }),
    });
    keyFile = join(srv.dir, 'file-key.conf');
    writeFileSync(keyFile, `key "${KEYS.file.name}" {\n\talgorithm ${KEYS.file.algorithm};\n\tsecret "${KEYS.file.secret}";\n};\n`);
  });
  after(async () => {
    srv?.dispose();
    await router?.close();
  });

  /** Runs nsupdate with `lines` between the server/zone header and `send`. */
  const nsupdate = (auth: string[], lines: string[]): Promise<RunResult> => {
    const script = [`server ${HOST} ${srv.port}`, `zone ${ZONE}`, ...lines, 'send', ''].join('\n');
    return run('nsupdate', ['-t', '5', '-u', '1', ...auth], script);
  };
  const nsupdateKey = (k: KeyId, lines: string[]) => nsupdate(y(KEYS[k]), lines);
  const a = (name: string) => digShort(srv.port, name, 'A');

  const assertOk = (r: RunResult, what: string) => {
    assert.equal(r.code, 0, `${what}: nsupdate should succeed, got exit ${r.code}:\n${r.output}`);
    assert.doesNotMatch(r.output, /update failed|error/i, `${what}:\n${r.output}`);
  };
  /** nsupdate prints "update failed: RCODE" and exits non-zero. */
  const assertFailed = (r: RunResult, rcode: RegExp, what: string) => {
    assert.notEqual(r.code, 0, `${what}: nsupdate should fail:\n${r.output}`);
    assert.match(r.output, rcode, `${what}: expected ${rcode} in nsupdate's output:\n${r.output}`);
  };

  /** Asserts nothing changed: same serial, and none of `absent` names exist (NXDOMAIN). */
  const assertUnchanged = async (serialBefore: number, absent: string[], what: string) => {
    assert.equal(await soaSerial(srv.port), serialBefore, `${what}: SOA serial must not change`);
    for (const n of absent) {
      const m = await queryUdp(srv.port, n, RRType.A);
      assert.equal(m.rcode, Rcode.NXDOMAIN, `${what}: ${n} must not exist`);
    }
  };

  test('nsupdate -y: a signed add is applied, visible with dig, SOA serial +1', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    assert.deepEqual(await a('alice.home.example.'), []);
    assertOk(await nsupdateKey('alice', ['update add alice.home.example. 120 A 192.0.2.10']), 'add');
    assert.deepEqual(await a('alice.home.example.'), ['192.0.2.10']);
    assert.equal(await soaSerial(srv.port), s0 + 1);
    const ttl = await run('dig', [`@${HOST}`, '-p', String(srv.port), '+noall', '+answer', 'alice.home.example.', 'A']);
    assert.match(ttl.stdout, /^alice\.home\.example\.\s+120\s+IN\s+A\s+192\.0\.2\.10$/m);
  });

  test('nsupdate -k with a key file (hmac-sha384)', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    assertOk(await nsupdate(['-k', keyFile], ['update add filekey.home.example. 300 TXT "from a key file"']), 'add -k');
    assert.deepEqual(await digShort(srv.port, 'filekey.home.example.', 'TXT'), ['"from a key file"']);
    assert.equal(await soaSerial(srv.port), s0 + 1);
  });

  test('knsupdate -y: a signed add is applied', async (t) => {
    if (!needTools(t, 'knsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    const k = KEYS.sub;
    const script = [`server ${HOST} ${srv.port}`, `zone ${ZONE}`, 'update add knot.home.example. 300 A 192.0.2.77', 'send', 'answer', 'quit', ''].join('\n');
    const r = await run('knsupdate', ['-t', '3', '-r', '1', '-y', `${k.algorithm}:${k.name}:${k.secret}`], script);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /status: NOERROR/, r.output);
    assert.deepEqual(await a('knot.home.example.'), ['192.0.2.77']);
    assert.equal(await soaSerial(srv.port), s0 + 1);
  });

  test('knsupdate: a refused update fails and changes nothing', async (t) => {
    if (!needTools(t, 'knsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    const k = KEYS.alice; // may change alice.home.example. only
    const script = [`server ${HOST} ${srv.port}`, `zone ${ZONE}`, 'update add knot2.home.example. 300 A 192.0.2.78', 'send', 'answer', 'quit', ''].join('\n');
    const r = await run('knsupdate', ['-t', '3', '-r', '1', '-y', `${k.algorithm}:${k.name}:${k.secret}`], script);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /update failed with error 'REFUSED'|status: REFUSED/, r.output);
    await assertUnchanged(s0, ['knot2.home.example.'], 'knsupdate refused');
  });

  test('hmac-sha512 key', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    assertOk(await nsupdateKey('big', ['update add sha512.home.example. 300 A 192.0.2.51']), 'add sha512');
    assert.deepEqual(await a('sha512.home.example.'), ['192.0.2.51']);
    assert.equal(await soaSerial(srv.port), s0 + 1);
  });

  test('nsupdate -v: a signed update over TCP', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    assertOk(await nsupdate(['-v', ...y(KEYS.sub)], ['update add tcp.home.example. 300 A 192.0.2.53']), 'add over TCP');
    assert.deepEqual(await a('tcp.home.example.'), ['192.0.2.53']);
    assert.equal(await soaSerial(srv.port), s0 + 1);
  });

  test('an update record outside the zone is NOTZONE; a zone we do not serve is NOTAUTH', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    assertFailed(await nsupdateKey('sub', ['update add www.example.com. 300 A 192.0.2.54']), /update failed: NOTZONE/, 'outside the zone');
    const other = await run('nsupdate', ['-t', '5', '-u', '1', ...y(KEYS.sub)],
      [`server ${HOST} ${srv.port}`, 'zone other.example.', 'update add x.other.example. 300 A 192.0.2.55', 'send', ''].join('\n'));
    assertFailed(other, /update failed: NOTAUTH/, 'other zone'); // RFC 2136 3.1.1
    await assertUnchanged(s0, [], 'outside');
  });

  test('a name updated to a router address becomes NTS-managed (TTL 0), and back', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const answer = async () => (await run('dig', [`@${HOST}`, '-p', String(srv.port), '+time=2', '+tries=1', '+noall', '+answer', 'nts.home.example.', 'A'])).stdout.trim();
    assertOk(await nsupdateKey('sub', ['update add nts.home.example. 300 A 192.0.2.12']), 'ordinary');
    assert.match(await answer(), /^nts\.home\.example\.\s+300\s+IN\s+A\s+192\.0\.2\.12$/);
    assertOk(await nsupdateKey('sub', ['update delete nts.home.example. A', `update add nts.home.example. 300 A ${ROUTER}`]), 'to router');
    assert.match(await answer(), /^nts\.home\.example\.\s+0\s+IN\s+A\s+203\.0\.113\.2$/);
    assertOk(await nsupdateKey('sub', ['update delete nts.home.example. A', 'update add nts.home.example. 300 A 192.0.2.13']), 'back');
    assert.match(await answer(), /^nts\.home\.example\.\s+300\s+IN\s+A\s+192\.0\.2\.13$/);
  });

  test('an unsigned update is REFUSED and changes nothing', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    const r = await nsupdate([], ['update add unsigned.home.example. 300 A 192.0.2.66', 'update delete www.home.example. A']);
    assertFailed(r, /REFUSED/, 'unsigned');
    await assertUnchanged(s0, ['unsigned.home.example.'], 'unsigned');
    assert.deepEqual(await a('www.home.example.'), ['192.0.2.80']);
  });

  test('a wrong secret is rejected (TSIG error) and changes nothing', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    const r = await nsupdate(y({ ...KEYS.alice, secret: secret('not-alices-secret') }), ['update add alice.home.example. 300 A 192.0.2.99']);
    assertFailed(r, /NOTAUTH|BADSIG|TSIG/i, 'wrong secret');
    await assertUnchanged(s0, [], 'wrong secret');
    assert.deepEqual(await a('alice.home.example.'), ['192.0.2.10']);
  });

  test('an unknown key name is rejected (TSIG error) and changes nothing', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    const r = await nsupdate(y({ ...KEYS.alice, name: 'mallory-key.' }), ['update add mallory.home.example. 300 A 192.0.2.98']);
    assertFailed(r, /NOTAUTH|BADKEY|TSIG/i, 'unknown key');
    await assertUnchanged(s0, ['mallory.home.example.'], 'unknown key');
  });

  test('a key is REFUSED for names outside its allow list, and nothing changes', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    // bob-key may change bob.home.example. only.
    assertFailed(await nsupdateKey('bob', ['update add alice.home.example. 300 A 192.0.2.97']), /update failed: REFUSED/, 'bob -> alice');
    // An exact pattern does not cover names below it.
    assertFailed(await nsupdateKey('alice', ['update add x.alice.home.example. 300 A 192.0.2.96']), /update failed: REFUSED/, 'alice -> x.alice');
    // One allowed and one forbidden name in one update: all or nothing.
    assertFailed(
      await nsupdateKey('bob', ['update add bob.home.example. 300 A 192.0.2.95', 'update delete www.home.example. A']),
      /update failed: REFUSED/, 'bob -> bob + www',
    );
    await assertUnchanged(s0, ['bob.home.example.', 'x.alice.home.example.'], 'not allowed');
    assert.deepEqual(await a('alice.home.example.'), ['192.0.2.10']);
    assert.deepEqual(await a('www.home.example.'), ['192.0.2.80']);
    // The same key for its own name works.
    assertOk(await nsupdateKey('bob', ['update add bob.home.example. 300 A 192.0.2.95']), 'bob -> bob');
    assert.deepEqual(await a('bob.home.example.'), ['192.0.2.95']);
  });

  test('subtree allow "*.home.example." covers names below, not the apex', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const s0 = await soaSerial(srv.port);
    assertOk(await nsupdateKey('sub', ['update add deep.er.home.example. 300 A 192.0.2.31', 'update add one.home.example. 300 A 192.0.2.32']), 'subtree');
    assert.deepEqual(await a('deep.er.home.example.'), ['192.0.2.31']);
    assert.deepEqual(await a('one.home.example.'), ['192.0.2.32']);
    assert.equal(await soaSerial(srv.port), s0 + 1, 'one update, one serial step');
    assertFailed(await nsupdateKey('sub', ['update add home.example. 300 TXT "apex"']), /update failed: REFUSED/, 'apex');
    assert.deepEqual(await digShort(srv.port, ZONE, 'TXT'), ['"v=spf1 -all"']);
    assert.equal(await soaSerial(srv.port), s0 + 1);
  });

  test('failing prerequisites give their rcode and change nothing', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const cases: [string, RegExp][] = [
      ['prereq nxdomain www.home.example.', /update failed: YXDOMAIN/],
      ['prereq yxdomain nope.home.example.', /update failed: NXDOMAIN/],
      ['prereq nxrrset www.home.example. A', /update failed: YXRRSET/],
      ['prereq yxrrset www.home.example. TXT', /update failed: NXRRSET/],
      ['prereq yxrrset nope.home.example. A', /update failed: NXRRSET/],
      // Value-dependent: the RRset exists but differs.
      ['prereq yxrrset www.home.example. A 192.0.2.99', /update failed: NXRRSET/],
      ['prereq yxrrset home.example. MX 20 mail.home.example.', /update failed: NXRRSET/],
    ];
    for (const [i, [prereq, rcode]] of cases.entries()) {
      const s0 = await soaSerial(srv.port);
      const name = `pre${i}.home.example.`;
      const r = await nsupdateKey('sub', [prereq, `update add ${name} 300 A 192.0.2.${40 + i}`]);
      assertFailed(r, rcode, prereq);
      await assertUnchanged(s0, [name], prereq);
    }
  });

  test('satisfied prerequisites let the update through', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    const pres = [
      'prereq yxdomain www.home.example.',
      'prereq nxdomain nope.home.example.',
      'prereq yxrrset www.home.example. A',
      'prereq nxrrset www.home.example. TXT',
      'prereq yxrrset www.home.example. A 192.0.2.80',
    ];
    for (const [i, prereq] of pres.entries()) {
      const name = `ok${i}.home.example.`;
      assertOk(await nsupdateKey('sub', [prereq, `update add ${name} 300 A 192.0.2.${60 + i}`]), prereq);
      assert.deepEqual(await a(name), [`192.0.2.${60 + i}`], prereq);
    }
  });

  test('delete an RRset, a whole name, one RR', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    assertOk(await nsupdateKey('sub', [
      'update add d1.home.example. 300 A 192.0.2.1', 'update add d1.home.example. 300 A 192.0.2.2', 'update add d1.home.example. 300 TXT "keep"',
      'update add d2.home.example. 300 A 192.0.2.3', 'update add d2.home.example. 300 TXT "gone"',
      'update add d3.home.example. 300 A 192.0.2.4', 'update add d3.home.example. 300 A 192.0.2.5',
    ]), 'setup');
    assert.deepEqual((await a('d1.home.example.')).sort(), ['192.0.2.1', '192.0.2.2']);

    let s0 = await soaSerial(srv.port);
    assertOk(await nsupdateKey('sub', ['update delete d1.home.example. A']), 'delete RRset');
    assert.deepEqual(await a('d1.home.example.'), []);
    assert.deepEqual(await digShort(srv.port, 'd1.home.example.', 'TXT'), ['"keep"'], 'other RRsets stay');
    assert.equal(await soaSerial(srv.port), s0 + 1);

    s0 = await soaSerial(srv.port);
    assertOk(await nsupdateKey('sub', ['update delete d2.home.example.']), 'delete name');
    const nx = await run('dig', [`@${HOST}`, '-p', String(srv.port), '+time=2', '+tries=1', 'd2.home.example.', 'A']);
    assert.match(nx.stdout, /status: NXDOMAIN/, nx.stdout);
    assert.equal(await soaSerial(srv.port), s0 + 1);

    s0 = await soaSerial(srv.port);
    assertOk(await nsupdateKey('sub', ['update delete d3.home.example. A 192.0.2.4']), 'delete one RR');
    assert.deepEqual(await a('d3.home.example.'), ['192.0.2.5']);
    assert.equal(await soaSerial(srv.port), s0 + 1);
  });

  test('restart (SIGTERM, then start on the same storage) keeps the data', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    // Also delete a seeded record: a restart must not seed it again.
    assertOk(await nsupdateKey('sub', ['update add persist.home.example. 300 TXT "still here"', 'update delete mail.home.example. CNAME']), 'add');
    assert.deepEqual(await digShort(srv.port, 'mail.home.example.', 'CNAME'), []);
    const before = {
      serial: await soaSerial(srv.port),
      alice: await a('alice.home.example.'),
      persist: await digShort(srv.port, 'persist.home.example.', 'TXT'),
      d1: await a('d1.home.example.'),
      www: await a('www.home.example.'),
      mail: await digShort(srv.port, 'mail.home.example.', 'CNAME'),
    };
    await srv.stop(); // asserts exit code 0
    await srv.restart();
    const after = {
      serial: await soaSerial(srv.port),
      alice: await a('alice.home.example.'),
      persist: await digShort(srv.port, 'persist.home.example.', 'TXT'),
      d1: await a('d1.home.example.'),
      www: await a('www.home.example.'),
      mail: await digShort(srv.port, 'mail.home.example.', 'CNAME'),
    };
    assert.deepEqual(after, before);
    assert.deepEqual(after.persist, ['"still here"']);
    // The seed records are not applied again over the updated store, and updates still work.
    assertOk(await nsupdateKey('alice', ['update delete alice.home.example. A', 'update add alice.home.example. 60 A 192.0.2.11']), 'after restart');
    assert.deepEqual(await a('alice.home.example.'), ['192.0.2.11']);
    assert.equal(await soaSerial(srv.port), before.serial + 1);
    await srv.stop();
  });
});

describe('server: an hmac-sha1 key in the configuration', () => {
  const sha1 = { name: 'sha1-key.', algorithm: 'hmac-sha1', secret: secret('sha1-secret'), allow: ['*.home.example.'] };
  test('is either refused at startup or usable for updates', async (t) => {
    if (!needTools(t, 'nsupdate', 'dig')) return;
    let srv: ServerProc;
    try {
      srv = await startServer(t, { config: baseConfig({ tsig: [sha1] }) });
    } catch (e) {
      // Rejecting hmac-sha1 in the configuration is a consistent choice too.
      assert.match((e as Error).message, /sha1/i, (e as Error).message);
      return;
    }
    const r = await run('nsupdate', ['-t', '5', '-u', '1', ...y(sha1)],
      [`server ${HOST} ${srv.port}`, `zone ${ZONE}`, 'update add sha1.home.example. 300 A 192.0.2.56', 'send', ''].join('\n'));
    assert.equal(r.code, 0, `the server accepted an hmac-sha1 key in its configuration, so updates signed with it must work:\n${r.output}\nserver log:\n${srv.stderrLines.slice(-3).join('\n')}`);
    assert.deepEqual(await digShort(srv.port, 'sha1.home.example.', 'A'), ['192.0.2.56']);
    await srv.stop();
  });
});
