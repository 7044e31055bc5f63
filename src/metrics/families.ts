// The daemons' counters (util/counters.ts, names like `nts_ready` or `respond.BUSY`) as
// Prometheus families: one rule per name pattern turns a counter into a metric and at most one
// label. Every label value comes from a name the code (or a profile name from the config) made,
// never from a packet, so the cardinality stays bounded by the code.

export interface FamilyRule {
  /** A counter name matching this becomes a sample; group 1, if any, the label's value. An empty metric skips the name. */
  readonly match: RegExp;
  readonly metric: string;
  readonly help: string;
  readonly label?: string;
}

export interface FamilySample {
  readonly metric: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Each counter goes to the first rule that matches it; counters no rule matches are left out. */
export function samplesOf(rules: readonly FamilyRule[], snapshot: Record<string, number>): FamilySample[] {
  const out: FamilySample[] = [];
  for (const [name, value] of Object.entries(snapshot)) {
    for (const r of rules) {
      const m = r.match.exec(name);
      if (!m) continue;
      if (r.metric !== '') out.push({ metric: r.metric, labels: r.label ? { [r.label]: m[1] ?? name } : {}, value });
      break;
    }
  }
  return out;
}

/** The server's counters (src/server/handler.ts, nts-gateway.ts, udp.ts, tcp.ts). */
export const SERVER_RULES: readonly FamilyRule[] = [
  { match: /^queries$/, metric: 'ntss_server_queries_total', help: 'DNS queries received (UDP and TCP), before any checks' },
  { match: /^updates$/, metric: 'ntss_server_updates_total', help: 'DNS UPDATE messages received' },
  { match: /^updates_(applied|rejected|refused|bad_tsig)$/, metric: 'ntss_server_update_outcomes_total', help: 'DNS UPDATEs by outcome: applied (NOERROR), rejected (prerequisite or policy rcode), refused (unsigned), bad_tsig', label: 'outcome' },
  { match: /^nts_requests$/, metric: 'ntss_server_nts_requests_total', help: 'NTS requests sent to routers' },
  { match: /^nts_profile_via_(.+)$/, metric: 'ntss_server_nts_requests_by_profile_source_total', help: 'NTS requests by how the resolver profile was chosen (config, fingerprint, default)', label: 'via' },
  { match: /^nts_profile_(.+)$/, metric: 'ntss_server_nts_requests_by_profile_total', help: 'NTS requests by resolver profile name (a closed set: built-in and configured profiles)', label: 'profile' },
  { match: /^nts_verified_(.+)$/, metric: 'ntss_server_nts_verified_total', help: 'NTS-managed queries whose source was verified, by how (tcp, cookie, tsig)', label: 'by' },
  { match: /^nts_unverified_(.+)$/, metric: 'ntss_server_nts_unverified_total', help: 'NTS-managed queries from an unverified source, by the answer (badcookie, tc)', label: 'answer' },
  // NTS-related counts that are not a lookup's outcome.
  { match: /^(nts_(?:router_announcements|mode_prefix|refused_table_cleared))$/, metric: 'ntss_server_events_total', help: '', label: 'event' },
  { match: /^nts_(.+)$/, metric: 'ntss_server_nts_outcomes_total', help: 'NTS lookups by outcome (ready, joined, timeout, busy, denied, suppressed, resolver_limit, server_limit, errors, ...)', label: 'outcome' },
  { match: /^tsig_(.+)$/, metric: 'ntss_server_tsig_failures_total', help: 'TSIG verification failures by kind (badkey, badsig, badtime, replay, badtrunc, formerr, errors)', label: 'kind' },
  { match: /^rrl_(.+)$/, metric: 'ntss_server_rrl_total', help: 'Response rate limiting actions (dropped, slipped, evicted)', label: 'action' },
  { match: /^cookie_(.+)$/, metric: 'ntss_server_cookies_total', help: 'DNS COOKIE options seen, by state (client_only, valid, invalid, malformed)', label: 'state' },
  { match: /^cache_(hits|misses)$/, metric: 'ntss_server_response_cache_total', help: 'Response cache lookups by result', label: 'result' },
  { match: /^(.+)$/, metric: 'ntss_server_events_total', help: 'Other server events (formerr, servfail, refused, notimp, truncated, tcp_*, dropped_*, internal_errors, ...)', label: 'event' },
];

/** The router's counters (src/routerd/router.ts snapshot: own, nts.*, dataplane.*, learning.*). */
export const ROUTER_RULES: readonly FamilyRule[] = [
  { match: /^requests$/, metric: 'ntss_router_nts_requests_total', help: 'Authenticated NTS requests received' },
  { match: /^respond\.(.+)$/, metric: 'ntss_router_responses_total', help: 'NTS responses sent, per request id, by status (READY, QUEUE_FULL, TOO_LATE, DENIED, UNKNOWN_HOST, BUSY, UNSUPPORTED)', label: 'status' },
  { match: /^event\.(.+)$/, metric: 'ntss_router_scheduler_events_total', help: 'Scheduler events by type (rc-created, request-queued, mapping-created, lease-created, ...)', label: 'type' },
  { match: /^announce\.(.+)$/, metric: 'ntss_router_announcements_total', help: 'REGISTER/KEEPALIVE sent to the server and their ACKs (REGISTER, KEEPALIVE, ack.ACCEPTED, error, ...)', label: 'kind' },
  { match: /^nts\.state\./, metric: '', help: '' }, // gauges, exported as such (router-metrics.ts)
  { match: /^state\./, metric: '', help: '' },
  { match: /^nts\.(.+)$/, metric: 'ntss_router_nts_total', help: 'The NTS layer: messages received, authentication failures, replays, retransmissions, by counter', label: 'counter' },
  { match: /^dataplane\.(.+)$/, metric: 'ntss_router_dataplane_total', help: 'Data plane events by counter (mappings, flows, refused first packets, nft errors, ...)', label: 'counter' },
  { match: /^learning\.(.+)$/, metric: 'ntss_router_learning_total', help: 'PHL learning (DNS UPDATE proxy) events by counter', label: 'counter' },
  { match: /^(.+)$/, metric: 'ntss_router_events_total', help: 'Other router events (register, keepalive, nts-error, dataplane-error, respond-error, ...)', label: 'event' },
];
