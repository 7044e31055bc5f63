// Who got the router's RCs, from its JSON log (routerd/events.ts, read by lab.events('router')): `nts-request` names the resolver
// (address:port) of each request id, `respond` READY names the ids an RC answered, and
// `mapping-created` shows which RCs an EN used. Used by the flood scenario for the attackers'
// share; the window is wall time (the log's `time`), since the RCs of a run overlap its edges.

export interface RcShare {
  /** RCs whose first READY answered an attacker's request / any request. */
  rcs: number;
  attackerRcs: number;
  /** READY answers (new or shared/renewed RCs) to attackers' requests / to all. */
  readies: number;
  attackerReadies: number;
  /** Requests the router saw (from attackers). */
  requests: number;
  attackerRequests: number;
  /** RCs an EN's first packet used. */
  usedRcs: number;
  /** Refusals (status other than READY) to the good resolver's requests, by status. */
  goodRefusals: Record<string, number>;
}

import type { DaemonEvent } from './daemons.js';

interface Line { time?: string; event?: string; id?: number | string; ids?: string; resolver?: string; status?: string; rc?: number | string }

/** Counts over the events whose time is in [fromMs, toMs); `isAttacker` judges a resolver address:port. */
export function rcShare(events: readonly DaemonEvent[], fromMs: number, toMs: number, isAttacker: (resolver: string) => boolean): RcShare {
  const out: RcShare = { rcs: 0, attackerRcs: 0, readies: 0, attackerReadies: 0, requests: 0, attackerRequests: 0, usedRcs: 0, goodRefusals: {} };
  const resolverOf = new Map<string, string>();
  const seenRc = new Set<string>();
  const used = new Set<string>();
  for (const e of events) {
    const l = e as Line;
    // Requests before the window still map ids answered inside it.
    if (l.event === 'nts-request' && l.id !== undefined && l.resolver) resolverOf.set(String(l.id), l.resolver);
    const t = l.time ? Date.parse(l.time) : NaN;
    if (!(t >= fromMs && t < toMs)) continue;
    if (l.event === 'nts-request') {
      out.requests++;
      if (l.resolver && isAttacker(l.resolver)) out.attackerRequests++;
    } else if (l.event === 'respond') {
      const ids = String(l.ids ?? '').split(',').filter(Boolean);
      const attacker = ids.some((id) => isAttacker(resolverOf.get(id) ?? ''));
      if (l.status === 'READY') {
        out.readies++;
        if (attacker) out.attackerReadies++;
        const rc = String(l.rc);
        if (!seenRc.has(rc)) {
          seenRc.add(rc);
          out.rcs++;
          // Coalesced ids of the good resolver and a forger: the RC counts as the attacker's
          // only when no good request shared it.
          if (ids.every((id) => isAttacker(resolverOf.get(id) ?? ''))) out.attackerRcs++;
        }
      } else if (!attacker && l.status) {
        out.goodRefusals[l.status] = (out.goodRefusals[l.status] ?? 0) + 1;
      }
    } else if (l.event === 'mapping-created' && l.rc !== undefined) {
      used.add(String(l.rc));
    }
  }
  out.usedRcs = [...used].filter((rc) => seenRc.has(rc)).length;
  return out;
}
