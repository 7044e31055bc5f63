// The latency breakdown's parser (src/lab/latency-stages.ts) on tcpdump lines as the lab's
// captures print them (taken from a real run, one NTS-managed and one plain lookup).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { breakdown, breakdownTable, parseCapture, percentile, pointsOf, STAGES, stageMs, totalMs, type LookupSpec, type Packet } from '../src/lab/latency-stages.js';

const BASE: Omit<LookupSpec, 'kind' | 'name' | 'address'> = {
  en: '198.51.100.11', resolver: '198.51.100.53', server: '192.0.2.53', router: '203.0.113.2', inside: '192.168.50.10', port: 80, ntsPort: 5300,
};
const NTS: LookupSpec = { ...BASE, kind: 'nts', name: 'alice.home.example.', address: '203.0.113.2' };
const PLAIN: LookupSpec = { ...BASE, kind: 'plain', name: 'plain.home.example.', address: '203.0.113.100' };

const NTS_CAPTURES: Record<string, string> = {
  en: `
1796150129.298562 IP 198.51.100.11.54006 > 198.51.100.53.53: 51237+ A? alice.home.example. (36)
1796150129.298679 IP 198.51.100.11.54006 > 198.51.100.53.53: 47649+ AAAA? alice.home.example. (36)
1796150129.303097 IP 198.51.100.53.53 > 198.51.100.11.54006: 51237 1/0/0 A 203.0.113.2 (52)
1796150129.303341 IP 198.51.100.53.53 > 198.51.100.11.54006: 47649 0/1/0 (87)
1796150129.303446 IP 198.51.100.11.35386 > 203.0.113.2.80: Flags [S], seq 3016233395, win 64240, options [mss 1460,sackOK,TS val 199863033 ecr 0,nop,wscale 10], length 0
1796150129.303726 IP 198.51.100.11.35386 > 203.0.113.2.80: Flags [P.], seq 1:83, ack 1, win 63, options [nop,nop,TS val 199863033 ecr 163128347], length 82: HTTP: GET / HTTP/1.1`,
  server: `
1796150129.298780 IP 198.51.100.53.33317 > 192.0.2.53.53: 61138% [1au] A? alice.home.example. (47)
1796150129.299363 IP 192.0.2.53.53 > 198.51.100.53.33317: 61138*-| 0/0/1 (47)
1796150129.299467 IP 198.51.100.53.34578 > 192.0.2.53.53: Flags [P.], seq 50:99, ack 66, win 63, options [nop,nop,TS val 4077990005 ecr 2166243707], length 49 51545% [1au] A? alice.home.example. (47)
1796150129.300386 IP 192.0.2.53.5300 > 203.0.113.2.5300: UDP, length 113
1796150129.302317 IP 203.0.113.2.5300 > 192.0.2.53.5300: UDP, length 93
1796150129.302980 IP 192.0.2.53.53 > 198.51.100.53.34578: Flags [P.], seq 66:131, ack 99, win 64, options [nop,nop,TS val 2166244440 ecr 4077990005], length 65 51545*- 1/0/1 A 203.0.113.2 (63)
1796150129.303154 IP 198.51.100.53.33087 > 192.0.2.53.53: 40692% [1au] AAAA? alice.home.example. (47)`,
  'router-wan': `
1796150129.300421 IP 192.0.2.53.5300 > 203.0.113.2.5300: UDP, length 113
1796150129.302304 IP 203.0.113.2.5300 > 192.0.2.53.5300: UDP, length 93
1796150129.303457 IP 198.51.100.11.35386 > 203.0.113.2.80: Flags [S], seq 3016233395, win 64240, options [mss 1460,sackOK,TS val 199863033 ecr 0,nop,wscale 10], length 0`,
  'router-lan': `
1796150129.303502 IP 198.51.100.11.35386 > 192.168.50.10.80: Flags [S], seq 3016233395, win 64240, options [mss 1460,sackOK,TS val 199863033 ecr 0,nop,wscale 10], length 0`,
  inside: `
1796150129.303511 IP 198.51.100.11.35386 > 192.168.50.10.80: Flags [S], seq 3016233395, win 64240, options [mss 1460,sackOK,TS val 199863033 ecr 0,nop,wscale 10], length 0
1796150129.303532 IP 192.168.50.10.80 > 198.51.100.11.35386: Flags [S.], seq 2311445626, ack 3016233396, win 65160, options [mss 1460,sackOK,TS val 163128347 ecr 199863033,nop,wscale 10], length 0
1796150129.303575 IP 198.51.100.11.35386 > 192.168.50.10.80: Flags [.], ack 1, win 63, options [nop,nop,TS val 199863033 ecr 163128347], length 0
1796150129.303733 IP 198.51.100.11.35386 > 192.168.50.10.80: Flags [P.], seq 1:83, ack 1, win 63, options [nop,nop,TS val 199863033 ecr 163128347], length 82: HTTP: GET / HTTP/1.1`,
};

