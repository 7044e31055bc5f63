// Capacity and load in the lab through real resolvers (issue 9 section 2, first two bullets).
// For each --resolver, --delay and --policy a fresh lab (`ntss lab`, kernel data plane, 150 inside hosts
// h1..h150 on carol, EN source addresses on en1..en3): (a) Poisson lookups at several offered
// rates, (b) a short search for the largest burst (N lookups at once, N distinct sources, names
// spread over the hosts) served with >= 99% success. Every lookup goes through the lab's resolver
// (Unbound by default; BIND, Knot Resolver, PowerDNS Recursor: UDP from the EN, one try, 5 s) and connects to the answer; the inside host names the address
// it was reached on, so a wrong host is seen where it happens. Root only (exit 2 otherwise).
//   node bench/capacity/run.mjs [--quick] [--out DIR] [--resolver unbound,bind,knot,powerdns] [--delay 20,100] [--policy plain,pool,ecs,best] [--seed N] [--keep-logs]
// A resolver that cannot send ECS (BIND 9.18, Knot Resolver 5.6: resolvers/*.ts sendsEcs) runs
// `pool` as its best policy (8 addresses, `any` RCs) and skips `ecs`; the rows say so (`ranAs`).
// JSON (DIR/capacity.json): { meta, points: [...], capacity: [...] }, each point
//   { kind: 'load'|'burst'|'warmup' (only when a warm-up reached a wrong host), policy, resolver (product
//     and version), resolverKind, delayMs, offeredPerS?|burst?, seconds?, lookups,
//     successRatio, answerMs: {p50,p99,max}|null, connectMs: {...}|null, wrongHost, errors }
// and each capacity row { policy, resolver, resolverKind, delayMs, capacity, atMax (every burst tried
// was served: capacity is a lower bound), patienceMs (the resolver's profile), paperBound
// (patience / delay), stubBound (min(patience, the stub's tries x 5 s) / delay: the EN gives up first
// behind BIND and Knot), ratio (to paperBound), settings }.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const dist = new URL('../../dist/src/', import.meta.url);
const imp = (p) => import(new URL(p, dist).href);

const POLICIES = {
  // The paper's NTSv2: one global address, `any` RCs, no answer leases (Unbound's floor is 0,
  // enCacheMs 0), the RC released at the first packet (holdMs 0: the shortest the router accepts).
  plain: { globalAddresses: 1, ecs: false, hold: 'paper' },
  // The same with the lab's hold (max(500, 2 x delay), src/lab/configs.ts schedulerTimes).
  'plain-hold': { globalAddresses: 1, ecs: false, hold: 'lab' },
  pool: { globalAddresses: 8, ecs: false, hold: 'paper' },
  ecs: { globalAddresses: 1, ecs: true, hold: 'paper' },
  best: { globalAddresses: 8, ecs: true, hold: 'paper' },
};

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false }, out: { type: 'string' }, delay: { type: 'string' },
    policy: { type: 'string' }, seed: { type: 'string', default: '9' }, 'product-limits': { type: 'boolean', default: false },
    'max-burst': { type: 'string' }, resolver: { type: 'string', default: 'unbound' }, 'keep-logs': { type: 'boolean', default: false },
    'stub-tries': { type: 'string', default: '1' },
  },
});
const usage = (m) => {
  console.error(`run.mjs: ${m}\nusage: node bench/capacity/run.mjs [--quick] [--out DIR] [--delay 20,100] [--policy ${Object.keys(POLICIES).join(',')}] [--seed N] [--product-limits] [--max-burst N] [--resolver unbound,bind,knot,powerdns] [--keep-logs] [--stub-tries 1|2]`);
  process.exit(2);
};
const quick = a.quick;
const delays = (a.delay ?? (quick ? '20' : '20,100')).split(',').map(Number);
if (delays.some((d) => !Number.isInteger(d) || d < 0 || d > 1000)) usage(`--delay: integers 0..1000 ms, got ${a.delay}`);
const policies = (a.policy ?? (quick ? 'plain,best' : 'plain,plain-hold,pool,ecs,best')).split(',');
for (const p of policies) if (!POLICIES[p]) usage(`unknown policy ${p}`);
const { RESOLVERS, RESOLVER_KINDS } = await imp('lab/resolvers/index.js');
const resolverKinds = a.resolver.split(',');
for (const r of resolverKinds) if (!RESOLVERS[r]) usage(`--resolver: one of ${RESOLVER_KINDS.join(', ')}, got ${r}`);
const seed = Number(a.seed);
if (!Number.isInteger(seed)) usage('--seed: an integer');
if (process.getuid?.() !== 0) {
  console.error('bench/capacity: needs root (network namespaces, the lab); not measured');
  process.exit(2);
}

