// An in-memory data plane for unit tests and the simulator: no sockets, no timers. A packet is
// injected; a flow the plane already holds is forwarded without asking (like a conntrack hit:
// only a connection's first packet reaches the NAT rules), a new one asks the scheduler.
// Like the kernel's interval maps it refuses an RC whose keys overlap another RC's, so a
// scheduler bug that would make the kernel fail (EEXIST) fails here too.
import { PlaneEvents } from './plane-events.js';
import { ANY_SOURCE, flowKey, keysOverlap, type FirstPacket, type FlowKey, type Mapping, type PacketResult, type Rc } from '../router/index.js';
import { DataPlaneError } from './errors.js';
import type { ClassifyFirstPacket, DataPlane, DataPlaneMappingEvent } from './types.js';

interface SimFlow {
  mapping: Mapping;
  bytesIn: number;
  bytesOut: number;
}

export class SimulatedDataPlane implements DataPlane {
  readonly kind = 'simulated' as const;
  private readonly flows = new Map<string, SimFlow>();
  private readonly rcs = new Map<number, Rc>();
  private running = false;
  private readonly events = new PlaneEvents();

  constructor(private readonly classify: ClassifyFirstPacket) {}

  async start(): Promise<void> {
    this.running = true;
  }

  async activateRc(rc: Rc): Promise<void> {
    const map = (r: Rc) => r.keys[0]?.source === ANY_SOURCE; // rc_any or rc
    const other = [...this.rcs.values()].find((r) => map(r) === map(rc) && r.keys.some((a) => rc.keys.some((b) => keysOverlap(a, b))));
    if (this.rcs.has(rc.id) || other) {
      throw new DataPlaneError('DATAPLANE_RC', `RC ${rc.id} on ${rc.globalAddress} overlaps RC ${(other ?? rc).id} (the kernel map would refuse it: EEXIST)`);
    }
    this.rcs.set(rc.id, rc);
  }

  async deactivateRc(rc: Rc): Promise<void> {
    if (!this.rcs.delete(rc.id)) throw new DataPlaneError('DATAPLANE_RC', `RC ${rc.id} is not active (the kernel would answer ENOENT)`);
  }

  activeRcs(): Rc[] {
    return [...this.rcs.values()].sort((a, b) => a.id - b.id);
  }

  /**
   * One packet from outside. A known flow is forwarded as `existing` with no events (the
   * scheduler is not asked); a new one is classified, and recorded when mapped.
   */
  inject(pkt: FirstPacket, bytes = 0): PacketResult {
    if (!this.running) throw new Error('simulated data plane: inject() before start() or after stop()');
    const key = flowKey(pkt);
    const known = this.flows.get(key);
    if (known) {
      known.bytesIn += bytes;
      this.events.count(`${pkt.proto}-forwarded`);
      return { verdict: 'mapped', mapping: known.mapping, existing: true, events: [] };
    }
    const r = this.classify(pkt);
    this.events.count(`${pkt.proto}-${r.verdict}`);
    if (r.verdict === 'mapped') {
      this.flows.set(key, { mapping: r.mapping, bytesIn: bytes, bytesOut: 0 });
      this.events.emit({ type: 'mapping-opened', mapping: r.mapping });
    }
    return r;
  }

  /** A reply from the IN on a flow; false when no such flow exists (the kernel would drop it). */
  reply(flow: FlowKey, bytes: number): boolean {
    const f = this.flows.get(flowKey(flow));
    if (f) f.bytesOut += bytes;
    return f !== undefined;
  }

  /** The flow ended (FIN, idle timeout, ...): mapping-closed with its byte counts. */
  end(flow: FlowKey, reason = 'end'): boolean {
    const key = flowKey(flow);
    const f = this.flows.get(key);
    if (!f) return false;
    this.flows.delete(key);
    this.events.emit({ type: 'mapping-closed', mapping: f.mapping, bytesIn: f.bytesIn, bytesOut: f.bytesOut, reason });
    return true;
  }

  listMappings(): Mapping[] {
    return [...this.flows.values()].map((f) => f.mapping).sort((a, b) => a.id - b.id);
  }

  onEvent(listener: (e: DataPlaneMappingEvent) => void): void {
    this.events.on(listener);
  }

  counters(): Record<string, number> {
    return this.events.snapshot();
  }

  /** Ends every flow (reason 'stop') and forgets the RCs. */
  async stop(): Promise<void> {
    for (const f of [...this.flows.values()]) this.end(mappingFlowKey(f.mapping), 'stop');
    this.rcs.clear();
    this.running = false;
  }


}

function mappingFlowKey(m: Mapping): FlowKey {
  return { proto: m.proto, src: m.enAddress, srcPort: m.enPort, dst: m.globalAddress, dstPort: m.globalPort };
}
