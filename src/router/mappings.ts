// The NAT mapping table as the control plane knows it: one record per flow that an RC turned
// into a mapping. The data plane owns the real state (conntrack) and its idle expiry; it calls
// remove() when a flow ends, so this table mirrors what exists, for listing and for tests.
import type { Mapping, Proto } from './types.js';

export interface FlowKey {
  readonly proto: Proto;
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
}

export function flowKey(f: FlowKey): string {
  return `${f.proto} ${f.src} ${f.srcPort} ${f.dst} ${f.dstPort}`;
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function deleteFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s && s.delete(v) && s.size === 0) m.delete(k);
}

export class MappingTable {
  private readonly byId = new Map<number, Mapping>();
  private readonly flows = new Map<string, number>();
  private readonly ens = new Map<string, Set<number>>();
  private readonly rcs = new Map<number, Set<number>>();

  /** Adds a mapping. A flow has at most one: adding a second for the same flow throws. */
  add(m: Mapping): void {
    const k = flowKey(mappingFlow(m));
    if (this.flows.has(k) || this.byId.has(m.id)) throw new Error(`mapping for flow ${k} or id ${m.id} exists`);
    this.byId.set(m.id, m);
    this.flows.set(k, m.id);
    addTo(this.ens, m.enAddress, m.id);
    addTo(this.rcs, m.rcId, m.id);
  }

  remove(id: number): Mapping | undefined {
    const m = this.byId.get(id);
    if (!m) return undefined;
    this.byId.delete(id);
    this.flows.delete(flowKey(mappingFlow(m)));
    deleteFrom(this.ens, m.enAddress, id);
    deleteFrom(this.rcs, m.rcId, id);
    return m;
  }

  get(id: number): Mapping | undefined {
    return this.byId.get(id);
  }

  /** The mapping of a flow seen from outside (EN -> global address). */
  byFlow(f: FlowKey): Mapping | undefined {
    const id = this.flows.get(flowKey(f));
    return id === undefined ? undefined : this.byId.get(id);
  }

  byEn(enAddress: string): Mapping[] {
    return this.collect(this.ens.get(enAddress));
  }

  byRc(rcId: number): Mapping[] {
    return this.collect(this.rcs.get(rcId));
  }

  /** All mappings, oldest first (ids grow with creation). */
  list(): Mapping[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  get size(): number {
    return this.byId.size;
  }

  private collect(ids: Set<number> | undefined): Mapping[] {
    if (!ids) return [];
    return [...ids].map((id) => this.byId.get(id)!).sort((a, b) => a.id - b.id);
  }
}

export function mappingFlow(m: Mapping): FlowKey {
  return { proto: m.proto, src: m.enAddress, srcPort: m.enPort, dst: m.globalAddress, dstPort: m.globalPort };
}
