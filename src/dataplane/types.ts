// One interface for every data plane: userspace relay (any OS, no root), simulated (tests,
// simulator), nftables (Linux kernel NAT, root). The scheduler decides; the data plane
// only enforces and reports.
import type { FirstPacket, Mapping, PacketResult, Proto, Rc, Sticky } from '../router/index.js';

/** Asks the scheduler what to do with the first packet of a new inbound flow. */
export type ClassifyFirstPacket = (pkt: FirstPacket) => PacketResult;

export interface DataPlaneMappingEvent {
  type: 'mapping-opened' | 'mapping-closed';
  mapping: Mapping;
  /** mapping-closed: payload octets EN -> IN (what the EN sent). */
  bytesIn?: number;
  /** mapping-closed: payload octets IN -> EN (what the EN received). */
  bytesOut?: number;
  /** mapping-closed: why the flow ended ('end', 'error', 'idle', 'stop'). */
  reason?: string;
}

/** A listening port of a data plane that cannot listen everywhere ("tcp/8080"). */
export interface PortSpec {
  readonly proto: Proto;
  readonly port: number;
}

export interface DataPlane {
  readonly kind: 'userspace' | 'simulated' | 'nftables';
  /** Installs listeners / static rules. Rejects with a clear error when it cannot. */
  start(): Promise<void>;
  /** An RC became active: new flows to rc.globalAddress may now be mapped to rc.privateAddress. */
  activateRc(rc: Rc): Promise<void>;
  /** The RC is gone: no new flows for it; established flows are untouched. */
  deactivateRc(rc: Rc): Promise<void>;
  /** A shared RC was re-armed (planes whose state expires refresh it). */
  renewRc?(rc: Rc): Promise<void>;
  /** The scheduler's sticky entry (planes that match in the kernel install it; others ask classify). */
  addSticky?(s: Sticky, replaced?: boolean): void;
  /** Established mappings as the data plane sees them. */
  listMappings(): Mapping[];
  onEvent(listener: (e: DataPlaneMappingEvent) => void): void;
  /** What the data plane counted (dropped first packets, relayed flows, errors, ...). */
  counters(): Record<string, number>;
  /** Closes listeners (and, for the kernel, removes the table). */
  stop(): Promise<void>;
}

/** "tcp/8080" -> { proto: 'tcp', port: 8080 }; an error string when malformed. */
export function parsePortSpec(s: string): PortSpec | string {
  const m = /^(tcp|udp)\/(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) return `expected "tcp/PORT" or "udp/PORT" with PORT 1..65535, got ${JSON.stringify(s)}`;
  return { proto: m[1] as Proto, port };
}

export function formatPortSpec(p: PortSpec): string {
  return `${p.proto}/${p.port}`;
}
