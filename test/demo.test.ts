// `ntss demo` as a user runs it: the real CLI in a child process, all on loopback. Checks the
// verdicts and, from the --json timeline, the orderings that make Figs. 7 and 8 what they are.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { arrowsOf, assertWellFormedXml } from './helpers/xml.js';

// dist/test/demo.test.js -> dist/src/cli/main.js: works from any outDir.
const MAIN_JS = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function ntss(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const p = spawn(process.execPath, [MAIN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - start });
    });
  });
}

type Line = { kind: string; flow?: string; event?: string; actor?: string; t?: number; data?: Record<string, unknown>; [k: string]: unknown };

const startsWith = (v: unknown, prefix: string) => typeof v === 'string' && v.startsWith(prefix);

test('ntss demo --json: every flow as expected; Fig. 7 serializes, Fig. 8 lets both reach alice', { timeout: 40_000 }, async () => {
  const r = await ntss(['demo', '--json']);
  assert.equal(r.code, 0, `exit ${r.code}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
  assert.ok(r.ms < 15_000, `took ${Math.round(r.ms)} ms`);
  const lines: Line[] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
  const verdict = (flow: string) => lines.find((l) => l.kind === 'verdict' && l.flow === flow) as Line & { pass: boolean; reached: Record<string, string | null> };
  const events = (flow: string) => lines.filter((l) => l.kind === 'event' && l.flow === flow);

  // Setup: both INs registered by signed UPDATE.
  assert.equal(events('setup').filter((e) => e.event === 'registered' && e.data?.rcode === 'NOERROR' && e.data?.signed === true).length, 2);

  // 1. basic: alice saw EN1's real address (PROXY v2), and UDP went through.
  const basic = verdict('basic');
  assert.equal(basic.pass, true, JSON.stringify(basic));
  assert.deepEqual(basic.reached, { EN1: 'alice' });
  assert.ok(events('basic').some((e) => e.actor === 'alice' && e.event === 'in-tcp' && startsWith(e.data?.en, '127.0.0.21:')));
  assert.ok(events('basic').some((e) => e.actor === 'EN1' && e.event === 'udp-reply' && e.data?.reply === 'alice: ping from EN1'));

  // 2. simultaneous (Fig. 7): EN2's request waits; its answer comes after EN1's mapping and RC.
  const sim = verdict('simultaneous');
  assert.equal(sim.pass, true, JSON.stringify(sim));
  assert.deepEqual(sim.reached, { EN1: 'alice', EN2: 'bob' });
  const ev = events('simultaneous');
  const at = (pred: (e: Line) => boolean, what: string) => {
    const i = ev.findIndex(pred);
    assert.ok(i >= 0, `no ${what} in ${JSON.stringify(ev.map((e) => e.event))}`);
    return { i, t: ev[i].t! };
  };
  const en1Mapping = at((e) => e.event === 'mapping-created' && startsWith(e.data?.en, '127.0.0.21:'), 'mapping for EN1');
  const en2Answer = at((e) => e.event === 'dns-answer' && e.data?.en === 'EN2', 'DNS answer for EN2');
  const queued = at((e) => e.event === 'request-queued', 'queued request');
  const en1RcGone = at((e) => e.event === 'rc-removed' && e.data?.fqdn === 'alice.home.example.', 'removal of alice\'s RC');
  const bobRc = at((e) => e.event === 'rc-created' && e.data?.fqdn === 'bob.home.example.', 'bob\'s RC');
  assert.ok(queued.i < en1Mapping.i, 'EN2\'s request was queued before EN1 even connected');
  assert.ok(en1Mapping.i < en1RcGone.i && en1RcGone.i < bobRc.i && bobRc.i < en2Answer.i, 'mapping(EN1) < RC(alice) removed < RC(bob) created < answer(EN2)');
  assert.ok(en2Answer.t > en1Mapping.t, 'EN2\'s answer after EN1\'s mapping, on the clock too');
  assert.ok(en2Answer.t - en1Mapping.t >= 390, `the hold (400 ms) separates them: ${en2Answer.t - en1Mapping.t} ms`);
  // The server verifies a resolver's address before it may cost the router an RC: the
  // Unbound-like stub sends no cookie, gets TC=1 and waits for the held answer over TCP.
  assert.ok(ev.some((e) => e.event === 'dns-truncated' && e.data?.en === 'EN2'), 'EN2\'s UDP query was answered TC=1 (source not verified)');
  assert.ok(ev.some((e) => e.event === 'dns-answer' && e.data?.en === 'EN2' && e.data?.tcp === true), 'EN2\'s answer was held on TCP');

  // 3. interference (Fig. 8): EN3 first, then EN1, both mapped to alice by the same RC.
  const inter = verdict('interference');
  assert.equal(inter.pass, true, JSON.stringify(inter));
  assert.deepEqual(inter.reached, { EN3: 'alice', EN1: 'alice' });
  const iev = events('interference');
  const maps = iev.filter((e) => e.event === 'mapping-created');
  assert.deepEqual(maps.map((m) => String(m.data?.en).split(':')[0]), ['127.0.0.23', '127.0.0.21'], 'EN3\'s packet came first');
  assert.equal(maps[0].data?.rc, maps[1].data?.rc, 'one RC served both');
  assert.deepEqual(iev.filter((e) => e.actor === 'alice' && e.event === 'in-tcp').map((e) => String(e.data?.en).split(':')[0]), ['127.0.0.23', '127.0.0.21']);

  // 4. no lookup: refused by the router, seen by nobody.
  const nol = verdict('nolookup');
  assert.equal(nol.pass, true, JSON.stringify(nol));
  assert.ok(events('nolookup').some((e) => e.event === 'first-packet-refused'));
  assert.ok(!events('nolookup').some((e) => e.event === 'in-tcp'));

  const summary = lines.find((l) => l.kind === 'summary');
  assert.deepEqual({ pass: summary?.pass, passed: summary?.passed, total: summary?.total }, { pass: true, passed: 4, total: 4 });
});

test('ntss demo --flow basic --quiet: the verdicts only', { timeout: 30_000 }, async () => {
  const r = await ntss(['demo', '--flow', 'basic', '--quiet']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = r.stdout.trim().split('\n');
  assert.equal(out.length, 2, r.stdout);
  assert.match(out[0], /^basic\s+PASS\s+EN1 reached alice/);
  assert.match(out[1], /^verdict: PASS \(1\/1 flows reached the right host\)$/);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');
});

test('ntss demo: usage errors exit 2 and start nothing', async () => {
  for (const args of [['--flow', 'nope'], ['--json', '--quiet'], ['--bogus']]) {
    const r = await ntss(['demo', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ntss: /);
  }
});

// `ntss demo --diagram` (in this file, not its own: two demos at once would share loopback ports):
// all flows, one SVG per flow; each must be well formed and show the paper's five lifelines and
// what happened (NTS request/READY, the first packet; in Fig. 7's flow the waiting request and
// the second RC).
const ntssSync = (args: string[]) => spawnSync(process.execPath, [MAIN_JS, ...args], { encoding: 'utf8', timeout: 40_000, env: { ...process.env, NO_COLOR: '1' } });

test('ntss demo --diagram: one SVG per flow with the five lifelines, the NTS exchange and the first packet', { timeout: 45_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ntss-demo-diagram-'));
  try {
    const r = ntssSync(['demo', '--diagram', join(dir, 'demo.svg')]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    for (const f of ['basic', 'simultaneous', 'interference', 'nolookup']) {
      const p = join(dir, `demo-${f}.svg`);
      assert.ok(existsSync(p), `${p} written`);
      assert.match(r.stdout, new RegExp(`diagram: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
    assert.ok(!existsSync(join(dir, 'demo.svg')), 'several flows: no file under the bare name');

    const basic = readFileSync(join(dir, 'demo-basic.svg'), 'utf8');
    assertWellFormedXml(basic);
    for (const [id, role] of [['EN1', 'en'], ['resolver', 'resolver'], ['server', 'server'], ['router', 'router'], ['alice', 'in']]) {
      assert.match(basic, new RegExp(`class="lifeline role-${role}" data-id="${id}"`), id);
    }
    assert.equal((basic.match(/class="lifeline /g) ?? []).length, 5, 'bob and the other ENs are not in this flow');
    const a = arrowsOf(basic);
    const first = (pred: (x: (typeof a)[number]) => boolean, what: string) => {
      const i = a.findIndex(pred);
      assert.ok(i >= 0, `no ${what} among ${JSON.stringify(a)}`);
      return i;
    };
    const query = first((x) => x.from === 'EN1' && x.to === 'resolver' && x.style === 'dns', 'EN1 -> resolver query');
    const req = first((x) => x.from === 'server' && x.to === 'router' && x.style === 'nts', 'NTS request');
    const ready = first((x) => x.from === 'router' && x.to === 'server' && x.style === 'nts', 'NTS response');
    const answer = first((x) => x.from === 'resolver' && x.to === 'EN1' && x.style === 'dns', 'answer to EN1');
    const packet = first((x) => x.from === 'EN1' && x.to === 'router' && x.style === 'packet', 'first packet');
    const atAlice = first((x) => x.from === 'router' && x.to === 'alice' && x.style === 'packet', 'packet at alice');
    assert.ok(query < req && req < ready && ready < answer && answer < packet && packet < atAlice, 'Fig. 5 then Fig. 6, in order');
    assert.match(basic, /NTS REQUEST alice\.home\.example/);
    assert.match(basic, /NTS RESPONSE READY 127\.0\.0\.2 \(RC \d+\)/);
    assert.match(basic, /RC \d+ created: any → alice/);
    assert.match(basic, /class="span span-hold"/);

    const sim = readFileSync(join(dir, 'demo-simultaneous.svg'), 'utf8');
    assertWellFormedXml(sim);
    assert.match(sim, /data-id="EN2"/);
    assert.match(sim, /data-id="bob"/);
    assert.match(sim, /waits: queue position 1, no RC, no response yet/);
    assert.equal((sim.match(/class="span span-rc"/g) ?? []).length, 2, 'alice\'s RC, then bob\'s');
    assert.match(sim, /≈ \d+ ms/, 'the hold\'s idle time is compressed and marked');

    const nol = readFileSync(join(dir, 'demo-nolookup.svg'), 'utf8');
    assertWellFormedXml(nol);
    assert.match(nol, /class="msg msg-refused" data-from="router" data-to="EN2"/);
    assert.match(nol, /no RC, reset/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ntss demo --diagram into a directory that does not exist: usage error, nothing started', () => {
  const r = ntssSync(['demo', '--flow', 'basic', '--diagram', '/nonexistent-ntss-dir/x.svg']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^ntss: .*--diagram \/nonexistent-ntss-dir\/x\.svg: the directory \/nonexistent-ntss-dir does not exist/);
  assert.equal(r.stdout, '', 'the demo did not start');
});
