// The server's `resolvers:` section: which profile (src/server/profiles.ts) applies to the
// resolvers at given source prefixes. Validated with the rest of the server config.
import { z } from 'zod';
import { parsedBy } from './values.js';
import { formatPrefix, parsePrefix, type Prefix } from '../server/prefix-table.js';
import {
  BUILTIN_PROFILE_NAMES, isBuiltinProfileName, profileWith, type BuiltinProfileName, type ResolverProfile,
} from '../server/profiles.js';

const prefixText = parsedBy<Prefix>(parsePrefix);

const patienceMs = z.number().int().min(100).max(30_000);
// A lease blocks the address for other names that long: minutes would starve everyone else.
const ttlFloorMs = z.number().int().min(0).max(600_000);
const ecs = z.enum(['trusted', 'ignored']);
/** Counters are per profile name, so names come from the configuration only: a bounded set. */
const profileName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected 1-32 lowercase letters, digits, "_" or "-"');

const inlineProfile = z
  .object({ name: profileName.default('custom'), patienceMs, ttlFloorMs, ecs: ecs.default('ignored') })
  .strict();

export const resolverEntry = z
  .object({
    prefixes: z.array(prefixText).min(1, 'at least one "ADDRESS/LENGTH" expected'),
    profile: z.unknown().transform((v, ctx): BuiltinProfileName | z.output<typeof inlineProfile> => {
      if (typeof v === 'string' && isBuiltinProfileName(v)) return v;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        ctx.addIssue({ code: 'custom', message: `expected one of ${BUILTIN_PROFILE_NAMES.join(', ')}, or { name?, patienceMs, ttlFloorMs, ecs? }; got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      // Inline: its own issues, with their keys (resolvers[0].profile.ttlFloorMs: ...).
      const r = inlineProfile.safeParse(v);
      if (r.success) return r.data;
      for (const i of r.error.issues) {
        const message = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : i.message;
        ctx.addIssue({ code: 'custom', message, path: i.path });
      }
      return z.NEVER;
    }),
    // Overrides of the profile's numbers for these resolvers (e.g. a Knot with cache.min_ttl changed).
    patienceMs: patienceMs.optional(),
    ttlFloorMs: ttlFloorMs.optional(),
    ecs: ecs.optional(),
    // Our own `ntss resolver` (NTSS v1) at these prefixes: answered at once, it asks the
    // router itself, keyed on the EN. Only for resolvers you run: any other resolver listed
    // here would hand out addresses nobody holds an RC or a lease for.
    v1: z.boolean().default(false),
  })
  .strict();

export type ResolverEntry = z.output<typeof resolverEntry>;

/** The same prefix twice would make the longest match depend on the order of the file. */
export function resolversUnique(entries: ResolverEntry[], ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  entries.forEach((e, i) => e.prefixes.forEach((p, j) => {
    const k = formatPrefix(p);
    const first = seen.get(k);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i, 'prefixes', j], message: `${k} is already in resolvers[${first}]` });
    } else seen.set(k, i);
  }));
}

/** The effective profile of an entry. `unknown` is the default profile, whose patience is
 *  nts.resolverPatienceMs (kept from before profiles existed). */
export function configuredProfile(e: ResolverEntry, nts: { resolverPatienceMs: number }): ResolverProfile {
  const overrides = { patienceMs: e.patienceMs, ttlFloorMs: e.ttlFloorMs, ecs: e.ecs, v1: e.v1 || undefined };
  if (typeof e.profile === 'object') return { ...e.profile, ...defined(overrides) };
  const base = e.profile === 'unknown' ? { patienceMs: nts.resolverPatienceMs } : {};
  return profileWith(e.profile, { ...base, ...defined(overrides) });
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
