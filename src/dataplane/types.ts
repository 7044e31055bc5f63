// One interface for every data plane: userspace relay (any OS, no root), simulated (tests,
// simulator), nftables (Linux kernel, next release). The scheduler decides; the data plane
// only enforces and reports.
import type { FirstPacket, Mapping, PacketResult, Rc } from '../router/index.js';

/** Asks the scheduler what to do with the first packet of a new inbound flow. */
export type ClassifyFirstPacket = (pkt: FirstPacket) => PacketResult;

export interface DataPlaneMappingEvent {
  type: 'mapping-opened' | 'mapping-closed';
  mapping: Mapping;
  bytesIn?: number;
  bytesOut?: number;
}

export interface DataPlane {
  readonly kind: 'userspace' | 'simulated' | 'nftables';
  /** Installs listeners / static rules. Rejects with a clear error when it cannot. */
  start(): Promise<void>;
  /** An RC became active: new flows to rc.globalAddress may now be mapped to rc.privateAddress. */
  activateRc(rc: Rc): Promise<void>;
  /** The RC is gone: no new flows for it; established flows are untouched. */
  deactivateRc(rc: Rc): Promise<void>;
  /** Established mappings as the data plane sees them. */
  listMappings(): Mapping[];
  onEvent(listener: (e: DataPlaneMappingEvent) => void): void;
  /** Closes listeners (and, for the kernel, removes the table). */
  stop(): Promise<void>;
}
