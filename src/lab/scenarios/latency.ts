// Query to first byte at alice: an NTS-managed lookup against a plain one, interleaved in one
// run, and where each millisecond goes (issue 9 §2).
// The plain lookup: `plain.home.example.` (a name of the same length in the same zone, TTL 0,
// so every lookup reaches the server) names ADDR.plain, a second address on the router's wan0
// with a static DNAT to alice:80 that this scenario installs (table ntss_lab_plain) and removes.
// So both lookups take the same path: en1's curl -> Unbound -> the NTSv2 server -> en1 -> SYN
// through the router's kernel NAT -> alice; the NTS one adds source verification (TC -> TCP),
// the NTS REQUEST, the RC in nftables and READY. Stamps: tcpdump -tt on en1, the server, the
// router's wan0 and lan0, and alice (one kernel clock); end: the first payload byte at alice.
import { writeFileSync } from 'node:fs';
import { PLAIN_NAME } from '../configs.js';
import { breakdown, breakdownTable, parseCapture, pointsOf, summarize, totalMs, type Breakdown, type LookupSpec, type Packet, type Points } from '../latency-stages.js';
import { median } from '../../util/stats.js';
import type { Background } from '../shell.js';
import { ADDR, HTTP_PORT, LAN_IF, NTS_PORT, WAN_IF, ZONE } from '../topology.js';
import { tag, type Scenario, type ScenarioContext } from './context.js';

const PLAIN_TABLE = 'ntss_lab_plain';
/** Pairs (one NTS, one plain lookup); NTSS_LAB_LATENCY_ROUNDS. */
const DEFAULT_ROUNDS = 20;
/** NTS REQUEST (type 1) and RESPONSE (2) only: byte 3 of the NTS header (not REGISTER/KEEPALIVE/ACK). */
const NTS_FILTER = `(udp port ${NTS_PORT} and (udp[11] = 1 or udp[11] = 2))`;

const CAPTURES: readonly { at: string; host: string; iface: string; filter: string }[] = [
  { at: 'en', host: 'en1', iface: 'eth0', filter: `udp port 53 or tcp port ${HTTP_PORT}` },
  { at: 'server', host: 'server', iface: 'eth0', filter: `port 53 or ${NTS_FILTER}` },
  { at: 'router-wan', host: 'router', iface: WAN_IF, filter: `${NTS_FILTER} or tcp port ${HTTP_PORT}` },
  { at: 'router-lan', host: 'router', iface: LAN_IF, filter: `tcp port ${HTTP_PORT}` },
  { at: 'inside', host: 'alice', iface: 'eth0', filter: `tcp port ${HTTP_PORT}` },
];

export interface LatencyReport {
  delayMs: number;
  dataplane: string;
  resolver: string;
  verifySource: string;
  rounds: number;
  breakdown: Breakdown;
  /** routerd's own account of the RC activation (rc-active lines: activateRc -> nft acknowledged). */
  nftMedianMs?: number;
  /** Every round's points (ms epoch), for re-analysis. */
  nts: Points[];
  plain: Points[];
}

function rounds(): number {
  const v = process.env.NTSS_LAB_LATENCY_ROUNDS;
  if (v === undefined || v === '') return DEFAULT_ROUNDS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new Error(`NTSS_LAB_LATENCY_ROUNDS must be a whole number from 1 to 500, got "${v}"`);
  return n;
}

