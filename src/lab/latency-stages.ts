// Where the time of one lookup goes (issue 9 §2): tcpdump -tt captures from several lab
// namespaces, cut into the stages of an NTS-managed lookup and of a plain one of the same name
// length, through the same resolver, server and router. All namespaces share the kernel's
// clock, so stamps from different captures compare. Pure: text in, numbers out.
import { median, nearestRank } from '../util/stats.js';
import { parseTcpdumpHead, type TcpdumpHead } from '../util/tcpdump.js';

/** One line of `tcpdump -n -tt`: time (ms, epoch), addresses, and the rest of the line. */
export interface Packet extends Omit<TcpdumpHead, 'rest'> {
  /** Which capture (e.g. "server", "router-wan"). */
  at: string;
  tcp: boolean;
  /** TCP flags as tcpdump prints them ("S", "S.", "P.", ...), undefined for UDP. */
  flags?: string;
  /** TCP payload length; for UDP the length tcpdump reports (DNS: the message). */
  length: number;
  /** Everything after "src > dst: ". */
  text: string;
}

export function parseCapture(at: string, text: string): Packet[] {
  const out: Packet[] = [];
  for (const line of text.split('\n')) {
    const h = parseTcpdumpHead(line);
    if (!h) continue;
    const rest = h.rest;
    const flags = /^Flags \[([^\]]*)\]/.exec(rest)?.[1];
    const len = flags !== undefined ? /, length (\d+)/.exec(rest) : /\((\d+)\)\s*$/.exec(rest) ?? /length (\d+)/.exec(rest);
    out.push({
      at, t: h.t, src: h.src, sport: h.sport, dst: h.dst, dport: h.dport, tcp: flags !== undefined,
      flags, length: len ? Number(len[1]) : 0, text: rest,
    });
  }
  return out;
}

/** The addresses a round's packets are recognised by. */
export interface LookupSpec {
  kind: 'nts' | 'plain';
  /** The name looked up, with its trailing dot. */
  name: string;
  /** The address the answer names (the router's global address, or the plain address). */
  address: string;
  en: string;
  resolver: string;
  server: string;
  /** The router's NTS address (REQUEST destination). */
  router: string;
  /** The inside host reached. */
  inside: string;
  port: number;
  ntsPort: number;
}

/** Points in time of one round (ms, epoch); missing ones are undefined. */
export type Points = Partial<Record<PointName, number>>;
export type PointName =
  | 'enQuery' | 'srvQuery' | 'srvTc' | 'srvVerified' | 'ntsRequest' | 'rtrRequest' | 'rtrReady' | 'srvReady' | 'srvAnswer'
  | 'enAnswer' | 'enSyn' | 'rtrSyn' | 'rtrSynLan' | 'insideSyn' | 'insideData';

const asksA = (p: Packet, name: string) => p.text.includes(` A? ${name} `);
const answersA = (p: Packet, address: string) => p.text.includes(` A ${address}`);
/** tcpdump marks a truncated DNS answer with "|" after the id and flags, e.g. "61138*-| 0/0/1". */
const truncated = (p: Packet) => /^(?:Flags \[[^\]]*\].*length \d+ )?\d+[*\-+%$!@]*\|/.test(p.text);

/**
 * The points of one lookup among the packets of its round (captures "en", "server",
 * "router-wan", "router-lan", "inside"), each the first matching packet after the previous point.
 */
