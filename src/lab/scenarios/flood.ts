// Issue 8's flood: attackers on the Internet ask the NTSv2 server for alice, bob and carol at a
// fixed rate and never connect, while en2 looks up and connects to bob every second and en1 to
// alice every two (through the lab resolver). Measured: the good ENs' success ratio during the
// attack (wrong host must stay 0), the attackers' share of the router's RCs (its JSON log), and
// both daemons' memory before, during and after. Not judged on the ratio: that is the number.
import { daemonMemory, type DaemonEvent, type DaemonMemory } from '../daemons.js';
import { checkFloodSpec, flood, isAttackerSource, type DnsperfResult, type FloodSpec, type FloodTransport } from '../flood.js';
import { rcShare } from '../rc-share.js';
import { LabError } from '../shell.js';
import { ADDR, type ExternalNode, type InsideHost } from '../topology.js';
import { describe, tag, type Scenario, type ScenarioContext } from './context.js';
import { Tally, record } from './outcomes.js';
import { every } from './pace.js';

export type FloodOrder = 'warm' | 'attack-first';

export interface FloodOptions extends FloodSpec {
  /** warm: the good ENs run WARM_S alone first; attack-first: they start WARM_S into the attack. */
  order: FloodOrder;
  warmS: number;
}

/** From NTSS_LAB_FLOOD_* (defaults: one attacker, 300 q/s, UDP, own address, 15 s, warm). */
export function floodOptions(env: NodeJS.ProcessEnv = process.env): FloodOptions {
  const transport = (env.NTSS_LAB_FLOOD_TRANSPORT ?? 'udp') as FloodTransport;
  const order = (env.NTSS_LAB_FLOOD_ORDER ?? 'warm') as FloodOrder;
  if (order !== 'warm' && order !== 'attack-first') throw new LabError(`NTSS_LAB_FLOOD_ORDER must be warm or attack-first, got ${order}`, 'USAGE');
  const o: FloodOptions = {
    rate: Number(env.NTSS_LAB_FLOOD_RATE ?? 300),
    attackers: Number(env.NTSS_LAB_FLOOD_ATTACKERS ?? 1),
    forged: ['1', 'yes', 'true'].includes(env.NTSS_LAB_FLOOD_FORGED ?? '0'),
    transport, seconds: Number(env.NTSS_LAB_FLOOD_SECONDS ?? 15), order, warmS: Number(env.NTSS_LAB_FLOOD_WARM_S ?? 4),
  };
  if (!(Number.isFinite(o.warmS) && o.warmS >= 0 && o.warmS <= 60)) {
    throw new LabError(`NTSS_LAB_FLOOD_WARM_S must be 0..60 seconds, got ${env.NTSS_LAB_FLOOD_WARM_S}`, 'USAGE');
  }
  try {
    checkFloodSpec(o);
  } catch (e) {
    throw new LabError(`${(e as Error).message} (from NTSS_LAB_FLOOD_RATE, _ATTACKERS, _SECONDS, _TRANSPORT, _FORGED)`, 'USAGE');
  }
  return o;
}

const EN2_EVERY_MS = 1000;
const EN1_EVERY_MS = 2000;
const AFTER_MS = 3000;

interface Attempt { startedAt: number; ms: number; outcome: 'right' | 'wrong' | 'refused'; host: InsideHost; why: string }
interface MemorySeries { before?: DaemonMemory; maxRss: number; after?: DaemonMemory }

