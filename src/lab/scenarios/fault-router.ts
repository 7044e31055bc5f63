// The router's control plane killed (SIGKILL) and started again after an outage. Established
// flows continue (data plane); a lookup queued at the router when it died, and one made while it
// is down, fail fast (SERVFAIL within the resolver's patience, not a hang); the PHL comes back
// from the router's store (bob and alice reachable by name without registering again); and no
// RC is made before the stored lease horizon (docs/leases.md, "A router restart"): the time to
// the first successful lookup after the restart is measured against it.
import type { DaemonEvent } from '../daemons.js';
import { nsExecArgs, run } from '../shell.js';
import { NTS_PORT } from '../topology.js';
import { describe, tag, type Scenario } from './context.js';
import { checkChannel, isRouterRunStart, markLogs, measured } from './fault-audit.js';
import { startFlows } from './flows.js';
import { Tally, record, untilRight } from './outcomes.js';

const STREAM_S = 12;
/** Answers live this long in the ENs' caches (server nts.enCacheMs): leases, and so a horizon. */
const EN_CACHE_MS = 4000;
/** Unbound's patience (profiles) plus its SERVFAIL handling: a lookup that takes longer hangs. */
const FAIL_FAST_MS = 4000;
const RETRY_MS = 500;

function lastOf(events: readonly DaemonEvent[], name: string): DaemonEvent | undefined {
  return events.filter((e) => e.event === name).pop();
}

