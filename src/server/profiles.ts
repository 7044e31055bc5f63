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
    source: 'BIND 9.18 (Debian): measured: held answers delivered up to ~9.5 s, SERVFAIL to its client at 10 s. ' +
      'TTL 0 reaches the EN (lab)',
  },
  knot: {
    name: 'knot', patienceMs: 9500, ttlFloorMs: 5000, ecs: 'ignored',
    source: 'Knot Resolver 5.6 source: UDP tries of 400 then 800 ms (lib/selection.c DEFAULT_TIMEOUT, back-off; ' +
      'less for a server it knows), then TCP after two timeouts (TCP_TIMEOUT_THRESHOLD), where the query waits ' +
      'until the request limit KR_RESOLVE_TIME_LIMIT 10000 ms (lib/defines.h); cache.min_ttl 5 s ' +
      '(KR_CACHE_DEFAULT_TTL_MIN), measured in the lab: the EN sees TTL 5. Patience not yet measured',
  },
  powerdns: {
    name: 'powerdns', patienceMs: 1500, ttlFloorMs: 1000, ecs: 'ignored',
    source: 'PowerDNS Recursor 4.8 source (pdns/syncres.cc doResolveAt): one try per server address, ' +
      'network-timeout 1500 ms, then the (name, type) is throttled at that address for 10 s; no retransmission. ' +
      'minimum-ttl-override 1, measured in the lab: the EN sees TTL 1. Patience not yet measured',
  },
  unknown: {
    name: 'unknown', patienceMs: 1800, ttlFloorMs: 5000, ecs: 'ignored',
    source: 'conservative default: the longest floor seen (Knot, 5 s) and a patience below Unbound\'s 1.9 s ' +
      '(nts.resolverPatienceMs, default 1800, sets it). PowerDNS gives up at 1.5 s: see docs/resolver-profiles.md',
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
  };
}
