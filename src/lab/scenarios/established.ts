// Established flows belong to the data plane, not to the control plane: a long TCP download and
// a UDP flow (same 5-tuple) keep working after their RC is gone, while other lookups come and
// go, and across a clean stop and a crash of `ntss router`.
import { ADDR, ECHO_PORT } from '../topology.js';
import { describe, tag, type Scenario, type ScenarioContext } from './context.js';

const STREAM_S = 14;
const INTERVAL_MS = 200;
const UDP_SOURCE_PORT = 40007;

export const established: Scenario = {
  name: 'established',
  summary: 'a long TCP download and a UDP flow survive RC removal, other NTS requests and router restarts (TERM, KILL)',
  async run(ctx) {
    let ticks = 0;
    const streamTag = tag('stream');
    const stream = ctx.curl('en1', `http://alice.home.example/stream?seconds=${STREAM_S}&interval=${INTERVAL_MS}&tag=${streamTag}`, {
      maxTimeS: STREAM_S + 20,
      extra: ['--no-buffer'], // each tick as it arrives, not when curl's stdout buffer fills
      onStdout: (s) => (ticks += (s.match(/tick=/g) ?? []).length),
    });
    await ctx.sleep(1000);
    ctx.must(ticks > 0, 'en1: a long download from alice.home.example is running', `${ticks} ticks so far`);

    const udpTag = tag('flow');
    const first = await ctx.udp('en1', `alice.home.example:${ECHO_PORT}`, `${udpTag}-0`, { sourcePort: UDP_SOURCE_PORT });
    ctx.must(first.reply.startsWith('host=alice '), `en1: UDP flow from port ${UDP_SOURCE_PORT} to alice.home.example:${ECHO_PORT}`, first.reply || 'no reply');

    const flowing = async (what: string) => {
      const before = ticks;
      await ctx.sleep(4 * INTERVAL_MS);
      ctx.check(ticks > before, `the download still flows ${what}`, `${before} -> ${ticks} ticks`);
      const u = await ctx.udp('en1', `${ADDR.routerWan}:${ECHO_PORT}`, `${udpTag}-${what}`, { sourcePort: UDP_SOURCE_PORT });
      ctx.check(u.reply.startsWith('host=alice '), `the UDP flow (same 5-tuple, no new lookup) still reaches alice ${what}`, u.reply || 'no reply');
    };

    await ctx.sleep(ctx.hold + 300);
    await flowing('after its RC was removed (hold over)');

    const b = await ctx.curl('en2', `http://bob.home.example/?tag=${tag('other')}`);
    ctx.check(b.ok && b.host === 'bob', 'meanwhile en2 -> bob (a further NTS request and RC) works', describe(b));
    await flowing('after en2\'s lookup and connection');

    await ctx.lab.restartRouter('SIGTERM');
    ctx.note('ntss router stopped (SIGTERM) and started again');
    await flowing('after a clean router restart');

    await ctx.lab.restartRouter('SIGKILL');
    ctx.note('ntss router killed (SIGKILL) and started again');
    await flowing('after a router crash and restart');

    const b2 = await ctx.curl('en2', `http://bob.home.example/?tag=${tag('after')}`);
    ctx.check(b2.ok && b2.host === 'bob' && ctx.fromEn(b2, 'en2', 'tcp'), 'after the restarts a new lookup and connection work (en2 -> bob)', describe(b2));

    await checkStream(ctx, await stream, streamTag);
  },
};

async function checkStream(ctx: ScenarioContext, r: Awaited<ReturnType<ScenarioContext['curl']>>, streamTag: string): Promise<void> {
  const expected = Math.floor((STREAM_S * 1000) / INTERVAL_MS);
  const got = (r.body.match(/tick=/g) ?? []).length;
  ctx.check(r.ok && r.body.includes(`done ticks=${expected}`) && got === expected, `en1's download completed: ${got}/${expected} ticks, then "done"`,
    r.ok ? '' : describe(r));
  const end = ctx.seen('alice', streamTag, 'stream-end');
  ctx.check(end.length === 1 && end[0].complete === true && ctx.fromEn(end[0], 'en1', 'tcp'), 'alice\'s log: the stream to en1 ended complete',
    JSON.stringify(end.map((e) => ({ client: e.client, ticks: e.ticks, complete: e.complete }))));
}
