// Resolver profiles: what the server must assume about the resolver behind a query.
//   patienceMs  how long it waits for a held answer before giving up on us (the NTS deadline);
//   ttlFloorMs  how long it may hand out a TTL-0 answer from its cache (the answer lease);
//   ecs         whether its EDNS Client Subnet is trusted to key the RC (mode `prefix`).
// The numbers live in this one table; docs/resolver-profiles.md says where each came from.
// A teammate's lab measurements (Debian packages, `ntss lab`) replace them as they arrive.

export type EcsPolicy = 'trusted' | 'ignored';

export interface ResolverProfile {
  /** Logs and counters use it: a closed set (built-ins and names from the config), never an address. */
  name: string;
  patienceMs: number;
  ttlFloorMs: number;
  ecs: EcsPolicy;
  /**
   * An NTSS v1 resolver (`ntss resolver`): it asks the router itself for an RC keyed on each
   * EN, so the server answers it at once, without an NTS request. Configuration only.
   */
  v1?: boolean;
}

export const BUILTIN_PROFILE_NAMES = ['unbound', 'bind', 'knot', 'powerdns', 'unknown'] as const;
export type BuiltinProfileName = (typeof BUILTIN_PROFILE_NAMES)[number];

interface ProfileRow extends ResolverProfile {
  name: BuiltinProfileName;
  /** Where the numbers come from: measured here, or read in the resolver's source/docs. */
  source: string;
}

/** Defaults of each resolver as shipped (Debian 12 packages); ECS is never trusted by default. */
export const BUILTIN_PROFILES: Readonly<Record<BuiltinProfileName, Readonly<ProfileRow>>> = {
  unbound: {
    name: 'unbound', patienceMs: 1900, ttlFloorMs: 0, ecs: 'ignored',
    source: "Unbound 1.17.1 (Debian): drops its client's query 1.9 s after it asked (discard-timeout 1900, " +
      'backported by Debian); measured: held answers delivered up to 1.85 s, 1.95 s failed. TTL 0 reaches the EN (lab)',
  },
  bind: {
    name: 'bind', patienceMs: 9500, ttlFloorMs: 0, ecs: 'ignored',
    source: 'BIND 9.18 (Debian), measured (brief): held answers delivered up to ~9.5 s, SERVFAIL to its client at ' +
      '10 s; retries every 800 ms (resolver-retry-interval). TTL 0 reaches the EN (lab)',
  },
  knot: {
    name: 'knot', patienceMs: 9500, ttlFloorMs: 5000, ecs: 'ignored',
    source: 'Knot Resolver 5.6.0 (Debian), measured (test/fixtures/resolver-captures): two UDP tries (400 and 800 ms ' +
      'for a new server, ~20 ms for a known fast one: lib/selection.c), then TCP, where the query waits until the ' +
      'request limit KR_RESOLVE_TIME_LIMIT 10000 ms (lib/defines.h): delivered 9.9 s, SERVFAIL at 10.07 s. Needs TCP/53 ' +
      'to the server. cache.min_ttl 5 s (KR_CACHE_DEFAULT_TTL_MIN), measured: the EN sees TTL 5',
  },
  powerdns: {
    name: 'powerdns', patienceMs: 1500, ttlFloorMs: 1000, ecs: 'ignored',
    source: 'PowerDNS Recursor 4.8.8 (Debian), measured: one try per server address (pdns/syncres.cc doResolveAt), ' +
      'network-timeout 1500 ms, no retransmission: delivered 1.45 s, SERVFAIL at 1.52 s. minimum-ttl-override 1, ' +
      'measured in the lab: the EN sees TTL 1',
  },
  unknown: {
    name: 'unknown', patienceMs: 1800, ttlFloorMs: 5000, ecs: 'ignored',
    source: 'conservative default: the longest floor seen (Knot, 5 s); patience 1800 ms, below Unbound\'s 1.9 s ' +
      '(nts.resolverPatienceMs sets it). PowerDNS gives up sooner, at 1.5 s: docs/resolver-profiles.md says why 1800 stays',
  },
};

export function isBuiltinProfileName(s: string): s is BuiltinProfileName {
  return (BUILTIN_PROFILE_NAMES as readonly string[]).includes(s);
}

/** A built-in profile with the operator's overrides; a fresh object the caller may keep. */
export function profileWith(base: BuiltinProfileName, overrides: Partial<ResolverProfile> = {}): ResolverProfile {
  const b = BUILTIN_PROFILES[base];
  return {
    name: overrides.name ?? b.name,
    patienceMs: overrides.patienceMs ?? b.patienceMs,
    ttlFloorMs: overrides.ttlFloorMs ?? b.ttlFloorMs,
    ecs: overrides.ecs ?? b.ecs,
    ...(overrides.v1 ? { v1: true } : {}),
  };
}
