// What the daemons' JSON logs say about the NTS channel under a fault: the safety properties a
// fault scenario asserts. The NTS server core answers a retransmitted REQUEST from its cache, so
// within one router run an id must reach the scheduler once and get one RESPONSE (one RC at
// most); once the fault is over no request may be left without an answer (no stuck queue), and
// at the NTSv2 server every NTS request must have ended in READY or a failure.
import type { DaemonEvent } from '../daemons.js';
import type { ScenarioContext } from './context.js';

export interface LogMark {
  router: number;
  server: number;
}

/** Where the logs are now: an audit covers what comes after. */
export function markLogs(ctx: ScenarioContext): LogMark {
  return { router: ctx.lab.events('router').length, server: ctx.lab.events('server').length };
}

/**
 * The first line of a router run that precedes any NTS request: the PHL is loaded synchronously
 * after the NTS socket opened (routerd/router.ts), `router-started` comes later, after awaits.
 */
export function isRouterRunStart(e: DaemonEvent): boolean {
  return e.event === 'phl-loaded' || e.event === 'phl-not-persisted';
}

export interface RouterAudit {
  /** NTS requests the scheduler saw (per router run; a restarted router starts a new run). */
  requests: number;
  rcsCreated: number;
  ready: number;
  /** ids that reached the scheduler twice, or got two RESPONSEs, or READY with two RCs, in one run. */
  duplicates: string[];
  /** ids of the last run without any RESPONSE. */
  unanswered: string[];
}

export function auditRouter(events: readonly DaemonEvent[]): RouterAudit {
  const a: RouterAudit = { requests: 0, rcsCreated: 0, ready: 0, duplicates: [], unanswered: [] };
  let seen = new Map<string, number>();
  let answered = new Map<string, Set<string>>();
  const closeRun = () => {
    for (const [id, n] of seen) if (n > 1) a.duplicates.push(`${id}: ${n} nts-request lines`);
    for (const [id, rs] of answered) if (rs.size > 1 || [...rs].some((r) => r.endsWith('#2'))) a.duplicates.push(`${id}: responses ${[...rs].join(' ')}`);
  };
  for (const e of events) {
    if (isRouterRunStart(e)) {
      closeRun();
      seen = new Map();
      answered = new Map();
    } else if (e.event === 'nts-request') {
      const id = String(e.id);
      a.requests++;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    } else if (e.event === 'rc-created') {
      a.rcsCreated++;
    } else if (e.event === 'respond') {
      const answer = e.status === 'READY' ? `READY(rc ${String(e.rc)})` : String(e.status);
      if (e.status === 'READY') a.ready++;
      for (const id of String(e.ids).split(',')) {
        const rs = answered.get(id) ?? new Set<string>();
        // The same answer twice is still a second RESPONSE from the scheduler: mark it.
        rs.add(rs.has(answer) ? `${answer}#2` : answer);
        answered.set(id, rs);
      }
    }
  }
  closeRun();
  for (const id of seen.keys()) if (!answered.has(id)) a.unanswered.push(id);
  return a;
}

export interface ServerAudit {
  requests: number;
  ready: number;
  failed: number;
  /** Per server run: requests - ready - failed, summed over runs that ended cleanly (the last one). */
  pending: number;
  failures: Record<string, number>;
}

export function auditServer(events: readonly DaemonEvent[]): ServerAudit {
  const a: ServerAudit = { requests: 0, ready: 0, failed: 0, pending: 0, failures: {} };
  let open = 0;
  for (const e of events) {
    if (e.event === 'zone-loaded') open = 0; // a (re)start: a killed server's requests died with it
    if (e.event === 'nts-request') {
      a.requests++;
      open++;
    } else if (e.event === 'nts-ready') {
      a.ready++;
      open--;
    } else if (e.event === 'nts-failed') {
      a.failed++;
      open--;
      const k = String(e.status);
      a.failures[k] = (a.failures[k] ?? 0) + 1;
    }
  }
  a.pending = open;
  return a;
}

/** Prints both audits since `mark` and checks: no duplicate RC, nothing left queued. */
export function checkChannel(ctx: ScenarioContext, mark: LogMark, label: string, key: string): { router: RouterAudit; server: ServerAudit } {
  const router = auditRouter(ctx.lab.events('router').slice(mark.router));
  const server = auditServer(ctx.lab.events('server').slice(mark.server));
  ctx.note(`${label}: router saw ${router.requests} NTS requests, created ${router.rcsCreated} RCs, answered READY ${router.ready}x;`
    + ` server sent ${server.requests}, READY ${server.ready}, failed ${server.failed}${Object.keys(server.failures).length ? ` (${Object.entries(server.failures).map(([k, n]) => `${n} ${k}`).join(', ')})` : ''}`);
  ctx.check(router.duplicates.length === 0, `${label}: no request reached the scheduler twice or got a second RESPONSE/RC`, router.duplicates.slice(0, 5).join('; '));
  ctx.check(router.unanswered.length === 0, `${label}: no request left queued at the router`, router.unanswered.slice(0, 5).join('; '));
  ctx.check(server.pending === 0, `${label}: every NTS request of the server ended (READY or failed)`, `${server.pending} open`);
  ctx.check(router.rcsCreated <= router.requests, `${label}: no more RCs than requests`, `${router.rcsCreated} RCs, ${router.requests} requests`);
  measured(ctx, `${key}.ntsRequests`, server.requests, 'NTS requests sent by the server');
  measured(ctx, `${key}.ntsFailed`, server.failed, 'of them failed (SERVFAIL to the resolver)');
  measured(ctx, `${key}.rcs`, router.rcsCreated, 'RCs created');
  measured(ctx, `${key}.duplicateRcs`, router.duplicates.length, 'requests with a second RESPONSE or RC');
  measured(ctx, `${key}.leftQueued`, router.unanswered.length + server.pending, 'requests left without an answer');
  return { router, server };
}

/** One measured number: kept in the results and printed as `MEASURED key = value unit` (test/lab-faults.test.ts reads these). */
export function measured(ctx: ScenarioContext, key: string, value: number, unit: string): void {
  ctx.results[key] = value;
  ctx.note(`MEASURED ${key} = ${value} ${unit}`);
}
