// Seeded random workloads against the scheduler: the event log must not depend on how often
// poll() is called, and the paper's safety rules must hold in every log. Plus a static check
// that the core stays sans-I/O.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { PrivateHostList } from '../src/router/phl.js';
import { RcScheduler } from '../src/router/scheduler.js';
import type { SchedulerConfig } from '../src/router/config.js';
import type { RouterEvent } from '../src/router/events.js';
import type { FirstPacket, Lease, NtsRequest, Rc, Sticky } from '../src/router/types.js';
import { keyMatches, keysOverlap, type ClaimKey } from '../src/router/claims.js';
import { prng } from './helpers/prng.js';

type Op = { t: number; kind: 'req'; req: NtsRequest } | { t: number; kind: 'pkt'; pkt: FirstPacket };

interface Workload { config: SchedulerConfig; ops: Op[]; end: number; services: boolean; leases: boolean }

const POOL = ['203.0.113.2', '203.0.113.3', '203.0.113.4'];
const HOSTS: Record<string, string> = {
  'alice.home.example.': '192.168.50.10', 'bob.home.example.': '192.168.50.11', 'carol.home.example.': '192.168.50.12',
};

function workload(seed: number): Workload {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const config: SchedulerConfig = {
    globalAddresses: POOL.slice(0, int(1, 3)), holdMs: int(0, 800), rcTimeoutMs: int(500, 4000),
    queueLimit: int(0, 8), serviceEstimateMs: int(20, 200), safetyMarginMs: int(0, 300), stickyMs: pick([0, 30_000]),
  };
  // Half the workloads keep the paper's setting (all ports, `any` RCs, no leases), where
  // strict FIFO must hold; the rest add services, leases, ECS and v1 RCs.
  const rich = seed % 2 === 0;
  // Rich workloads also run with resolver reputation (penalties, probation, suspects) half the time.
  if (rich && seed % 4 === 0) Object.assign(config, { reputation: { enabled: true, penaltyMs: int(500, 20_000), demandWindowMs: int(1000, 60_000) }, minRcTimeoutMs: int(100, 1000) });
  const ops: Op[] = [];
  const ids: string[] = [];
  let t = 0;
  for (let i = 0; i < 400; i++) {
    t += int(0, 120);
    if (rnd() < 0.6) {
      const id = ids.length > 0 && rnd() < 0.08 ? pick(ids) : `r${i}`;
      ids.push(id);
      const fqdn = pick([...Object.keys(HOSTS), 'nobody.home.example.']);
      const mode = rich ? pick(['any', 'any', 'prefix', 'source'] as const) : 'any';
      ops.push({
        t, kind: 'req',
        req: {
          id, fqdn, qtype: rnd() < 0.9 ? 1 : 28, resolver: `192.0.2.${int(1, 4)}`, deadlineMs: t + pick([150, 1900, 1900, 9500]),
          mode, ecs: mode === 'prefix' ? pick(['198.51.100.0/24', '198.51.100.0/30', '198.51.100.4/30']) : undefined,
          enAddress: mode === 'source' ? `198.51.100.${int(1, 6)}` : undefined,
          leaseMs: rich ? pick([0, 0, 1000, 5000]) : 0,
        },
      });
    } else {
      ops.push({
        t, kind: 'pkt',
        pkt: {
          src: `198.51.100.${int(1, 6)}`, srcPort: int(40000, 40010), dst: rnd() < 0.95 ? pick(config.globalAddresses) : '203.0.113.99',
          dstPort: pick([22, 80]), proto: pick(['tcp', 'udp'] as const),
        },
      });
    }
  }
  return { config, ops, end: t + 20_000, services: rich && rnd() < 0.5, leases: rich };
}

function newScheduler(w: Workload): RcScheduler {
  const phl = new PrivateHostList();
  for (const [name, addr] of Object.entries(HOSTS)) {
    const services = !w.services ? undefined : name.startsWith('alice') ? [{ proto: 'tcp' as const, ports: [22, 22] as const }]
      : name.startsWith('bob') ? [{ proto: 'any' as const, ports: [80, 80] as const }] : undefined;
    phl.setConfigured(name, addr, services);
  }
  return new RcScheduler(w.config, phl);
}

function apply(s: RcScheduler, op: Op): RouterEvent[] {
  return op.kind === 'req' ? s.request(op.t, op.req) : s.packet(op.t, op.pkt).events;
}