/** The plain lookup: the server answers the UDP query itself; the same SYN path to alice. */
const PLAIN_CAPTURES: Record<string, string> = {
  en: `
1796150130.000100 IP 198.51.100.11.40000 > 198.51.100.53.53: 1111+ A? plain.home.example. (36)
1796150130.000900 IP 198.51.100.53.53 > 198.51.100.11.40000: 1111 1/0/0 A 203.0.113.100 (52)
1796150130.001300 IP 198.51.100.11.35400 > 203.0.113.100.80: Flags [S], seq 1, win 64240, length 0`,
  server: `
1796150130.000300 IP 198.51.100.53.40001 > 192.0.2.53.53: 2222% [1au] A? plain.home.example. (47)
1796150130.000650 IP 192.0.2.53.53 > 198.51.100.53.40001: 2222*- 1/0/1 A 203.0.113.100 (63)`,
  'router-wan': '1796150130.001310 IP 198.51.100.11.35400 > 203.0.113.100.80: Flags [S], seq 1, win 64240, length 0',
  'router-lan': '1796150130.001360 IP 198.51.100.11.35400 > 192.168.50.10.80: Flags [S], seq 1, win 64240, length 0',
  inside: `
1796150130.001370 IP 198.51.100.11.35400 > 192.168.50.10.80: Flags [S], seq 1, win 64240, length 0
1796150130.001500 IP 198.51.100.11.35400 > 192.168.50.10.80: Flags [P.], seq 1:83, ack 1, win 63, length 82: HTTP: GET / HTTP/1.1`,
};

const packets = (caps: Record<string, string>): Packet[] => Object.entries(caps).flatMap(([at, text]) => parseCapture(at, text));
const near = (a: number | undefined, b: number) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-3, `${a} != ${b}`);

test('parseCapture: UDP and TCP lines, lengths, flags; other lines are skipped', () => {
  const ps = parseCapture('x', `${NTS_CAPTURES.server}\nlistening on eth0, link-type EN10MB\n1796150129.1 ARP, Request who-has 1.2.3.4`);
  assert.equal(ps.length, 7);
  assert.deepEqual({ ...ps[0], text: undefined }, { at: 'x', t: 1796150129298.78, src: '198.51.100.53', sport: 33317, dst: '192.0.2.53', dport: 53, tcp: false, flags: undefined, length: 47, text: undefined });
  assert.equal(ps[2]!.tcp, true);
  assert.equal(ps[2]!.flags, 'P.');
  assert.equal(ps[2]!.length, 49);
  assert.equal(ps[3]!.length, 113);
});

test('pointsOf: every point of an NTS-managed lookup with the TC -> TCP detour', () => {
  const p = pointsOf(packets(NTS_CAPTURES), NTS);
  near(p.enQuery, 1796150129298.562);
  near(p.srvQuery, 1796150129298.78);
  near(p.srvTc, 1796150129299.363);
  near(p.srvVerified, 1796150129299.467);
  near(p.ntsRequest, 1796150129300.386);
  near(p.rtrRequest, 1796150129300.421);
  near(p.rtrReady, 1796150129302.304);
  near(p.srvReady, 1796150129302.317);
  near(p.srvAnswer, 1796150129302.98);
  near(p.enAnswer, 1796150129303.097);
  near(p.enSyn, 1796150129303.446);
  near(p.rtrSyn, 1796150129303.457);
  near(p.rtrSynLan, 1796150129303.502);
  near(p.insideSyn, 1796150129303.511);
  near(p.insideData, 1796150129303.733); // the GET, not the handshake's empty ACK
  near(totalMs(p), 5.171);
  const router = STAGES.find((s) => s.id === 'router')!;
  near(stageMs(p, router), 1.883);
});

