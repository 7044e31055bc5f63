// `ntss simulate`: the discrete-event simulator (src/sim, docs/eval/sim.md). One run, a
// capacity search (--capacity) or a load sweep (--load); a Markdown table on stdout, or JSON;
// CSV and SVG files on request.
import { readFileSync, writeFileSync } from 'node:fs';
import { planFromFlags, type SimPlan } from '../sim/args.js';
import { capacityFigure, waitsFigure } from '../sim/figures.js';
import { simulate } from '../sim/simulate.js';
import { capacityGrid, loadSweep } from '../sim/sweeps.js';
import { NtssError, UsageError } from '../util/errors.js';
import type { Command } from './main.js';

type Row = Record<string, string | number | boolean>;

const f1 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : x > 0 ? 'inf' : '-');
const f3 = (x: number) => Math.round(x * 1000) / 1000;

function readTrace(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new NtssError('SIM_TRACE', `simulate: --trace ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function write(file: string, body: string, what: string): void {
  try {
    writeFileSync(file, body);
  } catch (e) {
    throw new NtssError('SIM_OUTPUT', `simulate: ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function markdownTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = Object.keys(rows[0]!);
  return [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cols.map((c) => String(r[c])).join(' | ')} |`)].join('\n');
}

export function csv(rows: readonly Row[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

function execute(plan: SimPlan, progress: (s: string) => void): { rows: Row[]; json: unknown; svg?: string } {
  const combos = plan.resolvers.flatMap((resolver) => plan.rtts.flatMap((rtt) => plan.policies.map((policy) => ({ policy, resolver, rtt }))));
  if (plan.mode === 'capacity') {
    const rows = capacityGrid(plan.policies, plan.resolvers, plan.rtts, { maxN: plan.maxBurst, target: plan.target, progress, build: plan.params });
    return {
      rows: rows.map((r) => ({
        policy: r.policy, resolver: r.resolver, rtt_ms: r.rttMs, capacity: r.capped ? `>=${r.capacity}` : r.capacity,
        paper_bound: f1(r.bound), ratio: f3(r.ratio), wrong_host: r.wrongHost,
      })),
      json: { mode: 'capacity', target: plan.target, rows }, svg: capacityFigure(rows),
    };
  }
  if (plan.mode === 'load') {
    const l = plan.loads!;
    const out = combos.map((c) => ({ ...c, ...loadSweep(plan.params(c.policy, c.resolver, c.rtt), l.values, l.perMs, l.durationMs, { progress }) }));
    const rows = out.flatMap((o) => o.rows.map((r) => ({
      policy: o.policy, resolver: o.resolver, rtt_ms: o.rtt, [`load_per_${l.perLabel}`]: r.load, rho: f3(r.rho), success: f3(r.success),
      wait_mean_ms: f1(r.waitMean), wait_p50_ms: f1(r.waitP50), wait_p99_ms: f1(r.waitP99), md1_ms: f1(r.md1Ms), mm1_ms: f1(r.mm1Ms), queue_mean: f3(r.queueMean), wrong_host: r.wrongHost,
    })));
    return { rows, json: { mode: 'load', per: l.perLabel, durationMs: l.durationMs, runs: out }, svg: waitsFigure(out[0]!.rows, { perLabel: l.perLabel, serviceMs: out[0]!.serviceMs }) };
  }
  const results = combos.map((c) => ({ ...c, result: simulate(plan.params(c.policy, c.resolver, c.rtt), { progress }) }));
  const rows = results.map(({ policy, resolver, rtt, result: r }) => ({
    policy, resolver, rtt_ms: rtt, lookups: r.lookups, success: f3(r.success), right: r.right, failed: r.failed, refused: r.refused, wrong_host: r.wrongHost,
    wait_mean_ms: f1(r.waits.router.mean), wait_p50_ms: f1(r.waits.router.p50), wait_p99_ms: f1(r.waits.router.p99),
    lookup_p50_ms: f1(r.waits.lookup.p50), lookup_p99_ms: f1(r.waits.lookup.p99), queue_max: r.queue.max,
  }));
  return { rows, json: { mode: 'run', runs: results } };
}

export const simulateCommand: Command = {
  summary: 'discrete-event simulation of the router scheduler under load: success, waits, capacity, closed forms (docs/eval/sim.md)',
  usage: '[--policy P[,P..]] [--resolver R[,R..]] [--rtt MS[,MS..]] [--burst N | --rate R [--per 10s] | --trace FILE | --capacity | --load A:B:STEP] [options]',
  options: {
    policy: { type: 'string', description: 'plain (the paper: one address, any RCs, no leases, hold 0), pool, services, ecs, v1, best; comma list' },
    resolver: { type: 'string', description: 'unbound, bind, knot, powerdns, unknown, glibc (stubs asking the server: 5 s x 2); comma list' },
    rtt: { type: 'string', description: 'EN-router and resolver-server RTT in ms (the paper\'s t); comma list. Default 20' },
    burst: { type: 'string', description: 'N lookups at t=0 (default 50)' },
    spread: { type: 'string', description: 'spread the burst over this many ms (default 0)' },
    rate: { type: 'string', description: 'Poisson lookups per --per (default per 1s), for --duration' },
    per: { type: 'string', description: 'unit of --rate and --load: 1s, 10s, 500ms... (default 1s)' },
    duration: { type: 'string', description: 'how long the Poisson load runs (default 60s; --load: 600s per point)' },
    trace: { type: 'string', description: 'CSV of lookups: t_ms,name[,en]' },
    capacity: { type: 'boolean', description: 'search the largest burst served with >= --target success' },
    load: { type: 'string', description: 'sweep Poisson loads FROM:TO:STEP per --per, with M/D/1 and M/M/1' },
    target: { type: 'string', description: 'success ratio for --capacity (default 0.99)' },
    'max-burst': { type: 'string', description: 'largest burst --capacity tries (default 12x the paper\'s bound, at most 3000)' },
    hosts: { type: 'string', description: 'inside hosts, names chosen uniformly; 0 = a host per lookup (default 64)' },
    addresses: { type: 'string', description: 'global addresses of pool and best (default 8)' },
    services: { type: 'string', description: 'distinct services among the hosts, for services and best (default 8)' },
    hold: { type: 'string', description: 'RC hold ms after the first packet (default: plain 0, else the lab\'s max(500, 2 x RTT))' },
    'rc-timeout': { type: 'string', description: 'ms an RC waits for its packet (default the lab\'s 1500 + 4 x RTT)' },
    prefetch: { type: 'string', description: 'fraction of lookups whose client never connects (default 0)' },
    aaaa: { type: 'boolean', description: 'stubs ask A and AAAA in parallel' },
    'connect-delay': { type: 'string', description: 'answer -> first packet at the EN: 0, uniform:A:B, lognormal:MED:SIGMA, exp:MEAN (ms)' },
    'rtt-en-router': { type: 'string', description: 'override the EN-router RTT distribution (same forms)' },
    'rtt-resolver-server': { type: 'string', description: 'override the resolver-server RTT distribution' },
    'rtt-server-router': { type: 'string', description: 'server-router RTT (default 0: the paper\'s neighbours)' },
    'rtt-en-resolver': { type: 'string', description: 'EN-resolver RTT (default 0)' },
    topology: { type: 'string', description: 'paper (default) or lab: server-router one RTT apart, verified-source detour' },
    resolvers: { type: 'string', description: 'resolver instances the ENs are spread over (default 1)' },
    stub: { type: 'string', description: 'the EN stub\'s TIMEOUTxATTEMPTS in ms (default 5000x2, glibc)' },
    'en-cache': { type: 'string', description: 'the server\'s nts.enCacheMs in leases (default 0, as the lab)' },
    detour: { type: 'boolean', description: 'every first query is unverified: one more resolver-server RTT (docs/verification.md)' },
    reputation: { type: 'boolean', description: 'router resolver reputation on' },
    'no-limits': { type: 'boolean', description: 'lift the product\'s admission limits (32 NTS requests in flight per resolver, queue limits), as the paper' },
    seed: { type: 'string', description: 'PRNG seed (default 1): the same seed repeats a run exactly' },
    json: { type: 'boolean', description: 'print JSON instead of the table' },
    csv: { type: 'string', description: 'also write the table as CSV to this file' },
    plot: { type: 'string', description: 'write the figure as SVG (with --capacity or --load)' },
  },
  async run(v) {
    const plan = planFromFlags(v, readTrace);
    if (v.plot !== undefined && plan.mode === 'run') throw new UsageError('simulate: --plot needs --capacity or --load');
    const out = execute(plan, (s) => process.stderr.write(`${s}\n`));
    console.log(v.json ? JSON.stringify(out.json, null, 1) : markdownTable(out.rows));
    if (typeof v.csv === 'string') write(v.csv, csv(out.rows), '--csv');
    if (typeof v.plot === 'string' && out.svg) write(v.plot, out.svg, '--plot');
    return 0;
  },
};
