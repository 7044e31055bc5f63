// Established flows for scenarios that disturb the control plane: a long TCP download from alice
// to en1 and a UDP flow (same 5-tuple each time, no new lookup). They belong to the data plane,
// so they must keep working whatever happens to RCs or to `ntss router`.
import { ADDR, ECHO_PORT } from '../topology.js';
import { describe, tag, type ScenarioContext } from './context.js';

const INTERVAL_MS = 200;
const UDP_SOURCE_PORT = 40007;

export interface Flows {
  /** Checks that both flows still reach alice; `what` says when. */
  flowing(what: string): Promise<void>;
  /** Waits for the download's end and checks it completed at both ends. */
  finish(): Promise<void>;
}

/** Starts both flows from en1 (the download runs streamS seconds); fails the scenario when either does not start. */
export async function startFlows(ctx: ScenarioContext, streamS: number): Promise<Flows> {
  let ticks = 0;
  const streamTag = tag('stream');
  const stream = ctx.curl('en1', `http://alice.home.example/stream?seconds=${streamS}&interval=${INTERVAL_MS}&tag=${streamTag}`, {
    maxTimeS: streamS + 20,
    extra: ['--no-buffer'], // each tick as it arrives, not when curl's stdout buffer fills
    onStdout: (s) => (ticks += (s.match(/tick=/g) ?? []).length),
  });
  await ctx.sleep(1000);
  ctx.must(ticks > 0, 'en1: a long download from alice.home.example is running', `${ticks} ticks so far`);

  const udpTag = tag('flow');
  const first = await ctx.udp('en1', `alice.home.example:${ECHO_PORT}`, `${udpTag}-0`, { sourcePort: UDP_SOURCE_PORT });
  ctx.must(first.reply.startsWith('host=alice '), `en1: UDP flow from port ${UDP_SOURCE_PORT} to alice.home.example:${ECHO_PORT}`, first.reply || 'no reply');

  return {
    async flowing(what) {
      const before = ticks;
      await ctx.sleep(4 * INTERVAL_MS);
      ctx.check(ticks > before, `the download still flows ${what}`, `${before} -> ${ticks} ticks`);
      const u = await ctx.udp('en1', `${ADDR.routerWan}:${ECHO_PORT}`, `${udpTag}-${what}`, { sourcePort: UDP_SOURCE_PORT });
      ctx.check(u.reply.startsWith('host=alice '), `the UDP flow (same 5-tuple, no new lookup) still reaches alice ${what}`, u.reply || 'no reply');
    },
    async finish() {
      const r = await stream;
      const expected = Math.floor((streamS * 1000) / INTERVAL_MS);
      const got = (r.body.match(/tick=/g) ?? []).length;
      ctx.check(r.ok && r.body.includes(`done ticks=${expected}`) && got === expected, `en1's download completed: ${got}/${expected} ticks, then "done"`,
        r.ok ? '' : describe(r));
      const end = ctx.seen('alice', streamTag, 'stream-end');
      ctx.check(end.length === 1 && end[0].complete === true && ctx.fromEn(end[0], 'en1', 'tcp'), 'alice\'s log: the stream to en1 ended complete',
        JSON.stringify(end.map((e) => ({ client: e.client, ticks: e.ticks, complete: e.complete }))));
    },
  };
}
