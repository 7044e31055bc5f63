// The NTSv2 server's message handler: bytes in, bytes out (or null for silence). No sockets
// here, so every path is testable without a network; the clock comes in through deps.now.
// Chain: response cache -> decode -> opcode dispatch -> (TSIG) -> query | update.
import { decodeMessage, encodeMessage } from '../dns/codec.js';
import { EdnsOptionCode, Opcode, RRType, Rcode, rcodeToString, tsigErrorToString, typeToString } from '../dns/constants.js';
import { encodeClientSubnet, parseClientSubnet } from '../dns/edns.js';
import { canonicalName } from '../dns/name.js';
import { signMessage, tsigForResponse, verifyRequest, type TsigKey, type TsigVerification } from '../dns/tsig.js';
import { LastTimeSigned } from '../dns/tsig-replay.js';
import { DnsFormatError, newMessage, type ClientSubnet, type Edns, type Message, type ResourceRecord } from '../dns/types.js';
import { applyChangeset, evaluateUpdate } from '../dns/update.js';
import type { Zone } from '../dns/zone.js';
import type { ZoneStore } from '../store/zone-store.js';
import type { Logger } from '../util/log.js';
import { formatHostPort } from '../util/addr.js';
import { answerQuestion } from './answer.js';
import { privateAdds, publishViaRouter } from './publish-rewrite.js';
import type { NtsGateway, NtsQuery } from './nts-gateway.js';
import type { ResolverProfiles } from './resolver-profiles.js';
import type { Counters } from '../util/counters.js';
import { ResponseCache } from './response-cache.js';
import { cookieOf, encodeCookie, type CookieOption } from '../dns/cookie.js';
import type { EdnsOption } from '../dns/types.js';
import { ServerCookies } from './cookies.js';
import { ResponseRateLimiter, rrlIdentity, type RrlKind } from './rrl.js';
import { Detours } from './detours.js';
import { verifySource, type CookieState, type VerifyMode } from './verify-source.js';

export interface RequestContext {
  transport: 'udp' | 'tcp';
  remoteAddress: string;
  remotePort: number;
}

/** What the query path knows about a query; the NTS request (next release) is built from it. */
export interface QueryInfo {
  ctx: RequestContext;
  clientSubnet?: ClientSubnet;
}

export interface KeyEntry {
  key: TsigKey;
  allow: { name: string; subtree: boolean }[];
  /** Set when the key belongs to hosts behind an NTS router: its global address. */
  routerAddress?: string;
}

export interface HandlerDeps {
  zone: Zone;
  store: ZoneStore;
  keys: Map<string, KeyEntry>;
  /** Global addresses of the registered NTS routers. */
  routerAddresses: Set<string>;
  /** Contacts the routers; without it NTS-managed names are answered at once (TTL 0). */
  gateway?: NtsGateway;
  /** Sees every decoded query, so the passive fingerprint learns each resolver (fingerprint.ts). */
  profiles?: ResolverProfiles;
  udpMaxPayload: number;
  tsigFudge: number;
  responseCacheSize: number;
  counters: Counters;
  log: Logger;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** RFC 8945 5.2.3 last-time-signed per key; default a fresh in-memory one. */
  lastTimeSigned?: LastTimeSigned;
  /** Server cookies (RFC 9018); default a random secret. */
  cookies?: ServerCookies;
  /** Who may reach the gateway (verify-source.ts); default cookie-or-tcp. */
  verifySource?: VerifyMode;
  /** Rate limits ordinary UDP answers; default none. */
  rrl?: ResponseRateLimiter;
}

/** The COOKIE a query carried, what we made of it, and the option every response to it carries. */
interface CookieSeen {
  state: CookieState;
  option: EdnsOption;
}

export class DnsHandler {
  private readonly cache: ResponseCache;
  /** Lookups that had to prove their source first: their resolver's clock started earlier. */
  private readonly detours = new Detours();
  private readonly lastSigned: LastTimeSigned;
  cookies: ServerCookies;

  constructor(private readonly d: HandlerDeps) {
    this.cache = new ResponseCache(d.responseCacheSize, () => d.counters.inc('response_cache_cleared'));
    this.lastSigned = d.lastTimeSigned ?? new LastTimeSigned();
    this.cookies = d.cookies ?? new ServerCookies();
  }

