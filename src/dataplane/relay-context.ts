// What the TCP and UDP relays share: the scheduler hook, event and counter sinks, options.
import type { Mapping } from '../router/index.js';
import type { Logger } from '../util/log.js';
import type { ClassifyFirstPacket, DataPlaneMappingEvent } from './types.js';

export interface RelayContext {
  readonly classify: ClassifyFirstPacket;
  readonly emit: (e: DataPlaneMappingEvent) => void;
  readonly count: (name: string) => void;
  readonly log?: Logger;
  /** Source address for connections to the INs (the router's LAN address); OS choice if unset. */
  readonly lanAddress?: string;
  readonly proxyProtocol: boolean;
  readonly udpIdleTimeoutMs: number;
  readonly tcpConnectTimeoutMs: number;
  readonly maxUdpFlows: number;
}

/** A flow as the relay holds it; `close` ends it from outside (stop()). */
export interface LiveFlow {
  readonly mapping: Mapping;
  close(reason: string): void;
}

/**
 * Calls classify and counts the verdict. A throw (a bug) becomes a drop: no packet may kill
 * the daemon. Returns the mapping to relay, or undefined to refuse the flow.
 */
export function classifyFlow(ctx: RelayContext, pkt: Parameters<ClassifyFirstPacket>[0]): Mapping | undefined {
  try {
    const r = ctx.classify(pkt);
    ctx.count(`${pkt.proto}-${r.verdict}`);
    return r.verdict === 'mapped' ? r.mapping : undefined;
  } catch (e) {
    ctx.count('classify-error');
    ctx.log?.error('classify-error', { proto: pkt.proto, src: pkt.src, dst: pkt.dst, port: pkt.dstPort, error: (e as Error).message });
    return undefined;
  }
}
