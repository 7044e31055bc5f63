// One line of text per event: for logs and for tests that replay the paper's figures as a
// readable trace. `label` may replace addresses with names (EN1, GA2, alice, ...).
import type { RouterEvent } from './events.js';

export function formatEvent(e: RouterEvent, label: (address: string) => string = (a) => a): string {
  const at = `${e.at}`;
  switch (e.type) {
    case 'respond':
      if (e.status === 'READY') {
        return `${at} respond READY [${e.requestIds.join(',')}] ${label(e.globalAddress)} rc${e.rcId} exp${e.rcExpiresAt}`;
      }
      return `${at} respond ${e.status} [${e.requestIds.join(',')}] ${e.reason}` +
        (e.expectedWaitMs === undefined ? '' : ` wait${e.expectedWaitMs}`);
    case 'rc-created':
      return `${at} rc-created rc${e.rc.id} ${label(e.rc.globalAddress)} ${e.rc.source} -> ${label(e.rc.privateAddress)} exp${e.rc.expiresAt}`;
    case 'rc-hold-started':
      return `${at} rc-hold rc${e.rc.id} until${e.rc.releaseAt}`;
    case 'rc-removed':
      return `${at} rc-removed rc${e.rc.id} ${e.reason}`;
    case 'mapping-created': {
      const m = e.mapping;
      return `${at} map ${m.proto} ${label(m.enAddress)}:${m.enPort} -> ${label(m.globalAddress)}:${m.globalPort}` +
        ` => ${label(m.privateAddress)}:${m.privatePort} rc${m.rcId}${m.via === 'sticky' ? ' sticky' : ''}`;
    }
    case 'request-queued':
      return `${at} queued ${e.id} pos${e.position} wait${e.expectedWaitMs}`;
    case 'request-joined':
      return `${at} joined ${e.id} -> ${e.joinedId} (${e.state})`;
    case 'request-ignored':
      return `${at} ignored ${e.id} ${e.reason}`;
    case 'rc-renewed':
      return `${at} rc-renewed rc${e.rc.id} exp${e.rc.expiresAt}`;
    case 'lease-created':
      return `${at} lease${e.extended ? '-extended' : ''} ${e.lease.fqdn} ${label(e.lease.globalAddress)} until${e.lease.until}`;
    case 'lease-ended':
      return `${at} lease-ended ${e.lease.fqdn} ${label(e.lease.globalAddress)}`;
    case 'sticky-created':
      return `${at} sticky ${label(e.sticky.enAddress)} -> ${label(e.sticky.privateAddress)} until${e.sticky.until}`;
    case 'sticky-ended':
      return `${at} sticky-ended ${label(e.sticky.enAddress)} -> ${label(e.sticky.privateAddress)}`;
    case 'sticky-refused':
      return `${at} sticky-refused ${label(e.src)} ${e.reason}`;
    case 'packet-ambiguous':
      return `${at} AMBIGUOUS ${label(e.src)} -> ${label(e.dst)} hosts ${e.hosts.map(label).join(',')}`;
    case 'reputation-changed':
      return `${at} reputation ${label(e.resolver)} ${e.standing}${e.until === undefined ? '' : ` until${e.until}`}`;
  }
}
