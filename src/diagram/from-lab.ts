// A lab run as a sequence diagram, from what each place recorded on the one kernel clock every
// namespace shares: the resolver's side from a capture in its namespace (EN -> resolver and
// resolver -> server, retries included), the NTSv2 server's and the NTS router's JSON logs
// (held queries, NTS request/response, RCs, mappings, holds), the inside hosts' services logs
// (the first packet arriving). Pure: text and parsed lines in, a diagram out.
import { pruneLifelines, type Lifeline, type MessageStyle, type NoteStyle, type SeqEvent, type SequenceDiagram } from './model.js';
import type { DnsPacket, WirePacket } from './tcpdump.js';

export interface LabAddresses {
  /** Lifeline id -> address. */
  ens: Record<string, string>;
  /** `aliases`: more resolvers on the resolver's host drawn on its lifeline (NTSS v1's `ntss resolver`). */
  resolver: { address: string; product: string; aliases?: Record<string, string> };
  server: string;
  router: string[];
  ins: Record<string, string>;
}

export interface LabSources {
  title: string;
  /** Epoch ms; events outside are left out. */
  from: number;
  to: number;
  capture: readonly DnsPacket[];
  /** The router's global side (SYNs, RSTs, UDP): the EN's first packets at the router, µs. Optional. */
  wire?: readonly WirePacket[];
  server: readonly Record<string, unknown>[];
  router: readonly Record<string, unknown>[];
  /** The inside hosts' services log lines (lab.ts InEvent). */
  ins: readonly { t: number; host: string; event: string; client?: string; acceptedAt?: number }[];
  addresses: LabAddresses;
  /** Lines at the bottom (settings of the run). */
  notes?: string[];
}

type Raw = { t: number; seq: number; e: SeqEvent };

/**
 * The daemons log whole milliseconds (the floor of the real time); the captures have µs. A log
 * line is drawn in the middle of its millisecond, the unbiased place: within that millisecond
 * its order against a captured packet is not certain.
 */
export const MID_MS = 0.5;

const hostOf = (hp: unknown) => String(hp ?? '').replace(/^\[?([^\]]*?)\]?:\d+$/, '$1');
const short = (name: unknown) => String(name ?? '?').replace(/\.$/, '');