  /**
   * A reload (SIGHUP): swaps policy and keys, keeps the zone, the detours and last-time-signed.
   * A new cookie secret makes every server cookie handed out so far invalid (one BADCOOKIE round).
   */
  reconfigure(p: Partial<Pick<HandlerDeps, 'keys' | 'routerAddresses' | 'gateway' | 'profiles' | 'udpMaxPayload' | 'tsigFudge' | 'verifySource' | 'rrl'>> & { cookies?: ServerCookies }): void {
    const { cookies, ...deps } = p;
    Object.assign(this.d, deps);
    if (cookies) this.cookies = cookies;
    this.cache.clear(); // answers depend on the router addresses and the payload size
  }

  /** Sizes of the per-source and per-name tables on the query path (bounded-memory tests). */
  tableSizes(): { responseCache: number; rrl: number } {
    return { responseCache: this.cache.size, rrl: this.d.rrl?.size ?? 0 };
  }

  /** Synchronous except for queries held for an NTS router (a Promise then). */
  handle(raw: Buffer, ctx: RequestContext): Buffer | null | Promise<Buffer | null> {
    const { counters } = this.d;
    const tcp = ctx.transport === 'tcp';
    const hit = this.cache.lookup(raw, tcp, this.d.zone.version);
    if (hit) {
      counters.inc('queries');
      return tcp ? hit.response : this.rateLimited(hit.response, hit.rrl, raw, ctx);
    }
    let msg: Message;
    try {
      msg = decodeMessage(raw);
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
      return this.formerr(e, ctx);
    }
    if (msg.qr) {
      counters.inc('dropped_responses'); // never answer a response: no loops
      return null;
    }
    switch (msg.opcode) {
      case Opcode.QUERY:
        counters.inc('queries');
        return this.query(raw, msg, ctx);
      case Opcode.UPDATE:
        counters.inc('updates');
        return this.update(raw, msg, ctx);
      default:
        counters.inc('notimp');
        return encodeMessage({ ...this.reply(msg, Rcode.NOTIMP), edns: this.responseEdns(msg) });
    }
  }

  private formerr(e: DnsFormatError, ctx: RequestContext): Buffer | null {
    this.d.counters.inc('formerr');
    this.d.log.debug('formerr', { from: ctx.remoteAddress, reason: e.message });
    if (!e.header || e.header.qr) {
      this.d.counters.inc('dropped_unreadable');
      return null;
    }
    const r = newMessage({ id: e.header.id, qr: true, opcode: e.header.opcode, rcode: Rcode.FORMERR });
    return encodeMessage(r);
  }

  /** A response skeleton: ID, opcode, RD and CD copied, question echoed. */
  private reply(req: Message, rcode: number): Message {
    return newMessage({
      id: req.id, qr: true, opcode: req.opcode, rd: req.rd, cd: req.cd, rcode, question: req.question.slice(0, 1),
    });
  }

  private responseEdns(req: Message, options: Edns['options'] = []): Edns | undefined {
    if (!req.edns) return undefined;
    return {
      udpSize: this.d.udpMaxPayload, version: 0, dnssecOk: req.edns.dnssecOk,
      flags: req.edns.dnssecOk ? 0x8000 : 0, options,
    };
  }

  private maxSize(req: Message, ctx: RequestContext): number {
    if (ctx.transport === 'tcp') return 65535;
    if (!req.edns) return 512;
    return Math.max(512, Math.min(req.edns.udpSize, this.d.udpMaxPayload));
  }

