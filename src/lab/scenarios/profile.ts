// The resolver's profile as an authoritative server sees it (src/lab/README.md, "Resolver
// zoo"): measured against the probe authoritative (probe-auth.ts) on the server host, from en1
// through the lab's resolver, each part with a fresh resolver (no cache, no memory of servers).
//   - TTL the EN sees for a TTL-0 answer; whether every lookup reaches the authoritative
//   - retry pattern towards an authoritative that never answers (unknown and known server),
//     and what the client gets (SERVFAIL when, or nothing)
//   - patience: the longest hold of the answer that still reaches the client (bisection)
//   - how long an authoritative SERVFAIL is cached
//   - fingerprint: EDNS payload size, DO, COOKIE, 0x20, qname minimisation, ECS
import { PROBE_AUTH_JS, logTail, startDaemon, waitReady } from '../daemons.js';
import { PROBE_ADDR, PROBE_ZONE } from '../topology.js';
import type { RunResult } from '../shell.js';
import { tag, type Scenario, type ScenarioContext } from './context.js';

// Knot Resolver answers a never-answered lookup SERVFAIL after ~11.5 s (its TCP try times out).
const DROP_WAIT_S = Number(process.env.NTSS_LAB_PROFILE_WAIT_S ?? 15);
const BISECT_STEPS = Number(process.env.NTSS_LAB_PROFILE_STEPS ?? 8);
const SERVFAIL_MAX_MS = Number(process.env.NTSS_LAB_PROFILE_SERVFAIL_S ?? 15) * 1000;
const DELAY_MS = 100;
const PROBE_LOG = 'probe-queries.jsonl';

interface ProbeQuery { t: number; event: string; proto: string; port: number; id: number; qname: string; qtype: number; rd: boolean; cd: boolean; edns: null | { udp: number; do: boolean; cookie: boolean; ecs?: string; options: number[] } }
interface Dig { status: string; ttl?: number; address?: string; ms: number; run: RunResult }

const TYPE: Record<number, string> = { 1: 'A', 2: 'NS', 6: 'SOA', 28: 'AAAA' };
const name = (label: string) => `${label}.${PROBE_ZONE}`.toLowerCase();

class Probe {
  constructor(readonly ctx: ScenarioContext) {}

  queries(): ProbeQuery[] {
    return this.ctx.lab.jsonLines<ProbeQuery>(PROBE_LOG);
  }

  /** Queries whose name is `n` or below it. */
  for(n: string): ProbeQuery[] {
    return this.queries().filter((q) => q.event === 'query' && (q.qname.toLowerCase() === n || q.qname.toLowerCase().endsWith(`.${n}`)));
  }

  async dig(n: string, type = 'A', timeS = 3): Promise<Dig> {
    const run = await this.ctx.lab.exec('en1', 'dig', [`+time=${timeS}`, '+tries=1', n, type], { timeoutMs: (timeS + 5) * 1000 });
    const status = /status: (\w+)/.exec(run.stdout)?.[1] ?? (/timed out|no servers could be reached/.test(run.stdout) ? 'no answer' : `exit ${run.code}`);
    const line = /;; ANSWER SECTION:\n(\S+)\s+(\d+)\s+IN\s+A\s+(\S+)/.exec(run.stdout);
    const qt = /;; Query time: (\d+) msec/.exec(run.stdout);
    return { status, ttl: line ? Number(line[2]) : undefined, address: line?.[3], ms: qt ? Number(qt[1]) : run.ms, run };
  }

  /** A fresh resolver that has already asked the probe a few fast questions (the server is known). */
  async fresh(warm: boolean): Promise<void> {
    await this.ctx.lab.restartResolver();
    if (warm) for (let i = 0; i < 3; i++) await this.dig(name(tag('ttl0-warm')));
  }
}

const ms = (x: number) => `${Math.round(x)}`;
const intervals = (qs: ProbeQuery[]) => qs.slice(1).map((q, i) => q.t - qs[i].t);

