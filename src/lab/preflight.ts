// What the lab needs from the machine, checked before anything is created, so that a missing
// piece gives one clear line instead of a half-built lab.
import { spawnSync } from 'node:child_process';
import { DEFAULT_RESOLVER, RESOLVERS, type ResolverKind } from './resolvers/index.js';
import { LabError } from './shell.js';

/** Tool -> Debian package (the CI installs these), without the resolver: see labTools(). */
export const LAB_TOOLS: Record<string, string> = {
  ip: 'iproute2',
  tc: 'iproute2',
  nft: 'nftables',
  conntrack: 'conntrack',
  nsd: 'nsd',
  dig: 'bind9-dnsutils',
  nsupdate: 'bind9-dnsutils',
  curl: 'curl',
  socat: 'socat',
  getent: 'libc-bin',
  tcpdump: 'tcpdump', // the latency scenario's clock on the EN
};

/** What a lab with this resolver needs. */
export function labTools(resolver: ResolverKind = DEFAULT_RESOLVER): string[] {
  return [...Object.keys(LAB_TOOLS), RESOLVERS[resolver].binary];
}

function packageOf(tool: string): string {
  return LAB_TOOLS[tool] ?? Object.values(RESOLVERS).find((r) => r.binary === tool)?.pkg ?? tool;
}

export function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Null when the lab can run here, otherwise the one-line reason. */
export function labUnavailable(tools: readonly string[] = labTools()): string | null {
  if (process.platform !== 'linux') return `the lab needs Linux (network namespaces); this is ${process.platform}`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the lab needs root (network namespaces, veth, tc, nft): run it as root, e.g. sudo ntss lab ...';
  }
  const missing = tools.filter((t) => !haveCommand(t));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(packageOf))];
    return `the lab needs ${missing.join(', ')} (Debian: apt-get install ${pkgs.join(' ')})`;
  }
  return null;
}

export function assertLabAvailable(tools?: readonly string[]): void {
  const why = labUnavailable(tools);
  if (why) throw new LabError(why, 'LAB_UNAVAILABLE');
}
