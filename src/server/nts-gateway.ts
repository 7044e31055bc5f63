// The NTSv2 server's side of the NTS protocol: before an NTS-managed name is answered, ask the
// router that owns its address for an RC, and wait for READY. Resolvers retry with new IDs
// and ports (shared/design/brief.md), so all queries for the same (resolver, name, type)
// share one NTS request and are answered together.
// The resolver's profile (resolver-profiles.ts) decides the request: its patience the deadline,
// its TTL floor (plus EN-side caches) the answer lease, its ECS trust the mode.
import { randomMessageId } from '../nts/message-id.js';
import { networkOf } from './prefix-table.js';
import type { NtsMode, NtsResult, NtsUdpClient } from '../nts/index.js';
import { formatHostPort } from '../util/addr.js';
import type { Logger } from '../util/log.js';
import type { Counters } from '../util/counters.js';
import type { ProfileChoice, ResolverProfiles } from './resolver-profiles.js';
import type { ResolverProfile } from './profiles.js';

export interface RouterEntry {
  id: string;
  addresses: string[];
  nts: { host: string; port: number };
  key: Buffer;
}

export interface NtsQuery {
  fqdn: string; // canonical
  qtype: number;
  resolver: { address: string; port: number };
  clientSubnet?: { address: string; family?: 1 | 2; prefixLength: number };
  /** The router address found in the zone: it picks the router. */
  routerAddress: string;
  /** The DNS query's id and transport: the fingerprint tells a retry from a duplicate by them. */
  queryId?: number;
  transport?: 'udp' | 'tcp';
  /** When the resolver first asked, if it first had to prove its source (detours.ts). */
  askedAt?: number;
}

/**
 * `req`: the NTS request's message id, on every log line of the lookup (docs/operations.md);
 * absent when none was sent. `quiet`: this query joined a request past LOGGED_QUERIES, its lines go to debug.
 */
export type NtsOutcome =
  | { status: 'READY'; address: string; rcId: number; req?: string; quiet?: boolean }
  | { status: 'FAILED'; reason: string; req?: string; quiet?: boolean };

/**
 * Queries of one request logged at info (held, answered); more go to debug. Resolvers retry a
 * handful of times (Unbound: 5); a flood of one name must not become a flood of log lines.
 */
export const LOGGED_QUERIES = 8;

export interface NtsGatewayOptions {
  /** The profile of the resolver behind each query: how long it waits, how long it caches. */
  profiles: ResolverProfiles;
  /** Kept back from the patience to get our SERVFAIL out before the resolver gives up. */
  marginMs: number;
  /** After a refusal or silence, the same (resolver, name, type) gets SERVFAIL at once this long. */
  refusalHoldMs: number;
  /** Added to every lease: how long EN-side caches (browsers) may still use an answer. */
  enCacheMs: number;
  /** Shortest IPv4 ECS source prefix that keys the RC, for resolvers whose ECS is trusted. */
  ecsMinPrefix: number;
  /** NTS requests one resolver address may have in flight; more are SERVFAIL at once. Default 32. */
  maxPendingPerResolver?: number;
  /** NTS requests in flight for all resolvers together; more are SERVFAIL at once. Default 4096. */
  maxPending?: number;
  /** Told each request's wait, from sending it to READY or failure (metrics); `outcome` is ready or the reason. */
  onWait?: (ms: number, outcome: string) => void;
  /** The request ids (NTS message ids, 16 hex digits); default 8 octets from the CSPRNG. Tests inject them. */
  requestId?: () => string;
}

/** What one NTS request asks for, derived from the profile. */
export interface RequestPlan {
  choice: ProfileChoice;
  mode: NtsMode;
  /** ms from now until the request fails: patience minus margin. */
  timeLeftMs: number;
  leaseMs: number;
}

/**
 * The answer lease (docs/leases.md) for an answer that caches may keep `cachedMs` (resolver
 * floor + EN caches). Caches count TTLs in whole seconds: Knot Resolver (cache.min_ttl 5)
 * handed out a TTL-0 answer 5.5 s after caching it (`ntss lab run zoo --resolver knot`), so a
 * lease gets a second more. An answer with an ECS scope goes into a subnet cache, which kept
 * even TTL 0 for the rest of the second (Unbound's subnetcache: 3 queries reached us for 12
 * lookups 0.4 s apart; `zoo --ecs` reached the wrong host without it): it always gets that second.
 */
export function answerLeaseMs(cachedMs: number, scoped = false): number {
  return cachedMs > 0 || scoped ? cachedMs + 1000 : 0;
}

