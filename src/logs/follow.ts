// One lookup across both daemons' JSON logs (`ntss logs follow`, docs/operations.md): the lines
// whose `req` names the request id, the server's and the router's merged into one chain. Pure:
// text in, lines out.
//
// Each log is already in order; only the merge needs a rule. Times are whole milliseconds, and
// on one machine the server's and the router's steps of a lookup often share one, so ties go
// by the lookup's stage (the protocol's order), then server before router.
import { textValue } from '../util/log.js';

export interface FollowedLine {
  daemon: 'server' | 'router';
  /** The parsed JSON log object. */
  line: Record<string, unknown>;
}

/** Stages of one lookup, in the protocol's order: a tie-break within one millisecond only. */
const STAGE: Record<string, number> = {
  'nts-held': 0,
  'nts-request': 1, // server's before router's: same stage, server first
  'request-queued': 2, 'request-joined': 2, 'request-ignored': 2,
  'rc-created': 3, 'rc-renewed': 3,
  respond: 4,
  'nts-ready': 5, 'nts-failed': 5, 'nts-error': 5,
  'nts-answer': 6,
  'mapping-created': 7, 'mapping-opened': 7, 'mapping-closed': 7,
  'rc-hold-started': 8,
  'rc-removed': 9,
};

/** Does a line belong to request `id` (`req` is one id or several, comma-separated)? */
export function hasRequest(line: Record<string, unknown>, id: string): boolean {
  return typeof line.req === 'string' && line.req.split(',').includes(id);
}

/** JSON log lines of one daemon that carry `id`, in file order; other lines (text logs, noise) skipped. */
export function linesFor(text: string, id: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch {
      continue; // a line cut by a crash or rotation
    }
    if (o && typeof o === 'object' && hasRequest(o as Record<string, unknown>, id)) out.push(o as Record<string, unknown>);
  }
  return out;
}

function timeOf(l: Record<string, unknown>): number {
  const t = typeof l.time === 'string' ? Date.parse(l.time) : NaN;
  return Number.isNaN(t) ? Infinity : t;
}

/** Does `s` (server) come before `r` (router)? */
function serverFirst(s: Record<string, unknown>, r: Record<string, unknown>): boolean {
  const ts = timeOf(s);
  const tr = timeOf(r);
  if (ts !== tr) return ts < tr;
  return (STAGE[String(s.event)] ?? 99) <= (STAGE[String(r.event)] ?? 99);
}

/** The chain of request `id`: both logs' lines for it, merged without reordering either. */
export function follow(id: string, serverLog: string, routerLog: string): FollowedLine[] {
  const s = linesFor(serverLog, id);
  const r = linesFor(routerLog, id);
  const out: FollowedLine[] = [];
  let i = 0;
  let j = 0;
  while (i < s.length || j < r.length) {
    if (j >= r.length || (i < s.length && serverFirst(s[i]!, r[j]!))) out.push({ daemon: 'server', line: s[i++]! });
    else out.push({ daemon: 'router', line: r[j++]! });
  }
  return out;
}

/** One line per step for a terminal: time, daemon, event, then the other fields as key=value. */
export function formatFollowed(chain: readonly FollowedLine[]): string {
  return chain.map(({ daemon, line }) => {
    const { time, level: _level, event, ...rest } = line;
    const kv = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${textValue(v)}`);
    return [String(time ?? '-'), daemon.padEnd(6), String(event ?? '-').padEnd(15), ...kv].join(' ');
  }).join('\n');
}
