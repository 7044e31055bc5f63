// Building the namespaces, bridges and veth pairs of topology.ts, the netem on the Internet
// links, and tearing all of it down again. Teardown is synchronous (usable from 'exit').
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { ADDR, HOSTS, PREFIX_RE, SEGMENTS, nsName, type HostSpec } from './topology.js';
import { LabError, alive, run, sleepSync } from './shell.js';

export interface LinkShaping {
  /** Round-trip time added between any two Internet hosts, ms (half on each core link). */
  delayMs: number;
  /** Loss on each core link, percent. */
  lossPct: number;
}

const ip = (...args: string[]) => run('ip', args);
const inNs = (ns: string, cmd: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, cmd, ...args]);

/** Namespaces of this lab that exist now (by name, so a lost state file does not matter). */
export function labNamespaces(prefix: string): string[] {
  const out = run('ip', ['netns', 'list'], { allowFail: true }).stdout;
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}-`));
}

/** Prefixes of every lab on this machine (each has an `inet` namespace). */
export function labPrefixes(): string[] {
  const out = run('ip', ['netns', 'list'], { allowFail: true }).stdout;
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.endsWith('-inet')).map((n) => n.slice(0, -5)).filter((p) => PREFIX_RE.test(p));
}

/** Creates every namespace and link. Throws on the first failure (the caller tears down). */
export function buildNetwork(prefix: string): void {
  const ns = (h: string) => nsName(prefix, h);
  for (const h of HOSTS) {
    ip('netns', 'add', ns(h.name));
    // No IPv6 in the lab (Unbound runs with do-ip6: no; AAAA is only looked up): no DAD, no RS noise.
    inNs(ns(h.name), 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
      `net.ipv4.ip_forward=${h.forwarding ? 1 : 0}`);
    ip('-n', ns(h.name), 'link', 'set', 'lo', 'up');
    if (h.useResolver) writeResolvConf(ns(h.name));
  }
  for (const seg of Object.values(SEGMENTS)) {
    const segNs = ns(seg.ns);
    ip('-n', segNs, 'link', 'add', seg.bridge, 'type', 'bridge');
    if ('address' in seg) ip('-n', segNs, 'addr', 'add', seg.address, 'dev', seg.bridge);
    ip('-n', segNs, 'link', 'set', seg.bridge, 'up');
  }
  for (const h of HOSTS) for (const i of h.ifaces) addInterface(prefix, h, i);
}

function addInterface(prefix: string, h: HostSpec, i: HostSpec['ifaces'][number]): void {
  const seg = SEGMENTS[i.segment];
  const hostNs = nsName(prefix, h.name);
  const segNs = nsName(prefix, seg.ns);
  const port = portName(h, i);
  ip('-n', hostNs, 'link', 'add', i.name, 'type', 'veth', 'peer', 'name', port, 'netns', segNs);
  ip('-n', segNs, 'link', 'set', port, 'master', seg.bridge, 'up');
  ip('-n', hostNs, 'addr', 'add', i.address, 'dev', i.name);
  ip('-n', hostNs, 'link', 'set', i.name, 'up');
  if (i.gateway) ip('-n', hostNs, 'route', 'add', 'default', 'via', i.gateway);
}

/** The bridge port of a host's interface, named after the host ("to-root": a bare "root" confuses tc). */
function portName(h: HostSpec, i: HostSpec['ifaces'][number]): string {
  return h.ifaces.length > 1 ? `to-${h.name}-${i.name}` : `to-${h.name}`;
}

const internetBridges = () => Object.values(SEGMENTS).filter((g) => g.internet).map((g) => g.bridge);

/**
 * netem on the Internet bridges' own egress, which only routed packets pass: every crossing of
 * the core costs delay/2, so the RTT between two segments is the delay; hosts in one segment are
 * neighbours. False when this kernel has no netem (the caller then uses the TUN delay line).
 */
export function shapeWithNetem(prefix: string, s: LinkShaping): boolean {
  const core = nsName(prefix, 'inet');
  for (const br of internetBridges()) {
    const args = ['qdisc', 'replace', 'dev', br, 'root', 'netem'];
    if (s.delayMs > 0) args.push('delay', `${s.delayMs / 2}ms`);
    if (s.lossPct > 0) args.push('loss', `${s.lossPct}%`);
    const r = run('ip', ['netns', 'exec', core, 'tc', ...args], { allowFail: true });
    if (r.code !== 0) {
      if (/qdisc kind is unknown/i.test(r.stderr)) return false;
      throw new LabError(`tc ${args.join(' ')}: ${r.stderr.trim()}`);
    }
  }
  return true;
}

export const DELAY_TUN = 'dly0';

/** Policy routing in the core: whatever arrives from an Internet segment leaves through the TUN delay line. */
export function routeThroughDelayLine(prefix: string): void {
  const core = nsName(prefix, 'inet');
  inNs(core, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', `net.ipv4.conf.${DELAY_TUN}.rp_filter=0`);
  ip('-n', core, 'route', 'add', 'default', 'dev', DELAY_TUN, 'table', '100');
  ip('-n', core, 'link', 'set', DELAY_TUN, 'txqueuelen', '10000'); // 500 by default: a burst's packets queue here
  for (const br of internetBridges()) ip('-n', core, 'rule', 'add', 'iif', br, 'lookup', '100', 'pref', '100');
}

/** `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc: the ENs' only resolver is the lab's Unbound. */
function writeResolvConf(ns: string): void {
  mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${ns}/resolv.conf`, `# ntss lab\nnameserver ${ADDR.resolver}\noptions timeout:3 attempts:2\n`);
}

/** Every process inside the namespace (ours by construction: nothing else runs there). */
export function nsPids(ns: string): number[] {
  const out = run('ip', ['netns', 'pids', ns], { allowFail: true }).stdout;
  return out.split(/\s+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
}

/**
 * Kills every process in the lab's namespaces and those listed (TERM, then KILL after graceMs),
 * deletes the namespaces (their veths and bridges go with them) and the /etc/netns entries.
 * Returns what could not be removed.
 */
export function teardownNetwork(prefix: string, extraPids: readonly number[] = [], graceMs = 2000): string[] {
  const spaces = labNamespaces(prefix);
  const pids = new Set<number>(extraPids.filter((p) => p > 0));
  for (const n of spaces) for (const p of nsPids(n)) pids.add(p);
  const signal = (sig: NodeJS.Signals) => {
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch { /* gone */ }
    }
  };
  signal('SIGTERM');
  const end = Date.now() + graceMs;
  while ([...pids].some(alive) && Date.now() < end) sleepSync(50);
  signal('SIGKILL');
  const problems: string[] = [];
  for (const n of spaces) {
    // A process that just died may still pin the namespace for a moment: retry briefly.
    let r = run('ip', ['netns', 'del', n], { allowFail: true });
    for (let i = 0; i < 20 && r.code !== 0 && labNamespaces(prefix).includes(n); i++) {
      sleepSync(50);
      r = run('ip', ['netns', 'del', n], { allowFail: true });
    }
    if (labNamespaces(prefix).includes(n)) problems.push(`namespace ${n}: ${r.stderr.trim()}`);
  }
  for (const h of HOSTS) rmSync(`/etc/netns/${nsName(prefix, h.name)}`, { recursive: true, force: true });
  return problems;
}
