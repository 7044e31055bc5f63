// One simulation run: ENs look names up through a resolver model and the NTSv2 server's
// gateway rules, the real RcScheduler decides on a virtual clock (world.ts), and ENs that get
// an answer send their first packet to the address named. Every mapped packet is checked
// against the host its EN asked for (wrong-host must stay 0 wherever the product promises it).
//
// Modelled: RTT distributions per path, CPU time per message in the server and the router
// (FIFO), the stub's tries, the resolver's patience, TTL floor cache (whole seconds, as
// router-wrong-host.test.ts) and coalescing of identical client queries, the gateway's
// request key, joins, refusal hold and in-flight limits, the profile's deadline and lease
// (planFor), the policies. Not modelled: packet loss, resolver retransmissions to the server
// (they join the pending request, so the router never sees them), the data plane's install
// time (fold it into procMs.router), EN-side caches (browsers).
import { PrivateHostList } from '../router/phl.js';
import { RcScheduler } from '../router/scheduler.js';
import type { RespondEvent } from '../router/events.js';
import type { Service } from '../router/claims.js';
import { networkOf } from '../server/prefix-table.js';
import { answerLeaseMs, planFor } from '../server/nts-gateway.js';
import { policyShape, resolverProfile, schedulerConfig, validateParams, type SimParams } from './model.js';
import { prng, sample } from './random.js';
import { StepSeries, summarize, type Summary } from './stats.js';
import { SimWorld } from './world.js';

/** The `ntss resolver` (NTSS v1) defaults: resolver-config.ts nts.clientPatienceMs and nts.marginMs. */
const V1_PATIENCE_MS = 4500;
const V1_MARGIN_MS = 150;

export interface SimResult {
  readonly policy: string;
  readonly resolver: string;
  readonly seed: number;
  /** Lookups made; `connecting`: those whose client connects (not prefetchers). */
  readonly lookups: number;
  readonly connecting: number;
  /** Connecting lookups whose first packet reached the host asked for. */
  readonly right: number;
  /** Mapped packets that reached another host than the one their EN asked for. Must be 0 where leases apply. */
  readonly wrongHost: number;
  /** First packets nothing admitted (no RC, lease or sticky). */
  readonly refused: number;
  /** Lookups that ended without an answer (SERVFAIL or the stub's timeouts). */
  readonly failed: number;
  /** right / connecting (1 when nobody connects). */
  readonly success: number;
  readonly waits: {
    /** NTS request at the router -> READY (the queue wait the closed forms predict). */
    readonly router: Summary;
    /** The EN's first query -> its answer. */
    readonly lookup: Summary;
    /** The EN's first query -> its first packet mapped to the right host. */
    readonly connect: Summary;
  };
  readonly nts: Record<string, number>;
  readonly queue: { readonly max: number; readonly mean: number; readonly series: Array<[number, number]> };
  /** Virtual time the run took (ms). */
  readonly endMs: number;
}

export interface RunOptions {
  /** Told about once a second of wall time on runs longer than ~2 s. */
  progress?: (line: string) => void;
}

interface Lookup {
  readonly i: number;
  readonly t0: number;
  readonly host: number;
  readonly en: string;
  readonly resolver: string;
  readonly prefetch: boolean;
  readonly er: number; readonly rs: number; readonly sr: number; readonly eres: number; readonly connectDelay: number;
  done: boolean;
  attempt: number;
}

type Outcome = { ok: true; ga: string } | { ok: false; why: string };

const gaOf = (i: number) => `203.0.113.${2 + i}`;
const hostName = (i: number) => `h${i}.home.example.`;
const hostAddr = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const enAddr = (i: number) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
const resolverAddr = (i: number) => `198.18.${i}.53`;

