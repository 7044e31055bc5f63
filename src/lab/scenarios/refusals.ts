// What must not get through: a connection without a lookup, and anything a forged NTS request
// might have opened.
import { FORGE_JS } from '../daemons.js';
import { ADDR, ECHO_PORT, INSIDE_HOSTS, NTS_PORT, ROUTER_ID } from '../topology.js';
import { describe, tag, type Scenario, type ScenarioContext } from './context.js';

/** en3 tries TCP and UDP to the router's address; nothing may reach any inside host. */
async function notForwarded(ctx: ScenarioContext, label: string): Promise<void> {
  const t = tag(label);
  const r = await ctx.curl('en3', `http://${ADDR.routerWan}/?tag=${t}`, { maxTimeS: 2 });
  ctx.check(!r.ok, `${label}: en3 curl http://${ADDR.routerWan}/ is not forwarded`, r.ok ? describe(r) : `curl exit ${r.run.code} (${r.run.stderr.trim().split('\n').pop()})`);
  const u = await ctx.udp('en3', `${ADDR.routerWan}:${ECHO_PORT}`, t, { waitS: 1 });
  ctx.check(u.reply === '', `${label}: en3 UDP to ${ADDR.routerWan}:${ECHO_PORT} gets no echo`, u.reply);
  const seen = INSIDE_HOSTS.flatMap((h) => ctx.seen(h, t));
  ctx.check(seen.length === 0, `${label}: no inside host saw anything from en3`, seen.map((e) => `${e.host} ${e.event} ${e.client}`).join(', '));
}

/** The same path works with a lookup, so the refusal above was the router's decision. */
async function control(ctx: ScenarioContext): Promise<void> {
  const r = await ctx.curl('en1', `http://alice.home.example/?tag=${tag('control')}`);
  ctx.check(r.ok && r.host === 'alice', 'control: en1 with a lookup reaches alice', describe(r));
}

export const noRc: Scenario = {
  name: 'no-rc',
  summary: 'a connection to the router\'s address without a lookup is not forwarded (before and after an RC came and went)',
  async run(ctx) {
    await notForwarded(ctx, 'no lookup');
    await control(ctx);
    await ctx.sleep(ctx.hold + 300);
    await notForwarded(ctx, 'after the hold');
  },
};

export const forged: Scenario = {
  name: 'forged',
  summary: 'a forged NTS request from en3 (wrong key) opens nothing',
  async run(ctx) {
    for (const keyId of [ROUTER_ID, 'intruder']) {
      const f = await ctx.lab.exec('en3', process.execPath, [FORGE_JS, '--to', `${ADDR.routerWan}:${NTS_PORT}`, '--key-id', keyId, '--fqdn', 'alice.home.example.', '--wait', '800']);
      ctx.check(f.code === 0 && f.stdout.includes('no response'), `en3 sends a forged REQUEST for alice (key id "${keyId}", wrong key): no response`,
        f.stdout.trim().split('\n').join(' / ') + f.stderr.trim());
    }
    await notForwarded(ctx, 'after the forged requests');
    await control(ctx);
  },
};
