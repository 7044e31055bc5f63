// What the lab needs from the machine, checked before anything is created, so that a missing
// piece gives one clear line instead of a half-built lab.
import { spawnSync } from 'node:child_process';
import { LabError } from './shell.js';

/** Tool -> Debian package (the CI installs these; see the lab's report). */
export const LAB_TOOLS: Record<string, string> = {
  ip: 'iproute2',
  tc: 'iproute2',
  nft: 'nftables',
  conntrack: 'conntrack',
  nsd: 'nsd',
  unbound: 'unbound',
  dig: 'bind9-dnsutils',
  nsupdate: 'bind9-dnsutils',
  curl: 'curl',
  socat: 'socat',
  getent: 'libc-bin',
  tcpdump: 'tcpdump', // the latency scenario's clock on the EN
};

export function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Null when the lab can run here, otherwise the one-line reason. */
export function labUnavailable(tools: readonly string[] = Object.keys(LAB_TOOLS)): string | null {
  if (process.platform !== 'linux') return `the lab needs Linux (network namespaces); this is ${process.platform}`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the lab needs root (network namespaces, veth, tc, nft): run it as root, e.g. sudo ntss lab ...';
  }
  const missing = tools.filter((t) => !haveCommand(t));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => LAB_TOOLS[t] ?? t))];
    return `the lab needs ${missing.join(', ')} (Debian: apt-get install ${pkgs.join(' ')})`;
  }
  return null;
}

export function assertLabAvailable(tools?: readonly string[]): void {
  const why = labUnavailable(tools);
  if (why) throw new LabError(why, 'LAB_UNAVAILABLE');
}