/** Every query the resolver sends for a name that is never answered, and what its client got. */
async function dropped(ctx: ScenarioContext, p: Probe, warm: boolean): Promise<void> {
  await p.fresh(warm);
  const n = name(tag('drop'));
  const t0 = performance.timeOrigin + performance.now();
  const d = await p.dig(n, 'A', DROP_WAIT_S);
  await ctx.sleep(2000); // retries after the client's answer or give-up
  const qs = p.for(n);
  const what = warm ? 'known' : 'unknown';
  ctx.check(qs.length > 0, `never-answered name, ${what} server: the resolver asked the probe`, `${qs.length} queries`);
  if (qs.length === 0) return;
  const client = d.status === 'no answer' ? `nothing within ${DROP_WAIT_S} s` : `${d.status} after ${ms(d.ms)} ms`;
  ctx.note(`[retry ${what}] ${qs.length} queries; first ${ms(qs[0].t - t0)} ms after the client asked; intervals ${intervals(qs).map(ms).join(', ')} ms; `
    + `last at +${ms(qs[qs.length - 1].t - qs[0].t)} ms; protocols ${[...new Set(qs.map((q) => q.proto))].join('/')}; `
    + `new id each: ${new Set(qs.map((q) => q.id)).size === qs.length}, new port each: ${new Set(qs.map((q) => q.port)).size === qs.length}; client got ${client}`);
  ctx.results[`profile.firstRetryMs.${what}`] = qs.length > 1 ? Math.round(qs[1].t - qs[0].t) : -1;
  ctx.results[`profile.dropClientMs.${what}`] = d.status === 'no answer' ? -1 : Math.round(d.ms);
}

/** The longest hold whose answer still reaches the client, by bisection (warm resolver each time). */
async function patience(ctx: ScenarioContext, p: Probe): Promise<void> {
  let lo = 0;
  let hi = DROP_WAIT_S * 1000;
  const trail: string[] = [];
  for (let i = 0; i < BISECT_STEPS; i++) {
    const hold = Math.round((lo + hi) / 2);
    await p.fresh(true);
    const d = await p.dig(name(tag(`hold${hold}`)), 'A', DROP_WAIT_S + 2);
    const ok = d.status === 'NOERROR' && d.address !== undefined;
    trail.push(`${hold}: ${ok ? 'answer' : d.status} after ${ms(d.ms)} ms`);
    if (ok) lo = hold;
    else hi = hold;
  }
  ctx.results['profile.patienceMs'] = lo;
  ctx.note(`[patience] a held answer reached the client up to ${lo} ms, not at ${hi} ms (${trail.join('; ')})`);
  ctx.check(lo > 0, 'patience: some held answer reached the client', `${lo} ms`);
}

async function servfailCache(ctx: ScenarioContext, p: Probe): Promise<void> {
  await p.fresh(true);
  const n = name(tag('servfail'));
  const first = await p.dig(n);
  const endFirst = performance.timeOrigin + performance.now();
  await ctx.sleep(50);
  const initial = p.for(n).length;
  let again: number | undefined;
  let lookups = 1;
  while (performance.timeOrigin + performance.now() - endFirst < SERVFAIL_MAX_MS) {
    await ctx.sleep(250);
    await p.dig(n);
    lookups++;
    const later = p.for(n).slice(initial);
    if (later.length > 0) {
      again = later[0].t - endFirst;
      break;
    }
  }
  ctx.check(first.status === 'SERVFAIL', 'SERVFAIL from the authoritative reaches the client as SERVFAIL', `${first.status}, ${initial} queries for it`);
  ctx.results['profile.servfailCacheMs'] = again === undefined ? -1 : Math.round(again);
  ctx.note(`[servfail] the first lookup made ${initial} queries; `
    + (again === undefined ? `no lookup reached the probe again within ${SERVFAIL_MAX_MS} ms (${lookups} lookups)` : `the next query reached the probe ${ms(again)} ms later (lookups every ~250 ms: ${lookups})`));
}

/** A lookup of a name the probe answers after DELAY_MS: did the EN wait for the authoritative? */
async function timedLookup(p: Probe, n: string): Promise<{ d: Dig; queries: number; waited: boolean }> {
  const before = p.for(n).length;
  const d = await p.dig(n);
  await p.ctx.sleep(50); // a background refresh may trail the answer
  // dig's own clock says 99 ms for a 100 ms delay at times; the cache answers in 0-4 ms.
  return { d, queries: p.for(n).length - before, waited: d.address !== undefined && d.ms >= DELAY_MS / 2 };
}

