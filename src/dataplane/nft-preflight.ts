// What the nftables data plane needs from the host, checked before anything is changed, so the
// router refuses to start with one clear line instead of a netlink error halfway through.
// The probe is an interface: unit tests pass a fake host (nft-fake.ts).
import { existsSync, readFileSync } from 'node:fs';
import { runCommand } from './command.js';
import { DataPlaneError } from './errors.js';

export interface HostProbe {
  /** Effective uid 0, or CAP_NET_ADMIN in the effective set. */
  privileged(): boolean;
  /** Whether `name --version` runs. */
  command(name: string): Promise<boolean>;
  interfaceExists(name: string): Promise<boolean>;
  /** net.ipv4.ip_forward, or undefined when it cannot be read. */
  ipForward(): Promise<boolean | undefined>;
}

export interface PreflightInput {
  wan: string;
  lan: string;
  trustedInterfaces: readonly string[];
}

const CAP_NET_ADMIN = 12n;

/** Throws DataPlaneError (DATAPLANE_UNSUPPORTED) naming the first thing missing; returns warnings. */
export async function preflight(o: PreflightInput, probe: HostProbe): Promise<string[]> {
  const refuse = (why: string) => new DataPlaneError('DATAPLANE_UNSUPPORTED', `nftables data plane: ${why}`);
  if (!probe.privileged()) {
    throw refuse('needs root or CAP_NET_ADMIN to change nftables and conntrack; run ntss router as root, or use dataplane.type: userspace');
  }
  if (!(await probe.command('nft'))) throw refuse('the nft tool is not installed or does not run (Debian: apt-get install nftables)');
  if (!(await probe.command('conntrack'))) throw refuse('the conntrack tool is not installed or does not run (Debian: apt-get install conntrack)');
  const ifaces: [string, string][] = [[o.wan, 'dataplane.wan'], [o.lan, 'dataplane.lan'], ...o.trustedInterfaces.map((i): [string, string] => [i, 'dataplane.trustedInterfaces'])];
  for (const [name, key] of ifaces) {
    if (!(await probe.interfaceExists(name))) throw refuse(`interface ${JSON.stringify(name)} (${key}) does not exist on this host (see "ip link")`);
  }
  const fwd = await probe.ipForward();
  return fwd === false ? ['net.ipv4.ip_forward is 0: the kernel will not forward to the inside hosts ("sysctl -w net.ipv4.ip_forward=1")'] : [];
}

/** The host this process runs on, or the namespace `prefix` enters (["ip", "netns", "exec", "r1"]). */
export function realHostProbe(prefix: readonly string[] = []): HostProbe {
  const run = (argv: string[]) => runCommand([...prefix, ...argv]).then((r) => ({ ok: r.code === 0, out: r.out }), () => ({ ok: false, out: '' }));
  const sys = (path: string) => (prefix.length === 0
    ? Promise.resolve(existsSync(path) ? { ok: true, out: readFileSync(path, 'utf8') } : { ok: false, out: '' })
    : run(['cat', path]));
  return {
    privileged: () => process.geteuid?.() === 0 || hasCapability(CAP_NET_ADMIN),
    command: async (name) => (await run([name, '--version'])).ok,
    interfaceExists: async (name) => /^[A-Za-z0-9_.:@+-]{1,15}$/.test(name) && (await sys(`/sys/class/net/${name}/ifindex`)).ok,
    ipForward: async () => {
      const r = await sys('/proc/sys/net/ipv4/ip_forward');
      return r.ok ? r.out.trim() === '1' : undefined;
    },
  };
}

function hasCapability(bit: bigint): boolean {
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return hex !== undefined && ((BigInt(`0x${hex}`) >> bit) & 1n) === 1n;
  } catch {
    return false;
  }
}