/** The plain name's address on wan0 and a static DNAT from it to alice:80 (what a router without NTS would have). */
async function plainDnat(ctx: ScenarioContext, on: boolean): Promise<void> {
  const lab = ctx.lab;
  if (!on) {
    await lab.exec('router', 'nft', ['delete', 'table', 'ip', PLAIN_TABLE]);
    await lab.exec('router', 'ip', ['addr', 'del', `${ADDR.plain}/32`, 'dev', WAN_IF]);
    return;
  }
  const a = await lab.exec('router', 'ip', ['addr', 'replace', `${ADDR.plain}/32`, 'dev', WAN_IF]);
  ctx.must(a.code === 0, `${ADDR.plain} on the router's ${WAN_IF}`, a.stderr.trim());
  // After the ntss table's DNAT (priority dstnat): its maps never hold this address.
  const rules = [
    `table ip ${PLAIN_TABLE} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat + 10; policy accept;',
    `    iifname "${WAN_IF}" ip daddr ${ADDR.plain} tcp dport ${HTTP_PORT} dnat to ${ADDR.alice}`,
    '  }',
    '}',
    '',
  ].join('\n');
  const n = await lab.exec('router', 'nft', ['-f', '-'], { input: rules });
  ctx.must(n.code === 0, `static DNAT ${ADDR.plain}:${HTTP_PORT} -> alice (table ${PLAIN_TABLE})`, n.stderr.trim());
}

async function startCaptures(ctx: ScenarioContext): Promise<Map<string, Background>> {
  const caps = new Map<string, Background>();
  for (const c of CAPTURES) {
    caps.set(c.at, ctx.lab.background(c.host, 'tcpdump', ['-i', c.iface, '-n', '-tt', '-l', '--immediate-mode', '-Z', 'root', c.filter]));
  }
  const end = Date.now() + 5000;
  const listening = () => [...caps.values()].every((b) => b.stderr().includes('listening on'));
  while (!listening() && Date.now() < end) await ctx.sleep(20);
  const missing = CAPTURES.filter((c) => !caps.get(c.at)!.stderr().includes('listening on')).map((c) => `${c.host} ${c.iface}: ${caps.get(c.at)!.stderr().trim().split('\n').pop() ?? ''}`);
  ctx.must(missing.length === 0, `tcpdump stamps packets on ${CAPTURES.map((c) => `${c.host} ${c.iface}`).join(', ')}`, missing.join('; '));
  return caps;
}

function spec(ctx: ScenarioContext, kind: 'nts' | 'plain'): LookupSpec {
  return {
    kind, name: kind === 'nts' ? `alice.${ZONE}` : PLAIN_NAME, address: kind === 'nts' ? ctx.lab.mode.globalAddresses[0]! : ADDR.plain,
    en: ADDR.en1, resolver: ADDR.resolver, server: ADDR.server, router: ADDR.routerWan, inside: ADDR.alice, port: HTTP_PORT, ntsPort: NTS_PORT,
  };
}

/** The measurement itself; checks go to ctx. Returns undefined when nothing could be measured. */
export async function measureLatency(ctx: ScenarioContext, n: number): Promise<LatencyReport | undefined> {
  const lab = ctx.lab;
  await plainDnat(ctx, true);
  let caps: Map<string, Background> | undefined;
  const windows: { kind: 'nts' | 'plain'; from: number; to: number; ok: boolean }[] = [];
  try {
    caps = await startCaptures(ctx);
    // One unmeasured pair first: Unbound opens its TCP connection to the server, JIT warms up.
    for (let i = -1; i < n; i++) {
      const order: ('nts' | 'plain')[] = i % 2 === 0 ? ['nts', 'plain'] : ['plain', 'nts'];
      for (const kind of order) {
        const t = tag(`lat-${kind}`);
        const from = Date.now();
        const host = kind === 'nts' ? `alice.${ZONE}` : PLAIN_NAME;
        const r = await ctx.curl('en1', `http://${host.slice(0, -1)}/?tag=${t}`);
        const seen = ctx.seen('alice', t, 'http');
        const ok = r.ok && r.host === 'alice' && seen.length === 1 && ctx.fromEn(seen[0]!, 'en1', 'tcp');
        if (i >= 0) {
          windows.push({ kind, from: from - 1, to: Date.now() + 50, ok });
          if (!ok) ctx.note(`round ${i + 1}: en1 -> alice via ${host} failed: ${r.ok ? `alice's log: ${seen.length} entries` : `curl exit ${r.run.code} ${r.run.stderr.trim()}`}`);
        }
        // Each NTS lookup after a connection waits for that RC's hold (paper 3.5): measure the idle
        // case; the plain one idles as long, so both meet equally cold processes.
        await ctx.sleep(ctx.hold + 100);
      }
    }
  } finally {
    if (caps) await Promise.all([...caps.values()].map((c) => c.stop()));
    await plainDnat(ctx, false);
  }
  const packets: Packet[] = CAPTURES.flatMap((c) => parseCapture(c.at, caps!.get(c.at)!.stdout()));
  const pointsIn = (w: (typeof windows)[number]) => pointsOf(packets.filter((p) => p.t >= w.from && p.t <= w.to), spec(ctx, w.kind));
  const nts = windows.filter((w) => w.kind === 'nts').map(pointsIn);
  const plain = windows.filter((w) => w.kind === 'plain').map(pointsIn);
  const complete = (ps: Points[]) => ps.filter((p) => totalMs(p) !== undefined).length;
  // A measurement on a shared machine: one lost lookup in ten (a stub's 5 s timeout under load,
  // for either kind) is noted and left out; more means the lab, not the load, is broken.
  const okCount = windows.filter((w) => w.ok).length;
  ctx.check(okCount >= Math.ceil(0.9 * windows.length), `${okCount}/${windows.length} lookups reached alice (${n} NTS, ${n} plain, interleaved; at least 90% must)`);
  const found = (ps: Points[], kind: 'nts' | 'plain') => complete(ps) >= windows.filter((w) => w.kind === kind && w.ok).length;
  ctx.check(found(nts, 'nts') && found(plain, 'plain'), `every successful round's packets found: NTS ${complete(nts)}/${n}, plain ${complete(plain)}/${n}`);
  // The first law as the wire shows it: READY left the router before the EN's SYN reached it.
  const early = nts.filter((p) => p.rtrReady !== undefined && p.rtrSyn !== undefined && p.rtrSyn < p.rtrReady).length;
  ctx.check(early === 0, 'no SYN reached the router before its READY left', `${early} did`);
  if (complete(nts) === 0 || complete(plain) === 0) return undefined;
  const b = breakdown(nts, plain);
  const nft = lab.events('router').filter((e) => e.event === 'rc-active' && typeof e.dataplaneMs === 'number' && Date.parse(e.time) >= windows[0]!.from - 5)
    .map((e) => e.dataplaneMs as number);
  return {
    delayMs: lab.mode.delayMs, dataplane: lab.mode.dataplane, resolver: lab.mode.resolverVersion ?? lab.mode.resolver,
    verifySource: lab.mode.verifySource ?? 'cookie-or-tcp', rounds: n, breakdown: b,
    nftMedianMs: nft.length > 0 ? median(nft) : undefined, nts, plain,
  };
}

