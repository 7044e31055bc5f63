// Sequence diagrams (src/diagram/): a fixed event list drawn to SVG (lifelines, arrows in time
// order, compressed gaps, escaping), the lab's sources (tcpdump lines, logs) turned into events
// with retries recognised, and where the files go.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertWritable, diagramPaths, parseWindow } from '../src/diagram/file.js';
import { labDiagram, type LabSources } from '../src/diagram/from-lab.js';
import { layout } from '../src/diagram/layout.js';
import { DiagramError, firstRows, timeWindow, validate, type SequenceDiagram } from '../src/diagram/model.js';
import { renderSequence } from '../src/diagram/render.js';
import { parseDnsCapture, parseDnsLine, parseWireLine } from '../src/diagram/tcpdump.js';
import { arrowsOf, assertWellFormedXml } from './helpers/xml.js';

const FIG5: SequenceDiagram = {
  title: 'Fig. 5 & 6 <real run> "A&B"',
  subtitle: 'fixed events',
  lifelines: [
    { id: 'alice', role: 'in', title: 'alice', detail: '192.168.50.10' },
    { id: 'EN', role: 'en', title: 'EN', detail: '198.51.100.11' },
    { id: 'resolver', role: 'resolver', title: 'resolver' },
    { id: 'server', role: 'server', title: 'NTSv2 server' },
    { id: 'router', role: 'router', title: 'NTS router' },
  ],
  events: [
    // Deliberately out of time order: the drawing sorts by time, equal times keep this order.
    { kind: 'message', t: 12, from: 'router', to: 'server', label: 'NTS RESPONSE READY', style: 'nts' },
    { kind: 'message', t: 0, from: 'EN', to: 'resolver', label: 'A? alice', style: 'dns' },
    { kind: 'message', t: 1, from: 'resolver', to: 'server', label: 'A? alice (id 1)', style: 'dns' },
    { kind: 'message', t: 377, from: 'resolver', to: 'server', label: '↻ retry #2 <id 2>', style: 'dns-retry' },
    { kind: 'message', t: 10, from: 'server', to: 'router', label: 'NTS REQUEST alice', style: 'nts' },
    { kind: 'note', t: 11, on: 'router', label: 'RC 1 created: any → alice', style: 'state' },
    { kind: 'message', t: 380, from: 'server', to: 'resolver', label: 'answer A 203.0.113.2 TTL 0', style: 'dns' },
    { kind: 'message', t: 381, from: 'EN', to: 'router', label: 'first packet: TCP SYN', style: 'packet' },
    { kind: 'note', t: 382, on: 'router', label: 'RC 1: first packet, hold begins', style: 'hold' },
    { kind: 'message', t: 383, from: 'router', to: 'alice', label: 'TCP accepted', style: 'packet' },
    { kind: 'span', t: 11, end: 882, on: 'router', label: 'RC 1 alive', style: 'rc' },
    { kind: 'span', t: 382, end: 882, on: 'router', label: 'RC 1 hold', style: 'hold' },
    { kind: 'note', t: 882, on: 'router', label: 'RC 1 removed (hold over)', style: 'state' },
  ],
  footnotes: ['a footnote with <angle> & ampersand'],
};

