// NTSS v1 (paper section 2): the resolver is the EN's own DNS server, so it knows who will send
// the first packet. Before an answer naming an NTS router's address leaves, the router is asked
// for an RC for that EN only (MODE source, EN_ADDRESS = the client), and the answer waits for
// READY. Unlike the NTSv2 server (server/nts-gateway.ts), the deadline is the client's, counted
// from when its query arrived (the upstream lookup already spent part of it), and nothing is
// remembered after a request ends: each lookup is one request, because the RC is per EN.
import { randomMessageId } from '../nts/message-id.js';
import { answerLeaseMs } from '../server/nts-gateway.js';
import { RRType } from '../dns/constants.js';
import type { NtsOutcome, NtsTransport, RouterEntry } from '../server/nts-gateway.js';
import type { Peer } from '../nts/index.js';
import type { Counters } from '../util/counters.js';
import type { Logger } from '../util/log.js';

export interface SourceRcRequest {
  /** Canonical owner name of the A record holding the router's address. */
  fqdn: string;
  /** The client (the EN): the only source the RC will admit. */
  enAddress: string;
  routerAddress: string;
  /** Absolute ms: the answer must be out by then. */
  deadlineMs: number;
}

/** Below this much time left a request cannot come back in time: fail without sending. */
const MIN_TIME_LEFT_MS = 20;

export class SourceRcRequester {
  private readonly routerOf = new Map<string, RouterEntry>();
  /** In flight per (EN, name): a stub's retries (same or new id) share the request. */
  private readonly inflight = new Map<string, Promise<NtsOutcome>>();

  constructor(
    routers: RouterEntry[],
    private readonly transport: NtsTransport,
    /** Our own DNS address, sent as RESOLVER. */
    private readonly self: () => Peer,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly now: () => number,
    /** How long the EN may keep the answer: the request's lease (0: none). */
    private readonly enCacheMs = 0,
  ) {
    for (const r of routers) for (const a of r.addresses) this.routerOf.set(a, r);
  }

  isRouterAddress(address: string): boolean {
    return this.routerOf.has(address);
  }

  request(r: SourceRcRequest): Promise<NtsOutcome> {
    const key = `${r.enAddress} ${r.fqdn}`;
    const shared = this.inflight.get(key);
    if (shared) {
      this.counters.inc('nts_joined');
      return shared;
    }
    const p = this.ask(r).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async ask(r: SourceRcRequest): Promise<NtsOutcome> {
    const router = this.routerOf.get(r.routerAddress);
    if (!router) return { status: 'FAILED', reason: 'no-router' };
    const sentAt = this.now();
    // The NTS message id, on each line of this request as on the router's (docs/operations.md).
    const req = randomMessageId();
    const fields = { req, router: router.id, name: r.fqdn, en: r.enAddress };
    if (r.deadlineMs - sentAt < MIN_TIME_LEFT_MS) {
      this.counters.inc('nts_no_time');
      this.log.warn('nts-no-time', { ...fields, leftMs: r.deadlineMs - sentAt });
      return { status: 'FAILED', reason: 'no-time' };
    }
    this.counters.inc('nts_requests');
    this.log.info('nts-request', { ...fields, mode: 'source', timeLeftMs: r.deadlineMs - sentAt });
    try {
      const res = await this.transport.request(router.nts, { id: router.id, secret: router.key }, {
        fqdn: r.fqdn, qtype: RRType.A, mode: 'source', enAddress: r.enAddress, resolver: this.self(),
        ...(this.enCacheMs > 0 ? { leaseMs: answerLeaseMs(this.enCacheMs) } : {}),
        id: req,
      }, { deadlineMs: r.deadlineMs });
      const waitedMs = this.now() - sentAt;
      if (res.status === 'READY' && res.answerAddress !== undefined && res.rcId !== undefined) {
        this.counters.inc('nts_ready');
        this.log.info('nts-ready', { ...fields, address: res.answerAddress, rc: res.rcId, waitedMs });
        return { status: 'READY', address: res.answerAddress, rcId: res.rcId, req };
      }
      const reason = res.status.toLowerCase();
      this.counters.inc(`nts_${reason}`);
      this.log.warn('nts-failed', { ...fields, status: res.status, detail: 'reason' in res ? res.reason : undefined, waitedMs });
      return { status: 'FAILED', reason, req };
    } catch (e) {
      this.counters.inc('nts_errors');
      this.log.error('nts-error', { ...fields, error: (e as Error).message });
      return { status: 'FAILED', reason: 'error' };
    }
  }
}