export const routerKill: Scenario = {
  name: 'router-kill',
  summary: 'ntss router killed (SIGKILL) with a lookup queued, down a while, started again: flows continue, in-flight lookups fail fast, PHL restored, no RC before the lease horizon',
  needs: ['learning'],
  enCacheMs: EN_CACHE_MS,
  async run(ctx) {
    ctx.must((ctx.lab.mode.enCacheMs ?? 0) > 0, 'the lab grants answer leases (a horizon to resume)',
      `server nts.enCacheMs is ${ctx.lab.mode.enCacheMs ?? 0}: run it in a lab of its own (ntss lab run router-kill) or one made with --en-cache ${EN_CACHE_MS}`);
    const flows = await startFlows(ctx, STREAM_S); // en1 looked up alice: a lease of EN_CACHE_MS on the address
    const mark = markLogs(ctx);
    const learnedBefore = ctx.lab.events('server').filter((e) => e.event === 'update').length;

    // The router freezes (SIGSTOP) and dies (SIGKILL) with en2's lookup of bob unread in its NTS socket.
    ctx.lab.signal('router', 'SIGSTOP');
    const inFlight = ctx.dig('en2', 'bob.home.example', 'A', { timeS: 10 });
    await ctx.sleep(300);
    const sock = run('ip', nsExecArgs(ctx.lab.ns('router'), 'ss', ['-Hnua', 'sport', '=', `:${NTS_PORT}`]), { allowFail: true }).stdout;
    const waiting = Number(/^\S+\s+(\d+)/.exec(sock.trim())?.[1] ?? 0);
    ctx.check(waiting > 0, 'en2\'s lookup of bob waits unread in the frozen router\'s NTS socket', `Recv-Q ${waiting} bytes`);
    await ctx.lab.stopRouter('SIGKILL');
    const killedAt = Date.now();
    ctx.note('ntss router frozen (SIGSTOP) 300 ms, then killed (SIGKILL); not started again yet');
    const a = await inFlight;
    ctx.check(a.status === 'SERVFAIL' && a.ms < FAIL_FAST_MS, `the lookup in flight at the kill failed fast: ${a.status} after ${a.ms} ms (limit ${FAIL_FAST_MS})`);
    measured(ctx, 'routerKill.inFlightServfailMs', a.ms, 'ms (lookup unread in the killed router\'s socket)');
    const d = await ctx.dig('en1', 'alice.home.example', 'A', { timeS: 10 });
    ctx.check(d.status === 'SERVFAIL' && d.ms < FAIL_FAST_MS, `a lookup while the router is down fails fast: ${d.status} after ${d.ms} ms (limit ${FAIL_FAST_MS})`);
    measured(ctx, 'routerKill.downServfailMs', d.ms, 'ms (lookup while the router is down)');
    await flows.flowing('while the router is down');

    await ctx.lab.startRouterAgain();
    const restartedAt = Date.now();
    measured(ctx, 'routerKill.downMs', restartedAt - killedAt, 'ms the router was down');
    const log = ctx.lab.events('router').slice(mark.router);
    const started = log.map(isRouterRunStart).lastIndexOf(true);
    const phl = lastOf(log, 'phl-loaded');
    ctx.check(Number(phl?.learned) === 2, 'the PHL came back from the router\'s store: 2 learned entries (alice, bob)', JSON.stringify(phl));
    const horizon = lastOf(log, 'lease-horizon');
    const horizonMs = horizon ? Number(horizon.until) - restartedAt : 0;
    ctx.check(horizon !== undefined, 'the router resumed the stored lease horizon (alice\'s lease of the previous run)',
      horizon ? `until +${(horizonMs / 1000).toFixed(1)} s after the restart` : 'no lease-horizon event');
    await flows.flowing('after the router restart');

    const tally = new Tally();
    const ms = await untilRight(ctx, tally, { en: 'en2', host: 'bob', label: 'after-restart', from: restartedAt, everyMs: RETRY_MS, giveUpAt: restartedAt + Math.max(0, horizonMs) + 15_000 });
    ctx.check(ms !== undefined, 'after the restart en2 reaches bob by name without registering again', ms === undefined ? tally.text() : `${ms} ms after the restart`);
    const firstRc = ctx.lab.events('router').slice(mark.router + started).find((e) => e.event === 'rc-created');
    const rcAt = firstRc ? Number(firstRc.at) : undefined;
    ctx.check(horizon === undefined || (rcAt !== undefined && rcAt >= Number(horizon.until)), 'no RC before the lease horizon',
      rcAt === undefined ? 'no RC' : `first RC ${rcAt - (horizon ? Number(horizon.until) : 0)} ms after the horizon`);
    measured(ctx, 'routerKill.horizonMs', Math.round(horizonMs), 'ms from the restart to the lease horizon');
    if (ms !== undefined) measured(ctx, 'routerKill.firstSuccessMs', ms, 'ms from the restart to the first successful lookup+connection');
    if (rcAt !== undefined && horizon) measured(ctx, 'routerKill.firstRcAfterHorizonMs', rcAt - Number(horizon.until), 'ms (negative: an RC before the horizon)');

    // alice: after bob's lease, by the restored PHL as well.
    await ctx.sleep(EN_CACHE_MS + 500);
    const al = await ctx.curl('en1', `http://alice.home.example/?tag=${tag('alice-after')}`, { maxTimeS: 6 });
    record(ctx, tally, al, 'alice', 'after bob\'s lease en1 -> alice');
    ctx.check(al.ok && al.host === 'alice', 'after the restart en1 reaches alice by name too', describe(al));
    const updates = ctx.lab.events('server').filter((e) => e.event === 'update').length - learnedBefore;
    ctx.check(updates === 0, 'nobody registered again (no DNS UPDATE at the server since the kill)', `${updates} updates`);
    ctx.check(tally.wrong === 0, `after the restart: never the wrong host -- ${tally.text()}`, tally.wrongs.join('; '));

    await flows.finish();
    await ctx.quiet();
    checkChannel(ctx, mark, 'router-kill', 'routerKill');
    measured(ctx, 'routerKill.wrong', tally.wrong, 'connections to another host');
    ctx.note(`RESULT router-kill: lookup in flight at the kill SERVFAIL after ${a.ms} ms; lookup while down SERVFAIL after ${d.ms} ms; `
      + `lease horizon ${(horizonMs / 1000).toFixed(1)} s after the restart; first success ${ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`} after the restart`);
  },
};
