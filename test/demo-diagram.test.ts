// `ntss demo --diagram`: the real CLI, all flows, one SVG per flow; each must be well formed and
// show the paper's five lifelines and what happened (NTS request/READY, the first packet; in
// Fig. 7's flow the waiting request and the second RC). No root needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { arrowsOf, assertWellFormedXml } from './helpers/xml.js';

const MAIN_JS = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ntss = (args: string[]) => spawnSync(process.execPath, [MAIN_JS, ...args], { encoding: 'utf8', timeout: 40_000, env: { ...process.env, NO_COLOR: '1' } });

test('ntss demo --diagram: one SVG per flow with the five lifelines, the NTS exchange and the first packet', { timeout: 45_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ntss-demo-diagram-'));
  try {
    const r = ntss(['demo', '--diagram', join(dir, 'demo.svg')]);
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
  const r = ntss(['demo', '--flow', 'basic', '--diagram', '/nonexistent-ntss-dir/x.svg']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^ntss: .*--diagram \/nonexistent-ntss-dir\/x\.svg: the directory \/nonexistent-ntss-dir does not exist/);
  assert.equal(r.stdout, '', 'the demo did not start');
});
