// PHL learning: a host the router has never heard of registers itself with nsupdate (through
// the router, to the server's address) and is reachable by name right away, and still after a
// router restart (the learned entry is stored).
import { ADDR, ECHO_PORT } from '../topology.js';
import { describe, tag, type Scenario, type ScenarioContext } from './context.js';

async function reachCarol(ctx: ScenarioContext, en: 'en1' | 'en2', when: string): Promise<void> {
  const t = tag(`carol-${en}`);
  const r = await ctx.curl(en, `http://carol.home.example/?tag=${t}`);
  ctx.check(r.ok && r.host === 'carol' && ctx.fromEn(r, en, 'tcp'), `${when}: ${en} curl http://carol.home.example/ reaches carol`, describe(r));
  const seen = ctx.seen('carol', t, 'http');
  ctx.check(seen.length === 1 && ctx.fromEn(seen[0], en, 'tcp'), `${when}: carol's log has ${en}'s request`, seen.map((e) => e.client).join(', '));
}

export const learning: Scenario = {
  name: 'learning',
  summary: 'a new host, carol (192.168.50.12), registers with nsupdate and becomes reachable by name',
  needs: ['learning'],
  async run(ctx) {
    const before = await ctx.dig('en1', 'carol.home.example', 'A');
    ctx.check(before.status === 'NXDOMAIN', 'before: carol.home.example does not exist', before.status);
    const reg = await ctx.lab.register('carol');
    ctx.must(reg.code === 0, `carol: nsupdate -k carol.key (update add carol.home.example. 60 A ${ADDR.carol}) through the router`,
      reg.code === 0 ? 'NOERROR' : (reg.stderr || reg.stdout).trim());
    await reachCarol(ctx, 'en1', 'after the update');
    const t = tag('carol-udp');
    const u = await ctx.udp('en2', `carol.home.example:${ECHO_PORT}`, t);
    ctx.check(u.reply.startsWith('host=carol ') && u.reply.includes(t), 'en2 UDP echo with carol.home.example', u.reply || 'no reply');
    await ctx.lab.restartRouter('SIGTERM');
    ctx.note('ntss router restarted: the learned entry must come back from its store');
    await reachCarol(ctx, 'en2', 'after a router restart');
  },
};
