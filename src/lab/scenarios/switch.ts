// One EN, two inside hosts behind the same global address and port, one after the other: every
// lookup is a fresh RC (paper 3.3), so the EN must reach the host it just looked up, also when
// the router remembers it as a recent client of the other one ("sticky source", brief.md).
import { ADDR } from '../topology.js';
import { describe, tag, type Scenario, type ScenarioContext } from './context.js';

async function visit(ctx: ScenarioContext, h: 'alice' | 'bob', round: number): Promise<boolean> {
  const t = tag(`switch${round}-${h}`);
  const r = await ctx.curl('en1', `http://${h}.home.example/?tag=${t}`);
  const seen = ctx.seen(h, t, 'http');
  return ctx.check(r.ok && r.host === h && seen.length === 1 && ctx.fromEn(seen[0], 'en1', 'tcp'),
    `round ${round}: en1 looks up ${h}.home.example and reaches ${h}`, describe(r));
}

export const switchHosts: Scenario = {
  name: 'switch',
  summary: 'en1 talks to alice, then looks up bob (same address, same port 80) and must reach bob; and back',
  async run(ctx) {
    await visit(ctx, 'alice', 1);
    // A second connection without a new lookup (a browser's next connection): sticky keeps it on alice.
    const again = await ctx.curl('en1', `http://${ADDR.routerWan}/?tag=${tag('again')}`, { maxTimeS: 2, extra: ['-H', 'Host: alice.home.example'] });
    ctx.note(`en1 again without a lookup, right after: ${describe(again)}`);
    await ctx.sleep(ctx.hold + 200); // alice's RC is gone; what remains is the router's memory of en1
    for (let i = 2; i <= 5; i++) await visit(ctx, i % 2 === 0 ? 'bob' : 'alice', i);
    // After the last hold: whoever else connects without a lookup must not be forwarded (nor
    // have taken an RC meant for en1 above).
    await ctx.sleep(ctx.hold + 200);
    const t3 = tag('bystander');
    const r3 = await ctx.curl('en3', `http://${ADDR.routerWan}/?tag=${t3}`, { maxTimeS: 2 });
    ctx.check(!r3.ok, 'en3, who never looked anything up, is not forwarded afterwards', describe(r3));
  },
};
