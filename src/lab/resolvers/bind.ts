// BIND 9 (named) as a recursive resolver: Debian's options (directory aside) plus what the lab
// needs: its address, recursion for the ENs and the LAN, the lab root as hint, no validation.
import { join } from 'node:path';
import { ADDR } from '../topology.js';
import type { ResolverOptions, ResolverSpec } from './types.js';

function conf(o: ResolverOptions): string {
  // BIND 9.18 cannot add ECS to its own recursive queries (only the Subscription Edition
  // can); --ecs changes nothing here. Measured: src/lab/README.md, "ECS".
  return `// ntss lab: the ENs' recursive resolver
options {
  directory "${o.dir}";
  pid-file "${o.dir}/named.pid";
  listen-on port 53 { ${ADDR.resolver}; };
  listen-on-v6 { none; };              // the lab has no IPv6
  recursion yes;
  allow-query { 198.51.100.0/24; 100.64.0.0/16; 203.0.113.0/24; };  // the ENs (+ a load run's extra sources); the LAN, masqueraded
  allow-recursion { 198.51.100.0/24; 100.64.0.0/16; 203.0.113.0/24; };
  dnssec-validation no;                // no trust anchor exists for the lab root
};
controls { };                          // no rndc channel
zone "." { type hint; file "${o.dir}/root.hints"; };    // the lab root instead of the real one
`;
}

export const bind: ResolverSpec = {
  kind: 'bind',
  product: 'BIND',
  binary: 'named',
  pkg: 'bind9',
  sendsEcs: false,
  files: (o) => ({ 'named.conf': conf(o) }),
  // -g: foreground, log to stderr; -4: IPv4 only (as Unbound's do-ip6: no). Runs as root: the
  // state directory is root's.
  argv: (o) => ['named', '-g', '-4', '-c', join(o.dir, 'named.conf')],
  versionArgs: ['-v'],
  versionPattern: /BIND (\S+)/,
};