/** Driver A: a daemon that polls exactly at every wake-up. */
function runPunctual(w: Workload): { events: RouterEvent[]; s: RcScheduler } {
  const s = newScheduler(w);
  const events: RouterEvent[] = [];
  for (const op of w.ops) {
    for (let due = s.nextWakeupMs(); due !== undefined && due <= op.t; due = s.nextWakeupMs()) events.push(...s.poll(due));
    events.push(...apply(s, op));
    assert.ok(s.queueLength <= w.config.queueLimit, 'queue bounded');
  }
  events.push(...s.poll(w.end));
  return { events, s };
}

/** Driver B: never polls until the end; entry points catch up by themselves. */
function runLazy(w: Workload): RouterEvent[] {
  const s = newScheduler(w);
  const events: RouterEvent[] = [];
  for (const op of w.ops) events.push(...apply(s, op));
  events.push(...s.poll(w.end));
  return events;
}

function checkInvariants(w: Workload, events: RouterEvent[]): void {
  const c = w.config;
  const deadline = new Map<string, number>();
  for (const op of w.ops) if (op.kind === 'req' && !deadline.has(op.req.id)) deadline.set(op.req.id, op.req.deadlineMs);
  let last = -Infinity;
  const rcs = new Map<number, Rc>();
  const leases = new Map<number, Lease>();
  const stickies = new Map<number, Sticky>();
  const answered = new Map<string, number>();
  const queuedOrder: string[] = [];
  const servedFromQueue: string[] = [];
  const joinedActive = new Set<string>();
  // Never the wrong host, by construction: claims of two hosts never overlap.
  const claims = (): Array<{ pa: string; keys: readonly ClaimKey[]; what: string }> => [
    ...[...rcs.values()].map((r) => ({ pa: r.privateAddress, keys: r.keys, what: `rc${r.id}` })),
    ...[...leases.values()].map((l) => ({ pa: l.privateAddress, keys: l.keys, what: `lease${l.id}` })),
    ...[...stickies.values()].map((s) => ({ pa: s.privateAddress, keys: [s.key], what: `sticky${s.id}` })),
  ];
  const checkDisjoint = (at: number): void => {
    const all = claims();
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const [x, y] = [all[i], all[j]];
        const overlap = x.keys.some((a) => y.keys.some((b) => keysOverlap(a, b)));
        if (overlap) assert.equal(x.pa, y.pa, `at ${at}: ${x.what} and ${y.what} overlap for two hosts`);
      }
    }
    const rcList = [...rcs.values()];
    const anyMap = (r: Rc) => r.keys[0]!.source === '0.0.0.0/0';
    for (let i = 0; i < rcList.length; i++) {
      for (let j = i + 1; j < rcList.length; j++) {
        if (anyMap(rcList[i]) !== anyMap(rcList[j])) continue; // two maps: only one host may overlap there (above)
        assert.ok(!rcList[i].keys.some((a) => rcList[j].keys.some((b) => keysOverlap(a, b))), `at ${at}: RCs ${rcList[i].id} and ${rcList[j].id} overlap in one map (the kernel would refuse)`);
      }
    }
  };
  for (const e of events) {
    assert.ok(e.at >= last, `events in time order (${e.type} at ${e.at} after ${last})`);
    last = e.at;
    switch (e.type) {
      case 'rc-created':
        // Adaptive RC life (connect-delays.ts): within [minRcTimeoutMs, rcTimeoutMs].
        assert.ok(e.rc.expiresAt <= e.at + c.rcTimeoutMs && e.rc.expiresAt >= e.at + Math.min(c.minRcTimeoutMs ?? Infinity, c.rcTimeoutMs), 'RC life within its bounds');
        rcs.set(e.rc.id, e.rc);
        break;
      case 'rc-renewed':
        assert.ok(rcs.has(e.rc.id), 'renewed RC exists');
        assert.equal(e.rc.firstPacketAt, null);
        rcs.set(e.rc.id, e.rc);
        break;
      case 'rc-hold-started': {
        const cur = rcs.get(e.rc.id)!;
        assert.equal(cur.firstPacketAt, null, 'hold starts once per arming');
        assert.equal(e.rc.releaseAt, e.at + (c.holdMs));
        rcs.set(e.rc.id, e.rc);
        break;
      }
      case 'rc-removed': {
        const cur = rcs.get(e.rc.id);
        assert.ok(cur, 'removed RC existed');
        if (e.reason === 'hold-done') assert.equal(e.at, cur.releaseAt);
        else assert.equal(e.at, cur.expiresAt);
        rcs.delete(e.rc.id);
        break;
      }
      case 'lease-created':
        leases.set(e.lease.id, e.lease);
        break;
      case 'lease-ended':
        assert.equal(e.at, e.lease.until);
        leases.delete(e.lease.id);
        break;
      case 'sticky-created':
        stickies.set(e.sticky.id, e.sticky);
        break;
      case 'sticky-ended':
        stickies.delete(e.sticky.id);
        break;
      case 'packet-ambiguous':
        assert.fail(`ambiguous packet at ${e.at}`);
        break;
      case 'mapping-created': {
        const m = e.mapping;
        const pkt = { src: m.enAddress, dst: m.globalAddress, proto: m.proto, dstPort: m.globalPort };
        const rc = [...rcs.values()].find((r) => r.keys.some((k) => keyMatches(k, pkt)));
        const st = [...stickies.values()].find((s) => keyMatches(s.key, pkt) && s.until > e.at);
        assert.ok(rc || st, 'a mapping only through an RC or a live sticky entry');
        assert.equal(m.privateAddress, (rc ?? st)!.privateAddress);
        break;
      }
      case 'request-queued':
        queuedOrder.push(e.id);
        break;
      case 'request-joined':
        if (e.state === 'active') joinedActive.add(e.id);
        break;
      case 'respond':
        for (const id of e.requestIds) answered.set(id, (answered.get(id) ?? 0) + 1);
        if (e.status === 'READY') {
          const latest = Math.max(...e.requestIds.map((id) => deadline.get(id)!));
          // A retry joining an RC that already exists is answered READY whatever its deadline:
          // the RC costs nothing more and a positive answer can only help.
          if (!joinedActive.has(e.requestIds[0])) assert.ok(e.at < latest - c.safetyMarginMs, `READY in time for ${e.requestIds}`);
          if (queuedOrder.includes(e.requestIds[0])) servedFromQueue.push(e.requestIds[0]);
        }
        break;
      default:
        break;
    }
    checkDisjoint(e.at);
  }
  assert.equal(rcs.size, 0, 'every RC ends');
  assert.equal(leases.size, 0, 'every lease ends');
  for (const id of deadline.keys()) assert.equal(answered.get(id), 1, `request ${id} answered exactly once`);
  // FIFO per resolver in the paper's setting (one address, all ports, no leases); resolvers
  // take turns (queue.ts). With more addresses a later request may share an RC on another
  // address than the one an earlier request waits for: it does not delay that one, so it may go first.
  if (!w.leases && c.globalAddresses.length === 1) {
    const resolverOf = new Map<string, string>();
    for (const op of w.ops) if (op.kind === 'req' && !resolverOf.has(op.req.id)) resolverOf.set(op.req.id, op.req.resolver);
    for (const r of new Set(resolverOf.values())) {
      const mine = (ids: string[]) => ids.filter((id) => resolverOf.get(id) === r);
      const order = mine(queuedOrder).filter((id) => servedFromQueue.includes(id));
      assert.deepEqual(mine(servedFromQueue), order, `served in FIFO order within resolver ${r}`);
    }
  }
}

