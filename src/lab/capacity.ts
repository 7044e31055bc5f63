// The load generator's driver (bench/capacity, issue 9 section 2): many EN source addresses on
// en1..en3 look up the load run's hosts h1..hN through the lab's real resolver and connect to the
// answer (capacity-client.ts, one process per EN namespace); the verdict per lookup comes from
// what the inside host said (the address reached). Offered load (Poisson) and bursts (N lookups
// at once, distinct sources) are plans; a short search finds the largest burst served.
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClientLookup, ClientPlan, ClientResult } from './capacity-client.js';
import { EXTRA_SOURCE_PREFIX, MAX_SOURCES, capacityHosts, needsExtraPrefix, sourceAddress, sourceAddresses } from './capacity-hosts.js';
import type { Lab } from './lab.js';
import { prng } from '../util/prng.js';
import { LabError, run, sleep } from './shell.js';
import { ADDR, EXTERNAL_NODES, HTTP_PORT, SEGMENTS, type ExternalNode } from './topology.js';
import { nearestRank } from '../util/stats.js';

export const CAPACITY_CLIENT_JS = fileURLToPath(new URL('./capacity-client.js', import.meta.url));

/** One lookup of a plan: when (ms after the start), from which source, which host (1-based). */
export interface PlannedLookup { at: number; src: string; host: number }

export interface StubOptions {
  /** Per try, and tries (a glibc stub: 5000 ms, 2; the default here: one try, so a lookup the resolver gave up on fails). */
  timeoutMs: number;
  tries: number;
  connectTimeoutMs: number;
}
export const DEFAULT_STUB: StubOptions = { timeoutMs: 5000, tries: 1, connectTimeoutMs: 3000 };

export interface LookupOutcome extends ClientResult {
  /** The host's address the lookup asked for. */
  expected: string;
  outcome: 'ok' | 'wrong-host' | 'failed';
}

export interface LoadSummary {
  lookups: number;
  ok: number;
  /** A connection that reached an address other than the asked host's: must be 0. */
  wrongHost: number;
  failed: number;
  successRatio: number;
  /** Query -> answer and query -> connected, ms, over the successful lookups (nearest rank). */
  answerMs: { p50: number; p99: number; max: number } | null;
  connectMs: { p50: number; p99: number; max: number } | null;
  /** Failure reasons and their counts ("dns-rcode-2": SERVFAIL, "dns-timeout", "tcp-ECONNREFUSED", ...). */
  errors: Record<string, number>;
}

/** Which EN holds a source address: round robin over en1..en3, so each EN process plays a third. */
export function enOf(sourceIndex: number): ExternalNode {
  return EXTERNAL_NODES[sourceIndex % EXTERNAL_NODES.length];
}

/**
 * The EN source addresses of a run on en1..en3's eth0 (/32: the segment's route stays the
 * primary's), and for more than 151 the extra prefix's on-link routes in the resolver and the
 * core. One `ip -batch` per namespace. Returns a function that removes all of it (idempotent;
 * the lab's teardown would remove it too).
 */
export function addSources(lab: Lab, n: number): () => void {
  const srcs = sourceAddresses(n);
  const batches = new Map<string, { add: string[]; del: string[] }>();
  const cmd = (host: string, add: string, del: string) => {
    const b = batches.get(host) ?? { add: [], del: [] };
    b.add.push(add);
    b.del.push(del);
    batches.set(host, b);
  };
  srcs.forEach((a, i) => cmd(enOf(i), `addr add ${a}/32 dev eth0`, `addr del ${a}/32 dev eth0`));
  if (needsExtraPrefix(n)) {
    cmd('resolver', `route add ${EXTRA_SOURCE_PREFIX} dev eth0`, `route del ${EXTRA_SOURCE_PREFIX} dev eth0`);
    cmd('inet', `route add ${EXTRA_SOURCE_PREFIX} dev ${SEGMENTS.en.bridge}`, `route del ${EXTRA_SOURCE_PREFIX} dev ${SEGMENTS.en.bridge}`);
  }
  const done: string[] = [];
  const remove = () => {
    for (const host of done.splice(0)) run('ip', ['-force', '-n', lab.ns(host), '-batch', '-'], { input: batches.get(host)!.del.join('\n') + '\n', allowFail: true });
  };
  try {
    for (const [host, b] of batches) {
      done.push(host);
      run('ip', ['-n', lab.ns(host), '-batch', '-'], { input: b.add.join('\n') + '\n' });
    }
  } catch (e) {
    remove();
    throw e;
  }
  return remove;
}