export function labDiagram(src: LabSources): SequenceDiagram {
  const a = src.addresses;
  const lifelines: Lifeline[] = [
    ...Object.entries(a.ens).map(([id, addr]) => ({ id, role: 'en' as const, title: id, detail: addr })),
    { id: 'resolver', role: 'resolver', title: 'resolver', detail: resolverDetail(a.resolver, src.capture) },
    { id: 'server', role: 'server', title: 'NTSv2 server', detail: a.server },
    { id: 'router', role: 'router', title: 'NTS router', detail: a.router.join(', ') },
    ...Object.entries(a.ins).map(([id, addr]) => ({ id, role: 'in' as const, title: id, detail: addr })),
  ];
  const byAddr = new Map<string, string>([
    ...Object.entries(a.ens).map(([id, addr]) => [addr, id] as [string, string]),
    [a.resolver.address, 'resolver'], ...Object.keys(a.resolver.aliases ?? {}).map((x) => [x, 'resolver'] as [string, string]), [a.server, 'server'],
    ...a.router.map((r) => [r, 'router'] as [string, string]),
    ...Object.entries(a.ins).map(([id, addr]) => [addr, id] as [string, string]),
  ]);
  const raw: Raw[] = [];
  let seq = 0;
  const inWindow = (t: number) => t >= src.from && t <= src.to;
  const msg = (t: number, from: string, to: string, label: string, style: MessageStyle) => inWindow(t) && raw.push({ t, seq: seq++, e: { kind: 'message', t, from, to, label, style } });
  const note = (t: number, on: string, label: string, style: NoteStyle) => inWindow(t) && raw.push({ t, seq: seq++, e: { kind: 'note', t, on, label, style } });

  dnsEvents(src.capture, byAddr, msg);
  const wireEns = wireEvents(src.wire ?? [], byAddr, msg);

  // NTS requests the server logged; others came from elsewhere (NTSS v1: `ntss resolver`).
  const serverReqs = new Set(src.server.filter((l) => l.event === 'nts-request').map((l) => String(l.req)));
  const askers = new Map<string, string>(); // request id -> the lifeline that asked
  for (const l of src.server) {
    const t = typeof l.time === 'string' ? Date.parse(l.time) + MID_MS : NaN;
    if (!Number.isFinite(t)) continue;
    switch (l.event) {
      case 'nts-held':
        note(t, 'server', `query ${l.queryId} (${String(l.transport).toUpperCase()}) held${l.joined ? ', joins the request in flight' : ''}`, 'info');
        break;
      case 'nts-request':
        msg(t, 'server', 'router', `NTS REQUEST ${short(l.name)} (mode ${l.mode}, ${l.timeLeftMs} ms left)`, 'nts');
        break;
      case 'nts-failed':
        note(t, 'server', `${l.status ?? l.reason}: SERVFAIL for ${short(l.name)}`, 'refusal');
        break;
      case 'nts-unverified':
        note(t, 'server', `unverified source: ${l.answer}`, 'refusal');
        break;
    }
  }

  const rcs = new Map<number, { t: number; hold?: number }>();
  const spans: SeqEvent[] = [];
  const closeRc = (id: number, end: number) => {
    const rc = rcs.get(id);
    if (!rc) return;
    rcs.delete(id);
    spans.push({ kind: 'span', t: rc.t, end, on: 'router', label: `RC ${id} alive`, style: 'rc' });
    if (rc.hold !== undefined) spans.push({ kind: 'span', t: rc.hold, end, on: 'router', label: `RC ${id} hold`, style: 'hold' });
  };
  const inName = (addr: unknown) => byAddr.get(hostOf(addr)) ?? String(addr);
  for (const l of src.router) {
    const t = (typeof l.at === 'number' ? l.at : typeof l.time === 'string' ? Date.parse(l.time) : NaN) + MID_MS;
    if (!Number.isFinite(t)) continue;
    const rc = Number(l.rc);
    switch (l.event) {
      case 'nts-request': {
        const asker = byAddr.get(hostOf(l.from)) ?? 'server';
        askers.set(String(l.req), asker);
        if (!serverReqs.has(String(l.req))) msg(t, asker, 'router', `NTS REQUEST ${short(l.fqdn)} (mode ${l.mode}${l.en ? `, EN ${l.en}` : ''}, ${l.timeLeftMs} ms left)`, 'nts');
        break;
      }
      case 'request-queued':
        note(t, 'router', `waits: queue position ${l.position}, no RC, no response yet (3.4)`, 'state');
        break;
      case 'request-joined':
        note(t, 'router', `joins the pending request (${l.state})`, 'info');
        break;
      case 'rc-created':
        if (inWindow(t)) rcs.set(rc, { t });
        note(t, 'router', `RC ${rc} created: ${l.source ?? 'any'} → ${inName(l.to)} on ${l.address}`, 'state');
        break;
      case 'respond': {
        const to = askers.get(String(l.req ?? '').split(',')[0]) ?? 'server';
        if (l.status === 'READY') msg(t, 'router', to, `NTS RESPONSE READY ${l.address} (RC ${l.rc})`, 'nts');
        else msg(t, 'router', to, `NTS RESPONSE ${l.status}${l.reason ? `: ${l.reason}` : ''}`, 'refused');
        break;
      }
      case 'mapping-created': {
        const en = byAddr.get(hostOf(l.en));
        // The router logs the mapping when the EN's first packet arrives (kernel: conntrack's event).
        if (en && !wireEns.has(en)) msg(t, en, 'router', `first packet ${String(l.proto).toUpperCase()} → ${l.via} (as the router logged it)`, 'packet');
        note(t, 'router', `NAT mapping ${l.mapping}: ${l.en} ⇄ ${l.to} (RC ${l.rc})`, 'state');
        break;
      }
      case 'rc-hold-started': {
        const r = rcs.get(rc);
        if (r && inWindow(t)) r.hold = t;
        note(t, 'router', `RC ${rc}: first packet, hold begins`, 'hold');
        break;
      }
      case 'rc-renewed': {
        // A new request shares the RC: a hold in progress ends, the RC waits for a packet again.
        const r = rcs.get(rc);
        if (r?.hold !== undefined && inWindow(t)) {
          spans.push({ kind: 'span', t: r.hold, end: t, on: 'router', label: `RC ${rc} hold`, style: 'hold' });
          r.hold = undefined;
        }
        note(t, 'router', `RC ${rc} renewed for a new request`, 'state');
        break;
      }
      case 'rc-removed':
        if (inWindow(t)) closeRc(rc, t);
        note(t, 'router', `RC ${rc} removed (${l.reason === 'hold-done' ? 'hold over' : 'expired, no packet came'})`, 'state');
        break;
      case 'sticky-refused':
      case 'packet-ambiguous':
        note(t, 'router', `${l.event}: ${l.en}${l.reason ? ` (${l.reason})` : ''}`, 'refusal');
        break;
    }
  }
  for (const id of [...rcs.keys()]) closeRc(id, src.to);

  for (const e of src.ins) {
    if (!(e.host in a.ins)) continue;
    if (e.event === 'tcp-accept') msg(e.acceptedAt ?? e.t, 'router', e.host, `TCP accepted from ${e.client}`, 'packet');
    else if (e.event === 'udp') msg(e.t, 'router', e.host, `UDP datagram from ${e.client}`, 'packet');
  }

  raw.sort((x, y) => x.t - y.t || x.seq - y.seq);
  const t0 = raw.length > 0 ? raw[0].t : src.from;
  const events: SeqEvent[] = [...raw.map((r) => r.e), ...spans].map((e) => (e.kind === 'span' ? { ...e, t: e.t - t0, end: e.end - t0 } : { ...e, t: e.t - t0 }));
  return pruneLifelines({
    title: src.title,
    subtitle: `measured in the lab: ms since the first event (${new Date(t0).toISOString()}), all namespaces on one kernel clock`,
    lifelines,
    events,
    footnotes: [
      ...(src.notes ?? []),
      `Sources: tcpdump in the resolver's namespace (DNS, µs)${src.wire ? ' and on the router\'s WAN side (SYN, RST, UDP, µs)' : ''}, the server's and the router's JSON logs (whole ms, drawn at +0.5), the inside hosts' services logs (µs).`,
      'Not shown: the resolver\'s queries to the root, the NTS datagrams themselves (their times are the daemons\' log lines), data after the first packet, replies to the EN, mapping closes.',
    ],
  });
}

