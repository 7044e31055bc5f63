// `ntss demo` from start to verdict: start the system, play the chosen flows one after the
// other, print as things happen, and close everything on every path (an abort included).
import { FLOWS, FLOW_NAMES, type FlowName, type FlowResult } from './flows.js';
import type { Printer } from './printer.js';
import { writeFlowDiagram } from './diagram.js';
import { Resources } from './resources.js';
import { UNBOUND_GIVE_UP_MS, UNBOUND_RETRY_INTERVALS_MS } from './stub-resolver.js';
import { startSystem, type DemoSystem } from './system.js';
import { Recorder } from './timeline.js';
import { ALICE, BOB, EN_ADDRESS, RESOLVER_ADDRESS, ROUTER, ZONE } from './topology.js';

export interface DemoOptions {
  flows: readonly FlowName[];
  printer: Printer;
  /** Ctrl-C: stop at once, clean up, exit 130. */
  signal?: AbortSignal;
  /** Flow name -> SVG file for its sequence diagram (--diagram). */
  diagrams?: Map<string, string>;
  /** Only this part of each flow (ms since its start). */
  diagramWindow?: { from: number; to: number };
}

export const EXIT_INTERRUPTED = 130;

class Interrupted extends Error {}

function introLines(sys: DemoSystem): string[] {
  const ens = Object.entries(EN_ADDRESS).map(([n, a]) => `${n} ${a}`).join(', ');
  return [
    'ntss demo: NTSSv2 end to end on loopback, in one process, without root',
    `server    NTSv2 server for ${ZONE} on ${sys.dns.host}:${sys.dns.port} (UDP/TCP), zone stored in ${sys.storageDir}`,
    `router    ${ROUTER.id}, global address ${ROUTER.globalAddress}: relays tcp/${ROUTER.tcpPort} udp/${ROUTER.udpPort} to the INs (PROXY v2 on TCP); hold ${ROUTER.holdMs} ms, RC timeout ${ROUTER.rcTimeoutMs} ms`,
    `INs       ${ALICE.name} ${ALICE.address}, ${BOB.name} ${BOB.address}: "hello" on tcp/${ROUTER.tcpPort}, echo on udp/${ROUTER.udpPort}; PHL ${ALICE.name} → ${ALICE.address}, ${BOB.name} → ${BOB.address}`,
    `resolver  ${RESOLVER_ADDRESS}, shared by ${ens}: the server sees only the resolver, never an EN`,
    `          (Unbound-like: retries after ${UNBOUND_RETRY_INTERVALS_MS.slice(0, 3).join(', ')} ms with a new id and port, asks over TCP on TC=1, gives up at ${UNBOUND_GIVE_UP_MS} ms)`,
  ];
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const rec = new Recorder();
  const res = new Resources();
  const results: FlowResult[] = [];
  let live = false; // setup events wait for the intro; nothing is printed after an abort
  rec.on((e) => live && !res.closed && o.printer.event(e));

  const play = async () => {
    const sys = await startSystem(rec, res);
    if (res.closed) return;
    o.printer.intro(introLines(sys), { dns: sys.dns, storageDir: sys.storageDir, router: { ...ROUTER }, resolver: RESOLVER_ADDRESS, ens: EN_ADDRESS });
    for (const e of rec.flowEvents('setup')) o.printer.event(e);
    live = true;
    const ctx = { rec, res, dns: sys.dns, hosts: sys.hosts };
    for (const name of o.flows) {
      if (res.closed) return;
      const flow = FLOWS[name];
      o.printer.flowStart(name, FLOW_NAMES.indexOf(name) + 1, flow.title);
      rec.startFlow(name);
      let r: FlowResult;
      try {
        r = await flow.run(ctx);
      } catch (e) {
        if (res.closed) return;
        r = { flow: name, expect: FLOWS[name].expect, pass: false, reached: {}, summary: (e as Error).message, checks: [{ what: `the flow ran to its end: ${(e as Error).message}`, ok: false }] };
      }
      if (res.closed) return;
      results.push(r);
      o.printer.verdict(r);
      const file = o.diagrams?.get(name);
      if (file) {
        writeFlowDiagram(file, name, flow.title, rec.flowEvents(name), sys.dns, o.diagramWindow);
        o.printer.diagram(name, file);
      }
    }
  };

  let interrupted = false;
  let failure: Error | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (o.signal?.aborted) reject(new Interrupted());
    o.signal?.addEventListener('abort', () => reject(new Interrupted()), { once: true });
  });
  stop.catch(() => {}); // when play wins, the pending abort promise must not count as unhandled
  try {
    await Promise.race([play(), stop]);
  } catch (e) {
    if (e instanceof Interrupted) interrupted = true;
    else failure = e as Error;
  } finally {
    rec.stop();
    await res.closeAll();
  }
  if (failure) {
    o.printer.error(failure.message);
    throw failure;
  }
  o.printer.summary(results, interrupted);
  if (interrupted) return EXIT_INTERRUPTED;
  return results.length === o.flows.length && results.every((r) => r.pass) ? 0 : 1;
}
