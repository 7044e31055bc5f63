// The NTSv2 server's configuration: one YAML file, one schema, validated once at start.
// The keys listen, storage, zone, tsig and routers are a contract (see docs/configuration.md).
import { z } from 'zod';
import { isSubdomain } from '../dns/name.js';
import { parseRecord } from '../dns/presentation.js';
import type { ResourceRecord } from '../dns/types.js';
import { parseHostPort, type HostPort } from '../util/addr.js';
import { base64Secret, controlSection, domainName, hostPort, ipAddress, listenHostPort, metricsSection, u32 } from './values.js';
import { ConfigError } from '../util/errors.js';
import { readYaml, validate } from './load.js';
import { resolverEntry, resolversUnique, configuredProfile } from './resolver-profiles-config.js';
import { parsePrefix, type Prefix } from '../server/prefix-table.js';
import { parsedBy, relativeTo } from './values.js';

const prefixText = parsedBy<Prefix>(parsePrefix);

const recordText = z.string().transform((s, ctx): ResourceRecord => {
  try {
    return parseRecord(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `invalid record ${JSON.stringify(s)}: ${(e as Error).message}` });
    return z.NEVER;
  }
});

/** "name." (exactly that name) or "*.name." (every name strictly below it). */
const allowPattern = z.string().transform((s, ctx) => {
  const sub = s.startsWith('*.');
  const r = domainName().safeParse(sub ? s.slice(2) : s);
  if (!r.success) {
    ctx.addIssue({ code: 'custom', message: `expected "name." or "*.name.", got ${JSON.stringify(s)}` });
    return z.NEVER;
  }
  return { name: r.data, subtree: sub };
});

export const serverConfigSchema = z
  .object({
    listen: z.array(listenHostPort).min(1, 'at least one "ADDRESS:PORT" expected').default(['127.0.0.1:5300'].map((s) => parseHostPort(s) as HostPort)),
    storage: z.string().min(1),
    zone: z
      .object({
        name: domainName(),
        soa: z
          .object({
            mname: domainName(),
            rname: domainName(),
            serial: u32.default(1),
            refresh: u32,
            retry: u32,
            expire: u32,
            minimum: u32,
            ttl: u32.default(3600),
          })
          .strict(),
        ns: z.array(domainName()).min(1, 'at least one name server expected'),
        nsTtl: u32.default(3600),
        records: z.array(recordText).default([]),
      })
      .strict(),
    tsig: z
      .array(
        z
          .object({
            name: domainName(),
            algorithm: z.enum(['hmac-sha256', 'hmac-sha512', 'hmac-sha384', 'hmac-sha224', 'hmac-sha1']),
            secret: base64Secret(16),
            allow: z.array(allowPattern).default([]),
            // The key's hosts sit behind this NTS router: their A records become its address.
            router: z.string().optional(),
            // Accept MACs truncated to this many octets (RFC 8945 5.2.2.1: at least 10 and half
            // the hash; the verifier raises a lower value to that). Default: full length only.
            minMacLength: z.number().int().min(10).max(64).optional(),
          })
          .strict(),
      )
      .default([]),
    tsigFudge: z.number().int().min(1).max(3600).default(300),
    routers: z
      .array(
        z
          .object({
            id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, "_", "-" or "."'),
            addresses: z.array(ipAddress).min(1),
            nts: hostPort,
            key: base64Secret(16),
          })
          .strict(),
      )
      .default([]),
    nts: z
      .object({
        // The NTS client socket; routers send REGISTER/KEEPALIVE here. Port 0: any free port.
        listen: listenHostPort.default({ host: '0.0.0.0', port: 0, family: 4 }),
        // The patience of a resolver that is neither configured (resolvers[]) nor recognised by
        // its fingerprint: the `unknown` profile's (docs/resolver-profiles.md).
        resolverPatienceMs: z.number().int().min(100).max(30_000).default(1800),
        marginMs: z.number().int().min(0).max(5_000).default(150),
        // A resolver's retries still in flight after a refusal are answered SERVFAIL without
        // asking the router again (resolvers cache that SERVFAIL for seconds anyway).
        refusalHoldMs: z.number().int().min(0).max(60_000).default(1000),
        // How long EN-side caches (browsers keep an address ~60 s) may still use an answer: added
        // to every lease. The default covers browsers (never the wrong host); 0 only where the
        // ENs are known not to cache (docs/leases.md), at the risk of a cache reaching another host.
        enCacheMs: z.number().int().min(0).max(600_000).default(60_000),
        // Recognise resolvers from their queries when resolvers[] says nothing about them.
        fingerprint: z.boolean().default(true),
        // Shortest IPv4 ECS source prefix that keys an RC (mode prefix) for ECS-trusting resolvers.
        ecsMinPrefix: z.number().int().min(1).max(32).default(16),
        // NTS requests one resolver address may have in flight (distinct names; retries join):
        // a flood from one source reaches the router as at most this many (issue 8).
        maxPendingPerResolver: z.number().int().min(1).max(100_000).default(32),
        // NTS requests in flight for all resolvers together: bounds the held answers and the
        // per-resolver table however many sources a flood uses (issue 8, bounded memory).
        maxPending: z.number().int().min(1).max(1_000_000).default(4096),
        // Who may cost a router an RC: a resolver that proved its address (TCP, or a valid DNS
        // server cookie over UDP); others get TC=1 or BADCOOKIE (docs/verification.md).
        verifySource: z.enum(['cookie-or-tcp', 'off']).default('cookie-or-tcp'),
      })
      .strict()
      .default({
        listen: { host: '0.0.0.0', port: 0, family: 4 }, resolverPatienceMs: 1800, marginMs: 150, refusalHoldMs: 1000,
        enCacheMs: 60_000, fingerprint: true, ecsMinPrefix: 16, maxPendingPerResolver: 32, maxPending: 4096,
        verifySource: 'cookie-or-tcp' as const,
      }),
    // DNS Cookies (RFC 7873, server cookies per RFC 9018). Without a secret a random one is made
    // at start: a restart invalidates every cookie (clients recover through BADCOOKIE or TCP).
    cookies: z
      .object({ secret: base64Secret(16, ' (exactly 16 octets, RFC 9018 SipHash-2-4 key)').refine((b) => b.length === 16, 'expected exactly 16 octets (RFC 9018 SipHash-2-4 key)').optional() })
      .strict()
      .prefault({}),
    // Response rate limiting of ordinary (non-NTS) UDP answers (docs/verification.md#rrl).
    rrl: z
      .object({
        // Knot's rrl module default; 0 turns limiting off (BIND's default).
        responsesPerSecond: z.number().int().min(0).max(1_000_000).default(20),
        slip: z.number().int().min(0).max(10).default(1),
        exempt: z.array(prefixText).default(['127.0.0.0/8', '::1/128'].map((s) => parsePrefix(s) as Prefix)),
        maxEntries: z.number().int().min(1).max(10_000_000).default(100_000),
        ipv4PrefixLength: z.number().int().min(1).max(32).default(24),
        ipv6PrefixLength: z.number().int().min(1).max(128).default(56),
      })
      .strict()
      .prefault({}),
    // The resolvers we know: their profile by source prefix, longest prefix wins.
    resolvers: z.array(resolverEntry).default([]).superRefine(resolversUnique),
    udp: z
      .object({
        // RFC 9715 / DNS flag day 2020: 1232 avoids IP fragmentation on the common paths.
        maxPayload: z.number().int().min(512).max(65535).default(1232),
      })
      .strict()
      .default({ maxPayload: 1232 }),
    tcp: z
      .object({
        idleTimeoutMs: z.number().int().min(100).max(3_600_000).default(10_000),
        maxConnections: z.number().int().min(1).max(100_000).default(256),
      })
      .strict()
      .default({ idleTimeoutMs: 10_000, maxConnections: 256 }),
    responseCache: z.number().int().min(0).max(1_000_000).default(10_000),
    metrics: metricsSection(),
    control: controlSection(),
  })
  .strict();