const fmt = (xs: number[]) => {
  const s = summarize(xs);
  return `median ${s.median.toFixed(1)} ms (min ${s.min.toFixed(1)}, p90 ${s.p90.toFixed(1)}, max ${s.max.toFixed(1)})`;
};

export const latency: Scenario = {
  name: 'latency',
  summary: `query -> first byte at alice, NTS-managed vs plain, interleaved, per-stage breakdown (${DEFAULT_ROUNDS} pairs)`,
  needs: ['kernel'],
  async run(ctx) {
    const n = rounds();
    const r = await measureLatency(ctx, n);
    if (!r) return;
    const b = r.breakdown;
    const totals = (ps: Points[]) => ps.map(totalMs).filter((x): x is number => x !== undefined);
    ctx.results.latencyMedianMs = b.nts.median;
    ctx.results.latencyPlainMedianMs = b.plain.median;
    ctx.results.latencyExtraMs = b.extraMs;
    ctx.note(`NTS-managed (alice.${ZONE}): ${fmt(totals(r.nts))}`);
    ctx.note(`plain (${PLAIN_NAME}, static DNAT): ${fmt(totals(r.plain))}`);
    ctx.results.latencyStagesExtraMs = b.stagesExtraMs;
    ctx.note(`extra: ${b.extraMs.toFixed(2)} ms (median of paired differences ${b.pairedExtraMs.toFixed(2)} ms, sum of stage differences ${b.stagesExtraMs.toFixed(2)} ms); RTT added ${r.delayMs} ms, source verification ${r.verifySource}`);
    if (r.nftMedianMs !== undefined) ctx.note(`routerd's RC activation (activateRc -> nft acknowledged): median ${r.nftMedianMs.toFixed(2)} ms`);
    for (const line of breakdownTable(b).split('\n')) ctx.note(line);
    const out = process.env.NTSS_LAB_LATENCY_JSON;
    if (out) writeFileSync(out, `${JSON.stringify(r, null, 1)}\n`);
  },
};
