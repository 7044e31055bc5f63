// Source verification and RRL with real tools against the real `ntss server` on loopback:
// dig and kdig +cookie (BADCOOKIE, then the retry with our cookie is served), dig +cookie=FULL
// re-sending a cookie, TC -> TCP for a client without cookies (and +ignore to see the TC), and
// RRL from a non-exempt source address.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, dig, kdig, parseDig, run, startServer, type ServerProc } from './helpers/server-proc.js';
import { readyWith, startFakeRouter, type FakeRouter } from './helpers/fake-router.js';
import { needTools } from './helpers/tools.js';

const ROUTER = '203.0.113.2';
const ALICE = 'alice.home.example.';

/** The COOKIE line of dig's OPT pseudosection: hex and dig's verdict on the echoed client part. */
function digCookie(out: string): { hex: string; verdict: string } | undefined {
  const m = /^; COOKIE: ([0-9a-f]+)(?: \((\w+)\))?/m.exec(out);
  return m ? { hex: m[1], verdict: m[2] ?? '' } : undefined;
}

describe('server: DNS cookies, TC -> TCP and RRL with dig and kdig', () => {
  let srv: ServerProc;
  let router: FakeRouter;
  before(async () => {
    router = await startFakeRouter(readyWith(ROUTER));
    const config = baseConfig({ routers: [router.entry([ROUTER])] });
    config.zone.records!.push(`alice.home.example. 300 IN A ${ROUTER}`);
    // Loopback is exempt by default; only 127.0.0.1 here, so 127.0.0.2 is limited.
    config.rrl = { responsesPerSecond: 1, slip: 2, exempt: ['127.0.0.1/32'] };
    config.cookies = { secret: Buffer.from('0123456789abcdef').toString('base64') };
    srv = await startServer(undefined, { config });
  });
  after(async () => {
    await srv?.dispose();
    await router?.close();
  });

  test('dig +cookie: BADCOOKIE first, dig retries with our cookie and gets the READY answer; +cookie=FULL re-sends it', async (t) => {
    if (!needTools(t, 'dig')) return;
    const asked = router.requests.length;
    const r = await dig(srv.port, ['+cookie', ALICE, 'A']);
    assert.match(r.stdout, /BADCOOKIE, retrying/, r.output);
    const p = parseDig(r.stdout);
    assert.equal(p.status, 'NOERROR', r.output);
    assert.deepEqual(p.answer.map((a) => [a.ttl, a.rdata]), [[0, ROUTER]]);
    const c = digCookie(r.stdout);
    assert.ok(c && c.hex.length === 48 && c.verdict === 'good', `a 24-octet cookie, client part echoed: ${r.stdout}`);
    assert.equal(c.hex.slice(16, 18), '01', 'RFC 9018 version 1');
    assert.equal(router.requests.length, asked + 1, 'one NTS request, for the verified retry only');
    // The full cookie again, as a resolver that learned it would: verified at once, no BADCOOKIE.
    const again = await dig(srv.port, [`+cookie=${c.hex}`, ALICE, 'A']);
    assert.doesNotMatch(again.stdout, /BADCOOKIE/);
    assert.equal(parseDig(again.stdout).answer.length, 1, again.output);
    assert.equal(digCookie(again.stdout)?.hex, c.hex, 'a fresh cookie comes back unchanged');
    // A cookie made for this client cookie but tampered with: BADCOOKIE again (dig retries).
    const bad = `${c.hex.slice(0, 40)}${c.hex.slice(40, 48) === '00000000' ? '11111111' : '00000000'}`;
    const r3 = await dig(srv.port, [`+cookie=${bad}`, '+nobadcookie', ALICE, 'A']);
    assert.equal(parseDig(r3.stdout).status, 'BADCOOKIE', r3.output);
  });

  test('kdig +cookie: the same dance, kdig retries with the received cookie', async (t) => {
    if (!needTools(t, 'kdig')) return;
    const r = await kdig(srv.port, ['+cookie', ALICE, 'A']);
    assert.match(r.output, /status: BADCOOKIE/, r.output);
    assert.match(r.output, /retrying with the received one/, r.output);
    assert.match(r.output, new RegExp(`${ALICE.replace(/\./g, '\\.')}\\s+0\\s+IN\\s+A\\s+${ROUTER.replace(/\./g, '\\.')}`), r.output);
  });

  test('no cookie over UDP: TC=1 and no answer (+ignore shows it); dig retries over TCP by default and gets the answer', async (t) => {
    if (!needTools(t, 'dig')) return;
    const asked = router.requests.length;
    const tc = await dig(srv.port, ['+nocookie', '+ignore', ALICE, 'A']);
    const p = parseDig(tc.stdout);
    assert.ok(p.flags.includes('tc') && p.answer.length === 0, tc.output);
    assert.equal(router.requests.length, asked, 'the unverified query asked no router');
    const r = await dig(srv.port, ['+nocookie', ALICE, 'A']);
    assert.match(r.stdout, /Truncated, retrying in TCP mode/, r.output);
    assert.deepEqual(parseDig(r.stdout).answer.map((a) => a.rdata), [ROUTER]);
    assert.equal(router.requests.length, asked + 1);
    // Ordinary names are answered over UDP to anyone.
    assert.equal(parseDig((await dig(srv.port, ['+nocookie', 'www.home.example.', 'A'])).stdout).answer.length, 1);
  });

  test('RRL: from a non-exempt address, 1 answer a second per name, then TC=1 for every 2nd (dig +ignore) and drops', async (t) => {
    if (!needTools(t, 'dig')) return;
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await run('dig', ['@127.0.0.1', '-p', String(srv.port), '-b', '127.0.0.2', '+nocookie', '+ignore', '+time=1', '+tries=1', 'www.home.example.', 'A']);
      if (r.code === 9 || /timed out/.test(r.stdout)) outcomes.push('drop');
      else outcomes.push(parseDig(r.stdout).flags.includes('tc') ? 'tc' : 'answer');
    }
    // A dropped query costs dig its 1 s timeout, which brings one token back: answer, drop,
    // answer, tc, drop, ...
    assert.equal(outcomes[0], 'answer', outcomes.join(' '));
    assert.ok(outcomes.includes('tc') && outcomes.includes('drop'), outcomes.join(' '));
    // From 127.0.0.1 (exempt) nothing is limited.
    for (let i = 0; i < 6; i++) assert.equal(parseDig((await dig(srv.port, ['+nocookie', 'www.home.example.', 'A'])).stdout).answer.length, 1);
  });
});