  private query(raw: Buffer, req: Message, ctx: RequestContext): Buffer | null | Promise<Buffer> {
    const { counters } = this.d;
    let key: TsigKey | undefined;
    let requestMac: Buffer | undefined;
    if (req.tsig) {
      const v = this.verifyTsig(raw, req);
      if (v.status === 'error') return this.tsigError(req, v, ctx);
      if (v.status === 'ok') ({ key, requestMac } = v);
    }
    const res = this.reply(req, Rcode.NOERROR);
    if (req.question.length !== 1) {
      res.rcode = Rcode.FORMERR;
      counters.inc('formerr');
      return this.finish(res, req, ctx, key, requestMac);
    }
    if (req.edns && req.edns.version > 0) {
      res.rcode = Rcode.BADVERS; // RFC 6891 6.1.3
      res.edns = this.responseEdns(req);
      counters.inc('badvers');
      return this.finish(res, req, ctx, key, requestMac);
    }
    let cookie: CookieSeen | undefined;
    try {
      cookie = this.cookie(req, ctx);
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
      res.rcode = Rcode.FORMERR; // RFC 7873 5.2.2
      res.edns = this.responseEdns(req);
      counters.inc('formerr');
      counters.inc('cookie_malformed');
      return this.finish(res, req, ctx, key, requestMac);
    }
    const info: QueryInfo = { ctx };
    const ecsOpt = req.edns?.options.find((o) => o.code === EdnsOptionCode.ECS);
    if (ecsOpt) {
      try {
        info.clientSubnet = parseClientSubnet(ecsOpt.data);
      } catch (e) {
        if (!(e instanceof DnsFormatError)) throw e;
        res.rcode = Rcode.FORMERR; // RFC 7871 7.1.2
        res.edns = this.responseEdns(req);
        counters.inc('formerr');
        return this.finish(res, req, ctx, key, requestMac, cookie);
      }
    }
    const q = req.question[0];
    // The fingerprint learns from a query unless it asks for an NTS-managed name from an
    // unverified source: a forged one must not choose the profile (deadline, lease, ECS trust)
    // of the resolver whose address it borrows.
    const observe = () => this.d.profiles?.observe(this.d.now(), {
      resolver: ctx.remoteAddress, transport: ctx.transport, id: req.id, qname: q.name, qtype: q.type, cd: req.cd,
      edns: req.edns && { udpSize: req.edns.udpSize, dnssecOk: req.edns.dnssecOk, optionCodes: req.edns.options.map((o) => o.code) },
    });
    const ntsManaged = (name: string) => this.isNtsManaged(name);
    const a = answerQuestion(this.d.zone, q, { isNtsManaged: ntsManaged });
    Object.assign(res, a);
    const managed = a.answer.some((r) => ntsManaged(canonicalName(r.name)));
    const viaRouter = this.d.gateway && q.type === RRType.A ? a.answer.filter((r) => r.rdata.kind === 'A' && this.d.routerAddresses.has(r.rdata.address)) : [];
    if (viaRouter.length > 0) {
      if (!this.d.gateway!.answersDirectly(ctx.remoteAddress)) {
        const v = verifySource(this.d.verifySource ?? 'cookie-or-tcp', ctx.transport, cookie?.state ?? 'none', key !== undefined);
        if (v.verdict === 'verified') {
          observe();
          counters.inc(`nts_verified_${v.by}`);
          return this.queryViaRouter(req, res, viaRouter, info, key, requestMac, cookie);
        }
        // Refused a moment ago: SERVFAIL costs the router nothing, so no detour for it. A resolver
        // retrying our SERVFAIL (Unbound: 5 times) would otherwise pay TC -> TCP on each, and its
        // patience ends before it answers its client (docs/faults.md, 20 ms RTT).
        if (this.d.gateway!.refusedRecently(this.ntsQuery(req, viaRouter, info))) {
          counters.inc('nts_suppressed_unverified');
          return this.rateLimited(this.servfail(req, info, cookie), rrlIdentity('answer', canonicalName(q.name), q.type, this.d.zone.origin), raw, ctx);
        }
        // Rate limited like ordinary answers: a forged flood must not reflect off us in full either.
        return this.rateLimited(this.unverified(req, v.verdict, info, cookie), rrlIdentity('answer', canonicalName(q.name), q.type, this.d.zone.origin), raw, ctx);
      }
      counters.inc('nts_v1_direct'); // answered as zone data (TTL 0); the v1 resolver asks the router
    }
    observe();
    res.edns = this.responseEdns(req, this.ecsOptions(info, managed));
    if (res.rcode === Rcode.REFUSED) counters.inc('refused');
    if (this.d.log.enabled('debug')) {
      this.d.log.debug('query', {
        from: ctx.remoteAddress, transport: ctx.transport, name: q.name, type: typeToString(q.type),
        rcode: rcodeToString(res.rcode), answers: res.answer.length, ecs: info.clientSubnet && `${info.clientSubnet.address}/${info.clientSubnet.sourcePrefix}`,
      });
    }
    const out = this.finish(res, req, ctx, key, requestMac, cookie);
    const identity = rrlIdentity(rrlKind(res), canonicalName(q.name), q.type, this.d.zone.origin);
    // A response with a cookie is made for one address: never replayed to another from the cache.
    if (!key && !managed && !cookie && (res.rcode === Rcode.NOERROR || res.rcode === Rcode.NXDOMAIN || res.rcode === Rcode.REFUSED)) {
      this.cache.store(raw, ctx.transport === 'tcp', this.d.zone.version, out, identity);
    }
    // Not limited: TCP (cannot be forged), TSIG-signed, and UDP with a valid server cookie (as BIND).
    if (ctx.transport === 'tcp' || key || cookie?.state === 'valid') return out;
    return this.rateLimited(out, identity, raw, ctx);
  }

