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
import type { FirstPacket, NtsRequest } from '../src/router/types.js';
import { prng } from './helpers/prng.js';

type Op = { t: number; kind: 'req'; req: NtsRequest } | { t: number; kind: 'pkt'; pkt: FirstPacket };

interface Workload { config: SchedulerConfig; ops: Op[]; end: number }

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
    queueLimit: int(0, 8), serviceEstimateMs: int(20, 200), safetyMarginMs: int(0, 300),
  };
  const ops: Op[] = [];
  const ids: string[] = [];
  let t = 0;
  for (let i = 0; i < 400; i++) {
    t += int(0, 120);
    if (rnd() < 0.6) {
      const id = ids.length > 0 && rnd() < 0.08 ? pick(ids) : `r${i}`;
      ids.push(id);
      const fqdn = pick([...Object.keys(HOSTS), 'nobody.home.example.']);
      ops.push({
        t, kind: 'req',
        req: { id, fqdn, qtype: rnd() < 0.9 ? 1 : 28, resolver: `192.0.2.${int(1, 4)}`, deadlineMs: t + pick([150, 1900, 1900, 9500]) },
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
  return { config, ops, end: t + 20_000 };
}

function newScheduler(config: SchedulerConfig): RcScheduler {
  const phl = new PrivateHostList();
  for (const [name, addr] of Object.entries(HOSTS)) phl.setConfigured(name, addr);
  return new RcScheduler(config, phl);
}

function apply(s: RcScheduler, op: Op): RouterEvent[] {
  return op.kind === 'req' ? s.request(op.t, op.req) : s.packet(op.t, op.pkt).events;
}

/** Driver A: a daemon that polls exactly at every wake-up. */
function runPunctual(w: Workload): { events: RouterEvent[]; s: RcScheduler } {
  const s = newScheduler(w.config);
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
  const s = newScheduler(w.config);
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
  const rcOn = new Map<string, { id: number; pa: string; createdAt: number; firstPacketAt: number | null }>();
  const answered = new Map<string, number>();
  const queuedOrder: string[] = [];
  const servedFromQueue: string[] = [];
  const joinedActive = new Set<string>();
  for (const e of events) {
    assert.ok(e.at >= last, `events in time order (${e.type} at ${e.at} after ${last})`);
    last = e.at;
    switch (e.type) {
      case 'rc-created':
        assert.ok(!rcOn.has(e.rc.globalAddress), `one any-RC per address (${e.rc.globalAddress} at ${e.at})`);
        assert.equal(e.rc.expiresAt, e.at + c.rcTimeoutMs);
        rcOn.set(e.rc.globalAddress, { id: e.rc.id, pa: e.rc.privateAddress, createdAt: e.at, firstPacketAt: null });
        break;
      case 'rc-hold-started': {
        const cur = rcOn.get(e.rc.globalAddress)!;
        assert.equal(cur.firstPacketAt, null, 'hold starts once');
        cur.firstPacketAt = e.at;
        assert.equal(e.rc.releaseAt, e.at + c.holdMs);
        break;
      }
      case 'rc-removed': {
        const cur = rcOn.get(e.rc.globalAddress);
        assert.equal(cur?.id, e.rc.id);
        if (e.reason === 'hold-done') assert.equal(e.at, cur!.firstPacketAt! + c.holdMs);
        else assert.equal(e.at, cur!.createdAt + c.rcTimeoutMs);
        rcOn.delete(e.rc.globalAddress);
        break;
      }
      case 'mapping-created': {
        const cur = rcOn.get(e.mapping.globalAddress);
        assert.ok(cur, 'a mapping only while an RC holds its address');
        assert.equal(e.mapping.rcId, cur.id);
        assert.equal(e.mapping.privateAddress, cur.pa);
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
  }
  assert.equal(rcOn.size, 0, 'every RC ends');
  for (const id of deadline.keys()) assert.equal(answered.get(id), 1, `request ${id} answered exactly once`);
  const order = queuedOrder.filter((id) => servedFromQueue.includes(id));
  assert.deepEqual(servedFromQueue, order, 'served in FIFO order');
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
    'request-queued', 'request-joined', 'request-ignored', 'mapping-created'];
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
