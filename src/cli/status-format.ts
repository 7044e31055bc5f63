// `ntss status` as a terminal table: the JSON the control socket answers, made readable.
// Times in the JSON are epoch ms; here they are shown relative to the status's `now`.
import type { ServerStatus } from '../server/status.js';
import type { RouterStatus } from '../routerd/status.js';

/** Columns padded to their widest cell; an empty table says so. */
export function table(head: string[], rows: (string | number)[][], empty = '(none)'): string[] {
  if (rows.length === 0) return [`  ${empty}`];
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')}`.trimEnd());
}

const rel = (now: number, t: number | null | undefined): string => {
  if (t === null || t === undefined) return '-';
  const d = t - now;
  return d >= 0 ? `in ${(d / 1000).toFixed(1)}s` : `${(-d / 1000).toFixed(1)}s ago`;
};

export function formatRouterStatus(s: RouterStatus): string {
  const out = [`router ${s.id}: queue ${s.queueLength}, ${s.rcs.length} RCs, ${s.leases.length} leases, ${s.stickies} stickies, ${s.mappings} mappings`, ''];
  out.push(`PHL (${s.phl.length})`, ...table(['NAME', 'ADDRESS', 'SOURCE', 'SERVICES'], s.phl.map((e) => [e.name, e.address, e.source, e.services.join(',')])), '');
  out.push('Active RCs', ...table(['ID', 'NAME', 'GLOBAL', 'PRIVATE', 'FIRST PACKET', 'ENDS'], s.rcs.map((r) => [r.id, r.fqdn, r.globalAddress, r.privateAddress, rel(s.now, r.firstPacketAt), rel(s.now, r.releaseAt ?? r.expiresAt)])), '');
  out.push('Leases', ...table(['ID', 'NAME', 'GLOBAL', 'PRIVATE', 'ENDS'], s.leases.map((l) => [l.id, l.fqdn, l.globalAddress, l.privateAddress, rel(s.now, l.until)])), '');
  out.push('Recent refusals', ...table(['WHEN', 'STATUS', 'REASON', 'REQUESTS'], s.recentRefusals.map((r) => [rel(s.now, r.at), r.status, r.reason ?? '-', r.requests])), '');
  out.push('Resolvers', ...table(['RESOLVER', 'STANDING', 'CREDIT', 'OFFENCES', 'PENALISED'], s.reputation.map((r) => [r.resolver, r.standing, r.credit.toFixed(1), r.offences, rel(s.now, r.penalisedUntil)])));
  return out.join('\n');
}

export function formatServerStatus(s: ServerStatus): string {
  const out = [`server: zone ${s.zone.name} serial ${s.zone.serial}`, ''];
  out.push('Routers', ...table(['ID', 'ADDRESSES', 'NTS', 'LAST ANNOUNCE', 'FROM'], s.routers.map((r) => [
    r.id, r.addresses.join(','), r.nts, r.lastAnnounce ? `${r.lastAnnounce.type} ${rel(s.now, r.lastAnnounce.at)}` : 'never', r.lastAnnounce?.from ?? '-',
  ])), '');
  if (s.nts) {
    out.push(`NTS requests in flight (${s.nts.pending})`, ...table(['RESOLVER', 'NAME', 'QTYPE', 'SUBNET', 'AGE'], s.nts.requests.map((p) => [p.resolver, p.name, p.qtype, p.subnet ?? '-', `${(p.ageMs / 1000).toFixed(1)}s`])), '');
  } else {
    out.push('NTS: no routers configured', '');
  }
  out.push('Counters', ...table(['NAME', 'VALUE'], Object.entries(s.counters).map(([k, v]) => [k, v])));
  return out.join('\n');
}

export function formatStatus(s: unknown): string {
  const d = (s as { daemon?: string })?.daemon;
  if (d === 'router') return formatRouterStatus(s as RouterStatus);
  if (d === 'server') return formatServerStatus(s as ServerStatus);
  return JSON.stringify(s, null, 2);
}
