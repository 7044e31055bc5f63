// PowerDNS Recursor: Debian's /etc/powerdns/recursor.conf with the lab's listen address, ACL
// and root hints, without the documentation prefixes in dont-query (the whole lab lives in
// them), without DNSSEC validation (no trust anchor for the lab root; the DO bit is still set
// on outgoing queries as by default) and in the foreground.
import { join } from 'node:path';
import { ADDR } from '../topology.js';
import type { ResolverOptions, ResolverSpec } from './types.js';

function conf(o: ResolverOptions): string {
  const pdns = join(o.dir, 'pdns');
  return [
    '# ntss lab: the ENs\' recursive resolver',
    `config-dir=${pdns}`,
    `hint-file=${o.dir}/root.hints`,
    `local-address=${ADDR.resolver}`,
    'allow-from=198.51.100.0/24, 100.64.0.0/16, 203.0.113.0/24', // the ENs (+ a load run's extra sources); the LAN
    'dont-query=',
    'security-poll-suffix=',
    'dnssec=process-no-validate',
    'lua-config-file=/etc/powerdns/recursor.lua',
    'public-suffix-list-file=/usr/share/publicsuffix/public_suffix_list.dat',
    'quiet=yes',
    'daemon=no',
    'disable-syslog=yes',
    `socket-dir=${pdns}`,
    // 4.5+ name (edns-subnet-whitelist is the deprecated alias): ECS to the NTSv2 server only.
    // The ENs share one /24: the whole address is sent, as with Unbound (max-client-subnet-ipv4).
    // ecs-add-for: by default not for 10/8, 100.64/10, 172.16/12, 192.168/16 clients, which get
    // ecs-scope-zero-address (127.0.0.1/32) instead; a load run's sources are in 100.64.0.0/16.
    ...(o.ecs ? [`edns-subnet-allow-list=${ADDR.server}`, 'ecs-ipv4-bits=32', 'ecs-add-for=0.0.0.0/0'] : []),
    '',
  ].join('\n');
}

export const powerdns: ResolverSpec = {
  kind: 'powerdns',
  product: 'PowerDNS Recursor',
  binary: 'pdns_recursor',
  pkg: 'pdns-recursor',
  sendsEcs: true,
  files: (o) => ({ 'pdns/recursor.conf': conf(o) }),
  dirs: (o) => [join(o.dir, 'pdns')],
  argv: (o) => ['pdns_recursor', `--config-dir=${join(o.dir, 'pdns')}`],
  versionArgs: ['--version'],
  versionPattern: /PowerDNS Recursor (\S+)/,
};
