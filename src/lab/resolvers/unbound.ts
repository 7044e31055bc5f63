// Debian's Unbound, unmodified but for what a closed lab needs.
import { join } from 'node:path';
import { ADDR } from '../topology.js';
import type { ResolverOptions, ResolverSpec } from './types.js';

function conf(o: ResolverOptions): string {
  // --ecs: the subnet module sends the client's subnet to the listed authoritatives; measured
  // in the lab's server namespace with tcpdump. The lab's ENs share one /24 (the default
  // max-client-subnet-ipv4), so the whole address is sent (a resolver operator's choice):
  // prefix RCs then name one EN each (docs/leases.md, "ECS-keyed RCs").
  const modules = o.ecs ? 'subnetcache iterator' : 'iterator';
  return `# ntss lab: the ENs' recursive resolver
server:
  verbosity: 1
  interface: ${ADDR.resolver}
  port: 53
  do-ip4: yes
  do-ip6: no          # the lab has no IPv6
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "${o.dir}"
  pidfile: "${o.dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  root-hints: "${o.dir}/root.hints"   # the lab root instead of the real one
  module-config: "${modules}"         # no validator: no trust anchor exists for the lab root
  num-threads: 1
  access-control: 198.51.100.0/24 allow   # the ENs
  access-control: 100.64.0.0/16 allow     # a load run's extra EN sources (capacity-hosts.ts)
  access-control: 203.0.113.0/24 allow    # the LAN hosts, masqueraded by the router
${o.ecs ? `  send-client-subnet: ${ADDR.server}      # ECS to the NTSv2 server only\n  max-client-subnet-ipv4: 32\n` : ''}remote-control:
  control-enable: no
`;
}

export const unbound: ResolverSpec = {
  kind: 'unbound',
  product: 'Unbound',
  binary: 'unbound',
  pkg: 'unbound',
  sendsEcs: true,
  files: (o) => ({ 'unbound.conf': conf(o) }),
  argv: (o) => ['unbound', '-d', '-c', join(o.dir, 'unbound.conf')],
  versionArgs: ['-V'],
  versionPattern: /Version (\S+)/,
};
