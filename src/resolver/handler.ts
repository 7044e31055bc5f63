// The resolver's message handler: bytes in, bytes out (null: silence). No sockets; the clock
// comes in through deps.now. Chain: client allowed? -> decode and check -> lookup (cache |
// upstream) -> NTS v1 step for answers naming a router -> answer with the client's id and
// question, RA set, TTLs as left in the cache.
import { decodeMessage, encodeMessage, peekHeader } from '../dns/codec.js';
import { Opcode, RRClass, RRType, Rcode, typeToString, rcodeToString } from '../dns/constants.js';
import { canonicalName } from '../dns/name.js';
import { DnsFormatError, newMessage, type Message, type ResourceRecord } from '../dns/types.js';
import type { RequestContext } from '../server/handler.js';
import type { Counters } from '../util/counters.js';
import type { Logger } from '../util/log.js';
import { unmapped, type ClientAcl } from './acl.js';
import type { Answer } from './cache.js';
import type { Lookup, LookupResult } from './lookup.js';
import type { SourceRcRequester } from './nts-source.js';

export interface ResolverHandlerDeps {
  acl: ClientAcl;
  lookup: Pick<Lookup, 'resolve'>;
  /** Without it, answers naming router addresses are passed on unchanged (plain resolver). */
  nts?: Pick<SourceRcRequester, 'isRouterAddress' | 'request'>;
  /** How long the client waits for us (glibc: 5 s), and what we keep back to answer in time. */
  clientPatienceMs: number;
  marginMs: number;
  udpMaxPayload: number;
  counters: Counters;
  log: Logger;
  now: () => number;
}

type Out = Buffer | null | Promise<Buffer | null>;

export class ResolverHandler {
  constructor(private readonly d: ResolverHandlerDeps) {}

  handle(raw: Buffer, ctx: RequestContext): Out {
    const { counters } = this.d;
    const arrived = this.d.now();
    if (!this.d.acl.allows(ctx.remoteAddress)) return this.refuse(raw, ctx);
    let req: Message;
    try {
      req = decodeMessage(raw);
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
      return this.formerr(raw, ctx, e.message);
    }
    if (req.qr) {
      counters.inc('dropped_responses'); // never answer a response: no loops
      return null;
    }
    counters.inc('queries');
    if (req.opcode !== Opcode.QUERY) return this.fail(req, ctx, Rcode.NOTIMP, 'notimp');
    if (req.question.length !== 1) return this.fail(req, ctx, Rcode.FORMERR, 'formerr');
    if (req.edns && req.edns.version > 0) return this.fail(req, ctx, Rcode.BADVERS, 'badvers'); // RFC 6891 6.1.3
    const q = req.question[0];
    if (q.type === RRType.OPT || q.type === RRType.TSIG) return this.fail(req, ctx, Rcode.FORMERR, 'formerr');
    // Zone transfers, other classes and signed queries are for authoritative servers.
    if (q.class !== RRClass.IN || q.type === RRType.AXFR || q.type === RRType.IXFR || req.tsig) {
      return this.fail(req, ctx, Rcode.REFUSED, 'refused');
    }
    const deadline = arrived + this.d.clientPatienceMs - this.d.marginMs;
    const r = this.d.lookup.resolve(q, deadline);
    return r instanceof Promise ? r.then((x) => this.answer(req, ctx, x, deadline)) : this.answer(req, ctx, r, deadline);
  }

  private answer(req: Message, ctx: RequestContext, r: LookupResult, deadline: number): Buffer | Promise<Buffer> {
    if (!r.ok) {
      this.d.log.debug('lookup-failed', { from: ctx.remoteAddress, name: req.question[0].name, reason: r.reason });
      return this.fail(req, ctx, Rcode.SERVFAIL, 'servfail');
    }
    const q = req.question[0];
    const nts = this.d.nts;
    if (nts && q.type === RRType.A && r.value.rcode === Rcode.NOERROR) {
      const chain = chainNames(q.name, r.value.answer);
      const via = r.value.answer.filter((rr) => rr.rdata.kind === 'A' && nts.isRouterAddress(rr.rdata.address) && chain.has(canonicalName(rr.name)));
      if (via.length > 0) return this.viaRouter(req, ctx, r.value, via, deadline);
    }
    if (this.d.log.enabled('debug')) {
      this.d.log.debug('query', {
        from: ctx.remoteAddress, transport: ctx.transport, name: q.name, type: typeToString(q.type),
        rcode: rcodeToString(r.value.rcode), answers: r.value.answer.length, source: r.from,
      });
    }
    return this.encode(req, ctx, r.value);
  }

