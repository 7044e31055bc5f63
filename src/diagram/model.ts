// What a sequence diagram is made of, before any drawing: lifelines (the paper's columns: EN,
// resolver, NTSv2 server, NTS router, IN) and events on them at measured times. Sources (the
// demo's timeline, the lab's logs and captures) build these; layout.ts and render.ts draw them.
// Pure: no clock, no files.
import { NtssError } from '../util/errors.js';

export type Role = 'en' | 'resolver' | 'server' | 'router' | 'in';

export interface Lifeline {
  /** Key the events use (EN1, resolver, alice, ...). */
  id: string;
  role: Role;
  /** Header text, e.g. "NTS router". */
  title: string;
  /** Second header line, e.g. the address. */
  detail?: string;
}

/** dns: a query or answer; dns-retry: a resolver's retry (new id); nts: NTS request/response; packet: the data plane; refused: a refusal on the wire. */
export type MessageStyle = 'dns' | 'dns-retry' | 'nts' | 'packet' | 'refused';
/** state: RC/mapping made or gone; hold: the hold began; refusal: a no; info: anything else worth a line. */
export type NoteStyle = 'state' | 'hold' | 'refusal' | 'info';

export type SeqEvent =
  | { kind: 'message'; t: number; from: string; to: string; label: string; style: MessageStyle }
  | { kind: 'note'; t: number; on: string; label: string; style: NoteStyle }
  /** A bar on a lifeline from t to end: an RC's life, or its hold (hatched, as the paper's Fig. 9). */
  | { kind: 'span'; t: number; end: number; on: string; label: string; style: 'rc' | 'hold' };

export interface SequenceDiagram {
  title: string;
  /** One line under the title: where the times come from. */
  subtitle?: string;
  lifelines: Lifeline[];
  /** Times in ms since the diagram's origin (the flow's start). */
  events: SeqEvent[];
  /** Lines at the bottom: what is not shown, sources. */
  footnotes?: string[];
}

export class DiagramError extends NtssError {
  constructor(message: string) {
    super('DIAGRAM_INVALID', message);
    this.name = 'DiagramError';
  }
}

const ROLE_ORDER: Record<Role, number> = { en: 0, resolver: 1, server: 2, router: 3, in: 4 };

/** The paper's column order (EN, resolver, server, router, IN); within a role, the order given. */
export function orderLifelines(ls: readonly Lifeline[]): Lifeline[] {
  return ls.map((l, i) => ({ l, i })).sort((a, b) => ROLE_ORDER[a.l.role] - ROLE_ORDER[b.l.role] || a.i - b.i).map((x) => x.l);
}

/** Throws on what cannot be drawn: unknown lifelines, duplicate ids, times that are not numbers. */
export function validate(d: SequenceDiagram): void {
  const ids = new Set<string>();
  for (const l of d.lifelines) {
    if (ids.has(l.id)) throw new DiagramError(`diagram: lifeline "${l.id}" twice`);
    ids.add(l.id);
  }
  if (ids.size === 0) throw new DiagramError('diagram: no lifelines');
  for (const e of d.events) {
    if (!Number.isFinite(e.t)) throw new DiagramError(`diagram: event "${e.label}" has no finite time`);
    const on = e.kind === 'message' ? [e.from, e.to] : [e.on];
    for (const id of on) if (!ids.has(id)) throw new DiagramError(`diagram: event "${e.label}" names unknown lifeline "${id}"`);
    if (e.kind === 'span' && !(Number.isFinite(e.end) && e.end >= e.t)) throw new DiagramError(`diagram: span "${e.label}" ends before it starts`);
  }
}

/** Events sorted by time; equal times keep the sources' order (their causal order). */
export function byTime<T extends { t: number }>(events: readonly T[]): T[] {
  return events.map((e, i) => ({ e, i })).sort((a, b) => a.e.t - b.e.t || a.i - b.i).map((x) => x.e);
}

/** Only the events in [from, to] (spans cut to it); times stay as they were (ms since the flow's start). */
export function timeWindow(d: SequenceDiagram, from: number, to: number): SequenceDiagram {
  if (!(to >= from)) throw new DiagramError(`diagram: window ${from}..${to} is empty`);
  const events: SeqEvent[] = [];
  for (const e of d.events) {
    if (e.kind === 'span') {
      if (e.end < from || e.t > to) continue;
      events.push({ ...e, t: Math.max(e.t, from), end: Math.min(e.end, to) });
    } else if (e.t >= from && e.t <= to) {
      events.push(e);
    }
  }
  return { ...d, events, subtitle: `${d.subtitle ?? ''}${d.subtitle ? '; ' : ''}window ${from}-${to} ms` };
}

/** Drops lifelines no event touches, except one of each role (the five columns stay). */
export function pruneLifelines(d: SequenceDiagram): SequenceDiagram {
  const used = new Set(d.events.flatMap((e) => (e.kind === 'message' ? [e.from, e.to] : [e.on])));
  const keep = d.lifelines.filter((l) => used.has(l.id));
  for (const l of d.lifelines) if (!keep.some((k) => k.role === l.role)) keep.push(l);
  return { ...d, lifelines: orderLifelines(keep) };
}

/** At most `max` rows (the first by time; spans cut there): a flood's capture must not become a picture of megabytes. */
export function firstRows(d: SequenceDiagram, max: number): SequenceDiagram {
  const rows = byTime(d.events.filter((e) => e.kind !== 'span'));
  if (rows.length <= max) return d;
  const kept = new Set(rows.slice(0, max));
  const cut = rows[max - 1].t;
  const events: SeqEvent[] = d.events.flatMap((e): SeqEvent[] => {
    if (e.kind !== 'span') return kept.has(e) ? [e] : [];
    return e.t > cut ? [] : [{ ...e, end: Math.min(e.end, cut) }];
  });
  const note = `Only the first ${max} of ${rows.length} rows (up to +${Math.round(cut)} ms): see the rest with --diagram-window.`;
  return { ...d, events, footnotes: [note, ...(d.footnotes ?? [])] };
}
