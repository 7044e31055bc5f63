// An inside host's DNS UPDATE, seen by the NTSv2 server: whatever address the IN registers
// (its private address, or the router's global address as DDNS clients that report the
// public address do), the zone publishes only the router's global address. Pure.
import { RRClass, RRType } from '../dns/constants.js';
import type { Message, ResourceRecord } from '../dns/types.js';

/** RFC 1918, RFC 6598 (CGN), link-local: addresses that must never reach the public zone. */
export function isPrivateIPv4(a: string): boolean {
  const m = /^(\d+)\.(\d+)\./.exec(a);
  if (!m) return false;
  const [x, y] = [Number(m[1]), Number(m[2])];
  return x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 100 && y >= 64 && y <= 127) || (x === 169 && y === 254);
}

const rewrite = (rr: ResourceRecord, address: string): ResourceRecord =>
  rr.type === RRType.A && rr.rdata.kind === 'A' ? { ...rr, rdata: { kind: 'A', address } } : rr;

/**
 * A copy of the update with every A record that carries data (adds, single-RR deletes,
 * value-dependent prerequisites) pointing at the router's global address.
 */
export function publishViaRouter(msg: Message, routerAddress: string): Message {
  const withData = (rr: ResourceRecord) => (rr.class === RRClass.IN || rr.class === RRClass.NONE ? rewrite(rr, routerAddress) : rr);
  return { ...msg, answer: msg.answer.map(withData), authority: msg.authority.map(withData) };
}

/** Private A addresses an update would add (class IN) — refused when no router stands in front. */
export function privateAdds(msg: Message): string[] {
  return msg.authority.flatMap((rr) => (rr.class === RRClass.IN && rr.rdata.kind === 'A' && isPrivateIPv4(rr.rdata.address) ? [rr.rdata.address] : []));
}
