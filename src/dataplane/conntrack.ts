// conntrack, the kernel's NAT table: parsing its text and the narrow interface the nftables
// plane uses (watch NEW/DESTROY events, list, delete). A DNATed entry names the whole mapping:
// the original direction is EN:sport -> GA:dport, the reply's source is the private address.
//   [NEW] tcp 6 120 SYN_SENT src=EN dst=GA sport=.. dport=.. [UNREPLIED] src=PA dst=EN sport=.. dport=..
// With net.netfilter.nf_conntrack_acct=1 each direction also carries packets= bytes=.
import type { Proto } from '../router/index.js';

export interface CtTuple {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

export interface CtEntry {
  /** 'new' / 'destroy' for events; undefined for a listed entry. */
  readonly event?: 'new' | 'update' | 'destroy';
  readonly proto: Proto;
  readonly orig: CtTuple;
  readonly reply: CtTuple;
  /** Octets in each direction, when the kernel counts them (nf_conntrack_acct). */
  readonly origBytes?: number;
  readonly replyBytes?: number;
}

/** True when the entry's destination was rewritten (a DNAT: the reply comes from another address). */
export function isDnat(e: CtEntry): boolean {
  return e.reply.src !== e.orig.dst;
}

/** One line of `conntrack -E` or `conntrack -L` (default output); undefined for anything else. */
export function parseConntrackLine(line: string): CtEntry | undefined {
  const ev = /^\s*\[(NEW|UPDATE|DESTROY)\]\s*/.exec(line);
  const rest = ev ? line.slice(ev[0].length) : line;
  const head = /^(tcp|udp)\s+\d+\s/.exec(rest);
  if (!head) return undefined; // icmp and the trailing "N flow events have been shown."
  const tuples: Partial<Record<keyof CtTuple, string>>[] = [];
  const bytes: number[] = [];
  for (const m of rest.matchAll(/\b(src|dst|sport|dport|bytes)=(\S+)/g)) {
    const k = m[1] as keyof CtTuple | 'bytes';
    if (k === 'bytes') {
      bytes.push(Number(m[2]));
      continue;
    }
    // A new tuple starts at each src=; each direction has src dst sport dport in that order.
    if (k === 'src') tuples.push({});
    const t = tuples[tuples.length - 1];
    if (t) t[k] = m[2];
  }
  const [o, r] = tuples.map(toTuple);
  if (tuples.length !== 2 || !o || !r) return undefined;
  const event = ev ? (ev[1]!.toLowerCase() as CtEntry['event']) : undefined;
  return {
    ...(event ? { event } : {}), proto: head[1] as Proto, orig: o, reply: r,
    ...(bytes.length === 2 ? { origBytes: bytes[0], replyBytes: bytes[1] } : {}),
  };
}

function toTuple(t: Partial<Record<keyof CtTuple, string>>): CtTuple | undefined {
  const sport = Number(t.sport);
  const dport = Number(t.dport);
  if (!t.src || !t.dst || !Number.isInteger(sport) || !Number.isInteger(dport)) return undefined;
  return { src: t.src, dst: t.dst, sport, dport };
}

/** Which entries `delete` removes: exact fields, the reply source `replySrc` included (conntrack -r). */
export interface CtFilter {
  readonly proto?: Proto;
  readonly src?: string;
  readonly dst?: string;
  readonly sport?: number;
  readonly dport?: number;
  readonly replySrc?: string;
}

export interface CtListOptions {
  /** Leave out entries whose ct mark has any of these bits (filtered in the kernel). */
  readonly withoutMark?: number;
}

export interface CtWatch {
  close(): void;
}

export interface ConntrackRunner {
  /**
   * Follows NEW and DESTROY events of entries whose original destination is `dst`, until
   * closed. `onEnd` is called once if the watch ends by itself (process exit), with a reason.
   * `onLoss` when the kernel dropped events (ENOBUFS): the caller re-lists.
   */
  watch(dst: string, onEntry: (e: CtEntry) => void, onEnd: (why: string) => void, onLoss?: () => void): CtWatch;
  /** Entries whose original destination is `dst` (and whose ct mark has none of `withoutMark`'s bits). */
  list(dst: string, o?: CtListOptions): Promise<CtEntry[]>;
  /** Deletes the matching entries; resolves with how many went. */
  delete(filter: CtFilter): Promise<number>;
}

/** conntrack's command-line options for a filter. */
export function filterArgs(f: CtFilter): string[] {
  const a: string[] = [];
  if (f.proto) a.push('-p', f.proto);
  if (f.src) a.push('-s', f.src);
  if (f.dst) a.push('-d', f.dst);
  if (f.replySrc) a.push('-r', f.replySrc);
  if (f.sport !== undefined) a.push('--sport', String(f.sport));
  if (f.dport !== undefined) a.push('--dport', String(f.dport));
  return a;
}
