// What the daemon does with an authenticated NTS REQUEST before the scheduler sees it, as a pure
// function: a final UNSUPPORTED for what this router cannot serve, else the scheduler's request.
// Shared by the daemon (router.ts) and the fuzz harness, so both take exactly the same path.
import { isIPv4 } from 'node:net';
import type { IncomingRequest } from '../nts/index.js';
import type { NtsRequest as SchedulerRequest } from '../router/index.js';

const A = 1; // DNS TYPE A

export type RequestDecision = { unsupported: string } | { request: SchedulerRequest };

export function schedulerRequestFor(req: IncomingRequest): RequestDecision {
  const r = req.request;
  // No RC is made for what this router cannot serve.
  if (r.qtype !== A) return { unsupported: `qtype ${r.qtype}: only A (1) is served; the global addresses are IPv4` };
  if (r.mode === 'source' && !isIPv4(r.enAddress ?? '')) return { unsupported: 'mode "source" needs an IPv4 EN address: the global addresses are IPv4' };
  const ecs = r.clientSubnet ? `${r.clientSubnet.address}/${r.clientSubnet.prefixLength}` : undefined;
  // An IPv6 client subnet cannot key an IPv4 RC: `any` is the safe superset (the answer's
  // ECS scope still limits the resolver's cache to that prefix).
  const mode = r.mode === 'prefix' && !(r.clientSubnet && isIPv4(r.clientSubnet.address)) ? 'any' : r.mode;
  return {
    request: {
      id: req.requestId, fqdn: r.fqdn, qtype: r.qtype, resolver: r.resolver.address, ecs, deadlineMs: req.deadlineMs,
      mode, enAddress: r.enAddress, leaseMs: r.leaseMs,
    },
  };
}
