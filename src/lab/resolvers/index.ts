// The lab's resolver zoo: `ntss lab up --resolver unbound|bind|knot|powerdns`.
import { spawnSync } from 'node:child_process';
import { bind } from './bind.js';
import { knot } from './knot.js';
import { powerdns } from './powerdns.js';
import { RESOLVER_KINDS, type ResolverKind, type ResolverSpec } from './types.js';
import { unbound } from './unbound.js';

export { RESOLVER_KINDS, type ResolverKind, type ResolverOptions, type ResolverSpec } from './types.js';

export const RESOLVERS: Record<ResolverKind, ResolverSpec> = { unbound, bind, knot, powerdns };
export const DEFAULT_RESOLVER: ResolverKind = 'unbound';

export function isResolverKind(s: string): s is ResolverKind {
  return (RESOLVER_KINDS as readonly string[]).includes(s);
}

/** "Knot Resolver 5.6.0", from the binary itself ("?" when it does not say). */
export function resolverVersion(spec: ResolverSpec): string {
  const r = spawnSync(spec.binary, spec.versionArgs, { encoding: 'utf8', timeout: 10_000 });
  const v = spec.versionPattern.exec(`${r.stdout ?? ''}\n${r.stderr ?? ''}`)?.[1];
  return `${spec.product} ${v ?? '?'}`;
}
