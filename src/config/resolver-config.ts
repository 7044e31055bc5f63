// `ntss resolver` (NTSS v1): one YAML file, one schema, validated once at start. The routers,
// udp and tcp sections are the NTSv2 server's own schemas, so both daemons read them alike.
import { z } from 'zod';
import { DEFAULT_ALLOW, parsePrefix, type Prefix } from '../resolver/acl.js';
import { parseHostPort, type HostPort } from '../util/addr.js';
import { ConfigError } from '../util/errors.js';
import { readYaml, validate } from './load.js';
import { serverConfigSchema } from './server-config.js';
import { hostPort, ipAddress, listenHostPort, ms, parsedBy } from './values.js';

const prefix = parsedBy<Prefix>(parsePrefix);

export const resolverConfigSchema = z
  .object({
    // Stub resolvers only speak to port 53 (resolv.conf has no port): binding it needs root or
    // CAP_NET_BIND_SERVICE.
    listen: z.array(listenHostPort).min(1, 'at least one "ADDRESS:PORT" expected').default([parseHostPort('127.0.0.1:53') as HostPort]),
    upstream: z.array(hostPort).min(1, 'at least one upstream "ADDRESS:PORT" expected'),
    forward: z
      .object({
        timeoutMs: ms(50, 30_000).default(1000),
        rounds: z.number().int().min(1).max(10).default(2),
        tcpTimeoutMs: ms(100, 30_000).default(2000),
        // Upstream queries leave from this address (default: the OS's choice). An NTSv2 server
        // that knows this resolver as NTSS v1 (resolvers[].v1) recognises it by this address.
        sourceAddress: ipAddress.optional(),
      })
      .strict()
      .prefault({}),
    allow: z.array(prefix).default(DEFAULT_ALLOW.map((s) => parsePrefix(s) as Prefix)),
    cache: z
      .object({
        entries: z.number().int().min(0).max(10_000_000).default(10_000),
        maxBytes: z.number().int().min(0).max(2 ** 34).default(32 << 20),
        maxTtl: z.number().int().min(0).max(604_800).default(86_400),
        maxNegativeTtl: z.number().int().min(0).max(86_400).default(3_600),
      })
      .strict()
      .prefault({}),
    routers: serverConfigSchema.shape.routers,
    nts: z
      .object({
        // The NTS client socket (requests go out from here). Port 0: any free port.
        listen: listenHostPort.default({ host: '0.0.0.0', port: 0, family: 4 }),
        // Sent as RESOLVER; default: the first listen address as bound.
        resolverAddress: hostPort.optional(),
        // glibc's stub waits 5 s before its retry; an answer must be out before that.
        clientPatienceMs: ms(200, 60_000).default(4500),
        marginMs: ms(0, 10_000).default(150),
        // How long the EN may keep an answer (browsers ~60 s): sent as the request's LEASE
        // (+1 s of TTL rounding), so the address stays bound to the name that long (docs/leases.md).
        enCacheMs: ms(0, 600_000).default(60_000),
      })
      .strict()
      .prefault({}),
    udp: serverConfigSchema.shape.udp,
    tcp: serverConfigSchema.shape.tcp,
  })
  .strict();

export type ResolverConfig = z.output<typeof resolverConfigSchema> & { file: string };

export function loadResolverConfig(file: string): ResolverConfig {
  return checkResolverConfig(file, validate(file, resolverConfigSchema, readYaml(file)));
}

/** The checks that span keys. */
export function checkResolverConfig(file: string, cfg: z.output<typeof resolverConfigSchema>): ResolverConfig {
  if (cfg.nts.clientPatienceMs - cfg.nts.marginMs < 100) {
    throw new ConfigError(file, 'nts.marginMs', `must leave at least 100 ms of nts.clientPatienceMs (${cfg.nts.clientPatienceMs}), got ${cfg.nts.marginMs}`);
  }
  const owner = new Map<string, string>();
  cfg.routers.forEach((r, i) => {
    for (const a of r.addresses) {
      const other = owner.get(a);
      if (other !== undefined) throw new ConfigError(file, `routers[${i}].addresses`, `${a} is already an address of router ${JSON.stringify(other)}`);
      owner.set(a, r.id);
    }
  });
  return { ...cfg, file };
}