/**
 * What one NTS request asks for, from the resolver's profile alone (no state): the gateway and
 * the simulator (src/sim) share it. `detourMs`: how long ago the resolver first asked, when it
 * first had to prove its source (detours.ts); 0 otherwise.
 */
export function planFor(
  p: ResolverProfile, opts: Pick<NtsGatewayOptions, 'marginMs' | 'enCacheMs' | 'ecsMinPrefix'>,
  ecs?: NtsQuery['clientSubnet'], detourMs = 0,
): Omit<RequestPlan, 'choice'> {
  // The resolver's clock started at its first (unverified) query; one detour is ~2 RTTs.
  // Capped: a forged unverified query in the good resolver's name could otherwise claim an
  // early start and cut that resolver's deadline (at most by DETOUR_SHARE x MAX_DETOUR_MS).
  const detour = Math.min(MAX_DETOUR_MS, Math.max(0, detourMs));
  // IPv4 ECS only: only A queries reach the router, so the EN comes over IPv4; an IPv6 prefix never matches it.
  const byPrefix = p.ecs === 'trusted' && ecs !== undefined && (ecs.family ?? familyOf(ecs.address)) === 1
    && ecs.prefixLength >= opts.ecsMinPrefix && !placeholderEcs(ecs.address);
  return {
    mode: byPrefix ? 'prefix' : 'any',
    timeLeftMs: p.patienceMs - opts.marginMs - DETOUR_SHARE * detour,
    // Every NTS-managed answer to a query with ECS carries a scope (handler.ts), so it goes into
    // a subnet cache whether or not the RC is keyed on it: the lease follows the answer.
    leaseMs: answerLeaseMs(p.ttlFloorMs + opts.enCacheMs, ecs !== undefined),
  };
}

/**
 * An IPv4 ECS address no EN's packet can come from: a resolver's stand-in for "no subnet for
 * this client". PowerDNS Recursor sends `ecs-scope-zero-address`, by default 127.0.0.1/32, for
 * every client outside `ecs-add-for` (by default all of 10/8, 100.64/10, 172.16/12, 192.168/16:
 * an ISP's CGNAT customers), seen in the lab. Keyed on it, the RC matched no packet and every such
 * lookup failed; `any` serves them. This network (0/8), loopback, link-local, multicast and reserved.
 */
export function placeholderEcs(address: string): boolean {
  const first = Number(address.split('.')[0]);
  const second = Number(address.split('.')[1]);
  return first === 0 || first === 127 || (first === 169 && second === 254) || first >= 224;
}

/**
 * How many detours (TC -> TCP: one round trip to the resolver when it keeps its TCP connection
 * open, as Unbound and Knot do, two when it opens a new one) a lookup that took one loses from
 * its deadline: the detour itself, and 5 more for what the resolver does with our SERVFAIL
 * before its own patience ends (Unbound at 20 ms RTT: 5 retries to us and a look-up of the
 * server's name, about 7 round trips; docs/faults.md).
 */
export const DETOUR_SHARE = 6;
/** A longer detour (RTT over ~50 ms) counts as this much. */
export const MAX_DETOUR_MS = 100;

/** What sends the request; the real one is NtsUdpClient, tests pass a fake. */
export type NtsTransport = Pick<NtsUdpClient, 'request'>;

export class NtsGateway {
  private readonly byAddress = new Map<string, RouterEntry>();
  /** `req`: the request's id, which queries that join it log too. */
  private readonly pending = new Map<string, { outcome: Promise<NtsOutcome>; req: string; queries: number }>();
  /** When each pending request was made, same keys as `pending` (`ntss status`). */
  private readonly started = new Map<string, number>();
  /** NTS requests in flight per resolver address: one resolver may hold only its share (issue 8). */
  private readonly inFlight = new Map<string, number>();
  /** Recent refusals: a resolver's retries in flight would each cost the router a request. */
  private readonly refused = new Map<string, { until: number; reason: string }>();

  constructor(
    routers: RouterEntry[],
    private readonly transport: NtsTransport,
    private opts: NtsGatewayOptions,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    for (const r of routers) for (const a of r.addresses) this.byAddress.set(a, r);
  }

  /** A reload: new routers and policies for new requests; those pending finish as they started. */
  reconfigure(routers: RouterEntry[], opts: NtsGatewayOptions): void {
    this.byAddress.clear();
    for (const r of routers) for (const a of r.addresses) this.byAddress.set(a, r);
    this.opts = opts;
  }

