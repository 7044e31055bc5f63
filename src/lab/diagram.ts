// `ntss lab run SCENARIO --diagram FILE`: a capture in the resolver's namespace while the
// scenario runs, then the capture, the daemons' JSON logs and the inside hosts' logs drawn as
// one sequence diagram of the scenario (src/diagram/from-lab.ts does the drawing's data).
import { writeDiagram, type Window } from '../diagram/file.js';
import { labDiagram } from '../diagram/from-lab.js';
import { parseDnsCapture, parseWireCapture } from '../diagram/tcpdump.js';
import { schedulerTimes } from './configs.js';
import type { Lab } from './lab.js';
import type { Scenario } from './scenarios/context.js';
import { LabError, sleep, type Background } from './shell.js';
import { ADDR, EXTERNAL_NODES, INSIDE_HOSTS, WAN_IF } from './topology.js';

export interface DiagramCapture {
  /** Stops the capture, waits (bounded) for the scenario's RCs to end, writes the SVG. Returns a summary line. */
  finish(): Promise<string>;
}

const DNS_FILTER = 'port 53';
// Connection starts and refusals on the router's global side; not NTS (5300), not DNS.
const WIRE_FILTER = 'not port 5300 and not port 53 and (udp or (tcp[tcpflags] & (tcp-syn|tcp-rst)) != 0)';

async function capture(lab: Lab, host: string, iface: string, filter: string): Promise<Background> {
  const cap = lab.background(host, 'tcpdump', ['-i', iface, '-n', '-tt', '-l', '--immediate-mode', '-Z', 'root', filter]);
  const end = Date.now() + 5000;
  while (!cap.stderr().includes('listening on') && Date.now() < end) await sleep(20);
  if (!cap.stderr().includes('listening on')) {
    await cap.stop();
    throw new LabError(`diagram: tcpdump in the ${host} namespace did not start: ${cap.stderr().trim().split('\n').pop() ?? 'no output'}`);
  }
  return cap;
}

/** Starts tcpdump in the resolver's namespace and on the router's WAN side; resolves once both listen. */
export async function startDiagramCapture(lab: Lab, sc: Scenario, path: string, window?: Window): Promise<DiagramCapture> {
  const from = Date.now();
  const dns = await capture(lab, 'resolver', 'any', DNS_FILTER);
  let wire: Background;
  try {
    wire = await capture(lab, 'router', WAN_IF, WIRE_FILTER);
  } catch (e) {
    await dns.stop();
    throw e;
  }
  return {
    async finish() {
      // The scenario is over when its checks are; its last RCs go a hold (or an RC timeout) later.
      const t = schedulerTimes(lab.mode.delayMs);
      let to: number;
      try {
        const wait = Date.now() + t.rcTimeoutMs + t.holdMs + 300;
        while (Date.now() < wait && openRcs(lab, from) > 0) await sleep(50);
        await sleep(30); // tcpdump's last line may trail
        to = Date.now();
      } finally {
        await Promise.all([dns.stop(), wire.stop()]); // on every path: a running lab (--prefix) keeps no capture
      }
      const capture = parseDnsCapture(dns.stdout());
      const packets = parseWireCapture(wire.stdout());
      const d = labDiagram({
        title: `ntss lab run ${sc.name}: ${sc.summary}`,
        from, to, capture, wire: packets,
        server: lab.events('server'),
        router: lab.events('router'),
        ins: INSIDE_HOSTS.flatMap((h) => lab.inEvents(h)),
        addresses: {
          ens: Object.fromEntries(EXTERNAL_NODES.map((e) => [e, ADDR[e]])),
          resolver: { address: ADDR.resolver, product: lab.mode.resolverVersion ?? lab.mode.resolver, aliases: { [ADDR.v1resolver]: 'ntss resolver (v1)' } },
          server: ADDR.server,
          router: lab.mode.globalAddresses,
          ins: Object.fromEntries(INSIDE_HOSTS.map((h) => [h, ADDR[h]])),
        },
        notes: [`lab: data plane ${lab.mode.dataplane}, RTT +${lab.mode.delayMs} ms, loss ${lab.mode.lossPct}%, hold ${t.holdMs} ms, RC timeout ${t.rcTimeoutMs} ms; captured ${capture.length} DNS messages, ${packets.length} packets at the router.`],
      });
      const drawn = writeDiagram(path, d, window);
      const rows = drawn.events.filter((e) => e.kind !== 'span').length;
      return `diagram: ${path} (${rows} rows; captured: ${capture.length} DNS messages, ${packets.length} packets at the router)`;
    },
  };
}

/** RCs created since `from` that are not removed yet, by the router's log. */
function openRcs(lab: Lab, from: number): number {
  const open = new Set<number>();
  for (const l of lab.events('router')) {
    if (typeof l.at !== 'number' || l.at < from) continue;
    if (l.event === 'rc-created') open.add(Number(l.rc));
    if (l.event === 'rc-removed') open.delete(Number(l.rc));
  }
  return open.size;
}
