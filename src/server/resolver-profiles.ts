// Which profile applies to the resolver behind a query: the configuration by prefix (longest
// wins) always decides when it matches; otherwise the passive fingerprint, when it is sure;
// otherwise the conservative default. Sans-I/O: `now` comes in as an argument.
import { Fingerprinter } from './fingerprint.js';
import type { QueryEvent } from './fingerprint-signals.js';
import { PrefixTable, type Prefix } from './prefix-table.js';
import { FINGERPRINTABLE, type FingerprintProfile } from './fingerprint-signals.js';
import { profileWith, type ResolverProfile } from './profiles.js';

export interface ProfileRule {
  prefixes: Prefix[];
  profile: ResolverProfile;
}

export interface ProfileChoice {
  profile: ResolverProfile;
  via: 'config' | 'fingerprint' | 'default';
  /** Fingerprint only: matched signal rows / rows that make a claim about the profile. */
  confidence?: number;
}

export interface ResolverProfilesOptions {
  rules?: ProfileRule[];
  /** The profile for resolvers neither configured nor recognised (BUILTIN_PROFILES.unknown by default). */
  defaultProfile?: ResolverProfile;
  /** Absent: no fingerprinting (`nts.fingerprint: false`). */
  fingerprint?: Fingerprinter;
}

export class DuplicatePrefixError extends Error {
  constructor(readonly prefix: Prefix) {
    super('duplicate prefix');
  }
}

export class ResolverProfiles {
  private readonly table = new PrefixTable<ResolverProfile>();
  readonly defaultProfile: ResolverProfile;
  readonly fingerprint?: Fingerprinter;
  private readonly builtins = Object.fromEntries(FINGERPRINTABLE.map((n) => [n, profileWith(n)])) as Record<FingerprintProfile, ResolverProfile>;

  constructor(opts: ResolverProfilesOptions = {}) {
    this.defaultProfile = opts.defaultProfile ?? profileWith('unknown');
    this.fingerprint = opts.fingerprint;
    for (const r of opts.rules ?? []) {
      for (const p of r.prefixes) if (!this.table.add(p, r.profile)) throw new DuplicatePrefixError(p);
    }
  }

  select(now: number, resolver: string): ProfileChoice {
    const configured = this.table.lookup(resolver);
    if (configured) return { profile: configured, via: 'config' };
    const v = this.fingerprint?.verdict(now, resolver);
    if (v && v.profile !== 'unknown') return { profile: this.builtins[v.profile], via: 'fingerprint', confidence: v.confidence };
    return { profile: this.defaultProfile, via: 'default' };
  }

  /** Configured resolvers are not fingerprinted: the configuration wins anyway, and memory is spared. */
  observe(now: number, q: QueryEvent): void {
    if (this.fingerprint && !this.table.lookup(q.resolver)) this.fingerprint.observe(now, q);
  }

  held(now: number, resolver: string, name: string, qtype: number, id: number, transport: 'udp' | 'tcp'): void {
    if (this.fingerprint && !this.table.lookup(resolver)) this.fingerprint.held(now, resolver, name, qtype, id, transport);
  }

  released(now: number, resolver: string, name: string, qtype: number): void {
    this.fingerprint?.released(now, resolver, name, qtype);
  }
}