test('the event log does not depend on poll cadence, and the rules hold (200 seeded workloads)', () => {
  const seen: Record<string, number> = {};
  for (let seed = 1; seed <= 200; seed++) {
    const w = workload(seed);
    const a = runPunctual(w);
    const b = runLazy(w);
    assert.deepEqual(b, a.events, `seed ${seed}: lazy and punctual drivers differ`);
    checkInvariants(w, a.events);
    for (const e of a.events) {
      const k = e.type === 'respond' ? (e.status === 'READY' ? 'READY' : e.reason) : e.type === 'rc-removed' ? e.reason : e.type;
      seen[k] = (seen[k] ?? 0) + 1;
    }
  }
  const paths = ['READY', 'unknown-host', 'queue-full', 'wait-exceeds-deadline', 'deadline-in-queue', 'hold-done', 'expired',
    'request-queued', 'request-joined', 'request-ignored', 'mapping-created', 'rc-renewed', 'lease-created', 'lease-ended',
    'sticky-created', 'sticky-ended'];
  for (const k of paths) assert.ok((seen[k] ?? 0) > 0, `the workloads reach ${k}: ${JSON.stringify(seen)}`);
});

test('src/router is sans-I/O: no socket, file, timer, process or clock use', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = [resolve(here, '../../src/router'), resolve('src/router')].find((d) => existsSync(join(d, 'scheduler.ts')));
  assert.ok(dir, 'src/router found');
  const banned = [
    /from 'node:(?!assert)/, /require\(/, /\bDate\.now\b/, /\bnew Date\b/, /\bperformance\.now\b/,
    /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bprocess\./, /\bMath\.random\b/,
  ];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const re of banned) assert.doesNotMatch(text, re, `${f} uses ${re}`);
  }
});