const { Lab } = await imp('lab/lab.js');
const { DEFAULT_STUB, addSources, burstPlan, freshDaemons, poissonPlan, runPlan, searchCapacity, summarize, warmupPlan } = await imp('lab/capacity.js');
const { MAX_CAPACITY_HOSTS } = await imp('lab/capacity-hosts.js');
const { cpuBetween, sampleLabCpu } = await imp('lab/cpu-usage.js');
const { schedulerTimes } = await imp('lab/configs.js');
const { BUILTIN_PROFILES } = await imp('server/profiles.js');
const { answerLeaseMs } = await imp('server/nts-gateway.js');

/**
 * The policies one resolver can run, in the order asked: ECS needs a resolver that sends it, so
 * for BIND and Knot `best` runs as `pool` (its best without ECS) and `ecs` is skipped.
 */
function policiesFor(kind) {
  const out = [];
  for (const policy of policies) {
    const ranAs = POLICIES[policy].ecs && !RESOLVERS[kind].sendsEcs ? (policy === 'best' ? 'pool' : null) : policy;
    if (ranAs === null) say(`${RESOLVERS[kind].product} cannot send ECS: --policy ${policy} skipped`);
    else if (!out.some((o) => o.ranAs === ranAs)) out.push({ policy, ranAs });
  }
  return out;
}

// The EN's stub: one try of 5 s (a lookup the resolver gave up on fails), or glibc's two
// (--stub-tries 2): behind BIND and Knot, whose patience (9.5 s) outlasts the first try, the
// second joins the resolver's pending lookup and gets its late answer.
const STUB_TRIES = Number(a['stub-tries']);
if (STUB_TRIES !== 1 && STUB_TRIES !== 2) usage('--stub-tries: 1 or 2');
const STUB = { ...DEFAULT_STUB, tries: STUB_TRIES };
const HOSTS = MAX_CAPACITY_HOSTS;
const RATES = quick ? [] : [5, 10, 20, 40, 80]; // --quick: capacity only
const SECONDS = quick ? 4 : 8;
const MAX_BURST = a['max-burst'] !== undefined ? Number(a['max-burst']) : quick ? 320 : 1200;
if (!Number.isInteger(MAX_BURST) || MAX_BURST < 10 || MAX_BURST > 2000) usage('--max-burst: an integer 10..2000');
const SOURCES = MAX_BURST; // Poisson reuses a source only after SOURCES lookups
const WARMUP = 16; // lookups 125 ms apart before each burst, from sources beyond the burst's
const say = (s) => process.stderr.write(`${s}\n`);
const points = [];
const capacity = [];
const started = new Date();
const load0 = loadavg();