export function simulate(p: SimParams, opts: RunOptions = {}): SimResult {
  validateParams(p);
  const rnd = prng(p.seed);
  const shape = policyShape(p);
  const profile = resolverProfile(p.resolver, p.policy, p.stub);
  const gas = Array.from({ length: shape.addresses }, (_, i) => gaOf(i));
  const phl = new PrivateHostList();
  const svcPort = (h: number) => 10_000 + (h % p.services);
  const services = (h: number): Service[] | undefined => (shape.services ? [{ proto: 'tcp', ports: [svcPort(h), svcPort(h)] }] : undefined);
  const ensureHost = (h: number) => {
    if (!phl.lookup(hostName(h))) phl.setConfigured(hostName(h), hostAddr(h), services(h));
  };
  for (let h = 0; h < p.hosts; h++) ensureHost(h);
  const world = new SimWorld(new RcScheduler(schedulerConfig(p, gas), phl));

  // ---- the load --------------------------------------------------------------------------------
  const lookups: Lookup[] = [];
  const traceEns = new Map<string, string>();
  const mk = (t0: number, host: number, en?: string) => {
    const i = lookups.length;
    const enA = en === undefined ? enAddr(i) : traceEn(en);
    const l: Lookup = {
      i, t0, host, en: enA, resolver: p.resolver === 'glibc' ? enA : resolverAddr(i % p.resolvers),
      prefetch: rnd() < p.prefetchFraction,
      er: sample(p.rtt.enRouter, rnd), rs: sample(p.rtt.resolverServer, rnd), sr: sample(p.rtt.serverRouter, rnd),
      eres: sample(p.rtt.enResolver, rnd), connectDelay: sample(p.connectDelay, rnd), done: false, attempt: 0,
    };
    ensureHost(host);
    lookups.push(l);
    world.at(t0, () => stubTry(l));
  };
  const traceEn = (en: string) => {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(en)) return en;
    let a = traceEns.get(en);
    if (!a) traceEns.set(en, (a = enAddr(traceEns.size)));
    return a;
  };
  const pickHost = (i: number) => (p.hosts === 0 ? i : Math.floor(rnd() * p.hosts));
  const a = p.arrivals;
  if (a.kind === 'burst') {
    for (let i = 0; i < a.n; i++) mk((a.spreadMs ?? 0) * rnd(), pickHost(i));
  } else if (a.kind === 'poisson') {
    const mean = 1000 / a.ratePerS;
    for (let t = -mean * Math.log(1 - rnd()), i = 0; a.ratePerS > 0 && t < a.durationMs; t += -mean * Math.log(1 - rnd()), i++) mk(t, pickHost(i));
  } else {
    const ids = new Map<string, number>();
    for (const row of a.rows) {
      const m = /^h(\d+)(\.|$)/.exec(row.name);
      let h = m ? Number(m[1]) : ids.get(row.name);
      if (h === undefined) ids.set(row.name, (h = 1_000_000 + ids.size));
      mk(row.tMs, h, row.en);
    }
  }

  // ---- CPUs: one message at a time -------------------------------------------------------------
  let serverBusy = 0;
  let routerBusy = 0;
  const serverCpu = (t: number) => (serverBusy = Math.max(t, serverBusy) + p.procMs.server);
  const routerCpu = (t: number) => (routerBusy = Math.max(t, routerBusy) + p.procMs.router);

  // ---- counters and samples --------------------------------------------------------------------
  const nts: Record<string, number> = {};
  const count = (k: string) => (nts[k] = (nts[k] ?? 0) + 1);
  const routerWaits: number[] = [];
  const lookupWaits: number[] = [];
  const connectWaits: number[] = [];
  let right = 0;
  let wrongHost = 0;
  let refused = 0;
  let failed = 0;
  const queue = new StepSeries();
  world.onEvents = () => queue.note(world.now, world.scheduler.queueLength);

  // ---- the EN: stub tries, then the first packet ---------------------------------------------------
  function stubTry(l: Lookup): void {
    const tryNo = ++l.attempt;
    const sentAt = world.now;
    const deliver = (o: Outcome, at: number) => world.at(at, () => {
      if (l.done || l.attempt !== tryNo) return; // an answer to a try the stub gave up on: ignored
      if (o.ok) return answered(l, o.ga);
      if (l.attempt < p.stub.attempts) return stubTry(l); // glibc: SERVFAIL -> the next try at once
      l.done = true;
      failed++;
    });
    world.at(sentAt + p.stub.timeoutMs, () => {
      if (l.done || l.attempt !== tryNo) return;
      if (l.attempt < p.stub.attempts) return stubTry(l);
      l.done = true;
      failed++;
    });
    if (p.policy === 'v1') return v1Resolve(l, (o) => deliver(o, world.now + l.eres / 2), sentAt + l.eres / 2);
    if (p.resolver === 'glibc') return serverQuery(l, (o) => deliver(o, world.now + l.rs / 2), sentAt + l.rs / 2);
    world.at(sentAt + l.eres / 2, () => resolve(l, (o) => deliver(o, world.now + l.eres / 2)));
  }

  function answered(l: Lookup, ga: string): void {
    l.done = true;
    let at = world.now;
    if (p.parallelAaaa) at = Math.max(at, l.t0 + l.eres + l.rs * (p.detour ? 2 : 1)); // the AAAA (NODATA) comes the plain way
    lookupWaits.push(at - l.t0);
    if (l.prefetch) return;
    world.at(at + l.connectDelay + l.er / 2, () => {
      const r = world.packet({ src: l.en, srcPort: 1024 + (l.i % 60_000), dst: ga, dstPort: svcPort(l.host), proto: 'tcp' });
      if (r.verdict === 'no-rc') refused++;
      else if (r.mapping.privateAddress !== hostAddr(l.host)) wrongHost++;
      else {
        right++;
        connectWaits.push(world.now - l.t0);
      }
    });
  }

  // ---- the resolver: cache, coalescing of identical client queries, patience ----------------------
  const caches = new Map<string, { ga: string; until: number }>();
  const inResolver = new Map<string, Array<(o: Outcome) => void>>();
  function resolve(l: Lookup, reply: (o: Outcome) => void): void {
    const prefix = shape.mode === 'prefix' ? l.en : '';
    const key = `${l.resolver} ${l.host} ${prefix}`;
    const hit = caches.get(key);
    if (hit && hit.until > world.now) return reply({ ok: true, ga: hit.ga });
    const waiting = inResolver.get(key);
    if (waiting) return void waiting.push(reply);
    const list = [reply];
    inResolver.set(key, list);
    let over = false;
    const finish = (o: Outcome) => {
      if (over) return;
      over = true;
      inResolver.delete(key);
      for (const r of list) r(o);
    };
    world.at(world.now + profile.patienceMs, () => finish({ ok: false, why: 'resolver-gave-up' }));
    const arrive = world.now + l.rs / 2 + (p.detour ? l.rs : 0);
    serverQuery(l, (o) => world.at(world.now + l.rs / 2, () => {
      // Caches count TTLs in whole seconds; a subnet cache keeps even TTL 0 that long (docs/leases.md).
      if (o.ok && (profile.ttlFloorMs > 0 || prefix !== '')) caches.set(key, { ga: o.ga, until: (Math.floor(world.now / 1000) + 1) * 1000 + profile.ttlFloorMs });
      finish(o);
    }), arrive, p.detour ? l.rs : 0);
  }

  // ---- the NTSv2 server's gateway ----------------------------------------------------------------
  const pendingReq = new Map<string, Array<(o: Outcome) => void>>();
  const refusedUntil = new Map<string, number>();
  const inFlight = new Map<string, number>();
  let pendingTotal = 0;
  let nextId = 0;
  function serverQuery(l: Lookup, reply: (o: Outcome) => void, arriveAt: number, detourMs = 0): void {
    world.at(arriveAt, () => world.at(serverCpu(world.now), () => {
      const now = world.now;
      const ecs = shape.mode === 'prefix' ? { address: l.en, prefixLength: 32 } : undefined;
      const plan = planFor(profile, p.server, ecs, detourMs);
      const key = `${l.resolver}|${l.host}|1${plan.mode === 'prefix' ? `|${l.en}/32` : ''}`;
      const joined = pendingReq.get(key);
      if (joined) return void joined.push(reply);
      if ((refusedUntil.get(key) ?? -Infinity) > now) {
        count('gateway-suppressed');
        return reply({ ok: false, why: 'suppressed' });
      }
      const net = networkOf(l.resolver, 24, 56) ?? l.resolver;
      if (pendingTotal >= p.server.maxPending) {
        count('gateway-server-limit');
        return reply({ ok: false, why: 'server-limit' });
      }
      if ((inFlight.get(net) ?? 0) >= p.server.maxPendingPerResolver) {
        count('gateway-resolver-limit');
        return reply({ ok: false, why: 'resolver-limit' });
      }
      inFlight.set(net, (inFlight.get(net) ?? 0) + 1);
      pendingTotal++;
      const list = [reply];
      pendingReq.set(key, list);
      let over = false;
      const done = (o: Outcome) => {
        if (over) return;
        over = true;
        pendingReq.delete(key);
        pendingTotal--;
        inFlight.set(net, inFlight.get(net)! - 1);
        if (!o.ok && p.server.refusalHoldMs > 0) refusedUntil.set(key, world.now + p.server.refusalHoldMs);
        for (const r of list) r(o);
      };
      const deadlineMs = now + plan.timeLeftMs;
      world.at(deadlineMs, () => { if (!over) count('gateway-timeout'); done({ ok: false, why: 'timeout' }); });
      const leaseMs = shape.leases ? plan.leaseMs : 0;
      routerRequest(l, { mode: plan.mode, deadlineMs, leaseMs }, now + l.sr / 2, (o) => world.at(serverCpu(world.now + l.sr / 2), () => done(o)));
    }));
  }

  // ---- NTSS v1: `ntss resolver` asks the router itself, keyed on the EN ----------------------------
  function v1Resolve(l: Lookup, reply: (o: Outcome) => void, arriveAt: number): void {
    world.at(arriveAt, () => {
      // It resolves the name first (one resolver-server round trip, answered at once), then asks the router.
      const deadlineMs = world.now + V1_PATIENCE_MS - V1_MARGIN_MS;
      const leaseMs = answerLeaseMs(p.server.enCacheMs);
      routerRequest(l, { mode: 'source', deadlineMs, leaseMs }, world.now + l.rs + l.rs / 2, (o) => world.at(world.now + l.rs / 2, () => reply(o)));
    });
  }

  // ---- the router: NTS request -> scheduler, READY or a refusal back -------------------------------
  const arrivedAt = new Map<string, number>();
  function routerRequest(l: Lookup, r: { mode: 'any' | 'prefix' | 'source'; deadlineMs: number; leaseMs: number }, arriveAt: number, reply: (o: Outcome) => void): void {
    world.at(arriveAt, () => world.at(routerCpu(world.now), () => {
      const id = `r${nextId++}`;
      count('requests');
      arrivedAt.set(id, world.now);
      const req = {
        id, fqdn: hostName(l.host), qtype: 1, resolver: l.resolver, deadlineMs: r.deadlineMs, mode: r.mode, leaseMs: r.leaseMs,
        ...(r.mode === 'prefix' ? { ecs: `${l.en}/32` } : {}), ...(r.mode === 'source' ? { enAddress: l.en } : {}),
      };
      world.request(req, (e: RespondEvent) => {
        const t = arrivedAt.get(id)!;
        arrivedAt.delete(id);
        if (e.status === 'READY') {
          count('ready');
          routerWaits.push(world.now - t);
          return reply({ ok: true, ga: e.globalAddress });
        }
        count(`${e.status.toLowerCase()}:${e.reason}`);
        reply({ ok: false, why: e.status });
      });
    }));
  }

  // ---- run ---------------------------------------------------------------------------------------
  const started = Date.now();
  let lastReport = started;
  let steps = 0;
  world.run(Infinity, opts.progress && (() => {
    if (++steps % 4096 !== 0) return;
    const wall = Date.now();
    if (wall - started < 2000 || wall - lastReport < 1000) return;
    lastReport = wall;
    opts.progress!(`simulate: t=${(world.now / 1000).toFixed(1)} s virtual, ${lookups.filter((x) => x.done).length}/${lookups.length} lookups done, queue ${world.scheduler.queueLength}`);
  }));
  const endMs = world.now;
  const connecting = lookups.filter((l) => !l.prefetch).length;
  return {
    policy: p.policy, resolver: p.resolver, seed: p.seed, lookups: lookups.length, connecting, right, wrongHost, refused, failed,
    success: connecting === 0 ? 1 : right / connecting,
    waits: { router: summarize(routerWaits), lookup: summarize(lookupWaits), connect: summarize(connectWaits) },
    nts, queue: { max: queue.max, mean: queue.mean(endMs), series: queue.downsample(endMs) }, endMs,
  };
}
