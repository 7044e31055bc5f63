// `ntss demo --diagram FILE`: each played flow's timeline drawn as a sequence diagram
// (src/diagram/), one file per flow when several are played (diagram/file.ts names them).
import { demoDiagram } from '../diagram/from-demo.js';
import { writeDiagram, type Window } from '../diagram/file.js';
import type { TimelineEvent } from './timeline.js';
import { EN_ADDRESS, INSIDE_HOSTS, RESOLVER_ADDRESS, ROUTER } from './topology.js';

export function writeFlowDiagram(path: string, flow: string, title: string, events: readonly TimelineEvent[], dns: { host: string; port: number }, window?: Window): void {
  const d = demoDiagram(flow, title, events, {
    ens: EN_ADDRESS,
    resolver: RESOLVER_ADDRESS,
    server: `${dns.host}:${dns.port}`,
    router: { id: ROUTER.id, globalAddress: ROUTER.globalAddress },
    ins: INSIDE_HOSTS.map((h) => ({ name: h.name, address: h.address })),
  });
  writeDiagram(path, d, window);
}
