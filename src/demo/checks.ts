// How a flow is judged: by what the inside hosts actually saw (the EN's real address from
// the PROXY v2 header) and what the EN actually got back, never by what the router logged.
import type { TcpOutcome } from './external-nodes.js';
import type { InsideService } from './inside-services.js';
import type { Recorder, TimelineEvent } from './timeline.js';
import { EN_ADDRESS, ROUTER, type EnName } from './topology.js';

export interface Check {
  what: string;
  ok: boolean;
}

export type Hosts = { alice: InsideService; bob: InsideService };

/** Where each host's list of sightings stood when the flow began. */
export type Marks = Record<keyof Hosts, number>;

export function mark(hosts: Hosts): Marks {
  return { alice: hosts.alice.seen.length, bob: hosts.bob.seen.length };
}

/**
 * The host `en` reached over TCP, or null: the reply must say "hello from H, you are EN:port"
 * with the EN's real address and source port, and H itself must have seen exactly that EN in
 * a PROXY v2 header during this flow.
 */
export function reachedHost(hosts: Hosts, since: Marks, en: EnName, o: TcpOutcome): keyof Hosts | null {
  const m = /^hello from (alice|bob), you are (\S+)$/.exec(o.body ?? '');
  if (!m || o.localPort === undefined) return null;
  const name = m[1] as keyof Hosts;
  const real = `${EN_ADDRESS[en]}:${o.localPort}`;
  const saw = hosts[name].seen.slice(since[name]).some((s) => s.proto === 'tcp' && s.en === real);
  return m[2] === real && saw ? name : null;
}

/** Nobody inside saw `en` during this flow. */
export function unseen(hosts: Hosts, since: Marks, en: EnName): boolean {
  const a = EN_ADDRESS[en];
  return (Object.keys(hosts) as (keyof Hosts)[]).every((h) => !hosts[h].seen.slice(since[h]).some((s) => s.en?.startsWith(`${a}:`)));
}

/** Resolves when every RC created in this flow is gone again, so the next flow starts clean. */
export async function rcsGone(rec: Recorder): Promise<void> {
  const ids = rec.flowEvents().filter((e) => e.event === 'rc-created').map((e) => e.data.rc);
  const limit = ROUTER.rcTimeoutMs + ROUTER.holdMs + 1000;
  await Promise.all(ids.map((id) => rec.waitFor((e) => e.event === 'rc-removed' && e.data.rc === id, limit, `RC ${id} to be removed`)));
}

/** The first event of this flow that matches, or undefined. */
export function find(rec: Recorder, match: (e: TimelineEvent) => boolean): TimelineEvent | undefined {
  return rec.flowEvents().find(match);
}

/** A mapping-created event for a flow from `en`'s address. */
export const mappingFrom = (en: EnName) => (e: TimelineEvent) => e.event === 'mapping-created' && String(e.data.en).startsWith(`${EN_ADDRESS[en]}:`);

/** The resolver's answer delivered to `en`. */
export const answerFor = (en: EnName) => (e: TimelineEvent) => e.event === 'dns-answer' && e.data.en === en;
