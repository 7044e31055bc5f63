// What `ntss status` shows for the router (control/socket.ts serves it as JSON): the PHL, the
// queue, RCs, leases, stickies, mappings, recent refusals and the resolvers' reputation.
import { formatClaimKey, formatService, type PrivateHostList, type RcScheduler } from '../router/index.js';

/** A response other than READY, kept for `ntss status` (the last RECENT_REFUSALS of them). */
export interface Refusal {
  at: number;
  status: string;
  reason?: string;
  requests: number;
}

export const RECENT_REFUSALS = 50;

/** The last `max` refusals, oldest first. */
export class RefusalLog {
  private readonly items: Refusal[] = [];

  constructor(private readonly max = RECENT_REFUSALS) {}

  add(r: Refusal): void {
    this.items.push(r);
    if (this.items.length > this.max) this.items.shift();
  }

  list(): Refusal[] {
    return [...this.items];
  }
}

export interface RouterStatusSource {
  id: string;
  scheduler: RcScheduler;
  phl: PrivateHostList;
  refusals: RefusalLog;
  counters: Record<string, number>;
}

export function routerStatus(s: RouterStatusSource, now: number) {
  const sch = s.scheduler;
  return {
    daemon: 'router' as const,
    id: s.id,
    now,
    phl: s.phl.list().map((e) => ({ name: e.fqdn, address: e.address, source: e.source, learnedAt: e.learnedAt, services: e.services.map(formatService) })),
    queueLength: sch.queueLength,
    rcs: sch.activeRcs().map((rc) => ({
      id: rc.id, fqdn: rc.fqdn, globalAddress: rc.globalAddress, privateAddress: rc.privateAddress, keys: rc.keys.map(formatClaimKey),
      createdAt: rc.createdAt, expiresAt: rc.expiresAt, firstPacketAt: rc.firstPacketAt, releaseAt: rc.releaseAt,
    })),
    leases: sch.leases().map((l) => ({ id: l.id, fqdn: l.fqdn, globalAddress: l.globalAddress, privateAddress: l.privateAddress, until: l.until, leftMs: l.until - now })),
    stickies: sch.stickies().length,
    mappings: sch.mappings.size,
    recentRefusals: s.refusals.list(),
    reputation: sch.reputation.list(now),
    counters: s.counters,
  };
}

export type RouterStatus = ReturnType<typeof routerStatus>;