  /** Table sizes, for the bounded-memory tests. */
  sizes(): { pending: number; inFlight: number; refused: number } {
    return { pending: this.pending.size, inFlight: this.inFlight.size, refused: this.refused.size };
  }

  /** The NTS requests in flight, oldest first, at most `max` (`ntss status`). */
  pendingList(max = 100): { resolver: string; name: string; qtype: number; subnet?: string; since: number }[] {
    return [...this.started.entries()].slice(0, max).map(([key, since]) => {
      const [resolver, name, qtype, subnet] = key.split('|');
      return { resolver: resolver!, name: name!, qtype: Number(qtype), ...(subnet ? { subnet } : {}), since };
    });
  }

  isRouterAddress(address: string): boolean {
    return this.byAddress.has(address);
  }

  /** A configured NTSS v1 resolver (`ntss resolver`) makes its own RCs: answered at once. */
  answersDirectly(resolverAddress: string): boolean {
    const c = this.opts.profiles.select(this.now(), resolverAddress);
    return c.via === 'config' && c.profile.v1 === true;
  }

  /** Would this (resolver, name, type) get SERVFAIL at once now (a refusal a moment ago)? */
  refusedRecently(q: NtsQuery): boolean {
    const now = this.now();
    const r = this.refused.get(this.keyOf(q, this.plan(now, q)));
    return r !== undefined && r.until > now;
  }

  /** With mode prefix, clients of one resolver in different subnets need RCs of their own. */
  private keyOf(q: NtsQuery, plan: RequestPlan): string {
    const subnet = plan.mode === 'prefix' ? `|${q.clientSubnet!.address}/${q.clientSubnet!.prefixLength}` : '';
    return `${q.resolver.address}|${q.fqdn}|${q.qtype}${subnet}`;
  }

  /** What a request for this query asks for: the profile's deadline, lease and mode. */
  plan(now: number, q: NtsQuery): RequestPlan {
    const choice = this.opts.profiles.select(now, q.resolver.address);
    return { choice, ...planFor(choice.profile, this.opts, q.clientSubnet, q.askedAt === undefined ? 0 : now - q.askedAt) };
  }

  /** One outcome per (resolver, name, type[, subnet]) at a time; later identical queries join it. */
  resolve(q: NtsQuery): Promise<NtsOutcome> {
    const now = this.now();
    const plan = this.plan(now, q);
    const key = this.keyOf(q, plan);
    const joined = this.pending.get(key);
    if (joined) {
      const quiet = ++joined.queries > LOGGED_QUERIES;
      this.noteHeld(now, q, joined.req, true, quiet);
      this.counters.inc('nts_joined');
      return quiet ? joined.outcome.then((o) => ({ ...o, quiet })) : joined.outcome;
    }
    const refusal = this.refused.get(key);
    if (refusal && refusal.until > now) {
      this.counters.inc('nts_suppressed');
      return Promise.resolve({ status: 'FAILED', reason: refusal.reason });
    }
    this.refused.delete(key);
    if (this.pending.size >= (this.opts.maxPending ?? 4096)) {
      // Many sources at once (forged ones cannot get here with verification on): the held
      // answers and per-resolver counts stay bounded, whatever the number of addresses.
      this.counters.inc('nts_server_limit');
      return Promise.resolve({ status: 'FAILED', reason: 'server-limit' });
    }
    // Per network (/24, /56), not per address: one sender holding many addresses of one network
    // (an IPv6 /64 costs nothing) would otherwise fill maxPending and starve every resolver.
    const net = networkOf(q.resolver.address, 24, 56) ?? q.resolver.address;
    const mine = this.inFlight.get(net) ?? 0;
    if (mine >= (this.opts.maxPendingPerResolver ?? 32)) {
      // A flood of distinct names from one source must not reach the router as a flood.
      this.counters.inc('nts_resolver_limit');
      return Promise.resolve({ status: 'FAILED', reason: 'resolver-limit' });
    }
    this.inFlight.set(net, mine + 1);
    const req = this.newRequestId();
    this.noteHeld(now, q, req, false, false);
    const p = this.send(q, plan, req).then((o) => {
      if (o.status === 'FAILED' && this.opts.refusalHoldMs > 0) {
        if (this.refused.size >= 10_000) {
          this.refused.clear(); // bounded; losing it only costs requests
          this.counters.inc('nts_refused_table_cleared');
        }
        this.refused.set(key, { until: this.now() + this.opts.refusalHoldMs, reason: o.reason });
      }
      return o;
    }).finally(() => {
      this.pending.delete(key);
      this.started.delete(key);
      const n = (this.inFlight.get(net) ?? 1) - 1;
      if (n > 0) this.inFlight.set(net, n);
      else this.inFlight.delete(net);
      this.opts.profiles.released(this.now(), q.resolver.address, q.fqdn, q.qtype);
    });
    this.pending.set(key, { outcome: p, req, queries: 1 });
    this.started.set(key, now);
    return p;
  }

