// Steps at a steady pace for a bounded time, as a person or a program repeats an action.
import type { ScenarioContext } from './context.js';

/** Runs step(k) at t0 + k x everyMs until endAt (a slow step delays the next, none overlap). */
export async function every(ctx: ScenarioContext, everyMs: number, endAt: number, step: (k: number) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  for (let k = 0; Date.now() < endAt; k++) {
    await step(k);
    const next = t0 + (k + 1) * everyMs;
    if (next >= endAt) break;
    await ctx.sleep(Math.max(0, next - Date.now()));
  }
}
