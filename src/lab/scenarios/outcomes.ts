// Every connection of the zoo scenarios is classified by what the inside host said (its HTTP
// answer names itself): the host whose name the EN looked up last (right), another one (wrong),
// or none (refused: connection refused, reset, timeout or a failed lookup). Wrong is the one
// outcome NTSSv2 must never produce; refusals are its accepted cost and are only counted.
import type { ExternalNode, InsideHost } from '../topology.js';
import { tag, type HttpResult, type ScenarioContext } from './context.js';

export type Outcome = 'right' | 'wrong' | 'refused';

/** curl's exit codes, as a refusal's reason. */
const CURL_REASONS: Record<number, string> = {
  6: 'lookup failed', 7: 'connection refused', 28: 'timeout', 52: 'empty reply', 56: 'reset',
};

export function classify(r: HttpResult, wanted: InsideHost): { outcome: Outcome; why: string } {
  if (r.host !== undefined) return r.host === wanted ? { outcome: 'right', why: r.host } : { outcome: 'wrong', why: `${r.host}, not ${wanted}` };
  const code = r.run.code ?? -1;
  return { outcome: 'refused', why: CURL_REASONS[code] ?? `curl exit ${r.run.code ?? r.run.signal}` };
}

export class Tally {
  right = 0;
  wrong = 0;
  refused = 0;
  readonly reasons = new Map<string, number>();
  readonly wrongs: string[] = [];

  add(outcome: Outcome, why: string, label: string): void {
    this[outcome]++;
    if (outcome === 'refused') this.reasons.set(why, (this.reasons.get(why) ?? 0) + 1);
    if (outcome === 'wrong') this.wrongs.push(`${label}: ${why}`);
  }

  get total(): number {
    return this.right + this.wrong + this.refused;
  }

  text(): string {
    const why = [...this.reasons].map(([k, n]) => `${n} ${k}`).join(', ');
    return `${this.right} right host, ${this.wrong} wrong host, ${this.refused} refused${why ? ` (${why})` : ''}`;
  }
}

/** One EN's connection: classified, counted, printed. */
export function record(ctx: ScenarioContext, tally: Tally, r: HttpResult, wanted: InsideHost, label: string): Outcome {
  const { outcome, why } = classify(r, wanted);
  tally.add(outcome, why, label);
  const dns = r.dnsMs !== undefined && r.host !== undefined ? ` (dns ${r.dnsMs.toFixed(0)} ms)` : '';
  ctx.note(`${outcome === 'wrong' ? 'WRONG' : outcome.padEnd(5)}  ${label}: ${why}${dns}`);
  return outcome;
}

/**
 * The verdict of a zoo scenario: wrong host fails it, refusals do not. At least one connection
 * must have reached its host, or the lab itself is broken (a test that cannot fail is no test).
 */
export function verdict(ctx: ScenarioContext, scenario: string, tallies: Partial<Record<string, Tally>>): void {
  const all = new Tally();
  for (const [who, t] of Object.entries(tallies)) {
    if (!t) continue;
    ctx.results[`${scenario}.${who}.right`] = t.right;
    ctx.results[`${scenario}.${who}.wrong`] = t.wrong;
    ctx.results[`${scenario}.${who}.refused`] = t.refused;
    all.right += t.right;
    all.wrong += t.wrong;
    all.refused += t.refused;
    ctx.check(t.wrong === 0, `${who}: never the wrong host -- ${t.text()}`, t.wrongs.join('; '));
  }
  ctx.results[`${scenario}.right`] = all.right;
  ctx.results[`${scenario}.wrong`] = all.wrong;
  ctx.results[`${scenario}.refused`] = all.refused;
  ctx.check(all.right > 0, 'at least one connection reached its host (the lab works at all)', `${all.right}/${all.total}`);
  ctx.note(`${scenario} under ${ctx.lab.mode.resolverVersion ?? ctx.lab.mode.resolver}, ${ctx.lab.mode.globalAddresses.length} global address(es)`
    + `${ctx.lab.mode.ecs ? ', ECS' : ''}: right ${all.right}, wrong ${all.wrong}, refused ${all.refused}`);
}

/**
 * After a fault: the EN looks up the host and connects every everyMs until it reaches it (each
 * try recorded in the tally) or giveUpAt passes. Returns ms from `from` to the success.
 */
export async function untilRight(ctx: ScenarioContext, tally: Tally, o: { en: ExternalNode; host: InsideHost; label: string; from: number; everyMs: number; giveUpAt: number }): Promise<number | undefined> {
  for (let k = 1; Date.now() < o.giveUpAt; k++) {
    const t = Date.now();
    const r = await ctx.curl(o.en, `http://${o.host}.home.example/?tag=${tag(o.label)}`, { maxTimeS: 6 });
    if (record(ctx, tally, r, o.host, `${o.label} #${k} ${o.en} -> ${o.host} at +${((t - o.from) / 1000).toFixed(2)} s`) === 'right') return Date.now() - o.from;
    await ctx.sleep(Math.max(0, t + o.everyMs - Date.now()));
  }
  return undefined;
}