  /** 64 random bits: unique among requests in flight (the NTS client refuses a pending one). */
  private newRequestId(): string {
    return this.opts.requestId?.() ?? randomMessageId();
  }

  /** The query is held for request `req` (a resolver's retry joins the one in flight); the fingerprint learns the resolver's retry pattern. */
  private noteHeld(now: number, q: NtsQuery, req: string, joined: boolean, quiet: boolean): void {
    this.log[quiet ? 'debug' : 'info']('nts-held', {
      req, name: q.fqdn, resolver: formatHostPort({ host: q.resolver.address, port: q.resolver.port }),
      queryId: q.queryId, transport: q.transport, joined: joined || undefined,
    });
    if (q.queryId !== undefined) this.opts.profiles.held(now, q.resolver.address, q.fqdn, q.qtype, q.queryId, q.transport ?? 'udp');
  }

  private async send(q: NtsQuery, plan: RequestPlan, req: string): Promise<NtsOutcome> {
    const router = this.byAddress.get(q.routerAddress);
    if (!router) {
      this.log.warn('nts-failed', { req, name: q.fqdn, resolver: q.resolver.address, reason: 'no-router' });
      return { status: 'FAILED', reason: 'no-router', req };
    }
    const start = this.now();
    const deadlineMs = start + plan.timeLeftMs;
    const { profile, via, confidence } = plan.choice;
    // Per profile name only (a closed set from code and config), never per address.
    this.counters.inc('nts_requests');
    this.counters.inc(`nts_profile_${profile.name}`);
    this.counters.inc(`nts_profile_via_${via}`);
    if (plan.mode === 'prefix') this.counters.inc('nts_mode_prefix');
    this.log.info('nts-request', {
      req, router: router.id, name: q.fqdn, resolver: q.resolver.address, timeLeftMs: plan.timeLeftMs,
      profile: profile.name, profileVia: via, confidence, leaseMs: plan.leaseMs, mode: plan.mode,
      subnet: plan.mode === 'prefix' ? `${q.clientSubnet!.address}/${q.clientSubnet!.prefixLength}` : undefined,
    });
    let r: NtsResult;
    try {
      r = await this.transport.request(router.nts, { id: router.id, secret: router.key }, {
        fqdn: q.fqdn, qtype: q.qtype, mode: plan.mode, resolver: q.resolver,
        clientSubnet: q.clientSubnet && { address: q.clientSubnet.address, prefixLength: q.clientSubnet.prefixLength },
        // The codec leaves LEASE out at 0; it is critical, so a router without leases refuses rather than ignores it.
        ...(plan.leaseMs > 0 ? { leaseMs: plan.leaseMs } : {}),
        id: req,
      }, { deadlineMs });
    } catch (e) {
      this.counters.inc('nts_errors');
      this.opts.onWait?.(this.now() - start, 'error');
      this.log.error('nts-error', { req, router: router.id, name: q.fqdn, error: (e as Error).message });
      return { status: 'FAILED', reason: 'error', req };
    }
    const waited = this.now() - start;
    if (r.status === 'READY' && r.answerAddress !== undefined && r.rcId !== undefined) {
      this.counters.inc('nts_ready');
      this.opts.onWait?.(waited, 'ready');
      this.log.info('nts-ready', { req, router: router.id, name: q.fqdn, resolver: q.resolver.address, address: r.answerAddress, rc: r.rcId, waitedMs: waited, profile: profile.name, leaseMs: plan.leaseMs });
      return { status: 'READY', address: r.answerAddress, rcId: r.rcId, req };
    }
    const reason = r.status === 'TIMEOUT' ? 'timeout' : r.status.toLowerCase();
    this.counters.inc(`nts_${reason}`);
    this.opts.onWait?.(waited, reason);
    this.log.warn('nts-failed', { req, router: router.id, name: q.fqdn, resolver: q.resolver.address, status: r.status, reason: 'reason' in r ? r.reason : undefined, waitedMs: waited, profile: profile.name });
    return { status: 'FAILED', reason, req };
  }
}

function familyOf(address: string): 1 | 2 {
  return address.includes(':') ? 2 : 1;
}