  /** ECS in the answer: scope 0 ("valid for everyone", RFC 7871 7.2.1) for ordinary data; the
   *  source prefix for NTS-managed answers, which are made for that client. */
  private ecsOptions(info: QueryInfo, managed: boolean): Edns['options'] {
    if (!info.clientSubnet) return [];
    return [encodeClientSubnet({ ...info.clientSubnet, scopePrefix: managed ? info.clientSubnet.sourcePrefix : 0 })];
  }

  /**
   * The NTSv2 step (paper section 3): the answer names the router's global address, so the
   * router must hold an RC before the resolver learns it. Held until READY; SERVFAIL when the
   * router refuses or stays silent past the resolver's patience.
   */
  private async queryViaRouter(req: Message, res: Message, viaRouter: ResourceRecord[], info: QueryInfo, key?: TsigKey, requestMac?: Buffer, cookie?: CookieSeen): Promise<Buffer> {
    const first = viaRouter[0];
    const outcome = await this.d.gateway!.resolve({
      ...this.ntsQuery(req, viaRouter, info),
      askedAt: this.detours.take(this.d.now(), info.ctx.remoteAddress, canonicalName(req.question[0].name), req.question[0].type),
    });
    if (outcome.status === 'READY') {
      // Only the address the router named: with an address pool, each RC lives on one of them.
      const rest = res.answer.filter((r) => !viaRouter.includes(r));
      res.answer = [...rest, { ...first, ttl: 0, rdata: { kind: 'A', address: outcome.address } }];
    } else {
      this.d.counters.inc('servfail');
      Object.assign(res, { rcode: Rcode.SERVFAIL, aa: false, answer: [], authority: [], additional: [] });
    }
    // The lookup's last line (docs/operations.md): without a request (a limit, a refusal hold), or
    // past the request's LOGGED_QUERIES, only at debug.
    this.d.log[outcome.req && !outcome.quiet ? 'info' : 'debug']('nts-answer', {
      req: outcome.req, name: req.question[0]!.name, resolver: formatHostPort({ host: info.ctx.remoteAddress, port: info.ctx.remotePort }),
      queryId: req.id, transport: info.ctx.transport, rcode: rcodeToString(res.rcode),
      address: outcome.status === 'READY' ? outcome.address : undefined, reason: outcome.status === 'FAILED' ? outcome.reason : undefined,
    });
    res.edns = this.responseEdns(req, this.ecsOptions(info, true));
    return this.finish(res, req, info.ctx, key, requestMac, cookie);
  }

  /** What the gateway is asked for this query (the router's A record, the resolver, its ECS). */
  private ntsQuery(req: Message, viaRouter: ResourceRecord[], info: QueryInfo): NtsQuery {
    const first = viaRouter[0];
    const ecs = info.clientSubnet;
    return {
      fqdn: canonicalName(first.name), qtype: RRType.A,
      resolver: { address: info.ctx.remoteAddress, port: info.ctx.remotePort },
      clientSubnet: ecs && { address: ecs.address, family: ecs.family, prefixLength: ecs.sourcePrefix },
      routerAddress: first.rdata.kind === 'A' ? first.rdata.address : '',
      queryId: req.id, transport: info.ctx.transport,
    };
  }

  /**
   * The COOKIE option of a query (RFC 7873 5.2) and the one its response carries: the client
   * cookie with our server cookie, the received one while it is fresh (RFC 9018 4.3: renewed
   * after half an hour). Throws DnsFormatError on a malformed option.
   */
  private cookie(req: Message, ctx: RequestContext): CookieSeen | undefined {
    const c: CookieOption | undefined = cookieOf(req.edns);
    if (!c) return undefined;
    const nowS = this.nowSeconds();
    const check = c.server && this.cookies.check(c.client, c.server, ctx.remoteAddress, nowS);
    const state: CookieState = check ? check.status : 'client-only';
    this.d.counters.inc(`cookie_${state.replace('-', '_')}`); // cookie_client_only, cookie_valid, cookie_invalid
    const server = check && check.status === 'valid' && check.fresh ? c.server! : this.cookies.make(c.client, ctx.remoteAddress, nowS);
    return { state, option: encodeCookie({ client: c.client, server }) };
  }

