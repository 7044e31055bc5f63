// The dashboard's tables: what `ntss status` shows (routerd/status.ts), plus the live mappings
// themselves (status gives their count only), bounded so that a flood cannot make every
// delta huge; the page says how many it was not sent.
import { routerStatus, type RouterStatusSource } from '../routerd/status.js';
import { formatHostPort } from '../util/addr.js';

/** Mappings listed at most (newest first); the count is always exact. */
export const MAX_MAPPINGS_SHOWN = 100;

/** Counters the summary line shows: lookups and their outcomes. */
const SUMMARY = /^(requests|respond\..+)$/;

export function dashboardState(s: RouterStatusSource, now: number) {
  const { counters, reputation, ...status } = routerStatus(s, now);
  const all = s.scheduler.mappings.list();
  const newest = all.slice(-MAX_MAPPINGS_SHOWN).reverse();
  return {
    ...status,
    counters: Object.fromEntries(Object.entries(counters).filter(([k]) => SUMMARY.test(k))),
    resolvers: reputation.length,
    mappingList: newest.map((m) => ({
      id: m.id, rc: m.rcId, proto: m.proto, en: formatHostPort({ host: m.enAddress, port: m.enPort }),
      via: formatHostPort({ host: m.globalAddress, port: m.globalPort }), to: formatHostPort({ host: m.privateAddress, port: m.privatePort }), fqdn: m.fqdn, createdAt: m.createdAt, by: m.via ?? 'rc',
    })),
  };
}

export type DashboardState = ReturnType<typeof dashboardState>;
