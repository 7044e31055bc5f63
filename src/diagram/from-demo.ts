// `ntss demo`'s timeline (src/demo/timeline.ts) as a sequence diagram: each recorded event
// becomes the arrow or box it stands for. Times are the demo's own (ms since the flow
// started, taken when the event was captured in the one process), so nothing is inferred.
import type { TimelineEvent } from '../demo/timeline.js';
import { pruneLifelines, type Lifeline, type SeqEvent, type SequenceDiagram } from './model.js';

export interface DemoWorld {
  ens: Record<string, string>;
  resolver: string;
  server: string;
  router: { id: string; globalAddress: string };
  ins: { name: string; address: string }[];
}

const hex = (v: unknown) => (typeof v === 'number' ? `0x${v.toString(16).padStart(4, '0')}` : '?');
const short = (name: unknown) => String(name ?? '?').replace(/\.$/, '');
const s = (v: unknown) => String(v ?? '?');

export function demoDiagram(flow: string, title: string, events: readonly TimelineEvent[], w: DemoWorld): SequenceDiagram {
  const lifelines: Lifeline[] = [
    ...Object.entries(w.ens).map(([id, a]) => ({ id, role: 'en' as const, title: id, detail: a })),
    { id: 'resolver', role: 'resolver', title: 'resolver', detail: `${w.resolver} (Unbound-like)` },
    { id: 'server', role: 'server', title: 'NTSv2 server', detail: w.server },
    { id: 'router', role: 'router', title: `NTS router ${w.router.id}`, detail: w.router.globalAddress },
    ...w.ins.map((h) => ({ id: h.name, role: 'in' as const, title: h.name, detail: h.address })),
  ];
  const inByAddress = new Map(w.ins.map((h) => [h.address, h.name]));
  const out: SeqEvent[] = [];
  const openRc = new Map<number, { t: number; to: string; hold?: number }>();
  const haveServerAnswer = events.some((e) => e.actor === 'server' && e.event === 'nts-answer');
  const haveServerRequest = events.some((e) => e.actor === 'server' && e.event === 'nts-request');
  const msg = (t: number, from: string, to: string, label: string, style: Extract<SeqEvent, { kind: 'message' }>['style']) => out.push({ kind: 'message', t, from, to, label, style });
  const note = (t: number, on: string, label: string, style: Extract<SeqEvent, { kind: 'note' }>['style']) => out.push({ kind: 'note', t, on, label, style });

  for (const e of events) {
    const d = e.data;
    const en = typeof d.en === 'string' ? d.en : undefined;
    switch (`${e.actor === 'server' || e.actor === 'router' || e.actor === 'resolver' ? e.actor : 'node'}:${e.event}`) {
      case 'resolver:dns-query':
        if (en) msg(e.t, en, 'resolver', `A? ${short(d.name)}`, 'dns');
        msg(e.t, 'resolver', 'server', `query #1 A? ${short(d.name)} (id ${hex(d.id)}, UDP)`, 'dns');
        break;
      case 'resolver:dns-retry':
        msg(e.t, 'resolver', 'server', `↻ retry #${d.attempt}: new id ${hex(d.id)}, new port ${d.port}`, 'dns-retry');
        break;
      case 'resolver:dns-truncated':
        msg(e.t, 'server', 'resolver', `TC=1 to #${d.attempt}: source not verified`, 'refused');
        msg(e.t, 'resolver', 'server', `#${d.attempt} again over TCP`, 'dns');
        break;
      case 'resolver:dns-answer': {
        const addr = Array.isArray(d.addresses) && d.addresses.length > 0 ? `A ${d.addresses.join(', ')} TTL ${d.ttl}` : s(d.rcode);
        if (!haveServerAnswer) msg(e.t, 'server', 'resolver', `answer to #${d.attempt}: ${addr}`, 'dns');
        if (en) msg(e.t, 'resolver', en, `${short(d.name)} ${addr}`, 'dns');
        break;
      }
      case 'resolver:dns-timeout':
        note(e.t, 'resolver', `gave up after ${d.attempts} queries: ${en ?? 'the EN'} gets no answer`, 'refusal');
        if (en) msg(e.t, 'resolver', en, 'SERVFAIL / no answer', 'refused');
        break;
      case 'server:nts-held':
        note(e.t, 'server', `query ${hex(d.queryId)} (${s(d.transport).toUpperCase()}) held${d.joined ? ', joins the request in flight' : ''}`, 'info');
        break;
      case 'server:nts-request':
        msg(e.t, 'server', 'router', `NTS REQUEST ${short(d.name)} (mode ${d.mode}, ${d.timeLeftMs} ms left)`, 'nts');
        break;
      case 'router:nts-request':
        if (!haveServerRequest) msg(e.t, 'server', 'router', `NTS REQUEST ${short(d.fqdn)} (${d.timeLeftMs} ms left)`, 'nts');
        break;
      case 'router:request-queued':
        note(e.t, 'router', `waits: queue position ${d.position}, no RC, no response yet (3.4)`, 'state');
        break;
      case 'router:request-joined':
        note(e.t, 'router', `joins the pending request (${d.state})`, 'info');
        break;
      case 'router:rc-created':
        openRc.set(Number(d.rc), { t: e.t, to: s(d.to) });
        note(e.t, 'router', `RC ${d.rc} created: ${d.source ?? 'any'} → ${inByAddress.get(s(d.to)) ?? d.to}`, 'state');
        break;
      case 'router:nts-response':
        if (d.status === 'READY') msg(e.t, 'router', 'server', `NTS RESPONSE READY ${d.address} (RC ${d.rc})`, 'nts');
        else msg(e.t, 'router', 'server', `NTS RESPONSE ${d.status}${d.reason ? `: ${d.reason}` : ''}`, 'refused');
        break;
      case 'server:nts-failed':
        note(e.t, 'server', `${d.status ?? d.reason}: SERVFAIL for ${short(d.name)}`, 'refusal');
        break;
      case 'server:nts-answer':
        msg(e.t, 'server', 'resolver', `answer ${hex(d.queryId)} (${s(d.transport).toUpperCase()}): ${d.rcode}${d.address ? ` A ${d.address} TTL 0` : ''}`, d.rcode === 'NOERROR' ? 'dns' : 'refused');
        break;
      case 'router:mapping-created':
        note(e.t, 'router', `NAT mapping ${d.mapping}: ${d.en} ⇄ ${d.to} (${d.proto})`, 'state');
        break;
      case 'router:rc-hold-started': {
        const rc = openRc.get(Number(d.rc));
        if (rc) rc.hold = e.t;
        note(e.t, 'router', `RC ${d.rc}: first packet, hold begins`, 'hold');
        break;
      }
      case 'router:rc-removed': {
        const rc = openRc.get(Number(d.rc));
        if (rc) closeRc(out, Number(d.rc), rc, e.t);
        openRc.delete(Number(d.rc));
        note(e.t, 'router', `RC ${d.rc} removed (${d.reason === 'hold-done' ? 'hold over' : 'expired, no packet'})`, 'state');
        break;
      }
      case 'router:first-packet-refused':
        note(e.t, 'router', `first packet ${d.proto} from ${d.src}:${d.srcPort}: no RC, ${d.proto === 'tcp' ? 'reset' : 'dropped'}`, 'refusal');
        break;
      case 'node:tcp-connect':
        msg(e.t, e.actor, 'router', `first packet: TCP SYN → ${d.host}:${d.port}`, 'packet');
        break;
      case 'node:udp-send':
        msg(e.t, e.actor, 'router', `first packet: UDP → ${d.host}:${d.port}`, 'packet');
        break;
      case 'node:in-tcp':
        msg(e.t, 'router', e.actor, `TCP, PROXY v2 names ${d.en}`, 'packet');
        break;
      case 'node:in-udp':
        msg(e.t, 'router', e.actor, `UDP "${d.payload}"`, 'packet');
        break;
      case 'node:tcp-reply':
        msg(e.t, lastIn(out) ?? 'router', e.actor, `reply "${short(d.body).slice(0, 60)}"`, 'packet');
        break;
      case 'node:udp-reply':
        msg(e.t, lastIn(out) ?? 'router', e.actor, `UDP reply from ${d.from}`, 'packet');
        break;
      case 'node:tcp-refused':
        msg(e.t, 'router', e.actor, `connection failed: ${d.error}`, 'refused');
        break;
      case 'node:tcp-timeout':
      case 'node:udp-timeout':
        note(e.t, e.actor, e.text, 'refusal');
        break;
      default:
        break; // setup chatter, mapping-closed: not part of the figure
    }
  }
  const end = events.length > 0 ? events[events.length - 1].t : 0;
  for (const [id, rc] of openRc) closeRc(out, id, rc, end);
  const known = new Set(lifelines.map((l) => l.id));
  return pruneLifelines({
    title: `ntss demo: ${title}`,
    subtitle: 'measured on loopback in one process: ms since the flow started, taken as each event was logged',
    lifelines,
    events: out.filter((e) => (e.kind === 'message' ? known.has(e.from) && known.has(e.to) : known.has(e.on))),
    footnotes: [
      `flow "${flow}"; the EN hands its lookup to the resolver inside the demo process (no packet between them).`,
      'Not shown: mapping closes, the relay\'s own connection setup, bytes after the first exchange.',
    ],
  });
}

function closeRc(out: SeqEvent[], id: number, rc: { t: number; hold?: number }, end: number): void {
  out.push({ kind: 'span', t: rc.t, end, on: 'router', label: `RC ${id} alive`, style: 'rc' });
  if (rc.hold !== undefined) out.push({ kind: 'span', t: rc.hold, end, on: 'router', label: `RC ${id} hold`, style: 'hold' });
}

/** The inside host the last packet went to: a reply comes from there. */
function lastIn(out: readonly SeqEvent[]): string | undefined {
  for (let i = out.length - 1; i >= 0; i--) {
    const e = out[i];
    if (e.kind === 'message' && e.style === 'packet' && e.from === 'router') return e.to;
  }
  return undefined;
}
