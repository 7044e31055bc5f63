// The four ways the lab's router namespace forwards EN -> alice in this bench, each entered and
// left on the same lab (only what runs in the router namespace changes):
//   nts-kernel  `ntss router`, nftables plane (RC and sticky map elements, conntrack events)
//   static      ntss router stopped; the same static table with the three map DNATs replaced
//               by one `dnat to alice` for the bench's ports (a conventional port forward)
//   nts-relay   `ntss router`, userspace plane (src/dataplane/userspace.ts) on the bench's ports
//   socat       ntss router stopped; socat TCP-LISTEN,fork,reuseaddr / UDP-LISTEN,fork,reuseaddr
//   static-ct   `static` plus the conntrack event listener the kernel plane runs (`conntrack -E
//               -e NEW,DESTROY -d GA -b 4194304`, its output read and thrown away): what the
//               kernel's events and that tool cost without ntss (splits the kernel plane's cost)
// The router runs with its PHL configured and no `storage`: with a stored lease horizon every
// restart would refuse all lookups for up to a minute (docs/leases.md, "A router restart").
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

const dist = new URL('../../dist/src/', import.meta.url);
const imp = (p) => import(new URL(p, dist).href);
const { routerConfigObject } = await imp('lab/configs.js');
const { routerConfigSchema } = await imp('config/router-config.js');
const { nftablesOptions } = await imp('dataplane/nftables-config.js');
const { staticRuleset } = await imp('dataplane/nft-ruleset.js');
const { ADDR } = await imp('lab/topology.js');

export const IPERF_PORT = 5201;
export const CONN_PORT = 5202;
const STATIC_TABLE = 'dpbench_static';
export const PLANES = ['nts-kernel', 'static', 'static-ct', 'nts-relay', 'socat'];

function routerConfig(lab, dataplane) {
  const cfg = routerConfigObject(lab.s.secrets, { dataplane, learning: false, delayMs: lab.mode.delayMs, globalAddresses: lab.mode.globalAddresses });
  if (dataplane === 'userspace') {
    // No PROXY v2 header: iperf3 would take it for its own protocol (socat sends none either).
    cfg.dataplane = { type: 'userspace', ports: [`tcp/${IPERF_PORT}`, `udp/${IPERF_PORT}`, `tcp/${CONN_PORT}`], proxyProtocol: false, lanAddress: ADDR.routerLan };
  }
  return cfg;
}

/**
 * The router's own static table (nft-ruleset.ts, with the options the daemon derives from its
 * config) where the `dnat ... map @rc_host|@rc|@rc_any|@sticky` rules become one static DNAT of
 * the bench's ports to alice: the same filter chains, masquerade and local-service rules.
 */
export function staticTableText(lab) {
  const cfg = routerConfigSchema.parse(routerConfig(lab, 'nftables'));
  const o = { ...nftablesOptions(cfg, () => ({ verdict: 'no-rc' })), table: STATIC_TABLE };
  const lines = staticRuleset(o).filter((l) => !/^add map /.test(l));
  const first = lines.findIndex((l) => / map @/.test(l));
  if (first < 0) throw new Error('static table: no map DNAT rule to replace (nft-ruleset.ts changed?)');
  const dnat = `add rule ip ${STATIC_TABLE} prerouting iifname "${o.wan}" meta l4proto { tcp, udp } th dport { ${IPERF_PORT}, ${CONN_PORT} } dnat ip to ${ADDR.alice}`;
  const out = lines.filter((l) => !/ @\S/.test(l)); // the map DNATs and the sticky membership rule
  out.splice(first, 0, dnat);
  return [`add table ip ${STATIC_TABLE}`, `delete table ip ${STATIC_TABLE}`, ...out].join('\n') + '\n';
}

function nft(lab, args, input) {
  return lab.exec('router', 'nft', args, { input, timeoutMs: 10_000 });
}

/**
 * Enters `plane` (the router stopped before); returns its leave(), which may resolve with counts
 * read from the kernel before it left (added to the session's events). Each plane starts with an
 * empty conntrack table in the router namespace: the previous plane's flows (thousands in
 * TIME_WAIT for 120 s) would otherwise be listed, and adopted by the kernel plane's re-list.
 */
export async function enter(lab, plane) {
  const f = await lab.exec('router', 'conntrack', ['-F'], { timeoutMs: 10_000 });
  if (f.code !== 0) throw new Error(`conntrack -F: ${f.stderr.trim()}`);
  switch (plane) {
    case 'nts-kernel':
    case 'nts-relay': {
      writeFileSync(lab.file('router.yaml'), stringify(routerConfig(lab, plane === 'nts-kernel' ? 'nftables' : 'userspace')), { mode: 0o600 });
      await lab.startRouterAgain();
      if (plane === 'nts-relay') return () => lab.stopRouter('SIGTERM');
      return async () => {
        // Flows admitted through a sticky element alone never reach the router (nft-ruleset.ts):
        // the kernel's counter says how many there were. Older tables have none (undefined).
        const c = await nft(lab, ['list', 'counter', 'ip', 'ntss', 'sticky_admitted']);
        const n = c.code === 0 ? Number(/packets (\d+)/.exec(c.stdout)?.[1]) : NaN;
        await lab.stopRouter('SIGTERM');
        return Number.isFinite(n) ? { 'kernel.sticky-admitted': n } : {};
      };
    }
    case 'static':
    case 'static-ct': {
      const r = await nft(lab, ['-f', '-'], staticTableText(lab));
      if (r.code !== 0) throw new Error(`static table: nft failed: ${r.stderr.trim()}`);
      // The same arguments as conntrack-tool.ts's watch.
      const ct = plane === 'static-ct' ? lab.background('router', 'conntrack', ['-E', '-e', 'NEW,DESTROY', '-d', lab.mode.globalAddresses[0], '-b', '4194304']) : undefined;
      return async () => {
        await ct?.stop();
        const d = await nft(lab, ['delete', 'table', 'ip', STATIC_TABLE]);
        if (d.code !== 0) throw new Error(`static table: delete failed: ${d.stderr.trim()}`);
      };
    }
    case 'socat': {
      const ga = lab.mode.globalAddresses[0];
      const relays = [
        [`TCP4-LISTEN:${IPERF_PORT},bind=${ga},fork,reuseaddr`, `TCP4:${ADDR.alice}:${IPERF_PORT}`],
        [`UDP4-LISTEN:${IPERF_PORT},bind=${ga},fork,reuseaddr`, `UDP4:${ADDR.alice}:${IPERF_PORT}`],
        [`TCP4-LISTEN:${CONN_PORT},bind=${ga},fork,reuseaddr,backlog=1024`, `TCP4:${ADDR.alice}:${CONN_PORT}`],
      ].map((a) => lab.background('router', 'socat', a));
      await waitListening(lab, ga);
      return async () => {
        await Promise.all(relays.map((r) => r.stop()));
      };
    }
    default:
      throw new Error(`unknown plane ${plane}`);
  }
}

/** socat has no readiness signal: poll `ss` for its three sockets. */
async function waitListening(lab, ga) {
  for (let i = 0; i < 100; i++) {
    const r = await lab.exec('router', 'ss', ['-Hlntu']);
    const n = [`${ga}:${IPERF_PORT}`, `${ga}:${CONN_PORT}`].filter((a) => r.stdout.includes(a)).length;
    if (n === 2 && (r.stdout.match(new RegExp(`${ga.replace(/\./g, '\\.')}:${IPERF_PORT}\\b`, 'g')) ?? []).length >= 2) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('socat relays did not start listening within 5 s');
}