/** DNS from the capture: queries and answers between ENs, the resolver and the server; a new query for a name still unanswered is a retry. */
function dnsEvents(capture: readonly DnsPacket[], byAddr: Map<string, string>, msg: (t: number, from: string, to: string, label: string, style: MessageStyle) => unknown): void {
  // Outstanding queries per (asker, name, type): ids not yet answered, and how many were sent.
  const open = new Map<string, { ids: Set<number>; sent: number }>();
  const idKey = new Map<string, string>(); // `${asker}|${id}` -> the (asker, name, type) key
  for (const p of capture) {
    const from = byAddr.get(p.src);
    const to = byAddr.get(p.dst);
    if (!from || !to || from === to) continue;
    const via = p.tcp ? 'TCP' : 'UDP';
    if (p.query) {
      const key = `${from}|${p.query.name.toLowerCase()}|${p.query.type}`;
      const o = open.get(key) ?? { ids: new Set<number>(), sent: 0 };
      open.set(key, o);
      // Over TCP after TC=1 is the same attempt asked again, not a retry.
      const retry = o.ids.size > 0 && !p.tcp;
      o.ids.add(p.id);
      o.sent++;
      idKey.set(`${from}|${p.id}`, key);
      const q = `${p.query.type}? ${short(p.query.name)}`;
      if (retry) msg(p.t, from, to, `↻ retry #${o.sent}: ${q} (new id ${p.id}, ${via})`, 'dns-retry');
      else msg(p.t, from, to, `${q} (id ${p.id}, ${via})`, 'dns');
    } else if (p.response) {
      const key = idKey.get(`${to}|${p.id}`);
      const r = p.response;
      if (key && !r.tc) {
        open.delete(key);
      } else if (key) {
        open.get(key)?.ids.delete(p.id);
      }
      const what = r.tc ? 'TC=1: ask over TCP' : `${r.rcode}${r.answers ? ` ${r.answers}` : r.rcode === 'NOERROR' ? ' (no data)' : ''}`;
      const style: MessageStyle = r.tc || (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN') ? 'refused' : 'dns';
      msg(p.t, from, to, `answer ${p.id} (${via}): ${what}`, style);
    }
  }
}

/** The ENs' connection starts at the router: a SYN (or a UDP datagram) per 4-tuple, SYN retransmits, the router's RSTs. Returns the ENs seen. */
function wireEvents(wire: readonly WirePacket[], byAddr: Map<string, string>, msg: (t: number, from: string, to: string, label: string, style: MessageStyle) => unknown): Set<string> {
  const seen = new Set<string>();
  const ens = new Set<string>();
  for (const p of wire) {
    const from = byAddr.get(p.src);
    const to = byAddr.get(p.dst);
    if (!from || !to) continue;
    const tuple = `${p.proto} ${p.src}:${p.sport} ${p.dst}:${p.dport}`;
    if (to === 'router' && from !== 'router') {
      const again = seen.has(tuple);
      seen.add(tuple);
      if (p.proto === 'tcp' && p.flags === 'S') {
        ens.add(from);
        if (again) msg(p.t, from, 'router', `↻ SYN again (retransmission) → ${p.dst}:${p.dport}`, 'dns-retry');
        else msg(p.t, from, 'router', `first packet: TCP SYN ${p.sport} → ${p.dst}:${p.dport}`, 'packet');
      } else if (p.proto === 'udp' && !again) {
        ens.add(from);
        msg(p.t, from, 'router', `first packet: UDP ${p.sport} → ${p.dst}:${p.dport}`, 'packet');
      }
    } else if (from === 'router' && to !== 'router' && p.proto === 'tcp' && (p.flags ?? '').startsWith('R')) {
      msg(p.t, 'router', to, `RST to ${p.dport}: refused`, 'refused');
    }
  }
  return ens;
}

/** The resolver's head line: its product, and the v1 resolver beside it when the capture saw it. */
function resolverDetail(r: LabAddresses['resolver'], capture: readonly DnsPacket[]): string {
  const used = Object.entries(r.aliases ?? {}).filter(([addr]) => capture.some((p) => p.src === addr || p.dst === addr));
  return [`${r.address} (${r.product})`, ...used.map(([addr, what]) => `${addr.replace(/^.*(\.\d+)$/, '$1')} ${what}`)].join(' + ');
}