/**
 * A server, router and resolver without memory of the step before, so steps do not contaminate
 * each other: the router's service-time estimate (its admission, EWMA) learned in an overloaded
 * step refused the next, small burst (pool: 1 of 10 SERVFAIL after an 80/s point it had not kept
 * up with), and Unbound keeps a server's SERVFAIL 5.7 s and backs off from one that timed out.
 * The router's database goes too: its lease horizon would hold every address after a restart.
 * The server goes first: its pending NTS requests (up to the resolver's patience: 9.35 s behind
 * BIND and Knot) are retransmitted to the new router, which takes each as new with its whole
 * TIME_LEFT (docs/protocol.md 5.3: the deadline counts from first receipt) and gives the
 * address to RCs nobody uses; behind BIND the next burst got 28 of 30 TOO_LATE.
 */
export async function freshDaemons(lab: Lab): Promise<void> {
  await lab.restartServer('SIGTERM');
  await lab.stopRouter('SIGTERM');
  for (const f of ['router-phl.db', 'router-phl.db-wal', 'router-phl.db-shm']) rmSync(lab.file(f), { force: true });
  await lab.startRouterAgain();
  await lab.restartResolver();
}

/** N lookups at once from N distinct sources, hosts round robin over h1..hHosts. */
export function burstPlan(n: number, hosts: number): PlannedLookup[] {
  const srcs = sourceAddresses(n);
  return srcs.map((src, i) => ({ at: 0, src, host: (i % hosts) + 1 }));
}

/**
 * A warm-up before a burst: `n` lookups `everyMs` apart from sources `firstSource`.. (beyond the
 * burst's), hosts round robin from the last. The router's admission estimates a queued request's
 * wait from E, the time an RC holds its address (EWMA, alpha 0.125, starting at
 * serviceEstimateMs 100 + hold); a router in service has learned E, a fresh one refuses a burst
 * after deadline / 100 ms requests whatever the real E (plain at --delay 20: 13).
 */
export function warmupPlan(n: number, everyMs: number, firstSource: number, hosts: number): PlannedLookup[] {
  return Array.from({ length: n }, (_, i) => ({ at: i * everyMs, src: sourceAddress(firstSource + i), host: hosts - (i % hosts) }));
}

/**
 * Poisson arrivals at `rate` lookups a second for `seconds` (seeded); hosts and sources round
 * robin, so a host comes back only after `hosts` lookups and a source after `sources`: each
 * lookup costs its own RC, as in the paper's model (two ENs sharing one answer and one RC are
 * another experiment: burstPlan with fewer hosts than lookups).
 */
export function poissonPlan(rate: number, seconds: number, sources: number, hosts: number, seed: number): PlannedLookup[] {
  if (!(rate > 0) || !(seconds > 0)) throw new LabError(`capacity: rate and seconds must be > 0 (got ${rate}, ${seconds})`, 'USAGE');
  const rnd = prng(seed);
  const srcs = sourceAddresses(sources);
  const out: PlannedLookup[] = [];
  for (let t = -Math.log(1 - rnd()) / rate; t < seconds; t += -Math.log(1 - rnd()) / rate) {
    out.push({ at: Math.round(t * 1000), src: srcs[out.length % srcs.length], host: (out.length % hosts) + 1 });
  }
  return out;
}

/** What a run cost: the load generator's processes' CPU ms (their last stderr line). */
export interface RunCost { clientCpuMs: number }

