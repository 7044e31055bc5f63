// `dashboard:` in the router's config: the live web page (src/dashboard/, docs/operations.md).
// Off when absent. It shows who looked up which inside host from where, so it is bound to
// loopback or a private network unless the operator says otherwise, and always needs a token.
import { z } from 'zod';
import { PrefixTable, parsePrefix, type Prefix } from '../server/prefix-table.js';
import { isPlaceholder, listenHostPort } from './values.js';

/** Where the dashboard may listen without `allowPublic`: loopback, RFC 1918, CGNAT, link-local, ULA. */
const LOCAL_PREFIXES = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '::1/128', 'fc00::/7', 'fe80::/10'];
const local = new PrefixTable<true>();
for (const p of LOCAL_PREFIXES) local.add(parsePrefix(p) as Prefix, true);

/** True for an address the dashboard may bind without `allowPublic` (a wildcard is not: it includes the WAN). */
export function isLocalAddress(host: string): boolean {
  return local.lookup(host) === true;
}

// URL-safe and header-safe: the token travels in `?token=` and `Authorization: Bearer`.
const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{22,256}$/;
const TOKEN_HINT = ' (e.g. "openssl rand -base64 24")';

export const dashboardToken = z.string().transform((s, ctx) => {
  if (!TOKEN_RE.test(s)) {
    ctx.addIssue({ code: 'custom', message: `expected a token of 22 to 256 characters from A-Z a-z 0-9 . _ ~ + / = -${TOKEN_HINT}` });
    return z.NEVER;
  }
  // The example config's placeholder, as text or as base64 like the other secrets.
  if (s.startsWith('REPLACE-ME') || isPlaceholder(Buffer.from(s, 'base64'))) {
    ctx.addIssue({ code: 'custom', message: `still the example's placeholder token: replace it with your own${TOKEN_HINT}` });
    return z.NEVER;
  }
  return s;
});

export const DASHBOARD_DEFAULTS = {
  maxClients: 8,
  /** A client whose unsent events pass this many bytes has fallen behind: it is dropped. */
  maxBufferedBytes: 1 << 20,
  /** Deltas go out at most this often (events in between are batched). */
  intervalMs: 250,
  heartbeatMs: 15_000,
  /** How long the session cookie set after a token lasts. */
  sessionMs: 12 * 3_600_000,
} as const;

const d = DASHBOARD_DEFAULTS;
export const dashboardSection = () => z.object({
  listen: listenHostPort,
  token: dashboardToken,
  allowPublic: z.boolean().default(false),
  maxClients: z.number().int().min(1).max(1000).default(d.maxClients),
  sessionMs: z.number().int().min(60_000).max(30 * 86_400_000).default(d.sessionMs),
}).strict().superRefine((v, ctx) => {
  if (!v.allowPublic && !isLocalAddress(v.listen.host)) {
    ctx.addIssue({
      code: 'custom', path: ['listen'],
      message: `${v.listen.host} is not a loopback or private address (${LOCAL_PREFIXES.join(', ')}); bind the dashboard there, or set dashboard.allowPublic: true`,
    });
  }
}).optional();

export type DashboardConfig = NonNullable<z.output<ReturnType<typeof dashboardSection>>>;
