// What the DNS UPDATE proxy learns from the messages it relays (sans-I/O: bytes, flow names and
// `now` come in, PHL changes come out; the proxy adapter owns sockets and the clock).
//
// A request only makes an entry *pending*; it becomes a change when the server answered that
// same message (same flow, same id) NOERROR. The server checked TSIG and the key's names, so a
// forged or refused update from the LAN never reaches the PHL.
// The learned address is always the packet's source on the LAN, never the rdata: a DDNS client
// may register the router's global address (as clients that report the public address do).
// Replays: TSIG (RFC 8945) accepts the same signed bytes again within its fudge window, so a LAN
// host that captured alice's update could resend it from its own address. The MAC is remembered
// with the first address that sent it; the same MAC from another address teaches nothing.
import { decodeMessage, peekHeader } from '../dns/codec.js';
import { Opcode, RRClass, RRType, Rcode } from '../dns/constants.js';
import type { Message } from '../dns/types.js';
import { canonicalFqdn } from '../router/phl.js';
import { Counters } from '../util/counters.js';

export interface PhlChange {
  /** learn: name -> address; forget: remove the name's learned entry (configured ones stay). */
  kind: 'learn' | 'forget';
  fqdn: string;
  /** The LAN source address of the update (for forget: who withdrew it). */
  address: string;
  flow: string;
  id: number;
}

export interface UpdateSnooperOptions {
  /** A request not answered within this time is forgotten. */
  pendingTimeoutMs: number;
  /** Bound on pending requests; the oldest goes first. */
  maxPending: number;
}

interface Pending {
  at: number;
  address: string;
  learn: string[];
  forget: string[];
}

/** The names an UPDATE adds an A record for, and the names it only withdraws A records from. */
export function planUpdate(m: Message): { learn: string[]; forget: string[] } {
  // RFC 2136 2.3: one zone, its class is the class of the records being added.
  if (m.question.length !== 1 || m.question[0].class !== RRClass.IN) return { learn: [], forget: [] };
  const learn = new Set<string>();
  const forget = new Set<string>();
  for (const rr of m.authority) {
    const name = canonicalFqdn(rr.name);
    if (name === undefined || name === '.') continue;
    if (rr.class === RRClass.IN && rr.type === RRType.A && rr.rdata.kind === 'A') learn.add(name);
    // 2.5.2 delete RRset (ANY A), 2.5.3 delete all RRsets (ANY ANY), 2.5.4 delete one RR (NONE A).
    else if ((rr.class === RRClass.ANY && (rr.type === RRType.A || rr.type === RRType.ANY)) ||
      (rr.class === RRClass.NONE && rr.type === RRType.A)) forget.add(name);
  }
  // "delete A; add A" is the usual way to replace an address: the add wins.
  for (const n of learn) forget.delete(n);
  return { learn: [...learn], forget: [...forget] };
}

/** "::ffff:192.0.2.1" (a dual-stack socket's view of an IPv4 client) -> "192.0.2.1". */
export function plainAddress(a: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a;
}

export class UpdateSnooper {
  readonly counters = new Counters();
  /** key `${flow}#${id}`; Map order is arrival order, so the oldest entry is first. */
  private readonly pending = new Map<string, Pending>();
  /** TSIG MAC (base64) -> first sender and until when it is remembered; Map order = arrival order. */
  private readonly macs = new Map<string, { address: string; untilMs: number }>();

  constructor(private readonly opts: UpdateSnooperOptions) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  /** A message from a LAN client, seen before it is relayed. `flow` names the path its answer comes back on. */
  request(nowMs: number, flow: string, address: string, msg: Buffer): void {
    this.expire(nowMs);
    const h = peekHeader(msg);
    if (!h) return this.count('malformed');
    if (h.qr) return this.count('ignored-responses'); // a client sending answers: relayed, not ours to judge
    if (h.opcode === Opcode.QUERY) return this.count('queries'); // nsupdate asks for the SOA first
    if (h.opcode !== Opcode.UPDATE) return this.count('other-opcodes');
    this.count('updates');
    let m: Message;
    try {
      m = decodeMessage(msg);
    } catch {
      return this.count('malformed');
    }
    const plan = planUpdate(m);
    if (plan.learn.length === 0 && plan.forget.length === 0) return this.count('updates-without-a');
    const from = plainAddress(address);
    if (m.tsig && this.replayed(nowMs, m.tsig.rr.rdata.mac.toString('base64'), from, m.tsig.rr.rdata.fudge)) return this.count('replays');
    const key = `${flow}#${h.id}`;
    this.pending.delete(key); // a retransmission (same id, same flow) replaces its entry and its age
    if (this.pending.size >= this.opts.maxPending) {
      this.pending.delete(this.pending.keys().next().value!);
      this.count('pending-evicted');
    }
    this.pending.set(key, { at: nowMs, address: from, ...plan });
  }

  /** A message from the server on `flow`, seen before it is relayed back: the PHL changes it confirms. */
  response(nowMs: number, flow: string, msg: Buffer): PhlChange[] {
    this.expire(nowMs);
    const h = peekHeader(msg);
    if (!h || !h.qr || h.opcode !== Opcode.UPDATE) return [];
    const key = `${flow}#${h.id}`;
    const p = this.pending.get(key);
    if (!p) return [];
    this.pending.delete(key);
    let rcode: number;
    try {
      rcode = decodeMessage(msg).rcode; // the full rcode: an OPT could extend a header rcode of 0
    } catch {
      this.count('malformed-responses');
      return [];
    }
    if (rcode !== Rcode.NOERROR) {
      this.count('updates-refused');
      return [];
    }
    this.count('updates-confirmed');
    const out: PhlChange[] = [];
    for (const fqdn of p.learn) out.push({ kind: 'learn', fqdn, address: p.address, flow, id: h.id });
    for (const fqdn of p.forget) out.push({ kind: 'forget', fqdn, address: p.address, flow, id: h.id });
    return out;
  }

  /** Drops pending requests older than the timeout (called by request/response and the proxy's sweep). */
  expire(nowMs: number): void {
    const cutoff = nowMs - this.opts.pendingTimeoutMs;
    for (const [key, p] of this.pending) {
      if (p.at > cutoff) break; // arrival order: the rest are younger
      this.pending.delete(key);
      this.count('pending-expired');
    }
  }

  /** True when another address sent this MAC first. Remembered for twice the fudge (clock skew), at most an hour. */
  private replayed(nowMs: number, mac: string, address: string, fudgeS: number): boolean {
    for (const [k, v] of this.macs) {
      if (v.untilMs > nowMs) break; // not strictly ordered (fudge varies), good enough for a bound
      this.macs.delete(k);
    }
    const seen = this.macs.get(mac);
    if (seen) return seen.address !== address; // a retransmission from the same host is fine
    if (this.macs.size >= this.opts.maxPending) this.macs.delete(this.macs.keys().next().value!);
    this.macs.set(mac, { address, untilMs: nowMs + Math.min(2 * fudgeS * 1000, 3_600_000) });
    return false;
  }

  private count(name: string): void {
    this.counters.inc(name);
  }
}
