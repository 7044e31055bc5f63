// `ntss simulate` flags -> simulation parameters. Every bad value is a UsageError naming its flag.
import { UsageError } from '../util/errors.js';
import { defaultParams, POLICIES, RESOLVERS, withoutLimits, type Arrivals, type PolicyName, type ResolverName, type SimParams, type TraceRow } from './model.js';
import { fixed, parseDist } from './random.js';

export type Flags = Record<string, string | boolean | undefined>;

export interface SimPlan {
  readonly mode: 'run' | 'capacity' | 'load';
  readonly policies: PolicyName[];
  readonly resolvers: ResolverName[];
  readonly rtts: number[];
  /** Builds the parameters for one (policy, resolver, RTT). */
  readonly params: (policy: PolicyName, resolver: ResolverName, rttMs: number) => SimParams;
  /** --load: offered loads per `perMs`, each run for `durationMs`. */
  readonly loads?: { values: number[]; perMs: number; perLabel: string; durationMs: number };
  readonly target: number;
  readonly maxBurst?: number;
}

function list<T extends string>(v: Flags[string], all: readonly T[], flag: string, dflt: T): T[] {
  if (v === undefined) return [dflt];
  const out = String(v).split(',').map((s) => s.trim());
  for (const s of out) if (!(all as readonly string[]).includes(s)) throw new UsageError(`simulate: --${flag}: ${JSON.stringify(s)} is not one of ${all.join(', ')}`);
  return out as T[];
}

function num(v: Flags[string], flag: string, o: { min?: number; max?: number; int?: boolean } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const ok = String(v).trim() !== '' && Number.isFinite(n) && (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max) && (!o.int || Number.isInteger(n));
  if (!ok) throw new UsageError(`simulate: --${flag}: ${JSON.stringify(v)} is not ${o.int ? 'an integer' : 'a number'}${o.min !== undefined ? ` >= ${o.min}` : ''}${o.max !== undefined ? ` <= ${o.max}` : ''}`);
  return n;
}

/** "10s", "1s", "500ms", "2m" -> ms. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw new UsageError(`simulate: --${flag}: ${JSON.stringify(s)} is not a duration (e.g. 10s, 500ms, 2m)`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
}

/** `A:B:STEP` -> [A, A+STEP, ..., B]. */
export function parseLoad(s: string): number[] {
  const parts = s.split(':').map(Number);
  const [a, b, step] = parts as [number, number, number];
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)) || a < 0 || b < a || step <= 0 || (b - a) / step > 200) {
    throw new UsageError(`simulate: --load: ${JSON.stringify(s)} is not FROM:TO:STEP with 0 <= FROM <= TO, STEP > 0, at most 200 steps`);
  }
  const out: number[] = [];
  for (let i = 0; a + i * step <= b + 1e-9; i++) out.push(Math.round((a + i * step) * 1e6) / 1e6);
  return out;
}

/** A trace: `t_ms,name[,en]` per line; a header line and `#` comments are skipped. */
export function parseTrace(text: string, file: string): TraceRow[] {
  const rows: TraceRow[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#') || (i === 0 && /^t_ms\b/i.test(l))) return;
    const [t, name, en, ...rest] = l.split(',').map((x) => x.trim());
    const tMs = Number(t);
    if (rest.length > 0 || !name || !Number.isFinite(tMs) || tMs < 0 || t === '') {
      throw new UsageError(`simulate: --trace ${file}:${i + 1}: expected "t_ms,name[,en]" with t_ms >= 0, got ${JSON.stringify(l)}`);
    }
    rows.push(en ? { tMs, name, en } : { tMs, name });
  });
  if (rows.length === 0) throw new UsageError(`simulate: --trace ${file}: no rows`);
  return rows;
}