export const floodScenario: Scenario = {
  name: 'flood',
  summary: 'attackers on 192.0.2.100+ (or forging the resolver) query the server for the inside hosts at NTSS_LAB_FLOOD_RATE q/s while en2 -> bob every 1 s and en1 -> alice every 2 s; reports the ENs\' success ratio, the attackers\' RC share, memory; fails on a wrong host',
  async run(ctx) {
    const o = floodOptions();
    const mem: Record<'server' | 'router', MemorySeries> = { server: { maxRss: 0 }, router: { maxRss: 0 } };
    const sample = () => {
      for (const d of ['server', 'router'] as const) mem[d].maxRss = Math.max(mem[d].maxRss, daemonMemory(ctx.lab.s, d)?.rssKiB ?? 0);
    };
    for (const d of ['server', 'router'] as const) mem[d].before = daemonMemory(ctx.lab.s, d);
    const sampler = setInterval(sample, 250);
    const t0 = Date.now();
    const goodStart = o.order === 'warm' ? t0 : t0 + o.warmS * 1000;
    const attackStart = o.order === 'warm' ? t0 + o.warmS * 1000 : t0;
    const attackEnd = attackStart + o.seconds * 1000;
    const at = (t = Date.now()) => `+${((t - t0) / 1000).toFixed(1)} s`;
    const attempts: Record<ExternalNode, Attempt[]> = { en1: [], en2: [], en3: [] };
    const tallies = { en1: new Tally(), en2: new Tally() };
    const good = (en: 'en1' | 'en2', host: InsideHost, everyMs: number) => async () => {
      await ctx.sleep(Math.max(0, goodStart - Date.now()));
      await every(ctx, everyMs, attackEnd, async (k) => {
        const startedAt = Date.now();
        const r = await ctx.curl(en, `http://${host}.home.example/?tag=${tag(`flood-${en}`)}`, { maxTimeS: 5 });
        const outcome = record(ctx, tallies[en], r, host, `${en} #${k + 1} lookup + connect ${host}, started at ${at(startedAt)}${startedAt >= attackStart ? '' : ' (before the attack)'}`);
        attempts[en].push({ startedAt, ms: r.run.ms, outcome, host, why: describe(r) });
      });
    };
    let perf: DnsperfResult[] = [];
    ctx.note(`${o.attackers} attacker(s)${o.forged ? ' forging the resolver\'s address' : ''}, ${o.rate} q/s ${o.transport} in all, ${o.seconds} s; `
      + `${o.order === 'warm' ? `the ENs start ${o.warmS} s before the attack` : `the attack starts ${o.warmS} s before the ENs`}`);
    try {
      await Promise.all([
        good('en2', 'bob', EN2_EVERY_MS)(),
        (async () => {
          await ctx.sleep(EN1_EVERY_MS / 4); // en1 out of phase with en2
          await good('en1', 'alice', EN1_EVERY_MS)();
        })(),
        (async () => {
          await ctx.sleep(Math.max(0, attackStart - Date.now()));
          ctx.note(`attack starts at ${at()}`);
          perf = await flood(ctx.lab, o);
          ctx.note(`attack over at ${at()}`);
        })(),
      ]);
      await ctx.sleep(Math.max(0, attackEnd + AFTER_MS - Date.now()));
    } finally {
      clearInterval(sampler);
    }
    sample();
    for (const d of ['server', 'router'] as const) mem[d].after = daemonMemory(ctx.lab.s, d);

    for (const p of perf) {
      ctx.check(p.error === undefined && p.sent > 0, `dnsperf from ${p.source} ran`, p.error ?? `sent ${p.sent}, completed ${p.completed}, lost ${p.lost}; ${p.rcodes || 'no answers'}`);
    }
    const sent = perf.reduce((n, p) => n + (p.sent || 0), 0);
    const during = (['en1', 'en2'] as const).flatMap((en) => attempts[en].filter((a) => a.startedAt >= attackStart && a.startedAt < attackEnd));
    const before = (['en1', 'en2'] as const).flatMap((en) => attempts[en].filter((a) => a.startedAt < attackStart));
    const right = during.filter((a) => a.outcome === 'right').length;
    const wrong = [...during, ...before].filter((a) => a.outcome === 'wrong').length;
    const share = rcShare(ctx.lab.events('router'), attackStart, attackEnd + AFTER_MS, isAttackerSource);
    const ratio = during.length ? right / during.length : 0;
    const mib = (k?: number) => (k === undefined || !Number.isFinite(k) ? '?' : (k / 1024).toFixed(0));
    Object.assign(ctx.results, {
      'flood.attempts': during.length, 'flood.right': right, 'flood.wrong': wrong, 'flood.ratio': Math.round(ratio * 1000) / 1000,
      'flood.warm.attempts': before.length, 'flood.warm.right': before.filter((a) => a.outcome === 'right').length,
      'flood.sent': sent, 'flood.rcs': share.rcs, 'flood.attackerRcs': share.attackerRcs, 'flood.readies': share.readies, 'flood.attackerReadies': share.attackerReadies,
      'flood.server.rssMaxKiB': mem.server.maxRss, 'flood.router.rssMaxKiB': mem.router.maxRss,
      'flood.server.hwmKiB': mem.server.after?.hwmKiB ?? NaN, 'flood.router.hwmKiB': mem.router.after?.hwmKiB ?? NaN,
    });
    for (const [en, t] of Object.entries(tallies)) ctx.check(t.wrong === 0, `${en}: never the wrong host -- ${t.text()}`, t.wrongs.join('; '));
    if (o.order === 'warm') ctx.note(`before the attack: ${before.filter((a) => a.outcome === 'right').length}/${before.length} right`);
    ctx.note(`attackers sent ${sent} queries (${(sent / o.seconds).toFixed(0)}/s); router: ${share.requests} NTS requests (${share.attackerRequests} the attackers'), `
      + `${share.rcs} RCs (${share.attackerRcs} the attackers', ${share.usedRcs} used by an EN), READY ${share.readies} (${share.attackerReadies} to attackers); `
      + `refusals to the good resolver: ${Object.entries(share.goodRefusals).map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}`);
    for (const d of ['server', 'router'] as const) {
      const m = mem[d];
      ctx.note(`${d} memory: RSS before ${mib(m.before?.rssKiB)} MiB, max during ${mib(m.maxRss)} MiB, after ${mib(m.after?.rssKiB)} MiB; VmHWM ${mib(m.after?.hwmKiB)} MiB`);
    }
    for (const a of during.filter((x) => x.outcome === 'refused')) explainRefusal(ctx, a, t0);
    ctx.must(during.length > 0 && sent > 0, 'the ENs tried during the attack and the attackers sent', `${during.length} attempts, ${sent} queries`);
    // One line for scripts (bench/flood/flood.mjs, test/lab-flood.test.ts).
    ctx.note(`flood under ${ctx.lab.mode.resolverVersion ?? ctx.lab.mode.resolver}, ${ctx.lab.mode.globalAddresses.length} global address(es), `
      + `${o.attackers} attacker(s) ${o.rate} q/s ${o.forged ? 'forged ' : ''}${o.transport} ${o.order}: good ${right}/${during.length} (${(ratio * 100).toFixed(1)}%), wrong ${wrong}, `
      + `attackers' RCs ${share.attackerRcs}/${share.rcs}, server RSS max ${mib(mem.server.maxRss)} MiB, router RSS max ${mib(mem.router.maxRss)} MiB`);
  },
};

/**
 * Why a good lookup failed, from the daemons' JSON logs: what the NTSv2 server asked the router
 * for the lab resolver and this name while curl ran, and how each ended; no request
 * at all means the resolver's query never got through to the NTS step (verification, timeout).
 */
function explainRefusal(ctx: ScenarioContext, a: Attempt, t0: number): void {
  const name = `${a.host}.home.example.`;
  const inWindow = (e: DaemonEvent) => {
    const t = Date.parse(e.time);
    return t >= a.startedAt && t <= a.startedAt + a.ms && e.name === name && e.resolver === ADDR.resolver;
  };
  const server = ctx.lab.events('server').filter((e) => ['nts-request', 'nts-ready', 'nts-failed'].includes(e.event) && inWindow(e));
  const steps = server.map((e) => `${e.event}${e.status ? ` ${String(e.status)}` : ''}${e.reason ? ` (${String(e.reason)})` : ''} at +${((Date.parse(e.time) - t0) / 1000).toFixed(2)} s`);
  ctx.note(`why ${a.host} at +${((a.startedAt - t0) / 1000).toFixed(1)} s failed (${a.why}): ${steps.join(', ') || 'the server sent the router no NTS request for it'}`);
}