  /** SERVFAIL for a lookup the router refused a moment ago (the gateway's refusal hold). */
  private servfail(req: Message, info: QueryInfo, cookie?: CookieSeen): Buffer {
    const res = this.reply(req, Rcode.SERVFAIL);
    res.edns = this.responseEdns(req, this.ecsOptions(info, true));
    this.d.counters.inc('servfail');
    return this.finish(res, req, info.ctx, undefined, undefined, cookie);
  }

  /** An unverified UDP query for an NTS-managed name: it costs the router nothing, and its
   *  sender learns how to verify itself (verify-source.ts). */
  private unverified(req: Message, verdict: 'badcookie' | 'truncate', info: QueryInfo, cookie?: CookieSeen): Buffer {
    const res = this.reply(req, verdict === 'badcookie' ? Rcode.BADCOOKIE : Rcode.NOERROR);
    res.aa = true;
    res.tc = verdict === 'truncate';
    res.edns = this.responseEdns(req, this.ecsOptions(info, true));
    this.d.counters.inc(verdict === 'badcookie' ? 'nts_unverified_badcookie' : 'nts_unverified_tc');
    this.detours.note(this.d.now(), info.ctx.remoteAddress, canonicalName(req.question[0].name), req.question[0].type);
    if (this.d.log.enabled('debug')) {
      const q = req.question[0];
      this.d.log.debug('nts-unverified', { from: info.ctx.remoteAddress, name: q.name, answer: verdict });
    }
    return this.finish(res, req, info.ctx, undefined, undefined, cookie);
  }

  /** The rate limit on one ordinary UDP answer: sent, dropped (null), or TC=1 in its place. */
  private rateLimited(out: Buffer, identity: string, raw: Buffer, ctx: RequestContext): Buffer | null {
    const rrl = this.d.rrl;
    if (!rrl || !rrl.enabled) return out;
    const v = rrl.check(this.d.now(), ctx.remoteAddress, identity);
    if (v === 'send') return out;
    this.d.counters.inc(`rrl_${v === 'drop' ? 'dropped' : 'slipped'}`);
    if (v === 'drop') return null;
    // The slip: header and question of the answer, TC set, nothing else. A resolver that really
    // sent the query retries over TCP, which the limit never touches.
    let req: Message;
    try {
      req = decodeMessage(raw);
    } catch {
      return null;
    }
    const res = { ...this.reply(req, Rcode.NOERROR), tc: true, aa: true, edns: this.responseEdns(req) };
    let cookie: CookieSeen | undefined;
    try {
      cookie = this.cookie(req, ctx);
    } catch { /* it was answered, so the option parsed; nothing to add otherwise */ }
    return this.finish(res, req, ctx, undefined, undefined, cookie);
  }

  private update(raw: Buffer, req: Message, ctx: RequestContext): Buffer | null {
    const { counters, log, zone } = this.d;
    const v = this.verifyTsig(raw, req);
    const zoneName = req.question[0]?.name;
    if (v.status === 'error') {
      counters.inc('updates_bad_tsig');
      return this.tsigError(req, v, ctx);
    }
    if (v.status === 'unsigned') {
      // RFC 2136 3.3: the server's policy refuses unauthenticated updates; nothing changes.
      counters.inc('updates_refused');
      log.warn('update-refused', { from: ctx.remoteAddress, zone: zoneName, reason: 'unsigned' });
      return encodeMessage({ ...this.reply(req, Rcode.REFUSED), edns: this.responseEdns(req) });
    }
    const entry = this.d.keys.get(canonicalName(v.key.name));
    const mayChange = (name: string) => allowed(entry?.allow ?? [], canonicalName(name));
    // Through a router (the update's source is its masqueraded global address, or the key is
    // bound to a router), the IN's names point at that router's global address.
    const via = this.d.routerAddresses.has(ctx.remoteAddress) ? ctx.remoteAddress : entry?.routerAddress;
    const privates = via ? [] : privateAdds(req);
    let result: ReturnType<typeof evaluateUpdate>;
    if (privates.length > 0) {
      result = { rcode: Rcode.REFUSED, detail: `private address ${privates[0]} would be published (no NTS router in front of this client or key)` };
    } else {
      result = evaluateUpdate(zone, via ? publishViaRouter(req, via) : req, mayChange);
    }
    let rcode = result.rcode;
    if (rcode === Rcode.NOERROR && result.changes) {
      try {
        this.d.store.commit(zone.origin, result.changes); // durable before the NOERROR leaves
        applyChangeset(zone, result.changes);
      } catch (e) {
        rcode = Rcode.SERVFAIL;
        log.error('update-store-failed', { zone: zone.origin, error: (e as Error).message });
      }
    }
    counters.inc(rcode === Rcode.NOERROR ? 'updates_applied' : 'updates_rejected');
    log.info('update', {
      from: ctx.remoteAddress, key: v.key.name, zone: zoneName, rcode: rcodeToString(rcode),
      serial: zone.serial(), changed: rcode === Rcode.NOERROR && !!result.changes, detail: result.detail,
    });
    const res = { ...this.reply(req, rcode), edns: this.responseEdns(req) };
    return this.finish(res, req, ctx, v.key, v.requestMac);
  }

