// Established flows belong to the data plane, not to the control plane: a long TCP download and
// a UDP flow (same 5-tuple) keep working after their RC is gone, while other lookups come and
// go, and across a clean stop and a crash of `ntss router`.
import { describe, tag, type Scenario } from './context.js';
import { startFlows } from './flows.js';

const STREAM_S = 14;

export const established: Scenario = {
  name: 'established',
  summary: 'a long TCP download and a UDP flow survive RC removal, other NTS requests and router restarts (TERM, KILL)',
  async run(ctx) {
    const flows = await startFlows(ctx, STREAM_S);

    await ctx.sleep(ctx.hold + 300);
    await flows.flowing('after its RC was removed (hold over)');

    const b = await ctx.curl('en2', `http://bob.home.example/?tag=${tag('other')}`);
    ctx.check(b.ok && b.host === 'bob', 'meanwhile en2 -> bob (a further NTS request and RC) works', describe(b));
    await flows.flowing('after en2\'s lookup and connection');

    await ctx.lab.restartRouter('SIGTERM');
    ctx.note('ntss router stopped (SIGTERM) and started again');
    await flows.flowing('after a clean router restart');

    await ctx.lab.restartRouter('SIGKILL');
    ctx.note('ntss router killed (SIGKILL) and started again');
    await flows.flowing('after a router crash and restart');

    const b2 = await ctx.curl('en2', `http://bob.home.example/?tag=${tag('after')}`);
    ctx.check(b2.ok && b2.host === 'bob' && ctx.fromEn(b2, 'en2', 'tcp'), 'after the restarts a new lookup and connection work (en2 -> bob)', describe(b2));

    await flows.finish();
  },
};
