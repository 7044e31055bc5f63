// The nftables plane's parts without root: the `nft -i` runner against a stand-in binary that
// speaks like nft 1.0.6 (errors on stderr only, sentinel syntax errors), conntrack line parsing
// on captured output, nft error classification, and the config keys.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseRouterConfig } from '../src/config/router-config.js';
import {
  classifyNftStderr, isAlreadyExists, isNotFound, NftError, nftablesOptions, NftProcess, parseConntrackLine, renderCommand, type NftCommand,
} from '../src/dataplane/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ntss-nft-parts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Answers like `nft -i`: silence on success, "Error: ...", the input line and carets on stderr.
// Writes stderr a byte at a time when asked, to exercise line reassembly.
const FAKE_NFT = path.join(dir, 'fake-nft.mjs');
writeFileSync(FAKE_NFT, `
import { createInterface } from 'node:readline';
let slow = false, deaf = false;
const say = (s) => { if (!slow) return process.stderr.write(s); for (const c of s) process.stderr.write(c); };
createInterface({ input: process.stdin }).on('line', (l) => {
  if (deaf) return;
  if (l.includes('SLOW')) slow = true;
  if (l.includes('DIE')) process.exit(3);
  if (l.includes('HANG')) { deaf = true; return; }
  const err = l.startsWith('ntss-ack-') ? 'syntax error, unexpected newline, expecting string'
    : l.includes('EEXIST') ? 'Could not process rule: File exists'
    : l.includes('ENOENT') ? 'Could not process rule: No such file or directory' : '';
  if (err) say('Error: ' + err + '\\n' + l + '\\n' + ' '.repeat(3) + '^^^^\\n');
});
`);

const raw = (text: string): NftCommand => ({ kind: 'raw', text });
const runner = (ackTimeoutMs = 5000) => new NftProcess({ prefix: [process.execPath, FAKE_NFT], ackTimeoutMs });

