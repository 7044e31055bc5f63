// Resolver reputation (issue 8): a lookup that never turns into a first packet still took a
// global address for an RC and an answer lease, so a resolver that asks and never connects
// (a flood from one host acting as a resolver) loses its standing, and one whose answers are
// used keeps its turn. Pure: the clock is an argument; the scheduler reports each RC's end.
//
// Credit per resolver address: a newcomer starts on probation with `initialCredit`; an RC it
// asked for that saw its first packet gives `usedCredit` (up to `maxCredit`) and makes it
// proven; one that expired unused costs `unusedCost`. At 0 it is penalised for `penaltyMs`,
// doubled for every repeat offence (up to `maxPenaltyMs`), then suspect until an RC of its is
// used again. What each standing may do is the scheduler's business (docs/reputation.md).
// Trusted resolvers (the operator's configuration) start at maxCredit, and are never penalised.
import { NtssError } from '../util/errors.js';

/**
 * trusted: configured; proven: an RC of its was used since its last penalty; probation: a
 * newcomer; suspect: back from a penalty, nothing used since; penalised: DENIED meanwhile.
 */
export type Standing = 'trusted' | 'proven' | 'probation' | 'suspect' | 'penalised';

export interface ReputationConfig {
  /** Off: every resolver counts as proven (the behaviour before issue 8). Default true. */
  readonly enabled?: boolean;
  readonly initialCredit?: number;
  readonly provenCredit?: number;
  readonly maxCredit?: number;
  readonly usedCredit?: number;
  readonly unusedCost?: number;
  readonly penaltyMs?: number;
  readonly maxPenaltyMs?: number;
  /** A resolver unseen this long is forgotten; its offences too (also bounds the table). */
  readonly forgetMs?: number;
  /** Most resolvers remembered; beyond, the least recently seen non-penalised one goes. */
  readonly maxResolvers?: number;
}

/** Resolvers the operator vouches for (routerd builds it from `scheduler.reputation.trusted`). */
export type TrustedResolver = (resolver: string) => boolean;

export const REPUTATION_DEFAULTS = {
  enabled: true,
  // Three unused RCs before a first penalty: a real resolver's first lookups may all be of the
  // wasted kind (the lab's aaaa scenario: Unbound's A query before an AAAA lookup, first thing).
  initialCredit: 3,
  maxCredit: 8,
  // A used RC outweighs two unused ones: real resolvers make some RCs nobody uses (Unbound's
  // A query before an AAAA lookup, Knot Resolver's background refreshes; src/lab/README.md).
  usedCredit: 2,
  unusedCost: 1,
  penaltyMs: 60_000,
  maxPenaltyMs: 3_600_000,
  forgetMs: 86_400_000,
  maxResolvers: 10_000,
  // How long a request in good standing for a host counts as that host's demand: a resolver on
  // probation may not take an address such a host would then lack (the scheduler's spare rule).
  demandWindowMs: 60_000,
} as const;

export type ResolvedReputationConfig = { readonly enabled: boolean } & { readonly [K in Exclude<keyof typeof REPUTATION_DEFAULTS, 'enabled'>]: number };

interface Entry {
  credit: number;
  /** An RC of its saw a packet since its last penalty. */
  proven: boolean;
  /** Penalised until then (-Infinity: not penalised). */
  penalisedUntil: number;
  /** Times it ran out of credit: each doubles the next penalty. */
  offences: number;
  lastSeen: number;
}

/** What one resolver's record says, for logs and `ntss status`. */
export interface ReputationView {
  readonly resolver: string;
  readonly standing: Standing;
  readonly credit: number;
  readonly penalisedUntil?: number;
  readonly offences: number;
}

export type ReputationChange =
  | { readonly type: 'penalised'; readonly resolver: string; readonly until: number; readonly offences: number }
  | { readonly type: 'proven'; readonly resolver: string; readonly credit: number };

export function resolveReputationConfig(c: ReputationConfig = {}): ResolvedReputationConfig {
  const r: ResolvedReputationConfig = { ...REPUTATION_DEFAULTS, ...c };
  const bad = (key: string, expected: string): never => {
    throw new NtssError('ROUTER_CONFIG', `scheduler config: reputation.${key}: ${expected}`);
  };
  for (const k of ['initialCredit', 'maxCredit', 'usedCredit', 'unusedCost'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 1) bad(k, 'an integer >= 1');
  }
  if (r.initialCredit > r.maxCredit) bad('maxCredit', 'at least initialCredit');
  for (const k of ['penaltyMs', 'maxPenaltyMs', 'forgetMs', 'demandWindowMs'] as const) if (!Number.isFinite(r[k]) || r[k] <= 0) bad(k, 'a finite number > 0');
  if (r.maxPenaltyMs < r.penaltyMs) bad('maxPenaltyMs', 'at least penaltyMs');
  if (!Number.isInteger(r.maxResolvers) || r.maxResolvers < 1) bad('maxResolvers', 'an integer >= 1');
  return r;
}

