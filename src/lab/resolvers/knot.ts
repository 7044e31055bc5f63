// Knot Resolver 5 (kresd): Debian's /etc/knot-resolver/kresd.conf with the lab's listen
// address (no DoT listener: no certificate), its own cache directory, the lab root as hint and
// no root trust anchor. cache.min_ttl stays at its default (5 s): that is the point.
import { join } from 'node:path';
import { ADDR, ROOT_NS } from '../topology.js';
import type { ResolverOptions, ResolverSpec } from './types.js';

function conf(o: ResolverOptions): string {
  // Knot Resolver 5.6 has no module that sends ECS upstream; --ecs changes nothing here.
  return `-- ntss lab: the ENs' recursive resolver
log_target('stderr')
net.listen('${ADDR.resolver}', 53, { kind = 'dns' })
modules = {
	'hints > iterate',  -- the lab root hint below
	'stats',
	'predict',
}
cache.open(100 * MB, 'lmdb://${join(o.dir, 'kresd', 'cache')}')
trust_anchors.remove('.')  -- no trust anchor exists for the lab root
hints.root({ ['${ROOT_NS}'] = '${ADDR.root}' })
`;
}

export const knot: ResolverSpec = {
  kind: 'knot',
  product: 'Knot Resolver',
  binary: 'kresd',
  pkg: 'knot-resolver',
  sendsEcs: false,
  files: (o) => ({ 'kresd.conf': conf(o) }),
  dirs: (o) => [join(o.dir, 'kresd')],
  cacheDirs: (o) => [join(o.dir, 'kresd', 'cache')], // LMDB: survives a restart
  // -n: no interactive console on stdin; the last argument is its run directory.
  argv: (o) => ['kresd', '-n', '-c', join(o.dir, 'kresd.conf'), join(o.dir, 'kresd')],
  versionArgs: ['--version'],
  versionPattern: /version (\S+)/,
};
