// From the router's configuration to the nftables data plane's options: the keys of
// `dataplane` plus what the rest of the config implies (the NTS port is a local service that
// must never be DNATed; `learning` asks for the LAN DNS redirect; the RC element's safety
// timeout must outlive any RC of the scheduler).
import { isIPv4 } from 'node:net';
import type { RouterConfig } from '../config/router-config.js';
import type { Logger } from '../util/log.js';
import { NftablesDataPlane, type NftablesOptions } from './nftables.js';
import { formatPortSpec, type ClassifyFirstPacket, type PortSpec } from './types.js';

export type NftablesConfig = Extract<RouterConfig['dataplane'], { type: 'nftables' }>;

/** Beyond the longest RC life (rcTimeoutMs + holdMs): the scheduler removes first, the kernel only if we died. */
export const SAFETY_MARGIN_MS = 10_000;

export function nftablesOptions(
  cfg: RouterConfig, classify: ClassifyFirstPacket, log?: Logger,
): NftablesOptions {
  const dp = cfg.dataplane;
  if (dp.type !== 'nftables') throw new Error('nftablesOptions: dataplane.type is not nftables');
  const services: PortSpec[] = [];
  const listen = cfg.nts.listen;
  // NTS on loopback is not reachable from the WAN: nothing to accept or except there.
  if (!/^127\.|^::1$/.test(listen.host)) services.push({ proto: 'udp', port: listen.port });
  for (const s of dp.localServices) if (!services.some((x) => formatPortSpec(x) === formatPortSpec(s))) services.push(s);
  const learning = cfg.learning;
  return {
    wan: dp.wan, lan: dp.lan, table: dp.table, globalAddresses: cfg.globalAddresses, classify, log,
    safetyTimeoutMs: dp.safetyTimeoutMs ?? cfg.scheduler.rcTimeoutMs + cfg.scheduler.holdMs + SAFETY_MARGIN_MS,
    localServices: services, trustedInterfaces: dp.trustedInterfaces, reconcileMs: dp.reconcileMs,
    dnsRedirect: learning && isIPv4(learning.server.host)
      ? { server: learning.server.host, serverPort: learning.server.port, port: learning.listen.port }
      : undefined,
  };
}

export function createNftablesDataPlane(cfg: RouterConfig, classify: ClassifyFirstPacket, log?: Logger): NftablesDataPlane {
  return new NftablesDataPlane(nftablesOptions(cfg, classify, log));
}