export class ResolverReputation {
  config: ResolvedReputationConfig;
  // A Map keeps insertion order; touching an entry re-inserts it, so the first is least recent.
  private readonly table = new Map<string, Entry>();
  /** Entries dropped because the table was full (a counter for the daemon). */
  evicted = 0;

  constructor(config: ReputationConfig = {}, private trusted: TrustedResolver = () => false) {
    this.config = resolveReputationConfig(config);
  }

  /** A reload: new numbers and trusted set; every resolver's record stays. */
  reconfigure(config: ReputationConfig, trusted: TrustedResolver = () => false): void {
    this.config = resolveReputationConfig(config);
    this.trusted = trusted;
  }

  standing(now: number, resolver: string): Standing {
    if (!this.config.enabled) return 'proven';
    if (this.isTrusted(resolver)) return 'trusted';
    const e = this.table.get(resolver);
    if (!e || now - e.lastSeen > this.config.forgetMs) return 'probation';
    if (e.penalisedUntil > now) return 'penalised';
    return e.proven ? 'proven' : e.offences > 0 ? 'suspect' : 'probation';
  }

  /** A newcomer on probation that has wasted nothing yet (full starting credit, no offence). */
  clean(now: number, resolver: string): boolean {
    if (!this.config.enabled || this.standing(now, resolver) !== 'probation') return false;
    const e = this.table.get(resolver);
    return !e || now - e.lastSeen > this.config.forgetMs || (e.offences === 0 && e.credit >= this.config.initialCredit);
  }

  /** True for trusted and proven resolvers: their requests wait their fair turn. */
  inGoodStanding(now: number, resolver: string): boolean {
    const s = this.standing(now, resolver);
    return s === 'trusted' || s === 'proven';
  }

  /** An RC this resolver asked for saw its first packet. */
  used(now: number, resolver: string): ReputationChange | undefined {
    if (!this.config.enabled || this.isTrusted(resolver)) return undefined;
    const e = this.entry(now, resolver);
    e.credit = Math.min(this.config.maxCredit, e.credit + this.config.usedCredit);
    if (e.proven || e.penalisedUntil > now) return undefined;
    e.proven = true;
    return { type: 'proven', resolver, credit: e.credit };
  }

  /** An RC this resolver asked for ended without a packet. */
  unused(now: number, resolver: string): ReputationChange | undefined {
    if (!this.config.enabled || this.isTrusted(resolver)) return undefined;
    const e = this.entry(now, resolver);
    if (e.penalisedUntil > now) return undefined; // already serving a penalty (an RC granted before it)
    e.credit -= this.config.unusedCost;
    if (e.credit > 0) return undefined;
    e.offences++;
    e.penalisedUntil = now + Math.min(this.config.maxPenaltyMs, this.config.penaltyMs * 2 ** (e.offences - 1));
    e.credit = this.config.initialCredit; // after the penalty: probation again
    e.proven = false;
    return { type: 'penalised', resolver, until: e.penalisedUntil, offences: e.offences };
  }

  view(now: number, resolver: string): ReputationView {
    const e = this.table.get(resolver);
    const standing = this.standing(now, resolver);
    return {
      resolver, standing, credit: e?.credit ?? this.config.initialCredit, offences: e?.offences ?? 0,
      ...(standing === 'penalised' ? { penalisedUntil: e!.penalisedUntil } : {}),
    };
  }

  /** Every remembered resolver (bounded by maxResolvers). */
  list(now: number): ReputationView[] {
    return [...this.table.keys()].map((r) => this.view(now, r));
  }

  get size(): number {
    return this.table.size;
  }

  private isTrusted(resolver: string): boolean {
    return this.trusted(resolver);
  }

  private entry(now: number, resolver: string): Entry {
    let e = this.table.get(resolver);
    if (e && now - e.lastSeen > this.config.forgetMs) e = undefined;
    this.table.delete(resolver);
    if (!e) {
      e = { credit: this.config.initialCredit, proven: false, penalisedUntil: -Infinity, offences: 0, lastSeen: now };
      this.makeRoom(now);
    }
    e.lastSeen = now;
    this.table.set(resolver, e);
    return e;
  }

  /**
   * Forgets the least recently seen resolver that is not penalised; only if every one is, the
   * least recent of all (an attacker able to fill the table from that many verified sources
   * could then return on probation, which costs at most idle capacity).
   */
  private makeRoom(now: number): void {
    if (this.table.size < this.config.maxResolvers) return;
    let victim: string | undefined;
    for (const [r, e] of this.table) {
      if (now - e.lastSeen > this.config.forgetMs || e.penalisedUntil <= now) { victim = r; break; }
    }
    victim ??= this.table.keys().next().value;
    if (victim !== undefined) {
      this.table.delete(victim);
      this.evicted++;
    }
  }
}
