// What `ntss status` shows for the server (control/socket.ts serves it as JSON): the zone,
// the routers and when each last announced itself, the NTS requests in flight, the counters.
import type { ServerConfig } from '../config/server-config.js';
import type { Zone } from '../dns/zone.js';
import { formatHostPort } from '../util/addr.js';
import type { Counters } from '../util/counters.js';
import type { NtsGateway } from './nts-gateway.js';

/** A router's last REGISTER or KEEPALIVE (authenticated, so only configured routers appear). */
export interface Announcement {
  type: string;
  at: number;
  from: string;
  addresses: string[];
}

export interface ServerStatusSource {
  cfg: Pick<ServerConfig, 'routers'>;
  zone: Zone;
  counters: Counters;
  announcements: ReadonlyMap<string, Announcement>;
  gateway?: NtsGateway;
}

export function serverStatus(s: ServerStatusSource, now: number) {
  return {
    daemon: 'server' as const,
    now,
    zone: { name: s.zone.origin, serial: s.zone.serial() },
    routers: s.cfg.routers.map((r) => {
      const a = s.announcements.get(r.id);
      return {
        id: r.id, addresses: r.addresses, nts: formatHostPort(r.nts),
        lastAnnounce: a ? { type: a.type, at: a.at, agoMs: now - a.at, from: a.from, addresses: a.addresses } : null,
      };
    }),
    nts: s.gateway ? { ...s.gateway.sizes(), requests: s.gateway.pendingList().map((p) => ({ ...p, ageMs: now - p.since })) } : null,
    counters: s.counters.snapshot(),
  };
}

export type ServerStatus = ReturnType<typeof serverStatus>;
