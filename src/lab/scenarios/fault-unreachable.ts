// The router unreachable from the NTSv2 server (every NTS datagram dropped in the core, both
// ways): lookups of the inside hosts get SERVFAIL within the resolver's patience (measured at
// the EN with dig, per attempt), no connection reaches any host; then the path comes back and
// the time to the first successful connection is measured.
import { NtsLoss } from '../nts-loss.js';
import type { ExternalNode, InsideHost } from '../topology.js';
import { tag, type Scenario } from './context.js';
import { checkChannel, markLogs, measured } from './fault-audit.js';
import { Tally, record, untilRight } from './outcomes.js';

const LOOKUPS: Array<[ExternalNode, InsideHost]> = [['en1', 'alice'], ['en2', 'bob'], ['en1', 'alice'], ['en2', 'bob']];
/** The server gives up at Unbound's patience (1750 ms); anything near the stub's timeout is a hang. */
const FAIL_FAST_MS = 4000;
const RETRY_MS = 250;
const RECOVERY_LIMIT_MS = 15_000;

export const routerUnreachable: Scenario = {
  name: 'router-unreachable',
  summary: 'all NTS datagrams dropped: lookups get SERVFAIL within the resolver\'s patience, nothing reaches a host; then recovery time after the path returns',
  async run(ctx) {
    const mark = markLogs(ctx);
    const tally = new Tally();
    const loss = NtsLoss.install(ctx.lab, 100);
    const times: number[] = [];
    // When each host's name last got a SERVFAIL that came from the server (not the resolver's cache).
    const fresh: Partial<Record<InsideHost, number>> = {};
    try {
      for (const [i, [en, host]] of LOOKUPS.entries()) {
        const d = await ctx.dig(en, `${host}.home.example`, 'A', { timeS: 10 });
        times.push(d.ms);
        if (d.status === 'SERVFAIL' && d.ms >= 1000) fresh[host] = Date.now();
        ctx.check(d.status === 'SERVFAIL' && d.ms < FAIL_FAST_MS, `unreachable #${i + 1}: ${en} dig ${host}: ${d.status} after ${d.ms} ms (limit ${FAIL_FAST_MS})`);
        const r = await ctx.curl(en, `http://${host}.home.example/?tag=${tag(`unreach-${en}`)}`, { maxTimeS: 6 });
        record(ctx, tally, r, host, `unreachable #${i + 1} ${en} -> ${host}`);
      }
    } finally {
      const c = loss.counts();
      loss.remove();
      ctx.note(`NTS datagrams to the router: ${c.toRouter.dropped} dropped, ${c.toRouter.passed} passed`);
    }
    const back = Date.now();
    ctx.check(tally.right === 0 && tally.wrong === 0, `while unreachable no connection reached any host -- ${tally.text()}`, tally.wrongs.join('; '));
    // Recovery is measured on the name whose SERVFAIL the resolver got last: its cache bounds it (~5.7 s for Unbound).
    const [en, host] = LOOKUPS[LOOKUPS.length - 1];
    const since = ((back - (fresh[host] ?? back)) / 1000).toFixed(1);
    ctx.note(`path back ${since} s after ${host}'s last SERVFAIL from the server (the resolver may still hold it)`);

    const after = new Tally();
    const recoveredMs = await untilRight(ctx, after, { en, host, label: 'recovery', from: back, everyMs: RETRY_MS, giveUpAt: back + RECOVERY_LIMIT_MS });
    ctx.check(recoveredMs !== undefined, `after the path returned ${en} reaches ${host} again`, recoveredMs === undefined ? after.text() : `${recoveredMs} ms after the path returned`);
    ctx.check(after.wrong === 0, `during recovery never the wrong host -- ${after.text()}`, after.wrongs.join('; '));
    await ctx.quiet();
    checkChannel(ctx, mark, 'router-unreachable', 'unreachable');
    for (const [i, ms] of times.entries()) measured(ctx, `unreachable.servfail${i + 1}Ms`, ms, `ms (${LOOKUPS[i][0]} dig ${LOOKUPS[i][1]})`);
    measured(ctx, 'unreachable.wrong', tally.wrong + after.wrong, 'connections to another host');
    if (recoveredMs !== undefined) measured(ctx, 'unreachable.recoveryMs', recoveredMs, 'ms from the path\'s return to the first successful connection');
    measured(ctx, 'unreachable.servfailAgeAtReturnMs', back - (fresh[host] ?? back), `ms since ${host}'s last SERVFAIL from the server when the path returned`);
    ctx.note(`RESULT router-unreachable: SERVFAIL after ${times.join(', ')} ms; first success ${recoveredMs === undefined ? 'never' : `${(recoveredMs / 1000).toFixed(2)} s`} after the path returned`
      + ` (${since} s after ${host}'s last SERVFAIL from the server)`);
  },
};