async function ttlAndFingerprint(ctx: ScenarioContext, p: Probe): Promise<void> {
  await p.fresh(false);
  // TTL 0 answers 100 ms late: a lookup that took >= 100 ms waited for the authoritative, one
  // that did not was answered from the resolver's cache (whatever queries it also sent).
  const n1 = name(tag(`delay${DELAY_MS}-twice`));
  const twice = [await timedLookup(p, n1), await timedLookup(p, n1)];
  const n2 = name(tag(`delay${DELAY_MS}-spaced`));
  const spaced: Awaited<ReturnType<typeof timedLookup>>[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await ctx.sleep(1000);
    spaced.push(await timedLookup(p, n2));
  }
  const [a, b] = twice.map((x) => x.d);
  ctx.check(a.ttl !== undefined && b.ttl !== undefined, 'TTL-0 answer: the EN got an answer twice', `${a.status}/${b.status}${a.ttl === undefined ? `\n${logTail(ctx.lab.s, ctx.lab.resolverDaemon, 15)}` : ''}`);
  ctx.results['profile.ttlFirst'] = a.ttl ?? -1;
  ctx.results['profile.ttlSecond'] = b.ttl ?? -1;
  const sum = (xs: typeof twice) => `the EN waited for the authoritative in ${xs.filter((x) => x.waited).length}/${xs.length} `
    + `(EN times ${xs.map((x) => ms(x.d.ms)).join(', ')} ms), queries at the authoritative ${xs.map((x) => x.queries).join('+')}`;
  ctx.note(`[ttl] TTL 0 at the probe; the EN saw ${a.ttl} then ${b.ttl}; back to back: ${sum(twice)}; one second apart: ${sum(spaced)}`);
  ctx.results['profile.reachedBackToBack'] = twice.filter((x) => x.waited).length;
  ctx.results['profile.reachedSpaced'] = spaced.filter((x) => x.waited).length;

  // What it asks before the full name (qname minimisation), for a deep name and for AAAA.
  const deep = name(`x.y.${tag('ttl0-deep')}`);
  await p.dig(deep);
  const steps = (n: string) => p.for(n.split('.').slice(-4).join('.')).map((q) => `${q.qname} ${TYPE[q.qtype] ?? q.qtype}`);
  const deepSteps = steps(deep);
  const six = name(tag('ttl0-aaaa'));
  await p.dig(six, 'AAAA');
  const sixSteps = p.for(six).map((q) => `${q.qname} ${TYPE[q.qtype] ?? q.qtype}`);
  ctx.note(`[qmin] dig A ${deep}: the probe saw ${deepSteps.join(' -> ')}`);
  ctx.note(`[qmin] dig AAAA ${six}: the probe saw ${sixSteps.join(' -> ')}`);

  const all = p.queries().filter((q) => q.event === 'query');
  const e = all.filter((q) => q.edns);
  const mixed = all.filter((q) => /[A-Z]/.test(q.qname)).length;
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  ctx.note(`[fingerprint] ${all.length} queries: EDNS ${e.length}/${all.length}, UDP size ${uniq(e.map((q) => q.edns!.udp)).join('/')}, `
    + `DO ${e.filter((q) => q.edns!.do).length}/${e.length}, COOKIE ${e.filter((q) => q.edns!.cookie).length}/${e.length}, `
    + `ECS ${uniq(e.map((q) => q.edns!.ecs ?? 'none')).join('/')}, options ${uniq(e.flatMap((q) => q.edns!.options)).join(',') || 'none'}, `
    + `0x20 (mixed case) ${mixed}/${all.length}, RD ${all.filter((q) => q.rd).length}/${all.length}, CD ${all.filter((q) => q.cd).length}/${all.length}, `
    + `TCP ${all.filter((q) => q.proto === 'tcp').length}`);
  ctx.results['profile.ednsUdp'] = e[0]?.edns?.udp ?? -1;
}

export const profile: Scenario = {
  name: 'profile',
  summary: 'measures the lab resolver against a probe authoritative: TTL floor, retries, patience, SERVFAIL caching, fingerprint (slow: about 1-2 min)',
  async run(ctx) {
    startDaemon(ctx.lab.s, 'probe', 'server', process.execPath, [PROBE_AUTH_JS, '--listen', PROBE_ADDR, '--log', ctx.lab.file(PROBE_LOG)]);
    await waitReady(ctx.lab.s, 'probe', 'listening', () => new Probe(ctx).queries().some((q) => q.event === 'listening'));
    const p = new Probe(ctx);
    ctx.note(`resolver: ${ctx.lab.mode.resolverVersion}${ctx.lab.mode.ecs ? ', --ecs' : ''}`);
    await ttlAndFingerprint(ctx, p);
    await dropped(ctx, p, false);
    await dropped(ctx, p, true);
    await servfailCache(ctx, p);
    await patience(ctx, p);
  },
};
