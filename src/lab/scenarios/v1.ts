// NTSS v1 (the paper's first system) beside v2: en1 and en3 use `ntss resolver` as their
// primary DNS (an unmodified EN: only its resolv.conf names it), en2 keeps the lab's resolver
// (v2). A v1 RC is keyed on the EN's own address, so two v1 ENs are served at once without
// waiting for each other, and nobody else can use an EN's RC, not even during its life.
import { ADDR } from '../topology.js';
import { tag, type Scenario } from './context.js';
import { Tally, record, verdict } from './outcomes.js';

export const v1: Scenario = {
  name: 'v1',
  summary: 'en1 and en3 behind ntss resolver (NTSS v1), en2 behind the lab resolver (v2): v1 RCs are per EN, in parallel, and no third party can use them',
  async run(ctx) {
    await ctx.lab.useV1Resolver(['en1', 'en3']);
    ctx.note(`en1 and en3: nameserver ${ADDR.v1resolver} (ntss resolver, forwarding to ${ADDR.resolver}); en2: ${ADDR.resolver}`);
    const tallies = { en1: new Tally(), en2: new Tally(), en3: new Tally() };

    // 1. Two v1 ENs, two hosts, one address, at the same moment: no serialization.
    const [a, b] = await Promise.all([
      ctx.curl('en1', `http://alice.home.example/?tag=${tag('v1-en1')}`, { maxTimeS: 6 }),
      ctx.curl('en3', `http://bob.home.example/?tag=${tag('v1-en3')}`, { maxTimeS: 6 }),
    ]);
    record(ctx, tallies.en1, a, 'alice', 'en1 (v1) -> alice, at the same time as en3');
    record(ctx, tallies.en3, b, 'bob', 'en3 (v1) -> bob, at the same time as en1');
    const slowest = a.host && b.host ? Math.max(a.dnsMs ?? Infinity, b.dnsMs ?? Infinity) : Infinity;
    ctx.check(slowest < 1000, 'both v1 ENs reached their hosts without waiting for each other (lookups < 1 s)', `dns ${a.dnsMs?.toFixed(0)} and ${b.dnsMs?.toFixed(0)} ms`);
    ctx.results['v1.parallel.dnsMs'] = slowest;
    await ctx.sleep(ctx.hold + 200);

    // 2. en1 looks alice up (its RC now exists); en2, who did not ask, connects first: refused.
    const g = await ctx.getent('en1', 'alice.home.example');
    ctx.must(g.address !== undefined, 'en1 looks up alice through ntss resolver', g.run.stderr.trim());
    const third = await ctx.curl('en2', `http://${g.address}/?tag=${tag('v1-third')}`, { maxTimeS: 1, extra: ['-H', 'Host: alice.home.example'] });
    ctx.check(third.host === undefined, 'en2 connecting to that address during en1\'s v1 RC reaches nobody', third.host ?? 'refused');
    ctx.results['v1.third-party.reached'] = third.host === undefined ? 0 : 1;
    const mine = await ctx.curl('en1', `http://alice.home.example/?tag=${tag('v1-en1b')}`, { maxTimeS: 6, extra: ['--resolve', `alice.home.example:80:${g.address}`] });
    record(ctx, tallies.en1, mine, 'alice', 'en1 (v1) connects on its lookup');
    await ctx.sleep(ctx.hold + 200);

    // 3. Beside v2: en1 (v1) -> bob and en2 (v2) -> alice together. They share the address,
    // so the router serializes them (a v1 RC and another host's `any` RC overlap for en1).
    const [c, d] = await Promise.all([
      ctx.curl('en1', `http://bob.home.example/?tag=${tag('v1-mixed')}`, { maxTimeS: 6 }),
      ctx.curl('en2', `http://alice.home.example/?tag=${tag('v2-mixed')}`, { maxTimeS: 6 }),
    ]);
    record(ctx, tallies.en1, c, 'bob', 'en1 (v1) -> bob, beside en2 (v2) -> alice');
    record(ctx, tallies.en2, d, 'alice', 'en2 (v2) -> alice, beside en1 (v1) -> bob');
    verdict(ctx, 'v1', tallies);
  },
};