test('diagram: a fixed event list becomes a well-formed SVG with the lifelines and the arrows in time order', () => {
  const svg = renderSequence({ ...FIG5, lifelines: FIG5.lifelines });
  assertWellFormedXml(svg);
  // Every lifeline once, whatever order it was given in; columns left to right as given (the sources order them).
  for (const id of ['EN', 'resolver', 'server', 'router', 'alice']) assert.equal(svg.split(`data-id="${id}"`).length - 1, 1, id);
  const arrows = arrowsOf(svg);
  assert.deepEqual(arrows.map((a) => `${a.from}>${a.to}`), [
    'EN>resolver', 'resolver>server', 'server>router', 'router>server', 'resolver>server', 'server>resolver', 'EN>router', 'router>alice',
  ]);
  for (let i = 1; i < arrows.length; i++) assert.ok(arrows[i].y > arrows[i - 1].y, `arrow ${i} below arrow ${i - 1}`);
  assert.deepEqual(arrows.map((a) => a.style), ['dns', 'dns', 'nts', 'nts', 'dns-retry', 'dns', 'packet', 'packet']);
  assert.match(svg, /stroke-dasharray="6 4"[^>]*marker-end="url\(#arrow-dns-retry\)"/, 'a retry is dashed');
  // Escaping: nothing of the labels' markup survives raw.
  assert.match(svg, /<title>Fig\. 5 &amp; 6 &lt;real run&gt; &quot;A&amp;B&quot;<\/title>/);
  assert.match(svg, /↻ retry #2 &lt;id 2&gt;/);
  assert.match(svg, /a footnote with &lt;angle&gt; &amp; ampersand/);
  assert.doesNotMatch(svg, /<real run>|<id 2>|<angle>/);
  // The measured times are printed; the idle 365 ms between 12 and 377 are compressed and marked.
  for (const t of ['+0.0', '+12.0', '+377', '+882']) assert.ok(svg.includes(`>${t}<`), t);
  assert.match(svg, /≈ 365 ms/);
  assert.match(svg, /≈ 499 ms/);
  assert.equal((svg.match(/class="span span-rc"/g) ?? []).length, 1);
  assert.equal((svg.match(/class="span span-hold"/g) ?? []).length, 1);
  assert.equal(renderSequence(FIG5), svg, 'the same events give the same bytes');
});

test('diagram layout: time downward, each row room for its label, long gaps compressed, spans placed between rows', () => {
  const l = layout(FIG5);
  const ys = l.rows.map((r) => r.y);
  for (let i = 1; i < ys.length; i++) assert.ok(ys[i] - ys[i - 1] >= 22, `row ${i}: ${ys[i] - ys[i - 1]} px`);
  assert.equal(l.gaps.length, 2);
  assert.equal(l.gaps[0].ms, 365);
  // 0..12 ms is drawn to scale where rows allow; y grows with t everywhere.
  let prev = -1;
  for (let t = 0; t <= 900; t += 7) {
    const y = l.yAt(t);
    assert.ok(y >= prev, `yAt(${t}) = ${y} < ${prev}`);
    prev = y;
  }
  assert.ok(l.height >= l.yAt(882));
});

test('diagram: what cannot be drawn is refused with DIAGRAM_INVALID; a window keeps its part', () => {
  const bad = (events: SequenceDiagram['events']) => () => validate({ ...FIG5, events });
  assert.throws(bad([{ kind: 'message', t: 0, from: 'EN', to: 'nobody', label: 'x', style: 'dns' }]), (e: unknown) => e instanceof DiagramError && e.code === 'DIAGRAM_INVALID' && /unknown lifeline "nobody"/.test(e.message));
  assert.throws(bad([{ kind: 'note', t: NaN, on: 'EN', label: 'x', style: 'info' }]), /no finite time/);
  assert.throws(bad([{ kind: 'span', t: 5, end: 1, on: 'router', label: 'x', style: 'rc' }]), /ends before it starts/);
  assert.throws(() => validate({ ...FIG5, lifelines: [...FIG5.lifelines, FIG5.lifelines[0]] }), /lifeline "alice" twice/);
  const w = timeWindow(FIG5, 370, 400);
  assert.deepEqual(w.events.filter((e) => e.kind !== 'span').map((e) => e.t), [377, 380, 381, 382, 383]);
  const rc = w.events.find((e) => e.kind === 'span' && e.style === 'rc');
  assert.deepEqual(rc && rc.kind === 'span' ? [rc.t, rc.end] : [], [370, 400]);
  assert.match(w.subtitle ?? '', /window 370-400 ms$/);
  assert.throws(() => timeWindow(FIG5, 5, 1), /is empty/);
  const few = firstRows(FIG5, 3);
  assert.deepEqual(few.events.filter((e) => e.kind !== 'span').map((e) => e.t), [0, 1, 10]);
  assert.deepEqual(few.events.filter((e) => e.kind === 'span'), [], 'spans after the cut are dropped');
  const six = firstRows(FIG5, 6).events.flatMap((e) => (e.kind === 'span' ? [[e.style, e.t, e.end]] : []));
  assert.deepEqual(six, [['rc', 11, 377]], 'a span across the cut ends there');
  assert.match(few.footnotes?.[0] ?? '', /^Only the first 3 of 11 rows \(up to \+10 ms\)/);
  assert.equal(firstRows(FIG5, 11), FIG5, 'nothing to cut');
  assert.deepEqual(parseWindow('0-1200'), { from: 0, to: 1200 });
  assert.deepEqual(parseWindow('250.5-300'), { from: 250.5, to: 300 });
  for (const bad of ['', '5', '10-5', 'a-b', '-5-3']) assert.throws(() => parseWindow(bad), (e: unknown) => (e as { code?: string }).code === 'USAGE', bad);
});

// Lines as tcpdump 4.99 printed them in the lab (resolver namespace, -i any -n -tt).
const CAPTURE = `
1796150266.608790 eth0  In  IP 198.51.100.11.43526 > 198.51.100.53.53: 58660+ A? alice.home.example. (36)
1796150266.608952 eth0  Out IP 198.51.100.53.27555 > 192.0.2.53.53: 56147% [1au] A? alice.home.example. (47)
1796150266.985000 eth0  Out IP 198.51.100.53.27600 > 192.0.2.53.53: 56148% [1au] A? alice.home.example. (47)
1796150266.990000 eth0  In  IP 192.0.2.53.53 > 198.51.100.53.27600: 56148*-| 0/0/1 (47)
1796150266.990094 eth0  Out IP 198.51.100.53.49326 > 192.0.2.53.53: Flags [S], seq 1070015596, win 64240, options [mss 1460], length 0
1796150266.990160 eth0  Out IP 198.51.100.53.49326 > 192.0.2.53.53: Flags [P.], seq 1:50, ack 1, win 63, options [nop,nop,TS val 2162196659 ecr 1365844019], length 49 34608% [1au] A? alice.home.example. (47)
1796150267.018160 eth0  In  IP 192.0.2.53.53 > 198.51.100.53.49326: Flags [P.], seq 1:66, ack 50, win 64, options [nop,nop,TS val 1365844027 ecr 2162196659], length 65 34608*- 1/0/1 A 203.0.113.2 (63)
1796150267.018282 eth0  Out IP 198.51.100.53.53 > 198.51.100.11.43526: 58660 1/0/0 A 203.0.113.2 (52)
1796150267.500000 eth0  Out IP 198.51.100.53.53 > 198.51.100.12.40000: 7 ServFail 0/0/0 (30)
`;

test('tcpdump: DNS over UDP and TCP, queries and answers, TC and rcodes; other lines skipped', () => {
  const ps = parseDnsCapture(CAPTURE);
  assert.equal(ps.length, 8, 'the SYN carries no DNS');
  assert.deepEqual(ps[0], { t: 1796150266608.79, src: '198.51.100.11', sport: 43526, dst: '198.51.100.53', dport: 53, tcp: false, id: 58660, query: { type: 'A', name: 'alice.home.example.' } });
  assert.deepEqual(ps[3].response, { rcode: 'NOERROR', tc: true, answers: '' });
  assert.equal(ps[4].tcp, true);
  assert.deepEqual(ps[4].query, { type: 'A', name: 'alice.home.example.' });
  assert.deepEqual(ps[5].response, { rcode: 'NOERROR', tc: false, answers: 'A 203.0.113.2' });
  assert.deepEqual(ps[7].response, { rcode: 'SERVFAIL', tc: false, answers: '' });
  assert.equal(parseDnsLine('tcpdump: listening on any, link-type LINUX_SLL2'), undefined);
  assert.deepEqual(parseWireLine('1796150266.636000 wan0  In  IP 198.51.100.11.34228 > 203.0.113.2.80: Flags [S], seq 1, win 64240, length 0'),
    { t: 1796150266636, src: '198.51.100.11', sport: 34228, dst: '203.0.113.2', dport: 80, proto: 'tcp', flags: 'S' });
  assert.equal(parseWireLine('1796150266.7 wan0 Out IP 203.0.113.2.7 > 198.51.100.11.4000: UDP, length 40')?.proto, 'udp');
});

test('lab sources: the resolver\'s retry, TC and TCP, the NTS exchange, the first packet at the router and at alice', () => {
  const T = 1796150266608.79;
  const iso = (ms: number) => new Date(ms).toISOString();
  const src: LabSources = {
    title: 'lab basic', from: T - 1, to: T + 2000,
    capture: parseDnsCapture(CAPTURE),
    wire: [
      { t: T + 411, src: '198.51.100.11', sport: 34228, dst: '203.0.113.2', dport: 80, proto: 'tcp', flags: 'S' },
      { t: T + 1411, src: '198.51.100.11', sport: 34228, dst: '203.0.113.2', dport: 80, proto: 'tcp', flags: 'S' },
      { t: T + 1500, src: '203.0.113.2', sport: 80, dst: '198.51.100.12', dport: 5000, proto: 'tcp', flags: 'R.' },
    ],
    server: [
      { time: iso(T + 383), event: 'nts-held', queryId: 34608, transport: 'tcp' },
      { time: iso(T + 384), event: 'nts-request', name: 'alice.home.example.', mode: 'any', timeLeftMs: 1700 },
      { time: iso(T - 5000), event: 'nts-request', name: 'old.home.example.', mode: 'any', timeLeftMs: 1 },
    ],
    router: [
      { at: T + 385, event: 'rc-created', rc: 1, to: '192.168.50.10', address: '203.0.113.2' },
      { at: T + 385, event: 'respond', status: 'READY', address: '203.0.113.2', rc: 1 },
      { at: T + 412, event: 'mapping-created', mapping: 1, rc: 1, en: '198.51.100.11:34228', via: '203.0.113.2:80', to: '192.168.50.10:80', proto: 'tcp' },
      { at: T + 412, event: 'rc-hold-started', rc: 1 },
      { at: T + 912, event: 'rc-removed', rc: 1, reason: 'hold-done' },
    ],
    ins: [{ t: T + 413, host: 'alice', event: 'tcp-accept', client: '198.51.100.11:34228', acceptedAt: T + 412.5 }],
    addresses: {
      ens: { en1: '198.51.100.11', en2: '198.51.100.12', en3: '198.51.100.13' },
      resolver: { address: '198.51.100.53', product: 'Unbound 1.17.1' },
      server: '192.0.2.53', router: ['203.0.113.2'], ins: { alice: '192.168.50.10', bob: '192.168.50.11' },
    },
  };
  const d = labDiagram(src);
  assert.deepEqual(d.lifelines.map((l) => l.id), ['en1', 'en2', 'resolver', 'server', 'router', 'alice'], 'unused ENs and INs left out');
  const rows = d.events.filter((e) => e.kind !== 'span');
  const labels = rows.map((e) => e.label);
  assert.equal(rows[0].t, 0, 'times count from the first event');
  assert.ok(labels.includes('A? alice.home.example (id 58660, UDP)'));
  assert.ok(labels.includes('↻ retry #2: A? alice.home.example (new id 56148, UDP)'), labels.join('\n'));
  assert.ok(labels.includes('answer 56148 (UDP): TC=1: ask over TCP'));
  assert.ok(labels.includes('A? alice.home.example (id 34608, TCP)'), 'the TCP query after TC=1 is not a retry');
  assert.ok(labels.includes('NTS REQUEST alice.home.example (mode any, 1700 ms left)'));
  assert.ok(!labels.some((l) => l.includes('old.home.example')), 'outside the window');
  assert.ok(labels.includes('NTS RESPONSE READY 203.0.113.2 (RC 1)'));
  assert.ok(labels.includes('first packet: TCP SYN 34228 → 203.0.113.2:80'));
  assert.ok(labels.includes('↻ SYN again (retransmission) → 203.0.113.2:80'));
  assert.ok(labels.includes('RST to 5000: refused'));
  assert.ok(!labels.some((l) => l.includes('as the router logged it')), 'the capture\'s SYN stands for the first packet');
  assert.ok(labels.includes('TCP accepted from 198.51.100.11:34228'));
  const spans = d.events.filter((e) => e.kind === 'span');
  assert.deepEqual(spans.map((s) => [s.style, s.kind === 'span' ? Math.round(s.end - s.t) : 0]), [['rc', 527], ['hold', 500]]);
  assertWellFormedXml(renderSequence(d));
  // Without the router-side capture, the router's mapping line stands for the first packet.
  const noWire = labDiagram({ ...src, wire: undefined });
  assert.ok(noWire.events.some((e) => e.kind === 'message' && e.label.includes('as the router logged it')));
});

test('diagram files: one name keeps the path, several get -NAME; unwritable paths are usage errors', () => {
  assert.deepEqual([...diagramPaths('/tmp/x/run.svg', ['basic']).values()], ['/tmp/x/run.svg']);
  assert.deepEqual([...diagramPaths('/tmp/x/run.svg', ['basic', 'no-rc']).values()], ['/tmp/x/run-basic.svg', '/tmp/x/run-no-rc.svg']);
  assert.deepEqual([...diagramPaths('out', ['a', 'b']).values()], ['out-a.svg', 'out-b.svg']);
  const dir = mkdtempSync(join(tmpdir(), 'ntss-diagram-'));
  try {
    assertWritable(join(dir, 'new.svg'));
    writeFileSync(join(dir, 'file'), '');
    const usage = (re: RegExp) => (e: unknown) => (e as { code?: string }).code === 'USAGE' && re.test((e as Error).message);
    assert.throws(() => assertWritable(join(dir, 'missing', 'x.svg')), usage(/does not exist/));
    assert.throws(() => assertWritable(join(dir, 'file', 'x.svg')), usage(/is not a directory/));
    assert.throws(() => assertWritable(dir), usage(/is a directory/));
    assert.throws(() => assertWritable(''), usage(/a file name is required/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lab sources: an RC renewed during its hold shows one RC bar and two hold bars', () => {
  const T = 1_800_000_000_000;
  const d = labDiagram({
    title: 'renewal', from: T, to: T + 2000, capture: [], server: [], ins: [],
    router: [
      { at: T + 10, event: 'rc-created', rc: 4, to: '192.168.50.10', address: '203.0.113.2' },
      { at: T + 40, event: 'rc-hold-started', rc: 4 },
      { at: T + 90, event: 'rc-renewed', rc: 4 },
      { at: T + 120, event: 'rc-hold-started', rc: 4 },
      { at: T + 620, event: 'rc-removed', rc: 4, reason: 'hold-done' },
    ],
    addresses: { ens: { en1: '198.51.100.11' }, resolver: { address: '198.51.100.53', product: 'Unbound' }, server: '192.0.2.53', router: ['203.0.113.2'], ins: { alice: '192.168.50.10' } },
  });
  const spans = d.events.flatMap((e) => (e.kind === 'span' ? [[e.style, e.t, e.end]] : []));
  assert.deepEqual(spans, [['hold', 30, 80], ['rc', 0, 610], ['hold', 110, 610]]);
  assert.ok(d.events.some((e) => e.kind === 'note' && e.label === 'RC 4 renewed for a new request'));
});

test('lab sources: NTSS v1, the EN\'s own resolver asks the router (no server in the NTS exchange)', () => {
  const T = 1_800_000_000_000;
  const d = labDiagram({
    title: 'v1', from: T, to: T + 1000, server: [], ins: [],
    capture: parseDnsCapture('1800000000.000100 eth0  In  IP 198.51.100.11.4000 > 198.51.100.54.53: 77+ A? alice.home.example. (36)\n'),
    router: [
      { time: new Date(T + 3).toISOString(), event: 'nts-request', req: 'r1', fqdn: 'alice.home.example.', mode: 'source', en: '198.51.100.11', timeLeftMs: 2000, from: '198.51.100.54:40000' },
      { at: T + 3, event: 'respond', req: 'r1', status: 'READY', address: '203.0.113.2', rc: 9 },
    ],
    addresses: {
      ens: { en1: '198.51.100.11' }, server: '192.0.2.53', router: ['203.0.113.2'], ins: { alice: '192.168.50.10' },
      resolver: { address: '198.51.100.53', product: 'Unbound 1.17.1', aliases: { '198.51.100.54': 'ntss resolver (v1)' } },
    },
  });
  const msgs = d.events.flatMap((e) => (e.kind === 'message' ? [`${e.from}>${e.to} ${e.label}`] : []));
  assert.deepEqual(msgs, [
    'en1>resolver A? alice.home.example (id 77, UDP)',
    'resolver>router NTS REQUEST alice.home.example (mode source, EN 198.51.100.11, 2000 ms left)',
    'router>resolver NTS RESPONSE READY 203.0.113.2 (RC 9)',
  ]);
  assert.equal(d.lifelines.find((l) => l.id === 'resolver')?.detail, '198.51.100.53 (Unbound 1.17.1) + .54 ntss resolver (v1)');
});

test('diagram heads: a detail splits at " + " into lines, a line too long for the column is cut', () => {
  const svg = renderSequence({
    title: 'heads',
    lifelines: [
      { id: 'r', role: 'resolver', title: 'resolver', detail: '198.51.100.53 (Unbound 1.17.1) + .54 ntss resolver (v1)' },
      { id: 's', role: 'server', title: 'server', detail: 'x'.repeat(80) },
    ],
    events: [{ kind: 'message', t: 0, from: 'r', to: 's', label: 'q', style: 'dns' }],
  });
  assertWellFormedXml(svg);
  assert.match(svg, />198\.51\.100\.53 \(Unbound 1\.17\.1\)</);
  assert.match(svg, />\+ \.54 ntss resolver \(v1\)</);
  assert.match(svg, />x{30}…</);
  assert.doesNotMatch(svg, /x{31}/);
});
