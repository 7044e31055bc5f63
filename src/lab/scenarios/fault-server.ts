// The NTSv2 server killed (SIGKILL) in the middle of a stream of signed DNS UPDATEs: alice runs
// BIND's nsupdate once per update (TXT "seq-N" and its own A record), to the server's address,
// so the router's learning proxy relays every one. The server is killed after some are
// acknowledged and started again on the same database a second later; afterwards every update
// nsupdate saw acknowledged must be in the zone (ZoneStore commits before the NOERROR leaves).
import { ADDR, ZONE, fqdn } from '../topology.js';
import type { Scenario } from './context.js';
import { measured } from './fault-audit.js';

const UPDATES = Math.max(10, Number(process.env.NTSS_LAB_UPDATES ?? 60));
const KILL_AFTER = Math.floor(UPDATES / 4);
const DOWN_MS = 1000;

/** One nsupdate per update; prints "seq N EXIT" for each. -t 3: a lost update fails within 3 s. */
function loop(keyFile: string): string {
  const name = fqdn('alice');
  const msg = `server ${ADDR.server} 53\\nzone ${ZONE}\\nupdate add ${name} 60 TXT "seq-%d"\\nupdate add ${name} 60 A ${ADDR.alice}\\nsend\\n`;
  return `i=1; while [ $i -le ${UPDATES} ]; do printf '${msg}' $i | nsupdate -t 3 -u 1 -r 1 -k ${keyFile} >/dev/null 2>&1; echo "seq $i $?"; i=$((i+1)); done`;
}

export const serverKill: Scenario = {
  name: 'server-kill',
  summary: `ntss server killed (SIGKILL) during ${UPDATES} nsupdate UPDATEs through the router's learning proxy, restarted: every acknowledged update is in the zone`,
  needs: ['learning'],
  async run(ctx) {
    const results = new Map<number, number>();
    const learnedAlice = () => ctx.lab.events('router').filter((e) => e.event === 'phl-learned' && e.fqdn === fqdn('alice')).length;
    const learnedBefore = learnedAlice();
    let killing: Promise<void> | undefined;
    let killedAfter = 0;
    let lineBuf = '';
    const t0 = Date.now();
    const stream = ctx.lab.exec('alice', 'sh', ['-c', loop(ctx.lab.file('alice.key'))], {
      timeoutMs: 120_000,
      onStdout: (s) => {
        lineBuf += s;
        const lines = lineBuf.split('\n');
        lineBuf = lines.pop() ?? '';
        for (const l of lines) {
          const m = /^seq (\d+) (\d+)$/.exec(l.trim());
          if (m) results.set(Number(m[1]), Number(m[2]));
        }
        const acked = [...results.values()].filter((c) => c === 0).length;
        if (!killing && acked >= KILL_AFTER) {
          killedAfter = results.size;
          killing = ctx.lab.restartServer('SIGKILL', DOWN_MS);
        }
      },
    });
    const r = await stream;
    ctx.must(killing !== undefined, `the server was killed after ${KILL_AFTER} acknowledged updates`, `stream ended: ${r.code} ${r.stderr.trim()}`);
    await killing;
    ctx.note(`ntss server killed (SIGKILL) after update ${killedAfter}, down ${DOWN_MS} ms, started again on its database; the stream took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const acked = [...results].filter(([, c]) => c === 0).map(([i]) => i);
    const failed = [...results].filter(([, c]) => c !== 0).map(([i]) => i);
    ctx.check(results.size === UPDATES, `nsupdate ran ${UPDATES} times`, `${results.size} results`);
    ctx.check(failed.length > 0, 'some updates failed while the server was down (the fault was real)', `failed: ${failed.join(',')}`);
    ctx.check(acked.some((i) => i > killedAfter + failed.length), 'updates were acknowledged again after the restart');

    const q = await ctx.lab.exec('en1', 'dig', ['+tcp', '+time=3', '+tries=1', `@${ADDR.server}`, fqdn('alice'), 'TXT'], { timeoutMs: 10_000 });
    const present = new Set([...q.stdout.matchAll(/"seq-(\d+)"/g)].map((m) => Number(m[1])));
    const lost = acked.filter((i) => !present.has(i));
    const committedUnacked = failed.filter((i) => present.has(i));
    const phantom = [...present].filter((i) => !results.has(i));
    ctx.check(lost.length === 0, `every acknowledged update is in the zone after the crash: ${acked.length - lost.length}/${acked.length}`, lost.length ? `lost: ${lost.join(',')}` : '');
    ctx.check(phantom.length === 0, 'nothing in the zone that was never sent', phantom.join(','));
    const learned = learnedAlice() - learnedBefore;
    // The proxy learns from the server's NOERROR, so it counts the acknowledged updates it relayed.
    ctx.check(learned >= acked.length, `the router's learning proxy relayed every acknowledged update (${learned} learned from NOERROR)`);
    measured(ctx, 'serverKill.updates', results.size, 'nsupdate runs');
    measured(ctx, 'serverKill.acked', acked.length, 'acknowledged (NOERROR)');
    measured(ctx, 'serverKill.failed', failed.length, 'failed (no answer)');
    measured(ctx, 'serverKill.lost', lost.length, 'acknowledged but not in the zone');
    measured(ctx, 'serverKill.failedButCommitted', committedUnacked.length, 'failed at nsupdate but in the zone (answer lost)');
    ctx.note(`RESULT server-kill: ${UPDATES} updates, ${acked.length} acknowledged, ${failed.length} failed (${failed.join(',')}); `
      + `acknowledged but lost ${lost.length}; failed but committed ${committedUnacked.length}`);
  },
};
