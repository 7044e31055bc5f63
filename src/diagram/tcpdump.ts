// DNS messages from `tcpdump -n -tt` text (the lab's capture in the resolver's namespace): time,
// addresses, id, and the question or the answer's gist. tcpdump decodes DNS over UDP and, when a
// segment holds a whole message, over TCP; segments without DNS (SYN, ACK) are skipped. Pure.
//   1796150266.608790 eth0  In  IP 198.51.100.11.43526 > 198.51.100.53.53: 58660+ A? alice.home.example. (36)
//   1796150266.610000 eth0  In  IP 192.0.2.53.53 > 198.51.100.53.27555: 56147*-| 0/0/1 (47)
//   ... Flags [P.], seq 1:50, ack 1, win 63, options [...], length 49 34608% [1au] A? alice.home.example. (47)

import { parseTcpdumpHead, type TcpdumpHead } from '../util/tcpdump.js';

export interface DnsPacket extends Omit<TcpdumpHead, 'rest'> {
  tcp: boolean;
  id: number;
  /** A query: its type and name. */
  query?: { type: string; name: string };
  /** A response: rcode (NOERROR unless tcpdump named another), TC bit, answer records as printed. */
  response?: { rcode: string; tc: boolean; answers: string };
}

const QUERY = /^(\S+)\? (\S+) \(\d+\)$/;
// tcpdump's rcode names (ns_rcode) as printed, to wire names.
const RCODES: Record<string, string> = {
  FormErr: 'FORMERR', ServFail: 'SERVFAIL', NXDomain: 'NXDOMAIN', NotImp: 'NOTIMP', Refused: 'REFUSED',
  YXDomain: 'YXDOMAIN', YXRRSet: 'YXRRSET', NXRRSet: 'NXRRSET', NotAuth: 'NOTAUTH', NotZone: 'NOTZONE', BadCookie: 'BADCOOKIE',
};

/** One line, or undefined when it is not a DNS message tcpdump decoded. */
export function parseDnsLine(line: string): DnsPacket | undefined {
  const h0 = parseTcpdumpHead(line);
  if (!h0) return undefined;
  let rest = h0.rest;
  const tcp = rest.startsWith('Flags [');
  if (tcp) {
    const l = /, length \d+ (.*)$/.exec(rest);
    if (!l) return undefined; // no payload tcpdump could read as DNS
    rest = l[1];
  }
  const h = /^(\d+)([*+\-%|$!@]*)\s+(.*)$/.exec(rest);
  if (!h) return undefined;
  const id = Number(h[1]);
  const flags = h[2];
  // Options in brackets ([1au], [b2&3=0x...]) and "q:" forms are dropped.
  const body = h[3].replace(/\[[^\]]*\]\s*/g, '').trim();
  const base = { t: h0.t, src: h0.src, sport: h0.sport, dst: h0.dst, dport: h0.dport, tcp, id };
  const q = QUERY.exec(body);
  if (q) return { ...base, query: { type: q[1], name: q[2] } };
  const r = /^(?:(\w+) )?(\d+)\/(\d+)\/(\d+)\s*(.*?)\s*\(\d+\)$/.exec(body);
  if (!r) return undefined;
  const rcode = r[1] ? (RCODES[r[1]] ?? r[1].toUpperCase()) : 'NOERROR';
  // The answer records only: tcpdump prints "q: A? name." first on some responses, then records.
  const answers = r[5].replace(/^q: \S+\? \S+\s*/, '').split(' ns: ')[0].split(' ar: ')[0].trim();
  return { ...base, response: { rcode, tc: flags.includes('|'), answers } };
}

export function parseDnsCapture(text: string): DnsPacket[] {
  return text.split('\n').flatMap((l) => {
    const p = parseDnsLine(l);
    return p ? [p] : [];
  });
}

/** A packet on the router's global side, as tcpdump -n -tt prints it (TCP flags or UDP). */
export interface WirePacket extends Omit<TcpdumpHead, 'rest'> {
  proto: 'tcp' | 'udp';
  /** TCP flags as printed: S, S., R, R., P., ... */
  flags?: string;
}

export function parseWireLine(line: string): WirePacket | undefined {
  const h = parseTcpdumpHead(line);
  if (!h) return undefined;
  const { rest, ...base } = h;
  const f = /^Flags \[([^\]]*)\]/.exec(rest);
  if (f) return { ...base, proto: 'tcp', flags: f[1] };
  if (/^UDP\b/.test(rest) || /^\S/.test(rest)) return { ...base, proto: 'udp' };
  return undefined;
}

export function parseWireCapture(text: string): WirePacket[] {
  return text.split('\n').flatMap((l) => {
    const p = parseWireLine(l);
    return p ? [p] : [];
  });
}