export function pointsOf(packets: readonly Packet[], s: LookupSpec): Points {
  const sorted = [...packets].sort((a, b) => a.t - b.t);
  const pts: Points = {};
  let after = -Infinity;
  const find = (name: PointName, at: string, f: (p: Packet) => boolean, from = after): number | undefined => {
    const p = sorted.find((x) => x.at === at && x.t >= from && f(x));
    if (p) {
      pts[name] = p.t;
      after = p.t;
    }
    return p?.t;
  };
  const toServer = (p: Packet) => p.src === s.resolver && p.dst === s.server && p.dport === 53;
  const fromServer = (p: Packet) => p.src === s.server && p.sport === 53 && p.dst === s.resolver;
  if (find('enQuery', 'en', (p) => !p.tcp && p.src === s.en && p.dst === s.resolver && p.dport === 53 && asksA(p, s.name)) === undefined) return pts;
  if (find('srvQuery', 'server', (p) => toServer(p) && !p.tcp && asksA(p, s.name)) === undefined) return pts;
  if (s.kind === 'nts') {
    // Source verification (docs/verification.md): TC=1 (or BADCOOKIE), then the query again over TCP.
    // A resolver with a valid cookie has no detour: srvQuery is the verified query then.
    const tc = sorted.find((p) => p.at === 'server' && p.t >= after && fromServer(p) && !p.tcp && (truncated(p) || p.text.includes('BADCOOKIE')));
    const request = sorted.find((p) => p.at === 'server' && p.t >= after && !p.tcp && p.src === s.server && p.dst === s.router && p.dport === s.ntsPort);
    if (tc && (!request || tc.t < request.t)) {
      pts.srvTc = tc.t;
      after = tc.t;
      find('srvVerified', 'server', (p) => toServer(p) && asksA(p, s.name));
    } else {
      pts.srvVerified = pts.srvQuery; // verified as it came (a cookie, or verification off)
    }
    if (find('ntsRequest', 'server', (p) => !p.tcp && p.src === s.server && p.dst === s.router && p.dport === s.ntsPort) === undefined) return pts;
    find('rtrRequest', 'router-wan', (p) => !p.tcp && p.src === s.server && p.dst === s.router && p.dport === s.ntsPort, pts.ntsRequest! - 1);
    find('rtrReady', 'router-wan', (p) => !p.tcp && p.src === s.router && p.sport === s.ntsPort && p.dst === s.server);
    find('srvReady', 'server', (p) => !p.tcp && p.src === s.router && p.sport === s.ntsPort && p.dst === s.server, pts.rtrReady ?? pts.ntsRequest);
  }
  if (find('srvAnswer', 'server', (p) => fromServer(p) && answersA(p, s.address)) === undefined) return pts;
  if (find('enAnswer', 'en', (p) => !p.tcp && p.src === s.resolver && p.dst === s.en && answersA(p, s.address)) === undefined) return pts;
  const syn = (p: Packet) => p.tcp && p.flags === 'S';
  if (find('enSyn', 'en', (p) => syn(p) && p.src === s.en && p.dst === s.address && p.dport === s.port) === undefined) return pts;
  find('rtrSyn', 'router-wan', (p) => syn(p) && p.src === s.en && p.dst === s.address && p.dport === s.port, pts.enSyn! - 1);
  find('rtrSynLan', 'router-lan', (p) => syn(p) && p.src === s.en && p.dst === s.inside && p.dport === s.port);
  find('insideSyn', 'inside', (p) => syn(p) && p.src === s.en && p.dst === s.inside && p.dport === s.port, pts.enSyn);
  find('insideData', 'inside', (p) => p.tcp && p.src === s.en && p.dst === s.inside && p.dport === s.port && p.length > 0);
  return pts;
}

/** One row of the breakdown: the time between two points. */
export interface Stage {
  id: string;
  label: string;
  from: PointName;
  to: PointName;
  /** Only on this kind of lookup. */
  only?: 'nts' | 'plain';
}

/** The stages in order; together they span enQuery -> insideData for both kinds. */
export const STAGES: readonly Stage[] = [
  { id: 'en-to-server', label: 'EN query -> resolver -> query at the server', from: 'enQuery', to: 'srvQuery' },
  { id: 'server-tc', label: 'server: UDP query -> TC=1 sent (unverified source)', from: 'srvQuery', to: 'srvTc', only: 'nts' },
  { id: 'resolver-tcp', label: 'resolver: TC=1 -> query over TCP at the server', from: 'srvTc', to: 'srvVerified', only: 'nts' },
  { id: 'server-request', label: 'server: verified query -> NTS REQUEST sent', from: 'srvVerified', to: 'ntsRequest', only: 'nts' },
  { id: 'net-request', label: 'network: REQUEST server -> router', from: 'ntsRequest', to: 'rtrRequest', only: 'nts' },
  { id: 'router', label: 'router: REQUEST -> scheduler -> RC in nftables -> READY sent', from: 'rtrRequest', to: 'rtrReady', only: 'nts' },
  { id: 'net-ready', label: 'network: READY router -> server', from: 'rtrReady', to: 'srvReady', only: 'nts' },
  { id: 'server-answer', label: 'server: READY -> answer sent', from: 'srvReady', to: 'srvAnswer', only: 'nts' },
  { id: 'server-plain', label: 'server: query -> answer sent (not NTS-managed)', from: 'srvQuery', to: 'srvAnswer', only: 'plain' },
  { id: 'server-to-en', label: 'resolver -> answer at the EN', from: 'srvAnswer', to: 'enAnswer' },
  { id: 'en-syn', label: 'EN: answer -> SYN (its AAAA lookup first)', from: 'enAnswer', to: 'enSyn' },
  { id: 'net-syn', label: 'network: SYN EN -> router', from: 'enSyn', to: 'rtrSyn' },
  { id: 'dnat', label: 'router: DNAT (wan0 -> lan0)', from: 'rtrSyn', to: 'rtrSynLan' },
  { id: 'lan-syn', label: 'network: SYN router -> inside host', from: 'rtrSynLan', to: 'insideSyn' },
  { id: 'handshake', label: 'TCP handshake -> first byte at the inside host', from: 'insideSyn', to: 'insideData' },
];

