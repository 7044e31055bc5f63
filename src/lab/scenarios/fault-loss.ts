// Loss on the NTS channel only (nts-loss.ts), 10 % and 30 % each way: the NTSv2 server's client
// retransmits, the router's server core answers retransmissions from its cache. en1 and en2
// look up and connect to alice and bob in turn; the success ratio is reported, never failed;
// a wrong host, a duplicate RC or a request left queued fails the scenario.
import { NtsLoss } from '../nts-loss.js';
import type { ExternalNode, InsideHost } from '../topology.js';
import { tag, type Scenario, type ScenarioContext } from './context.js';
import { checkChannel, markLogs, measured } from './fault-audit.js';
import { Tally, record } from './outcomes.js';

const ATTEMPTS = Math.max(4, Number(process.env.NTSS_LAB_LOSS_ATTEMPTS ?? 40));
/** Between attempt starts: the previous host's hold (500 ms) is over, so no attempt waits for another's RC. */
const PACE_MS = 600;
const LEVELS = [10, 30];
const PAIRS: Array<[ExternalNode, InsideHost]> = [['en1', 'alice'], ['en2', 'bob'], ['en1', 'bob'], ['en2', 'alice']];

async function underLoss(ctx: ScenarioContext, pct: number): Promise<void> {
  const mark = markLogs(ctx);
  const tally = new Tally();
  const loss = NtsLoss.install(ctx.lab, pct);
  let counts;
  const t0 = Date.now();
  try {
    for (let k = 0; k < ATTEMPTS; k++) {
      const [en, host] = PAIRS[k % PAIRS.length];
      const startedAt = Date.now();
      const r = await ctx.curl(en, `http://${host}.home.example/?tag=${tag(`loss${pct}-${en}`)}`, { maxTimeS: 6 });
      record(ctx, tally, r, host, `${pct}% #${k + 1} ${en} -> ${host} at +${((startedAt - t0) / 1000).toFixed(1)} s`);
      await ctx.sleep(Math.max(0, startedAt + PACE_MS - Date.now()));
    }
  } finally {
    counts = loss.counts();
    loss.remove();
  }
  const s = `nts-loss ${pct}%`;
  ctx.note(`${s}: NTS datagrams to the router ${counts.toRouter.passed} passed, ${counts.toRouter.dropped} dropped; from the router ${counts.fromRouter.passed} passed, ${counts.fromRouter.dropped} dropped`);
  ctx.check(counts.toRouter.dropped + counts.fromRouter.dropped > 0, `${s}: the fault was real (datagrams were dropped)`);
  await ctx.quiet(); // every RC, hold and queued request of the run has ended by now
  const key = `loss${pct}`;
  const { router, server } = checkChannel(ctx, mark, s, key);
  // Datagrams that reached the router beyond one per request: retransmissions (and a few KEEPALIVE ACKs).
  const resent = counts.toRouter.passed - router.requests;
  ctx.note(`${s}: about ${resent} retransmitted REQUESTs reached the router (absorbed by its server core)`);
  ctx.check(tally.wrong === 0, `${s}: never the wrong host -- ${tally.text()}`, tally.wrongs.join('; '));
  ctx.check(tally.right > 0, `${s}: some connections got through`, `${tally.right}/${tally.total}`);
  measured(ctx, `${key}.attempts`, tally.total, 'lookups+connections');
  measured(ctx, `${key}.right`, tally.right, 'reached their host');
  measured(ctx, `${key}.wrong`, tally.wrong, 'reached another host');
  measured(ctx, `${key}.successPct`, Math.round((1000 * tally.right) / tally.total) / 10, '%');
  measured(ctx, `${key}.droppedDatagrams`, counts.toRouter.dropped + counts.fromRouter.dropped, 'NTS datagrams dropped');
  measured(ctx, `${key}.retransmissionsAtRouter`, resent, 'REQUESTs beyond one per request (approx.)');
  ctx.note(`RESULT nts-loss ${pct}%: success ${tally.right}/${tally.total} (${((100 * tally.right) / tally.total).toFixed(0)}%), wrong ${tally.wrong}, `
    + `NTS requests failed at the server ${server.failed}/${server.requests}, duplicate RCs ${router.duplicates.length}, left queued ${router.unanswered.length}`);
}

export const ntsLoss: Scenario = {
  name: 'nts-loss',
  summary: `${LEVELS.join(' % and ')} % loss on the NTS channel only, each way: ${ATTEMPTS} paced lookups+connections per level; success ratio, no duplicate RC, no stuck queue`,
  async run(ctx) {
    for (const [i, pct] of LEVELS.entries()) {
      if (i > 0) await ctx.sleep(6000); // Unbound keeps a SERVFAIL ~5.7 s: the next level starts clean
      await underLoss(ctx, pct);
    }
  },
};
