// A browser keeps an address about a minute whatever the TTL (brief.md): en1 looks alice up
// once and opens a new connection every ~2 s for the whole run, while en2 looks up and
// connects to bob every few seconds. Every connection of en1 must reach alice or be refused.
import type { ExternalNode } from '../topology.js';
import { tag, type Scenario } from './context.js';
import { Tally, record, verdict } from './outcomes.js';
import { every } from './pace.js';

const SECONDS = Math.max(2, Number(process.env.NTSS_LAB_BROWSER_SECONDS ?? 20));
const BROWSER_EVERY_MS = 2000;
const OTHER_EVERY_MS = 3000;
// en2's phase: every other bob connection lands ~150 ms before one of en1's (its lookup takes a
// few ms when the address is free), inside bob's hold: the moment when a router that lets the
// address serve bob while en1 may still use its answer for alice sends en1 to bob.
const OTHER_PHASE_MS = BROWSER_EVERY_MS - 150;

export const browser: Scenario = {
  name: 'browser',
  enCacheMs: 60_000, // what a browser keeps (the server's default); `--en-cache 0` shows why
  summary: `en1 looks up alice once and connects every ~2 s for ${SECONDS} s (NTSS_LAB_BROWSER_SECONDS) while en2 looks up and connects to bob every 3 s; fails on a wrong host`,
  async run(ctx) {
    const tallies: Partial<Record<ExternalNode, Tally>> = { en1: new Tally(), en2: new Tally() };
    const g = await ctx.getent('en1', 'alice.home.example');
    ctx.must(g.address !== undefined && ctx.lab.mode.globalAddresses.includes(g.address),
      'en1 looks up alice.home.example once (getent, as a browser asks its stub)', g.address ?? `exit ${g.run.code} ${g.run.stderr.trim()}`);
    const t0 = Date.now();
    const endAt = t0 + SECONDS * 1000;
    const at = () => `+${((Date.now() - t0) / 1000).toFixed(1)} s`;
    await Promise.all([
      // --resolve: curl connects to the remembered address, no new lookup (the browser's DNS cache).
      every(ctx, BROWSER_EVERY_MS, endAt, async (k) => {
        const startedAt = at();
        const r = await ctx.curl('en1', `http://alice.home.example/?tag=${tag('browser-en1')}`, { maxTimeS: 3, extra: ['--resolve', `alice.home.example:80:${g.address}`] });
        record(ctx, tallies.en1!, r, 'alice', `en1 #${k + 1} to ${g.address} (looked up alice once), started at ${startedAt}`);
      }),
      (async () => {
        await ctx.sleep(OTHER_PHASE_MS);
        await every(ctx, OTHER_EVERY_MS, endAt, async (k) => {
          const startedAt = at();
          const r = await ctx.curl('en2', `http://bob.home.example/?tag=${tag('browser-en2')}`, { maxTimeS: 6 });
          record(ctx, tallies.en2!, r, 'bob', `en2 #${k + 1} lookup + connect bob, started at ${startedAt}`);
        });
      })(),
    ]);
    verdict(ctx, 'browser', tallies);
  },
};