/** Runs a plan: one capacity-client per EN namespace, all starting at one wall-clock instant. */
export async function runPlan(lab: Lab, plan: readonly PlannedLookup[], stub: StubOptions = DEFAULT_STUB, cost?: RunCost): Promise<LookupOutcome[]> {
  const hosts = capacityHosts(lab.mode.capacity?.hosts ?? 0);
  if (hosts.length === 0) throw new LabError('capacity: this lab has no load-run hosts (up with capacity.hosts)', 'USAGE');
  const srcIndex = new Map(sourceAddresses(MAX_SOURCES).map((a, i) => [a, i]));
  const byEn = new Map<ExternalNode, ClientLookup[]>();
  plan.forEach((p, id) => {
    const i = srcIndex.get(p.src);
    if (i === undefined) throw new LabError(`capacity: ${p.src} is not a load-run source address`, 'USAGE');
    const h = hosts[p.host - 1];
    if (!h) throw new LabError(`capacity: host ${p.host} is not in this lab (1..${hosts.length})`, 'USAGE');
    const en = enOf(i);
    byEn.set(en, [...(byEn.get(en) ?? []), { id, src: p.src, name: h.name, at: p.at }]);
  });
  // Every process is started and has loaded its plan before the start instant.
  const startAt = Date.now() + 1500;
  const last = Math.max(0, ...plan.map((p) => p.at));
  const bound = 1500 + last + stub.tries * stub.timeoutMs + stub.connectTimeoutMs + 5000;
  const runs = [...byEn].map(([en, lookups]) => {
    const f = lab.file(`capacity-plan-${en}.json`);
    const cp: ClientPlan = { resolver: ADDR.resolver, startAt, port: HTTP_PORT, ...stub, lookups };
    writeFileSync(f, JSON.stringify(cp));
    return lab.exec(en, process.execPath, [CAPACITY_CLIENT_JS, '--plan', f], { timeoutMs: bound });
  });
  const results: ClientResult[] = [];
  for (const r of await Promise.all(runs)) {
    if (r.code !== 0) throw new LabError(`capacity-client exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
    if (cost) cost.clientCpuMs += Number(/cpu-ms (\d+)/.exec(r.stderr)?.[1] ?? 0);
    for (const line of r.stdout.split('\n')) if (line.trim()) results.push(JSON.parse(line) as ClientResult);
  }
  if (results.length !== plan.length) throw new LabError(`capacity: ${plan.length} lookups planned, ${results.length} reported`);
  return results.sort((a, b) => a.id - b.id).map((r) => judge(r, hosts[plan[r.id].host - 1].address));
}

/** Right host, wrong host (a connection that reached another host's address), or failed. */
export function judge(r: ClientResult, expected: string): LookupOutcome {
  const outcome = r.reached === undefined ? 'failed' : r.reached === expected ? 'ok' : 'wrong-host';
  return { ...r, expected, outcome };
}

function dist(xs: number[]): LoadSummary['answerMs'] {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const r1 = (v: number) => Math.round(v * 10) / 10;
  return { p50: r1(nearestRank(s, 50)), p99: r1(nearestRank(s, 99)), max: r1(s[s.length - 1]) };
}

export function summarize(outcomes: readonly LookupOutcome[]): LoadSummary {
  const ok = outcomes.filter((o) => o.outcome === 'ok');
  const errors: Record<string, number> = {};
  for (const o of outcomes) if (o.outcome !== 'ok') errors[o.error ?? o.outcome] = (errors[o.error ?? o.outcome] ?? 0) + 1;
  return {
    lookups: outcomes.length,
    ok: ok.length,
    wrongHost: outcomes.filter((o) => o.outcome === 'wrong-host').length,
    failed: outcomes.filter((o) => o.outcome === 'failed').length,
    successRatio: outcomes.length === 0 ? 0 : ok.length / outcomes.length,
    answerMs: dist(ok.map((o) => o.tAnswer! - o.tQuery)),
    connectMs: dist(ok.map((o) => o.tConnected! - o.tQuery)),
    errors,
  };
}

export interface SearchStep { burst: number; summary: LoadSummary }

/**
 * The largest burst served with >= `target` success: doubling from `start` up to `max`, then
 * bisection between the last burst served and the first one not served, to within `resolution`
 * (relative). Each step waits `settleMs` first, so RCs, leases and the server's refusal hold of
 * the step before have ended. Every step's wrong-host count is returned for the caller to assert.
 */
export async function searchCapacity(
  o: { start: number; max: number; resolution: number; target: number; settleMs: number },
  burst: (n: number) => Promise<LoadSummary>,
): Promise<{ capacity: number; steps: SearchStep[] }> {
  const steps: SearchStep[] = [];
  const tryN = async (n: number) => {
    await sleep(o.settleMs);
    const summary = await burst(n);
    steps.push({ burst: n, summary });
    return summary.successRatio >= o.target;
  };
  let good = 0;
  let bad = 0;
  for (let n = Math.min(o.start, o.max); ; n = Math.min(n * 2, o.max)) {
    if (await tryN(n)) good = n;
    else {
      bad = n;
      break;
    }
    if (n >= o.max) break;
  }
  while (bad > 0 && bad - good > Math.max(1, Math.ceil(good * o.resolution))) {
    const mid = Math.floor((good + bad) / 2);
    if (await tryN(mid)) good = mid;
    else bad = mid;
  }
  return { capacity: good, steps };
}
