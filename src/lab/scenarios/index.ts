// The scenario list and the runner: each scenario prints its checks, then PASS or FAIL.
import { logTail } from '../daemons.js';
import type { Lab } from '../lab.js';
import { sleep } from '../shell.js';
import { aaaa, basic, udp } from './basic.js';
import { ScenarioContext, ScenarioFailed, type Scenario } from './context.js';
import { established } from './established.js';
import { ntsLoss } from './fault-loss.js';
import { routerKill } from './fault-router.js';
import { serverKill } from './fault-server.js';
import { routerUnreachable } from './fault-unreachable.js';
import { floodScenario } from './flood.js';
import { latency } from './latency.js';
import { learning } from './learning.js';
import { interference, simultaneous } from './paper.js';
import { forged, noRc } from './refusals.js';
import { browser } from './browser.js';
import { profile } from './profile.js';
import { scanner } from './scanner.js';
import { switchHosts } from './switch.js';
import { v1 } from './v1.js';
import { zoo } from './zoo.js';

/** Faults on the NTS channel and the daemons (test/lab-faults.test.ts). */
export const FAULT_SCENARIOS: readonly Scenario[] = [ntsLoss, routerKill, serverKill, routerUnreachable];
export const SCENARIOS: readonly Scenario[] = [basic, udp, aaaa, simultaneous, interference, established, noRc, forged, learning, switchHosts, latency, v1, zoo, browser, scanner, profile, ...FAULT_SCENARIOS, floodScenario];
/** Measurements of minutes or with their own test (lab.test.ts leaves them out). */
export const MEASUREMENTS: readonly Scenario[] = [profile, floodScenario];
/** "Never the wrong host" under every resolver (test/lab-zoo.test.ts). */
export const ZOO_SCENARIOS: readonly Scenario[] = [zoo, browser, scanner];

/** "all", or names separated by commas; throws with the list of names on an unknown one. */
export function selectScenarios(spec: string): Scenario[] {
  if (spec === 'all') return [...SCENARIOS];
  return spec.split(',').map((n) => {
    const s = SCENARIOS.find((x) => x.name === n.trim());
    if (!s) throw new Error(`unknown scenario "${n}" (scenarios: ${SCENARIOS.map((x) => x.name).join(', ')}, all)`);
    return s;
  });
}

export interface RunSummary {
  passed: string[];
  failed: string[];
  results: Record<string, number>;
}

/**
 * Watches one scenario (a capture for --diagram): called before it runs; what it returns is
 * called after it ran, before its verdict, and fails the scenario when it throws.
 */
export type ScenarioObserver = (sc: Scenario) => Promise<() => Promise<void>>;

export async function runScenarios(lab: Lab, list: readonly Scenario[], say: (line: string) => void, observe?: ScenarioObserver): Promise<RunSummary> {
  const summary: RunSummary = { passed: [], failed: [], results: {} };
  for (const [i, sc] of list.entries()) {
    const ctx = new ScenarioContext(lab, say);
    // Scenarios sharing one lab: let the previous one's RCs and holds run out first.
    if (i > 0) await sleep(ctx.rcTimeout + ctx.hold + 200);
    say(`== ${sc.name}: ${sc.summary}`);
    const t0 = Date.now();
    let error: string | undefined;
    if (sc.needs?.includes('learning') && !lab.mode.learning) {
      error = 'this build of ntss router has no PHL learning (router config key "learning")';
    } else if (sc.needs?.includes('kernel') && lab.mode.dataplane !== 'nftables') {
      error = 'needs the nftables data plane';
    } else {
      let after: (() => Promise<void>) | undefined;
      try {
        after = await observe?.(sc);
        await sc.run(ctx);
      } catch (e) {
        if (!(e instanceof ScenarioFailed)) error = (e as Error).message; // a failed must() was printed already
      }
      try {
        await after?.();
      } catch (e) {
        ctx.check(false, (e as Error).message);
      }
    }
    if (error) ctx.check(false, error);
    Object.assign(summary.results, ctx.results);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (ctx.failures === 0) {
      summary.passed.push(sc.name);
      say(`PASS ${sc.name} (${secs} s)`);
    } else {
      summary.failed.push(sc.name);
      say(`FAIL ${sc.name} (${secs} s, ${ctx.failures} failed check${ctx.failures > 1 ? 's' : ''}); the daemons' last words:`);
      for (const d of ['router', 'server']) say(logTail(lab.s, d, 12));
    }
  }
  return summary;
}