export type ServerConfig = z.output<typeof serverConfigSchema> & { file: string };

export function loadServerConfig(file: string): ServerConfig {
  const cfg = validate(file, serverConfigSchema, readYaml(file));
  // Relative storage paths are relative to the config file, so the service works from any cwd.
  const storage = relativeTo(file, cfg.storage);
  cfg.tsig.forEach((k, i) => {
    if (k.router !== undefined && !cfg.routers.some((r) => r.id === k.router)) {
      throw new ConfigError(file, `tsig[${i}].router`, `no router with id ${JSON.stringify(k.router)} in routers[]`);
    }
  });
  const zone = cfg.zone.name;
  cfg.zone.records.forEach((rr, i) => {
    if (!isSubdomain(rr.name, zone)) throw new ConfigError(file, `zone.records[${i}]`, `owner ${rr.name} is outside the zone ${zone}`);
  });
  const margin = cfg.nts.marginMs;
  if (cfg.nts.resolverPatienceMs - margin < 100) {
    throw new ConfigError(file, 'nts.resolverPatienceMs', `must exceed nts.marginMs (${margin}) by at least 100 ms`);
  }
  cfg.resolvers.forEach((r, i) => {
    const p = configuredProfile(r, cfg.nts);
    if (p.patienceMs - margin < 100) {
      const key = r.patienceMs !== undefined ? 'patienceMs' : typeof r.profile === 'object' ? 'profile.patienceMs' : 'profile';
      throw new ConfigError(file, `resolvers[${i}].${key}`, `patience ${p.patienceMs} ms must exceed nts.marginMs (${margin}) by at least 100 ms`);
    }
  });
  const control = cfg.control && { socket: relativeTo(file, cfg.control.socket) };
  return { ...cfg, storage, control, file };
}