test('pointsOf: an AAAA query for the name is not its A query', () => {
  const caps = { ...NTS_CAPTURES, en: NTS_CAPTURES.en!.split('\n').filter((l) => !l.includes(' A? ')).join('\n') };
  assert.equal(pointsOf(packets(caps), NTS).enQuery, undefined);
});

test('pointsOf: a verified UDP query (a cookie) has no detour; a missing packet leaves the later points out', () => {
  const server = NTS_CAPTURES.server!.split('\n').filter((l) => !l.includes('*-|') && !l.includes('Flags [P.], seq 50:99')).join('\n');
  const p = pointsOf(packets({ ...NTS_CAPTURES, server }), NTS);
  assert.equal(p.srvTc, undefined);
  near(p.srvVerified, 1796150129298.78); // the UDP query itself
  near(stageMs(p, STAGES.find((s) => s.id === 'server-request')!), 1.606);
  near(p.ntsRequest, 1796150129300.386);
  near(totalMs(p), 5.171);
  const noReady = pointsOf(packets({ ...NTS_CAPTURES, 'router-wan': '' }), NTS);
  assert.equal(noReady.rtrReady, undefined);
  const noAnswer = pointsOf(packets({ ...NTS_CAPTURES, en: NTS_CAPTURES.en!.split('\n').filter((l) => !l.includes(' A 203')).join('\n') }), NTS);
  assert.equal(noAnswer.enAnswer, undefined);
  assert.equal(totalMs(noAnswer), undefined);
});

test('pointsOf: a plain lookup; breakdown puts the difference where it happened', () => {
  const plain = pointsOf(packets(PLAIN_CAPTURES), PLAIN);
  near(totalMs(plain), 1.4);
  assert.equal(plain.ntsRequest, undefined);
  const nts = pointsOf(packets(NTS_CAPTURES), NTS);
  const b = breakdown([nts, nts, nts], [plain, plain, plain]);
  near(b.extraMs, 5.171 - 1.4);
  near(b.pairedExtraMs, 5.171 - 1.4);
  near(b.stagesExtraMs, 5.171 - 1.4); // one round each: the stage differences add up to the total's
  const row = (id: string) => b.stages.find((s) => s.id === id)!;
  near(row('router').nts, 1.883);
  assert.equal(row('router').plain, undefined);
  near(row('server-plain').plain, 0.35);
  assert.equal(row('server-plain').nts, undefined);
  const table = breakdownTable(b);
  assert.match(table, /\| router: REQUEST -> scheduler -> RC in nftables -> READY sent \| 1\.88 \| {2}\|/);
  assert.match(table, /\*\*3\.77\*\*/);
});

test('percentile: nearest rank', () => {
  assert.equal(percentile([5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 0.9), 9);
  assert.equal(percentile([3], 0.9), 3);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

test('breakdownSvg: one bar per kind and run, one rect per stage with its time, a legend', async () => {
  const { breakdownSvg } = await import('../src/lab/latency-svg.js');
  const nts = pointsOf(packets(NTS_CAPTURES), NTS);
  const plain = pointsOf(packets(PLAIN_CAPTURES), PLAIN);
  const svg = breakdownSvg([{ label: 'run <1>', breakdown: breakdown([nts], [plain]) }], 'latency & stages');
  assert.match(svg, /^<\?xml/);
  assert.match(svg, /run &lt;1&gt;, NTS-managed/);
  assert.match(svg, /latency &amp; stages/);
  assert.match(svg, /<title>router: REQUEST -&gt; scheduler -&gt; RC in nftables -&gt; READY sent: 1\.88 ms<\/title>/);
  // 14 NTS stages (all but server-plain), 8 plain ones (server-plain and the 7 shared ones); the legend's squares have no stroke.
  const stageRects = [...svg.matchAll(/<rect [^>]*stroke="white"/g)].length;
  assert.equal(stageRects, 14 + 8);
  assert.match(svg, /5\.2 ms/);
});