export function planFromFlags(v: Flags, readTrace: (file: string) => string): SimPlan {
  const mode = v.capacity ? 'capacity' : v.load !== undefined ? 'load' : 'run';
  if (v.capacity && v.load !== undefined) throw new UsageError('simulate: --capacity and --load exclude each other');
  const given = ['burst', 'rate', 'trace'].filter((k) => v[k] !== undefined);
  if (given.length > 1) throw new UsageError(`simulate: give one of --burst, --rate, --trace (got ${given.map((k) => `--${k}`).join(', ')})`);
  if (mode !== 'run' && given.length > 0) throw new UsageError(`simulate: --${given[0]} does not go with --${mode}`);
  const policies = list(v.policy, POLICIES, 'policy', 'plain');
  const resolvers = list(v.resolver, RESOLVERS, 'resolver', 'unbound');
  const rtts = String(v.rtt ?? '20').split(',').map((s) => num(s, 'rtt', { min: 0.001, max: 60_000 })!);
  const perMs = v.per === undefined ? 1000 : parseDuration(String(v.per), 'per');
  const durationMs = v.duration === undefined ? undefined : parseDuration(String(v.duration), 'duration');
  let arrivals: Arrivals = { kind: 'burst', n: 50 };
  if (v.burst !== undefined) arrivals = { kind: 'burst', n: num(v.burst, 'burst', { min: 0, max: 1_000_000, int: true })!, spreadMs: num(v.spread, 'spread', { min: 0 }) ?? 0 };
  if (v.rate !== undefined) arrivals = { kind: 'poisson', ratePerS: (num(v.rate, 'rate', { min: 0 })! * 1000) / perMs, durationMs: durationMs ?? 60_000 };
  if (v.trace !== undefined) arrivals = { kind: 'trace', rows: parseTrace(readTrace(String(v.trace)), String(v.trace)) };
  const d = (k: string) => (v[k] === undefined ? undefined : parseDist(String(v[k]), `--${k}`));
  const stub = v.stub === undefined ? undefined : /^(\d+)x(\d+)$/.exec(String(v.stub));
  if (v.stub !== undefined && (!stub || Number(stub[1]) <= 0 || Number(stub[2]) < 1)) throw new UsageError(`simulate: --stub: ${JSON.stringify(v.stub)} is not TIMEOUTxATTEMPTS (e.g. 5000x2)`);
  const hosts = num(v.hosts, 'hosts', { min: 0, max: 1_000_000, int: true });
  const seed = num(v.seed, 'seed', { min: 0, max: 2 ** 32 - 1, int: true }) ?? 1;
  const params = (policy: PolicyName, resolver: ResolverName, rttMs: number): SimParams => {
    const p = defaultParams({ policy, rttMs, resolver, arrivals, seed });
    const lab = v.topology === 'lab';
    const q: SimParams = {
      ...p,
      hosts: hosts ?? p.hosts,
      rtt: {
        enRouter: d('rtt-en-router') ?? p.rtt.enRouter, resolverServer: d('rtt-resolver-server') ?? p.rtt.resolverServer,
        serverRouter: d('rtt-server-router') ?? (lab ? fixed(rttMs) : p.rtt.serverRouter), enResolver: d('rtt-en-resolver') ?? p.rtt.enResolver,
      },
      connectDelay: d('connect-delay') ?? p.connectDelay,
      holdMs: num(v.hold, 'hold', { min: 0, max: 60_000 }) ?? p.holdMs,
      rcTimeoutMs: num(v['rc-timeout'], 'rc-timeout', { min: 1, max: 600_000 }) ?? p.rcTimeoutMs,
      addresses: num(v.addresses, 'addresses', { min: 1, max: 250, int: true }) ?? p.addresses,
      services: num(v.services, 'services', { min: 1, max: 1000, int: true }) ?? p.services,
      prefetchFraction: num(v.prefetch, 'prefetch', { min: 0, max: 1 }) ?? p.prefetchFraction,
      parallelAaaa: v.aaaa === true,
      resolvers: num(v.resolvers, 'resolvers', { min: 1, max: 250, int: true }) ?? p.resolvers,
      stub: stub ? { timeoutMs: Number(stub[1]), attempts: Number(stub[2]) } : p.stub,
      server: { ...p.server, enCacheMs: num(v['en-cache'], 'en-cache', { min: 0, max: 600_000 }) ?? p.server.enCacheMs },
      detour: v.detour === true || lab,
      reputation: v.reputation === true,
    };
    return v['no-limits'] ? withoutLimits(q) : q;
  };
  if (v.topology !== undefined && v.topology !== 'lab' && v.topology !== 'paper') throw new UsageError(`simulate: --topology: ${JSON.stringify(v.topology)} is not paper or lab`);
  params(policies[0]!, resolvers[0]!, rtts[0]!); // every flag checked before any run
  return {
    mode, policies, resolvers, rtts, params,
    ...(mode === 'load' ? { loads: { values: parseLoad(String(v.load)), perMs, perLabel: v.per === undefined ? '1s' : String(v.per), durationMs: durationMs ?? 600_000 } } : {}),
    target: num(v.target, 'target', { min: 0.01, max: 1 }) ?? 0.99,
    maxBurst: num(v['max-burst'], 'max-burst', { min: 1, max: 1_000_000, int: true }),
  };
}
