// Pure translations of the scheduler's events: to NTS RESPONSE bodies, and to flat log fields
// (one structured line per event; `json` logs stay greppable by key).
import type { NtsResponse } from '../nts/index.js';
import { formatClaimKey, type RespondEvent, type RouterEvent } from '../router/index.js';
import type { LogFields, LogLevel } from '../util/log.js';
import { messageIdOf } from './rc-requests.js';

/**
 * The RESPONSE for a respond event, built when it is sent (`nowMs` is the header timestamp,
 * from which RC_LIFETIME counts, docs/protocol.md 3.2).
 */
export function ntsResponseFor(e: RespondEvent, nowMs: number, retryAfterMs?: number): NtsResponse {
  if (e.status === 'READY') {
    return { status: 'READY', answerAddress: e.globalAddress, rcId: e.rcId, rcLifetimeMs: Math.max(0, Math.round(e.rcExpiresAt - nowMs)) };
  }
  const reason = e.expectedWaitMs === undefined ? e.reason : `${e.reason}: expected wait ${Math.round(e.expectedWaitMs)} ms`;
  const r: NtsResponse = { status: e.status, reason };
  if (e.status === 'QUEUE_FULL' && retryAfterMs !== undefined) r.retryAfterMs = Math.max(0, Math.round(retryAfterMs));
  return r;
}

const hp = (a: string, p: number): string => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);

/**
 * Flat fields for one log line; `at` is the event's logical time. `req` is the NTS message id(s)
 * the server logs too (docs/operations.md); for an RC's and a mapping's lines, `served` gives
 * the ids of the requests that RC served (rc-requests.ts).
 */
export function eventFields(e: RouterEvent, served?: string): LogFields {
  switch (e.type) {
    case 'respond': {
      const req = e.requestIds.map(messageIdOf).join(',');
      return e.status === 'READY'
        ? { at: e.at, req, ids: e.requestIds.join(','), status: e.status, address: e.globalAddress, rc: e.rcId, rcExpiresAt: e.rcExpiresAt }
        : { at: e.at, req, ids: e.requestIds.join(','), status: e.status, reason: e.reason, expectedWaitMs: e.expectedWaitMs };
    }
    case 'rc-created':
    case 'rc-hold-started':
    case 'rc-removed': {
      const rc = e.rc;
      return {
        at: e.at, req: served, rc: rc.id, fqdn: rc.fqdn, address: rc.globalAddress, to: rc.privateAddress, source: rc.source,
        expiresAt: e.type === 'rc-created' ? rc.expiresAt : undefined,
        releaseAt: e.type === 'rc-hold-started' ? rc.releaseAt : undefined,
        reason: e.type === 'rc-removed' ? e.reason : undefined,
      };
    }
    case 'mapping-created': {
      const m = e.mapping;
      return {
        at: e.at, req: served, mapping: m.id, rc: m.rcId, proto: m.proto, en: hp(m.enAddress, m.enPort),
        via: hp(m.globalAddress, m.globalPort), to: hp(m.privateAddress, m.privatePort), fqdn: m.fqdn, by: m.via,
      };
    }
    case 'request-queued':
      return { at: e.at, req: messageIdOf(e.id), id: e.id, position: e.position, expectedWaitMs: e.expectedWaitMs };
    case 'request-joined':
      return { at: e.at, req: messageIdOf(e.id), id: e.id, joined: e.joinedId, state: e.state };
    case 'request-ignored':
      return { at: e.at, req: messageIdOf(e.id), id: e.id, reason: e.reason };
    case 'rc-renewed':
      return { at: e.at, req: served, rc: e.rc.id, fqdn: e.rc.fqdn, expiresAt: e.rc.expiresAt };
    case 'lease-created':
    case 'lease-ended': {
      const l = e.lease;
      return {
        at: e.at, lease: l.id, fqdn: l.fqdn, address: l.globalAddress, to: l.privateAddress, until: l.until,
        keys: l.keys.map(formatClaimKey).join(','), extended: e.type === 'lease-created' ? e.extended : undefined,
      };
    }
    case 'sticky-created':
    case 'sticky-ended': {
      const s = e.sticky;
      return { at: e.at, sticky: s.id, en: s.enAddress, key: formatClaimKey(s.key), to: s.privateAddress, until: s.until, rc: s.rcId };
    }
    case 'sticky-refused':
      return { at: e.at, en: e.src, reason: e.reason };
    case 'packet-ambiguous':
      return { at: e.at, en: e.src, address: e.dst, hosts: e.hosts.join(',') };
    case 'reputation-changed':
      return { at: e.at, resolver: e.resolver, standing: e.standing, until: e.until, offences: e.offences };
  }
}

/** Retransmitted ids are routine; everything else is worth an info line. */
export function eventLevel(e: RouterEvent): LogLevel {
  if (e.type === 'packet-ambiguous') return 'error';
  if (e.type === 'reputation-changed' && e.standing === 'penalised') return 'warn';
  // Routine per-connection lines of an EN already let in: debug (they cost the router ~20% of
  // its time per connection at high rates, bench/dataplane); the RC's own first mapping stays info.
  if (e.type === 'sticky-created' && e.replaced) return 'debug';
  if (e.type === 'mapping-created' && e.mapping.via === 'sticky') return 'debug';
  return e.type === 'request-ignored' ? 'debug' : 'info';
}
