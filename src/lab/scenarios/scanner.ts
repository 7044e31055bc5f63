// A scanner (en3) knocks on every global address's port 80 ten times a second while en1 and
// en2 use alice and bob by name. Paper 3.5: an RC is kept for the hold time, so a third party
// that sends within it gets through; that exposure is measured here (seconds per minute any
// inside host answered the scanner), not judged. en1 and en2 must never reach the wrong host.
import { SCANNER_JS } from '../daemons.js';
import type { ExternalNode } from '../topology.js';
import { tag, type Scenario } from './context.js';
import { Tally, record, verdict } from './outcomes.js';
import { every } from './pace.js';

const SECONDS = Math.max(2, Number(process.env.NTSS_LAB_SCANNER_SECONDS ?? 20));
const RATE = Math.max(1, Number(process.env.NTSS_LAB_SCANNER_RATE ?? 10));
const EN_EVERY_MS = 1500;

interface Attempt { t: number; round: number; target: string; ok: boolean; host?: string; err?: string }

export const scanner: Scenario = {
  name: 'scanner',
  summary: `en3 connects to every global address :80 ${RATE}/s for ${SECONDS} s (NTSS_LAB_SCANNER_SECONDS) while en1 -> alice and en2 -> bob by name; fails on a wrong host for en1/en2`,
  async run(ctx) {
    const addrs = ctx.lab.mode.globalAddresses;
    const tallies: Partial<Record<ExternalNode, Tally>> = { en1: new Tally(), en2: new Tally() };
    const started = Date.now();
    const endAt = started + SECONDS * 1000;
    const at = () => `+${((Date.now() - started) / 1000).toFixed(1)} s`;
    const scan = ctx.lab.exec('en3', process.execPath, [SCANNER_JS, '--targets', addrs.join(','), '--rate', String(RATE), '--seconds', String(SECONDS), '--timeout-ms', '500'],
      { timeoutMs: (SECONDS + 20) * 1000 });
    await Promise.all([
      every(ctx, EN_EVERY_MS, endAt, async (k) => {
        const startedAt = at();
        const r = await ctx.curl('en1', `http://alice.home.example/?tag=${tag('scan-en1')}`, { maxTimeS: 6 });
        record(ctx, tallies.en1!, r, 'alice', `en1 #${k + 1} lookup + connect alice, started at ${startedAt}`);
      }),
      (async () => {
        await ctx.sleep(EN_EVERY_MS / 2);
        await every(ctx, EN_EVERY_MS, endAt, async (k) => {
          const startedAt = at();
          const r = await ctx.curl('en2', `http://bob.home.example/?tag=${tag('scan-en2')}`, { maxTimeS: 6 });
          record(ctx, tallies.en2!, r, 'bob', `en2 #${k + 1} lookup + connect bob, started at ${startedAt}`);
        });
      })(),
    ]);
    const out = await scan;
    const lines = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Attempt & { done?: boolean; skipped?: number });
    const tries = lines.filter((l) => !l.done);
    ctx.must(out.code === 0 && lines.some((l) => l.done) && tries.length > 0, `en3 scanned ${addrs.join(', ')}:80`,
      `${tries.length} attempts${out.code === 0 ? '' : `, exit ${out.code}: ${out.stderr.trim().split('\n').pop()}`}`);
    const hits = tries.filter((a) => a.ok);
    const byHost = new Map<string, number>();
    for (const h of hits) byHost.set(h.host!, (byHost.get(h.host!) ?? 0) + 1);
    // Exposure: each round (one attempt per address) samples 1/RATE s; the share of rounds in
    // which any inside host answered, per minute.
    const rounds = new Set(tries.map((a) => a.round)).size;
    const open = new Set(hits.map((a) => a.round)).size;
    const perMinute = (open / Math.max(1, rounds)) * 60;
    const errs = new Map<string, number>();
    for (const a of tries.filter((x) => !x.ok)) errs.set(a.err ?? '?', (errs.get(a.err ?? '?') ?? 0) + 1);
    ctx.results['scanner.attempts'] = tries.length;
    ctx.results['scanner.reached'] = hits.length;
    ctx.results['scanner.secondsPerMinute'] = Math.round(perMinute * 10) / 10;
    ctx.note(`scanner: ${hits.length}/${tries.length} connections reached an inside host (${[...byHost].map(([h, n]) => `${h} ${n}`).join(', ') || 'none'}); `
      + `others: ${[...errs].map(([e, n]) => `${n} ${e}`).join(', ') || 'none'}`);
    ctx.note(`scanner: an inside host answered in ${open} of ${rounds} rounds (${RATE}/s) = reachable ${perMinute.toFixed(1)} s per minute`);
    verdict(ctx, 'scanner', tallies);
  },
};
