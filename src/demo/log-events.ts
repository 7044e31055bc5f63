// Which of the server's and router's structured log lines belong on the demo's timeline, and
// how each reads in one line. The fields are those of src/routerd/events.ts, src/routerd/
// router.ts and src/server/*.ts; an event missing here is simply not shown (start-up chatter),
// except warnings and errors, which are always shown.

export interface Described {
  actor: string;
  event: string;
  text: string;
  data: Record<string, unknown>;
}

export interface DescribeContext {
  /** ms since the flow started, to turn the router's absolute times into "+N ms". */
  t: number;
  isFlowMapping: (id: number) => boolean;
}

type Fields = Record<string, unknown>;

const RESERVED = new Set(['time', 'level', 'event']);

function fieldsOf(obj: Fields): Fields {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !RESERVED.has(k)));
}

/** "+N ms" on the flow's clock for a router time `at + (later - at)`. */
function rel(ctx: DescribeContext, f: Fields, later: unknown): string {
  const at = typeof f.at === 'number' ? f.at : undefined;
  if (at === undefined || typeof later !== 'number') return '?';
  return `+${(ctx.t + (later - at)).toFixed(1)} ms`;
}

function router(ev: string, f: Fields, ctx: DescribeContext): string | undefined {
  switch (ev) {
    case 'nts-request':
      return `NTS request for ${f.fqdn} (resolver ${String(f.resolver).replace(/:\d+$/, '')}, ${f.timeLeftMs} ms left; the EN is unknown)`;
    case 'request-queued':
      return `request waits (queue position ${f.position}, expected wait ~${Math.round(Number(f.expectedWaitMs))} ms): no RC, no response yet (paper 3.4)`;
    case 'request-joined':
      return `request joins the pending one (${f.state})`;
    case 'rc-created':
      return `RC ${f.rc} created: any → ${f.to} (${f.fqdn}) on ${f.address}, expires ${rel(ctx, f, f.expiresAt)} without a packet`;
    case 'respond':
      return f.status === 'READY'
        ? `NTS response READY: answer with ${f.address} (RC ${f.rc})`
        : `NTS response ${f.status}: ${f.reason}`;
    case 'mapping-created':
      return `NAT mapping ${f.mapping}: ${f.en} ⇄ ${f.via} ⇄ ${f.to} (${f.proto}, RC ${f.rc})`;
    case 'rc-hold-started':
      return `RC ${f.rc} saw its first packet: kept until ${rel(ctx, f, f.releaseAt)} (hold, paper 3.5)`;
    case 'rc-removed':
      return `RC ${f.rc} removed (${f.reason === 'hold-done' ? 'hold over' : 'expired, no packet came'})`;
    case 'mapping-closed':
      return typeof f.mapping === 'number' && ctx.isFlowMapping(f.mapping)
        ? `NAT mapping ${f.mapping} closed (${f.proto}, ${f.bytesIn} B in, ${f.bytesOut} B out, ${f.reason})`
        : undefined;
    default:
      return undefined;
  }
}

const qid = (v: unknown) => (typeof v === 'number' ? `0x${v.toString(16).padStart(4, '0')}` : '?');

function server(ev: string, f: Fields): string | undefined {
  switch (ev) {
    // The lookup's steps at the server (a sequence diagram's server column needs them too).
    case 'nts-held':
      return `query ${qid(f.queryId)} for ${f.name} from ${f.resolver} (${f.transport}) held${f.joined ? ': joins the NTS request in flight' : ''}`;
    case 'nts-request':
      return `NTS request to ${f.router} for ${f.name} (mode ${f.mode}, ${f.timeLeftMs} ms left, lease ${f.leaseMs} ms)`;
    case 'nts-answer':
      return `answer to ${f.resolver} (id ${qid(f.queryId)}, ${f.transport}): ${f.rcode}${f.address ? ` A ${f.address}` : ''}`;
    case 'nts-ready':
      return `router ${f.router} READY after ${f.waitedMs} ms: every held query for ${f.name} from ${f.resolver} answered ${f.address} (TTL 0)`;
    case 'nts-failed':
      return `router ${f.router} ${f.status} after ${f.waitedMs} ms: SERVFAIL for ${f.name}`;
    case 'update':
      return `UPDATE from ${f.from} signed by ${f.key}: ${f.rcode}${f.changed ? `, zone serial ${f.serial}` : ''}`;
    default:
      return undefined;
  }
}

export function describeLogLine(component: 'server' | 'router', obj: Fields, ctx: DescribeContext): Described | undefined {
  const ev = typeof obj.event === 'string' ? obj.event : undefined;
  if (!ev) return undefined;
  const f = fieldsOf(obj);
  const text = component === 'router' ? router(ev, f, ctx) : server(ev, f);
  if (text !== undefined) {
    // The router's 'respond' is the NTS response; name it so a reader of --json need not know.
    const event = component === 'router' && ev === 'respond' ? 'nts-response' : ev;
    return { actor: component, event, text, data: f };
  }
  if (obj.level === 'warn' || obj.level === 'error') {
    const kv = Object.entries(f).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
    return { actor: component, event: ev, text: `${obj.level}: ${ev} ${kv}`.trim(), data: f };
  }
  return undefined;
}