let labs = 0;
for (const kind of resolverKinds) {
  const profile = BUILTIN_PROFILES[kind];
  for (const delayMs of delays) {
    for (const { policy: asked, ranAs: policy } of policiesFor(kind)) {
      const p = POLICIES[policy];
      const lab = { prefix: `cap${process.pid % 100000}${labs++ % 100}` };
      const times = schedulerTimes(delayMs);
      const holdMs = p.hold === 'paper' ? 0 : times.holdMs;
      const settings = { globalAddresses: p.globalAddresses, ecs: p.ecs, holdMs, rcTimeoutMs: times.rcTimeoutMs, enCacheMs: 0, oneResolver: !a['product-limits'], stubTries: STUB.tries };
      say(`== ${kind}: ${policy}${asked !== policy ? ` (as its best: --policy ${asked})` : ''} at --delay ${delayMs}: ${JSON.stringify(settings)}`);
      let l;
      let removeSources = () => undefined;
      const cleanup = () => {
        removeSources();
        const problems = l ? l.down() : [];
        if (problems.length) say(`teardown problems: ${problems.join('; ')}`);
      };
      const onSignal = () => { cleanup(); process.exit(130); };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      process.once('SIGHUP', onSignal);
      try {
        l = await Lab.up({
          prefix: lab.prefix, resolver: kind, delayMs, lossPct: 0, dataplane: 'auto', globalAddresses: p.globalAddresses, ecs: p.ecs, enCacheMs: 0,
          capacity: { hosts: HOSTS, holdMs, oneResolver: settings.oneResolver }, say,
        });
        removeSources = addSources(l, SOURCES + WARMUP);
        const base = { policy, ...(asked !== policy ? { ranFor: asked } : {}), resolver: l.mode.resolverVersion ?? l.mode.resolver, resolverKind: kind, delayMs };
        // Every point starts from a fresh server, router and resolver (capacity.ts freshDaemons:
        // an overloaded step's admission estimate and Unbound's SERVFAIL cache spoilt the next),
        // and after the server's refusal hold (1 s) and held answers (<= 1.9 s) of the step before.
        const fresh = async () => {
          await freshDaemons(l);
          await new Promise((r) => setTimeout(r, 2000));
        };
        // A wrong host is kept for diagnosis: the daemons' logs and the lookups, in --out; with
        // --keep-logs every step that missed the target too (`failed-*`).
        const keep = (what, outcomes) => {
          const wrong = outcomes.some((o) => o.outcome === 'wrong-host');
          const failed = outcomes.filter((o) => o.outcome === 'ok').length < 0.99 * outcomes.length;
          if (!a.out || !(wrong || (a['keep-logs'] && failed))) return;
          const d = join(a.out, `${wrong ? 'wrong' : 'failed'}-${kind}-${policy}-${delayMs}-${what}`);
          mkdirSync(d, { recursive: true });
          for (const f of ['router.log', 'server.log', `${l.resolverDaemon}.log`, 'carol.events.jsonl']) if (existsSync(l.file(f))) copyFileSync(l.file(f), join(d, f));
          writeFileSync(join(d, 'lookups.json'), JSON.stringify(outcomes, null, 1));
          say(`  ${wrong ? 'wrong host' : 'failed'}: logs kept in ${d}`);
        };
        for (const rate of RATES) {
          await fresh();
          const outcomes = await runPlan(l, poissonPlan(rate, SECONDS, SOURCES, HOSTS, seed + rate), STUB);
          keep(`load${rate}`, outcomes);
          const s = summarize(outcomes);
          points.push({ kind: 'load', ...base, offeredPerS: rate, seconds: SECONDS, ...s });
          say(`  load ${rate}/s: ${s.ok}/${s.lookups} ok, wrong ${s.wrongHost}, answer p50 ${s.answerMs?.p50 ?? '-'} ms p99 ${s.answerMs?.p99 ?? '-'} ms ${JSON.stringify(s.errors)}`);
        }
        // `any` RCs with hold 0 and no leases (plain, pool) are the paper's design: two ENs behind
        // one (coalesced) answer send the second to the next host (docs/evaluation.md, 2a). A burst
        // larger than the hosts repeats names, so for them it stops at one lookup per host.
        const searchMax = p.ecs || holdMs > 0 ? MAX_BURST : Math.min(MAX_BURST, HOSTS);
        // Behind a resolver with a TTL floor (Knot 5 s, PowerDNS 1 s) every answer leases its
        // address (docs/leases.md): with `any` RCs the warm-up's last requests (queued up to the
        // resolver's patience) and their leases would still hold the addresses when the burst
        // starts. Prefix (ECS) leases name other sources than the burst's.
        const leaseMs = answerLeaseMs(profile.ttlFloorMs);
        const settleAfterWarmupMs = !p.ecs && leaseMs > 0 ? profile.patienceMs + leaseMs + holdMs + 1000 : 2000;
        const found = await searchCapacity(
          { start: quick ? (p.ecs || p.globalAddresses > 1 ? 80 : 20) : 10, max: searchMax, resolution: quick ? 0.25 : 0.1, target: 0.99, settleMs: 0 },
          async (n) => {
            await fresh();
            // The router learns E (its admission's per-RC time) as a router in service has.
            const w = summarize(await runPlan(l, warmupPlan(WARMUP, 125, SOURCES, HOSTS), STUB));
            if (w.wrongHost > 0) points.push({ kind: 'warmup', ...base, burst: n, ...w });
            await new Promise((r) => setTimeout(r, settleAfterWarmupMs));
            const cost = { clientCpuMs: 0 };
            const cpu0 = sampleLabCpu(l.prefix);
            const outcomes = await runPlan(l, burstPlan(n, HOSTS), STUB, cost);
            // Where the burst's CPU went (the lab's processes and the load generator), per lookup.
            const cpuMs = { ...cpuBetween(cpu0, sampleLabCpu(l.prefix)), 'en:capacity-client': cost.clientCpuMs };
            keep(`burst${n}`, outcomes);
            const s = { ...summarize(outcomes), cpuMs, cpuMsPerLookup: Math.round(Object.values(cpuMs).reduce((a, b) => a + b, 0) / n * 100) / 100 };
            say(`  burst ${n}: ${s.ok}/${s.lookups} ok, wrong ${s.wrongHost}, answer p50 ${s.answerMs?.p50 ?? '-'} ms p99 ${s.answerMs?.p99 ?? '-'} ms ${JSON.stringify(s.errors)}; CPU ${s.cpuMsPerLookup} ms/lookup ${JSON.stringify(cpuMs)}`);
            return s;
          },
        );
        for (const st of found.steps) points.push({ kind: 'burst', ...base, burst: st.burst, ...st.summary });
        const paperBound = delayMs > 0 ? profile.patienceMs / delayMs : null;
        const stubBound = delayMs > 0 ? Math.min(profile.patienceMs, STUB.timeoutMs * STUB.tries) / delayMs : null;
        capacity.push({
          ...base, capacity: found.capacity, atMax: found.capacity >= searchMax, patienceMs: profile.patienceMs, paperBound, stubBound,
          ratio: paperBound ? found.capacity / paperBound : null, settings,
        });
      } catch (e) {
        say(`${kind} ${policy} at --delay ${delayMs}: ${e.message}`);
        capacity.push({ policy, resolverKind: kind, delayMs, error: e.message });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
        cleanup();
      }
    }
  }
}