/** Query to first byte: the end-to-end time of a round, if every point was seen. */
export function totalMs(p: Points): number | undefined {
  return p.enQuery !== undefined && p.insideData !== undefined ? p.insideData - p.enQuery : undefined;
}

export function stageMs(p: Points, st: Stage): number | undefined {
  const a = p[st.from];
  const b = p[st.to];
  return a !== undefined && b !== undefined ? b - a : undefined;
}

/** Nearest-rank percentile (p in 0..1). */
export function percentile(xs: readonly number[], p: number): number {
  return nearestRank([...xs].sort((a, b) => a - b), p * 100);
}

export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

export function summarize(xs: readonly number[]): Summary {
  return { n: xs.length, median: median(xs), p90: percentile(xs, 0.9), min: Math.min(...xs), max: Math.max(...xs) };
}

export interface Breakdown {
  /** Per stage id: the median over the rounds where both points were seen, per kind. */
  stages: { id: string; label: string; nts?: number; plain?: number }[];
  nts: Summary;
  plain: Summary;
  /** median(NTS) - median(plain): what the NTS step adds to a first connection. */
  extraMs: number;
  /** Median of the per-pair differences (NTS round i - plain round i; rounds interleaved). */
  pairedExtraMs: number;
  /**
   * The sum over stages of median(NTS) - median(plain), a stage only one kind has counting as
   * its median alone: the extra attributed stage by stage, less noisy than a difference of two
   * totals (the stages both kinds share, e.g. the EN's AAAA lookup, mostly cancel).
   */
  stagesExtraMs: number;
}

export function breakdown(nts: readonly Points[], plain: readonly Points[]): Breakdown {
  const col = (rounds: readonly Points[], st: Stage) => {
    const xs = rounds.map((p) => stageMs(p, st)).filter((x): x is number => x !== undefined);
    return xs.length > 0 ? median(xs) : undefined;
  };
  const totals = (rounds: readonly Points[]) => rounds.map(totalMs).filter((x): x is number => x !== undefined);
  const a = totals(nts);
  const b = totals(plain);
  const pairs: number[] = [];
  for (let i = 0; i < Math.min(nts.length, plain.length); i++) {
    const x = totalMs(nts[i]!);
    const y = totalMs(plain[i]!);
    if (x !== undefined && y !== undefined) pairs.push(x - y);
  }
  const ns = summarize(a);
  const ps = summarize(b);
  const stages = STAGES.map((st) => ({ id: st.id, label: st.label, nts: st.only === 'plain' ? undefined : col(nts, st), plain: st.only === 'nts' ? undefined : col(plain, st) }));
  return {
    stages, nts: ns, plain: ps, extraMs: ns.median - ps.median, pairedExtraMs: median(pairs),
    stagesExtraMs: stages.reduce((sum, s) => sum + (s.nts ?? 0) - (s.plain ?? 0), 0),
  };
}

const f = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d));

/** The breakdown as a Markdown table (ms), stages in order, then the totals. */
export function breakdownTable(b: Breakdown): string {
  const rows = [
    '| stage | NTS-managed (median ms) | plain (median ms) |',
    '|---|---:|---:|',
    ...b.stages.filter((s) => s.nts !== undefined || s.plain !== undefined).map((s) => `| ${s.label} | ${f(s.nts)} | ${f(s.plain)} |`),
    `| **query -> first byte at the inside host**, median (p90) | **${f(b.nts.median)}** (${f(b.nts.p90)}) | **${f(b.plain.median)}** (${f(b.plain.p90)}) |`,
    `| extra: median(NTS) - median(plain); median of paired differences; sum of stage differences | **${f(b.extraMs)}**; ${f(b.pairedExtraMs)}; ${f(b.stagesExtraMs)} | |`,
  ];
  return rows.join('\n');
}
