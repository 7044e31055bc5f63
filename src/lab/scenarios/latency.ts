// Time from the EN's DNS query to its first byte at alice: the cost NTSSv2 adds to a first
// connection (the held answer, the RC, the relay or DNAT), with a real resolver in the path.
// Start: the first query for the name leaving en1's interface, as tcpdump stamps it (the
// kernel's wall clock; curl's own trace stamps are monotonic-derived and off by up to 1 s).
// End: alice accepting the connection (services.ts, same clock). Clients: curl only.
import { PLAIN_NAME } from '../configs.js';
import { ADDR } from '../topology.js';
import { tag, type Scenario, type ScenarioContext } from './context.js';

const ROUNDS = 20;
const NAME = 'alice.home.example.';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, p90 ${pct(xs, 0.9).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;

/** Epoch ms of each DNS query for `name` in tcpdump -tt output. */
function queryTimes(capture: string, name: string): number[] {
  return capture.split('\n').filter((l) => l.includes(`? ${name} `)).map((l) => Number(l.split(' ')[0]) * 1000).filter(Number.isFinite);
}

async function startCapture(ctx: ScenarioContext) {
  const cap = ctx.lab.background('en1', 'tcpdump', ['-i', 'eth0', '-n', '-tt', '-l', '--immediate-mode', '-Z', 'root', `udp and dst host ${ADDR.resolver} and dst port 53`]);
  const end = Date.now() + 5000;
  while (!cap.stderr().includes('listening on') && Date.now() < end) await ctx.sleep(20);
  ctx.must(cap.stderr().includes('listening on'), 'tcpdump on en1 stamps the DNS queries', cap.stderr().trim().split('\n').pop());
  return cap;
}

export const latency: Scenario = {
  name: 'latency',
  summary: `time from en1's DNS query to its first byte at alice, ${ROUNDS} rounds`,
  async run(ctx) {
    const total: number[] = [];
    const dns: number[] = [];
    const cap = await startCapture(ctx);
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const t = tag('lat');
        const before = Date.now();
        const r = await ctx.curl('en1', `http://alice.home.example/?tag=${t}`);
        await ctx.sleep(20); // tcpdump's line may trail the answer
        const q = queryTimes(cap.stdout(), NAME).filter((x) => x >= before - 1);
        const seen = ctx.seen('alice', t, 'http');
        const at = seen[0]?.acceptedAt;
        if (!r.ok || r.host !== 'alice' || seen.length !== 1 || at === undefined || q.length === 0) {
          ctx.check(false, `round ${i + 1}: en1 -> alice`, r.ok ? `alice's log: ${seen.length} entries, ${q.length} queries captured` : `curl exit ${r.run.code} ${r.run.stderr.trim()}`);
          continue;
        }
        total.push(at - Math.min(...q));
        if (r.dnsMs !== undefined) dns.push(r.dnsMs);
        // Each lookup after a connection waits for that RC's hold (paper 3.5): measure the idle case.
        await ctx.sleep(ctx.hold + 100);
      }
    } finally {
      await cap.stop();
    }
    ctx.check(total.length === ROUNDS, `${total.length}/${ROUNDS} rounds reached alice`);
    if (total.length === 0) return;
    ctx.results.latencyMedianMs = median(total);
    ctx.note(`DNS query -> first byte at alice: ${fmt(total)}`);
    ctx.note(`  curl's name resolution alone (time_namelookup): ${fmt(dns)}`);
    // The same stub, resolver and server for a name that is not NTS-managed (its port 9 refuses).
    const base: number[] = [];
    for (let i = 0; i < 10; i++) {
      const b = await ctx.curl('en1', `http://${PLAIN_NAME.slice(0, -1)}:9/`, { maxTimeS: 2 });
      if (b.dnsMs !== undefined && b.dnsMs > 0) base.push(b.dnsMs);
    }
    if (base.length > 0) ctx.note(`  baseline, name resolution of ${PLAIN_NAME} (TTL 0, not NTS-managed): ${fmt(base)}`);
    ctx.note(`  lab RTT added: ${ctx.lab.mode.delayMs} ms, data plane: ${ctx.lab.mode.dataplane}`);
  },
};