const wrong = points.reduce((n, p) => n + p.wrongHost, 0);
const meta = {
  date: started.toISOString(), seconds: Math.round((Date.now() - started.getTime()) / 1000), quick, seed,
  cpus: cpus().length, cpu: cpus()[0]?.model, loadavgBefore: load0, loadavgAfter: loadavg(),
  command: `node bench/capacity/run.mjs ${process.argv.slice(2).join(' ')}`.trim(), stub: STUB,
  notes: 'successRatio: connected to the asked host; waits over the successful lookups (nearest rank); paperBound = the resolver profile\'s patience / delay; stubBound = min(patience, the stub\'s 5 s) / delay',
};
const f0 = (x) => (x === null || x === undefined ? '-' : x.toFixed(0));
console.log(`\n## Capacity (largest burst with >= 99% success), ${meta.date}, load ${load0.map((x) => x.toFixed(1)).join(' ')}\n`);
console.log(`| resolver | policy | delay ms | capacity | paper bound (patience / delay) | with the stub's ${STUB.tries} x 5 s | ratio | settings |\n|---|---|---|---|---|---|---|---|`);
for (const c of capacity) {
  const pol = `${c.policy}${c.ranFor ? ` (best without ECS)` : ''}`;
  if (c.error) console.log(`| ${c.resolver ?? c.resolverKind} | ${pol} | ${c.delayMs} | error: ${c.error.split('\n')[0]} | | | | |`);
  else console.log(`| ${c.resolver} | ${pol} | ${c.delayMs} | ${c.atMax ? '>= ' : ''}${c.capacity} | ${f0(c.paperBound)} (${c.patienceMs} ms) | ${f0(c.stubBound)} | ${c.ratio?.toFixed(2) ?? '-'} | hold ${c.settings.holdMs} ms, ${c.settings.globalAddresses} address(es)${c.settings.ecs ? ', ECS' : ''} |`);
}
console.log('\n## Offered load (Poisson) and bursts\n');
console.log('| resolver | policy | delay ms | offered /s or burst | lookups | success | answer p50 / p99 ms | connected p50 / p99 ms | wrong host | failures |\n|---|---|---|---|---|---|---|---|---|---|');
for (const p of points) {
  const d = (x) => (x ? `${x.p50} / ${x.p99}` : '-');
  console.log(`| ${p.resolver} | ${p.policy} | ${p.delayMs} | ${p.kind === 'load' ? `${p.offeredPerS}/s` : `${p.kind} ${p.burst}`} | ${p.lookups} | ${(p.successRatio * 100).toFixed(1)}% | ${d(p.answerMs)} | ${d(p.connectMs)} | ${p.wrongHost} | ${Object.entries(p.errors).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
}
if (a.out) {
  mkdirSync(a.out, { recursive: true });
  writeFileSync(join(a.out, 'capacity.json'), JSON.stringify({ meta, points, capacity }, null, 2) + '\n');
  say(`wrote ${join(a.out, 'capacity.json')}`);
}
if (capacity.some((c) => c.error) || points.length === 0) process.exit(1);
if (wrong > 0) {
  say(`WRONG HOST: ${wrong} connection(s) reached another host than the one looked up`);
  process.exit(1);
}