  /** RFC 8945 5.2 on the bytes as received. Each message stands alone, also when several are
   *  pipelined on one TCP connection. A verified message advances its key's last time signed. */
  private verifyTsig(raw: Buffer, req: Message): TsigVerification {
    // A configured hmac-sha1 key is the operator's consent to SHA-1 for that key.
    const v = verifyRequest(raw, req, (n) => this.d.keys.get(canonicalName(n))?.key, this.nowSeconds(), {
      allowSha1: true, lastTimeSigned: (k) => this.lastSigned.get(k),
    });
    if (v.status === 'ok') this.lastSigned.accept(v.key, v.timeSigned);
    return v;
  }

  private tsigError(req: Message, v: Extract<TsigVerification, { status: 'error' }>, ctx: RequestContext): Buffer {
    this.d.counters.inc('tsig_errors');
    this.d.counters.inc(`tsig_${v.kind}`); // tsig_badkey, _badsig, _badtime, _replay, _badtrunc, _formerr
    this.d.log.warn('tsig-error', {
      from: ctx.remoteAddress, transport: ctx.transport, key: req.tsig?.rr.name, opcode: req.opcode,
      error: v.error === 0 ? 'FORMERR' : tsigErrorToString(v.error), check: v.kind, reason: v.reason,
    });
    const res = this.reply(req, v.rcode);
    const bytes = encodeMessage(res);
    return tsigForResponse(bytes, v, this.nowSeconds(), this.d.tsigFudge);
  }

  private finish(res: Message, req: Message, ctx: RequestContext, key?: TsigKey, requestMac?: Buffer, cookie?: CookieSeen): Buffer {
    // RFC 7873 5.2: every response to a query with a client cookie carries our server cookie.
    if (cookie) {
      res.edns ??= this.responseEdns(req);
      if (res.edns && !res.edns.options.some((o) => o.code === EdnsOptionCode.COOKIE)) res.edns.options = [...res.edns.options, cookie.option];
    }
    const bytes = encodeMessage(res, { maxSize: this.maxSize(req, ctx) - (key ? 200 : 0) });
    if (bytes[2] & 0x02) this.d.counters.inc('truncated');
    if (!key) return bytes;
    return signMessage(bytes, key, { nowSeconds: this.nowSeconds(), fudge: this.d.tsigFudge, requestMac, originalId: req.id }).message;
  }

  private nowSeconds(): number {
    return Math.floor(this.d.now() / 1000);
  }

  isNtsManaged(name: string): boolean {
    if (this.d.routerAddresses.size === 0) return false;
    for (const r of this.d.zone.get(name, RRType.A)) {
      if (r.rdata.kind === 'A' && this.d.routerAddresses.has(r.rdata.address)) return true;
    }
    return false;
  }
}

export function allowed(patterns: { name: string; subtree: boolean }[], name: string): boolean {
  return patterns.some((p) => (p.subtree ? name.endsWith('.' + p.name) : name === p.name));
}

function rrlKind(res: Message): RrlKind {
  if (res.rcode === Rcode.NXDOMAIN) return 'nxdomain';
  if (res.rcode !== Rcode.NOERROR) return 'error';
  if (res.answer.length > 0) return 'answer';
  return res.authority.some((r) => r.type === RRType.NS) ? 'referral' : 'nodata';
}
