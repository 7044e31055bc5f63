// The userspace data plane: TCP/UDP relays on every (global address, configured port), for
// hosts without root or netfilter and for `ntss demo`. Userspace cannot listen on all ports,
// hence the `ports` list; it cannot keep the EN's source address either (the IN sees the
// relay), hence optional PROXY protocol v2 for TCP. It asks the scheduler about each first
// packet itself (ClassifyFirstPacket), exactly where the kernel would consult its RC map, so
// activateRc/deactivateRc are bookkeeping here; they exist for the kernel plane's sake.
import { PlaneEvents } from './plane-events.js';
import type { Mapping, Rc } from '../router/index.js';
import type { Logger } from '../util/log.js';
import { DataPlaneError } from './errors.js';
import type { RelayContext } from './relay-context.js';
import { TcpRelay } from './tcp-relay.js';
import type { ClassifyFirstPacket, DataPlane, DataPlaneMappingEvent, PortSpec } from './types.js';
import { UdpRelay } from './udp-relay.js';

export interface UserspaceOptions {
  globalAddresses: readonly string[];
  ports: readonly PortSpec[];
  classify: ClassifyFirstPacket;
  /** A UDP flow with no datagram either way for this long is closed. Default 30 000 ms. */
  udpIdleTimeoutMs?: number;
  /** Prefix each relayed TCP stream with a PROXY v2 header naming the EN. Default false. */
  proxyProtocol?: boolean;
  /** Source address for connections to the INs; default: the OS's choice. */
  lanAddress?: string;
  /** Give up connecting to an IN after this long (the EN gets a reset). Default 10 000 ms. */
  tcpConnectTimeoutMs?: number;
  /** Most concurrent UDP flows per listening port; further new flows are dropped. Default 10 000. */
  maxUdpFlows?: number;
  log?: Logger;
}

export const USERSPACE_DEFAULTS = { udpIdleTimeoutMs: 30_000, tcpConnectTimeoutMs: 10_000, maxUdpFlows: 10_000 } as const;

export class UserspaceDataPlane implements DataPlane {
  readonly kind = 'userspace' as const;
  private readonly rcs = new Map<number, Rc>();
  private readonly ctx: RelayContext;
  private relays: (TcpRelay | UdpRelay)[] = [];
  private state: 'new' | 'started' | 'stopped' = 'new';
  private readonly events: PlaneEvents;

  constructor(private readonly opts: UserspaceOptions) {
    this.events = new PlaneEvents(opts.log);
    if (opts.ports.length === 0) throw new DataPlaneError('DATAPLANE_UNSUPPORTED', 'userspace data plane: no ports to listen on');
    this.ctx = {
      classify: opts.classify,
      emit: (e) => this.events.emit(e),
      count: (n) => this.events.count(n),
      log: opts.log,
      lanAddress: opts.lanAddress,
      proxyProtocol: opts.proxyProtocol ?? false,
      udpIdleTimeoutMs: opts.udpIdleTimeoutMs ?? USERSPACE_DEFAULTS.udpIdleTimeoutMs,
      tcpConnectTimeoutMs: opts.tcpConnectTimeoutMs ?? USERSPACE_DEFAULTS.tcpConnectTimeoutMs,
      maxUdpFlows: opts.maxUdpFlows ?? USERSPACE_DEFAULTS.maxUdpFlows,
    };
  }

  /** Listens on every (address, port); on any failure closes what it opened and rejects (DataPlaneError). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`userspace data plane: start() when ${this.state}`);
    this.state = 'started';
    try {
      for (const host of this.opts.globalAddresses) {
        for (const p of this.opts.ports) {
          this.relays.push(p.proto === 'tcp' ? await TcpRelay.listen(host, p.port, this.ctx) : await UdpRelay.listen(host, p.port, this.ctx));
        }
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Where it listens, e.g. for the start log line. */
  endpoints(): { proto: 'tcp' | 'udp'; host: string; port: number }[] {
    return this.relays.map((r) => ({ proto: r instanceof TcpRelay ? 'tcp' : 'udp', host: r.host, port: r.port }));
  }

  async activateRc(rc: Rc): Promise<void> {
    this.rcs.set(rc.id, rc);
  }

  async deactivateRc(rc: Rc): Promise<void> {
    this.rcs.delete(rc.id);
  }

  /** RCs the control plane has announced and not yet withdrawn (bookkeeping only). */
  activeRcs(): Rc[] {
    return [...this.rcs.values()];
  }

  listMappings(): Mapping[] {
    return this.relays.flatMap((r) => r.mappings()).sort((a, b) => a.id - b.id);
  }

  onEvent(listener: (e: DataPlaneMappingEvent) => void): void {
    this.events.on(listener);
  }

  counters(): Record<string, number> {
    return this.events.snapshot();
  }

  /** Closes the listeners and every flow (each reported mapping-closed, reason 'stop'). */
  async stop(): Promise<void> {
    this.state = 'stopped';
    const relays = this.relays;
    this.relays = [];
    await Promise.all(relays.map((r) => r.close()));
  }


}