test('nft -i runner: acknowledgements in order, errors classified, one line per transaction', async () => {
  const r = runner();
  try {
    await r.run([raw('add table ip t'), raw('add chain ip t c')]);
    const results = await Promise.allSettled([
      r.run([raw('add element EEXIST')]), r.run([raw('fine')]), r.run([raw('delete element ENOENT')]), r.run([raw('SLOW fine')]),
      r.run([raw('EEXIST again')]), r.run([raw('fine'), raw('fine')]),
    ]);
    assert.deepEqual(results.map((x) => x.status), ['rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    const reason = (i: number) => (results[i] as PromiseRejectedResult).reason as NftError;
    assert.ok(isAlreadyExists(reason(0)) && !isNotFound(reason(0)));
    assert.equal(reason(0).message, 'nft: Could not process rule: File exists');
    assert.match(reason(0).stderr, /add element EEXIST/);
    assert.ok(isNotFound(reason(2)));
    assert.ok(isAlreadyExists(reason(4)), 'byte-by-byte stderr is reassembled');
    assert.deepEqual(r.stats, { transactions: 7, spawns: 1 });
  } finally {
    await r.close();
  }
});

test('nft -i runner: a dead or silent nft fails its transactions and is restarted for the next', async () => {
  const r = runner(2000); // generous: a loaded machine starts the stand-in slowly
  try {
    await assert.rejects(r.run([raw('DIE')]), (e: unknown) => e instanceof NftError && e.kind === 'process' && /exited \(code 3\)/.test(e.message));
    await r.run([raw('fine')]);
    await assert.rejects(r.run([raw('HANG')]), /did not acknowledge within 2000 ms/);
    await r.run([raw('fine')]);
    assert.equal(r.stats.spawns, 3);
    await assert.rejects(r.run([raw('a\nb')]), /line break/);
  } finally {
    await r.close();
  }
  const missing = new NftProcess({ nft: path.join(dir, 'no-such-nft') });
  await assert.rejects(missing.run([raw('x')]), /not found/);
});

test('rendered element commands are nft syntax', () => {
  const key = { source: '0.0.0.0/0', dst: '203.0.113.2', proto: 'any' as const, ports: [0, 65535] as const };
  assert.equal(renderCommand({ kind: 'add-element', table: 'ntss', map: 'rc_any', key, value: '192.168.50.10', timeoutMs: 13_500 }),
    'add element ip ntss rc_any { 0.0.0.0/0 . 203.0.113.2 . 0-255 . 0-65535 timeout 13500ms : 192.168.50.10 }');
  assert.equal(renderCommand({ kind: 'delete-element', table: 'ntss', map: 'rc', key: { source: '198.51.100.0/25', dst: '203.0.113.2', proto: 'udp', ports: [5000, 5100] } }),
    'delete element ip ntss rc { 198.51.100.0/25 . 203.0.113.2 . udp . 5000-5100 }');
  assert.equal(renderCommand({ kind: 'delete-table', table: 'ntss' }), 'delete table ip ntss');
});

test('nft error text is classified (messages captured from nft 1.0.6)', () => {
  assert.equal(classifyNftStderr('Error: Could not process rule: File exists\nadd element ...\n   ^^^'), 'exists');
  assert.equal(classifyNftStderr('Error: Could not process rule: No such file or directory\ndelete element ...'), 'not-found');
  assert.equal(classifyNftStderr('Error: No such file or directory\nlist table ip nosuch'), 'not-found');
  assert.equal(classifyNftStderr('Error: syntax error, unexpected newline, expecting string'), 'syntax');
  assert.equal(classifyNftStderr('Error: Could not process rule: Operation not permitted'), 'other');
});

// Captured with conntrack 1.4.7 in a namespace (dataplane.md's prototype topology).
const NEW_UDP = '    [NEW] udp      17 30 src=203.0.113.20 dst=203.0.113.2 sport=60813 dport=7000 [UNREPLIED] src=192.168.50.10 dst=203.0.113.20 sport=7000 dport=60813';
const NEW_TCP = '    [NEW] tcp      6 120 SYN_SENT src=203.0.113.20 dst=203.0.113.2 sport=56318 dport=8080 [UNREPLIED] src=192.168.50.10 dst=203.0.113.20 sport=8080 dport=56318';
const DESTROY = '[DESTROY] tcp      6 119 TIME_WAIT src=203.0.113.20 dst=203.0.113.2 sport=56318 dport=8080 packets=6 bytes=331 src=192.168.50.10 dst=203.0.113.20 sport=8080 dport=56318 packets=4 bytes=223 [ASSURED] [USERSPACE] portid=2640142205';
const LISTED = 'udp      17 16 src=203.0.113.20 dst=203.0.113.2 sport=60813 dport=7000 [UNREPLIED] src=203.0.113.2 dst=203.0.113.20 sport=7000 dport=60813 mark=0 use=1 id=3919674910';

test('conntrack lines: events, listings, byte counts; anything else is ignored', () => {
  assert.deepEqual(parseConntrackLine(NEW_UDP), {
    event: 'new', proto: 'udp',
    orig: { src: '203.0.113.20', dst: '203.0.113.2', sport: 60813, dport: 7000 },
    reply: { src: '192.168.50.10', dst: '203.0.113.20', sport: 7000, dport: 60813 },
  });
  assert.equal(parseConntrackLine(NEW_TCP)?.proto, 'tcp');
  const d = parseConntrackLine(DESTROY);
  assert.deepEqual([d?.event, d?.origBytes, d?.replyBytes, d?.reply.src], ['destroy', 331, 223, '192.168.50.10']);
  const l = parseConntrackLine(LISTED);
  assert.deepEqual([l?.event, l?.reply.src], [undefined, '203.0.113.2']);
  for (const junk of ['conntrack v1.4.7 (conntrack-tools): 3 flow events have been shown.', '', 'icmp     1 29 src=1.2.3.4 dst=5.6.7.8 type=8 code=0 id=1 src=5.6.7.8 dst=1.2.3.4 type=0 code=0 id=1']) {
    assert.equal(parseConntrackLine(junk), undefined, junk);
  }
});

const base = {
  id: 'gw1', key: 'bnRzLXJvdXRlci1rZXktZm9yLWd3MS1leGFtcGxlLW9ubHk=', nts: { listen: '203.0.113.2:5300' }, globalAddresses: ['203.0.113.2'],
};

test('config: type nftables, its defaults, and what the rest of the config adds', () => {
  const c = parseRouterConfig({ ...base, dataplane: { type: 'nftables', wan: 'wan0', lan: 'lan0', localServices: ['tcp/22'] }, learning: { listen: '192.168.50.1:5353', server: '192.0.2.53:53' } });
  assert.deepEqual(c.dataplane, {
    type: 'nftables', wan: 'wan0', lan: 'lan0', table: 'ntss', localServices: [{ proto: 'tcp', port: 22 }], trustedInterfaces: [], reconcileMs: 60_000,
  });
  const o = nftablesOptions(c, () => ({ verdict: 'no-rc', events: [] }));
  assert.deepEqual(o.localServices, [{ proto: 'udp', port: 5300 }, { proto: 'tcp', port: 22 }]);
  assert.equal(o.safetyTimeoutMs, 3000 + 500 + 10_000);
  assert.deepEqual(o.dnsRedirect, { server: '192.0.2.53', serverPort: 53, port: 5353 });
  const loop = parseRouterConfig({ ...base, nts: { listen: '127.0.0.1:5300' }, dataplane: { type: 'nftables', wan: 'wan0', lan: 'lan0', safetyTimeoutMs: 5000 } });
  const lo = nftablesOptions(loop, () => ({ verdict: 'no-rc', events: [] }));
  assert.deepEqual([lo.localServices, lo.safetyTimeoutMs, lo.dnsRedirect], [[], 5000, undefined]);
});

test('config: nftables mistakes name the key', () => {
  const bad = (dataplane: object, key: RegExp, extra: object = {}) => assert.throws(() => parseRouterConfig({ ...base, ...extra, dataplane }), key);
  bad({ type: 'nftables', lan: 'lan0' }, /dataplane\.wan: required: the Internet-side interface's name/);
  bad({ type: 'nftables', wan: 'wan0', lan: 'wan0' }, /dataplane\.lan: lan must differ from wan/);
  bad({ type: 'nftables', wan: 'wan "0"', lan: 'lan0' }, /dataplane\.wan: expected a network interface name/);
  bad({ type: 'nftables', wan: 'wan0', lan: 'lan0', table: 'my table' }, /dataplane\.table/);
  bad({ type: 'nftables', wan: 'wan0', lan: 'lan0', safetyTimeoutMs: 3500 }, /dataplane\.safetyTimeoutMs: must exceed scheduler\.rcTimeoutMs \+ scheduler\.holdMs \(3500 ms\)/);
  bad({ type: 'nftables', wan: 'wan0', lan: 'lan0', ports: ['tcp/80'] }, /ports/);
  bad({ type: 'nftables', wan: 'wan0', lan: 'lan0', localServices: ['tcp/22', 'tcp/22'] }, /distinct/);
});
