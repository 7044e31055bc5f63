// The case that broke behind Knot Resolver (brief.md, "TTL floors"): en1 looks up alice and
// connects, en2 looks up bob and connects, en1 looks up alice again within the resolver's TTL
// floor and connects. A resolver that keeps the TTL-0 answer answers en1's second lookup from
// its cache, so the NTSv2 server never hears of it and no RC is made for alice: en1's packet
// meets whatever the global address serves at that moment. Rounds swap the hosts and the ENs.
import type { ExternalNode, InsideHost } from '../topology.js';
import { tag, type Scenario } from './context.js';
import { Tally, record, verdict } from './outcomes.js';

const ROUNDS = Math.max(1, Number(process.env.NTSS_LAB_ZOO_ROUNDS ?? 4));

/** Round i: [first EN, its host], [second EN, the other host]; all four pairings occur. */
function round(i: number): [[ExternalNode, InsideHost], [ExternalNode, InsideHost]] {
  const [p, q]: ExternalNode[] = i % 4 < 2 ? ['en1', 'en2'] : ['en2', 'en1'];
  const [h, g]: InsideHost[] = i % 2 === 0 ? ['alice', 'bob'] : ['bob', 'alice'];
  return [[p, h], [q, g]];
}

export const zoo: Scenario = {
  name: 'zoo',
  summary: `en1 -> alice, en2 -> bob, en1 -> alice again at once (inside any resolver TTL floor), ${ROUNDS} rounds swapping hosts and ENs; fails on a wrong host`,
  async run(ctx) {
    const tallies: Record<ExternalNode, Tally> = { en1: new Tally(), en2: new Tally(), en3: new Tally() };
    for (let i = 0; i < ROUNDS; i++) {
      const [[p, h], [q, g]] = round(i);
      const t0 = Date.now();
      for (const [step, [en, host]] of ([[p, h], [q, g], [p, h]] as const).entries()) {
        // Every curl looks the name up again (its own getaddrinfo through the lab resolver).
        const startedAt = ((Date.now() - t0) / 1000).toFixed(1);
        const r = await ctx.curl(en, `http://${host}.home.example/?tag=${tag(`zoo${i + 1}-${en}`)}`, { maxTimeS: 6 });
        record(ctx, tallies[en], r, host, `round ${i + 1}.${step + 1} ${en} -> ${host} started at +${startedAt} s`);
      }
    }
    verdict(ctx, 'zoo', { en1: tallies.en1, en2: tallies.en2 });
  },
};
