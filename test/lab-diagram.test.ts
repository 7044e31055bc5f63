// `ntss lab run SCENARIO --diagram`: a real run (Unbound, the kernel data plane) drawn from the
// resolver-side capture, the router-side capture and the daemons' logs. The SVG must show the
// EN's and the resolver's queries, the NTS exchange and the EN's first packet reaching alice;
// the lab and its captures must be gone afterwards. Root only (skips, or fails under NTSS_NO_SKIP=1).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { arrowsOf, assertWellFormedXml } from './helpers/xml.js';
import { lab, labReady, namespacesOf, prefixes, processesMentioning } from './lab-cli.js';

const nextPrefix = prefixes(`ld${process.pid}`);

test('lab run basic --diagram: the resolver\'s queries, the NTS exchange and the first packet, measured', { timeout: 90_000 }, async (t) => {
  if (!labReady(t)) return;
  const prefix = nextPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'ntss-lab-diagram-'));
  try {
    const file = join(dir, 'basic.svg');
    const r = await lab(['run', 'basic', '--prefix', prefix, '--diagram', file], 80_000);
    for (const l of r.out.trimEnd().split('\n')) console.log(`# ${l}`);
    assert.deepEqual(namespacesOf(prefix), [], 'no namespace of the lab may remain');
    assert.deepEqual(processesMentioning(`/run/ntss-lab/${prefix}/`), [], 'no lab process may remain');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /diagram: .*basic\.svg \(\d+ rows; captured: [1-9]\d* DNS messages, [1-9]\d* packets at the router\)/);
    assert.ok(existsSync(file));
    const svg = readFileSync(file, 'utf8');
    assertWellFormedXml(svg);
    for (const id of ['en1', 'en2', 'resolver', 'server', 'router', 'alice', 'bob']) assert.match(svg, new RegExp(`data-id="${id}"`), id);
    const a = arrowsOf(svg);
    const idx = (pred: (x: (typeof a)[number]) => boolean, what: string) => {
      const i = a.findIndex(pred);
      assert.ok(i >= 0, `no ${what}`);
      return i;
    };
    const enQuery = idx((x) => x.from === 'en1' && x.to === 'resolver' && x.style === 'dns', 'en1 -> resolver query');
    const resQuery = idx((x) => x.from === 'resolver' && x.to === 'server', 'resolver -> server query');
    const req = idx((x) => x.from === 'server' && x.to === 'router' && x.style === 'nts', 'NTS request');
    const ready = idx((x) => x.from === 'router' && x.to === 'server' && x.style === 'nts', 'NTS response');
    const answer = idx((x) => x.from === 'resolver' && x.to === 'en1' && x.style === 'dns', 'answer to en1');
    const syn = idx((x) => x.from === 'en1' && x.to === 'router' && x.style === 'packet', 'en1\'s first packet at the router');
    const atAlice = idx((x) => x.from === 'router' && x.to === 'alice' && x.style === 'packet', 'the connection at alice');
    assert.ok(enQuery < resQuery && resQuery < req && req < ready && ready < answer && answer < syn && syn < atAlice, JSON.stringify(a.slice(0, 20)));
    assert.match(svg, /A\? alice\.home\.example \(id \d+, UDP\)/);
    assert.match(svg, /first packet: TCP SYN \d+ → 203\.0\.113\.2:80/);
    assert.match(svg, /NTS RESPONSE READY 203\.0\.113\.2/);
    assert.match(svg, /RC \d+ removed \(hold over\)/, 'the last RC\'s end was waited for');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lab run --diagram into a directory that does not exist: usage error before any lab', async () => {
  const prefix = nextPrefix();
  const r = await lab(['run', 'basic', '--prefix', prefix, '--diagram', '/nonexistent-ntss-dir/x.svg'], 10_000);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /--diagram \/nonexistent-ntss-dir\/x\.svg: the directory \/nonexistent-ntss-dir does not exist/);
  assert.deepEqual(namespacesOf(prefix), []);
});