  /**
   * The NTS v1 step: the router must hold an RC for this EN before the EN learns the address.
   * On READY the address the router names goes out with TTL 0 (never cached downstream: the
   * next lookup must make a new RC); on refusal or silence, SERVFAIL within the patience.
   */
  private async viaRouter(req: Message, ctx: RequestContext, a: Answer, via: ResourceRecord[], deadline: number): Promise<Buffer> {
    const first = via[0];
    const outcome = await this.d.nts!.request({
      fqdn: canonicalName(first.name), enAddress: unmapped(ctx.remoteAddress),
      routerAddress: first.rdata.kind === 'A' ? first.rdata.address : '', deadlineMs: deadline,
    });
    if (outcome.status !== 'READY') return this.fail(req, ctx, Rcode.SERVFAIL, 'servfail');
    // Only the address the router named: the other router addresses have no RC for this EN.
    const answer = a.answer.flatMap((rr): ResourceRecord[] => {
      if (rr === first) return [{ ...rr, ttl: 0, rdata: { kind: 'A', address: outcome.address } }];
      return via.includes(rr) ? [] : [rr];
    });
    return this.encode(req, ctx, { ...a, answer });
  }

  /** The answer in the client's terms: its id, its question (0x20 case kept), RA set. */
  private encode(req: Message, ctx: RequestContext, a: Answer): Buffer {
    const q = req.question[0];
    const asked = canonicalName(q.name);
    const res = this.reply(req, a.rcode);
    res.answer = a.answer.map((rr) => (rr.name !== q.name && canonicalName(rr.name) === asked ? { ...rr, name: q.name } : rr));
    res.authority = a.authority;
    res.additional = a.additional;
    const bytes = encodeMessage(res, { maxSize: this.maxSize(req, ctx) });
    if (bytes[2] & 0x02) this.d.counters.inc('truncated');
    return bytes;
  }

  private fail(req: Message, ctx: RequestContext, rcode: number, counter: string): Buffer {
    this.d.counters.inc(counter);
    return encodeMessage(this.reply(req, rcode), { maxSize: this.maxSize(req, ctx) });
  }

  /** A response skeleton: id, opcode, RD and CD copied, RA set, question echoed, OPT if asked. */
  private reply(req: Message, rcode: number): Message {
    const edns = req.edns && { udpSize: this.d.udpMaxPayload, version: 0, dnssecOk: false, flags: 0, options: [] };
    return newMessage({
      id: req.id, qr: true, opcode: req.opcode, rd: req.rd, ra: true, cd: req.cd, rcode: (edns || rcode < 16) ? rcode : Rcode.SERVFAIL, // an extended rcode needs OPT
      question: req.question.slice(0, 1), edns,
    });
  }

  private maxSize(req: Message, ctx: RequestContext): number {
    if (ctx.transport === 'tcp') return 65535;
    if (!req.edns) return 512;
    return Math.max(512, Math.min(req.edns.udpSize, this.d.udpMaxPayload));
  }

  private formerr(raw: Buffer, ctx: RequestContext, reason: string): Buffer | null {
    this.d.counters.inc('formerr');
    this.d.log.debug('formerr', { from: ctx.remoteAddress, reason });
    const h = peekHeader(raw);
    if (!h || h.qr) {
      this.d.counters.inc('dropped_unreadable');
      return null;
    }
    return encodeMessage(newMessage({ id: h.id, qr: true, opcode: h.opcode, ra: true, rcode: Rcode.FORMERR }));
  }

  /** Outside `allow`: REFUSED, no bigger than the query (an answer here would amplify). */
  private refuse(raw: Buffer, ctx: RequestContext): Buffer | null {
    this.d.counters.inc('refused_clients');
    this.d.log.debug('refused-client', { from: ctx.remoteAddress });
    const h = peekHeader(raw);
    if (!h || h.qr) return null;
    let question: Message['question'] = [];
    try {
      question = decodeMessage(raw).question.slice(0, 1);
    } catch { /* header only */ }
    return encodeMessage(newMessage({ id: h.id, qr: true, opcode: h.opcode, rd: (raw[2] & 1) === 1, rcode: Rcode.REFUSED, question }));
  }
}

/** The question's name and the CNAME targets reached from it: only their A records are the
 *  answer (an upstream could add unrelated records, and each would cost a router request). */
export function chainNames(qname: string, answer: ResourceRecord[]): Set<string> {
  const names = new Set([canonicalName(qname)]);
  for (let grew = true; grew;) {
    grew = false;
    for (const rr of answer) {
      if (rr.rdata.kind !== 'CNAME' || !names.has(canonicalName(rr.name))) continue;
      const target = canonicalName(rr.rdata.target);
      if (!names.has(target)) {
        names.add(target);
        grew = true;
      }
    }
  }
  return names;
}
