// The NTS router's configuration (`ntss router --config FILE`): one YAML file, one schema,
// validated once at start; errors name the file and the key (load.ts).
import { isIP } from 'node:net';
import { z } from 'zod';
import { formatPortSpec, parsePortSpec } from '../dataplane/types.js';
import { parseService } from '../router/claims.js';
import { REPUTATION_DEFAULTS } from '../router/reputation.js';
import { parsePrefix, type Prefix } from '../server/prefix-table.js';
import { dashboardSection } from './dashboard-config.js';
import { readYaml, validate } from './load.js';
import { base64Secret, controlSection, domainName, hostPort, ipAddress, listenHostPort, metricsSection, ms, parsedBy, relativeTo } from './values.js';

const hostName = domainName({ absolute: false }); // a PHL entry is always absolute
const secret = base64Secret(16, " (e.g. \"openssl rand -base64 32\"), the same as the server's routers[].key");
const ip = ipAddress;

const portSpec = parsedBy(parsePortSpec);
const serviceSpec = parsedBy(parseService);

const userspace = z.object({
  type: z.literal('userspace'),
  ports: z.array(portSpec).min(1, 'at least one "tcp/PORT" or "udp/PORT" expected (userspace cannot listen on all ports)')
    .refine((ps) => new Set(ps.map(formatPortSpec)).size === ps.length, 'ports must be distinct'),
  udpIdleTimeoutMs: ms(1000, 86_400_000).default(30_000),
  proxyProtocol: z.boolean().default(false),
  lanAddress: ip.optional(),
}).strict();

// The kernel data plane (src/dataplane/nftables.ts); the interfaces are checked at start.
const ifName = (what: string) => z.string({ error: (i) => (i.input === undefined ? `required: the ${what} interface's name (see "ip link")` : undefined) })
  .regex(/^[A-Za-z0-9_.:@+-]{1,15}$/, 'expected a network interface name (1-15 letters, digits or "_.:@+-"; see "ip link")');
const nftables = z.object({
  type: z.literal('nftables'),
  wan: ifName('Internet-side'),
  lan: ifName('inside'),
  table: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'expected an nft table name (a letter, then up to 31 letters, digits or "_")').default('ntss'),
  // Moved: the scheduler decides stickies now (bounded by answer leases, docs/leases.md).
  stickyMs: z.unknown().refine((v) => v === undefined, 'moved to scheduler.stickyMs (the scheduler decides sticky entries now, bounded by answer leases: docs/leases.md)').optional(),
  safetyTimeoutMs: ms(1000, 86_400_000).optional(),
  localServices: z.array(portSpec).default([])
    .refine((ps) => new Set(ps.map(formatPortSpec)).size === ps.length, 'localServices must be distinct'),
  trustedInterfaces: z.array(ifName('trusted')).default([]),
  reconcileMs: ms(0, 3_600_000).default(60_000),
}).strict().refine((o) => o.wan !== o.lan, { path: ['lan'], message: 'lan must differ from wan' });

/** `type` defaults to userspace. */
const dataplane = z.preprocess(
  (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('type' in v) ? { ...v, type: 'userspace' } : v),
  z.discriminatedUnion('type', [userspace, nftables]),
);

export const ROUTER_SCHEDULER_DEFAULTS = {
  holdMs: 500,            // paper 3.5/4: the worst EN RTT (10-400 ms considered), plus margin
  rcTimeoutMs: 3000,      // READY -> EN's first packet: resolver relay + application start
  queueLimit: 250,        // paper 4: 5 s DNS timeout / 20 ms RTT
  serviceEstimateMs: 100, // paper 4 (slide): mu = 100 requests per 10 s
  safetyMarginMs: 100,    // time the NTSv2 server needs to turn a response into an answer
  serviceEwmaAlpha: 0.125,
  idMemoryMs: 60_000,
  stickyMs: 30_000,       // upper bound; a sticky entry also ends with the host's answer lease
  minRcTimeoutMs: 500,    // an unused RC of a resolver whose ENs connect fast ends this soon (issue 8)
} as const;

// Resolver reputation (docs/reputation.md): on by default in the daemon.
const r = REPUTATION_DEFAULTS;
const count = (dflt: number) => z.number().int().min(1).max(1_000_000).default(dflt);
const reputation = z.object({
  enabled: z.boolean().default(r.enabled),
  initialCredit: count(r.initialCredit),
  maxCredit: count(r.maxCredit),
  usedCredit: count(r.usedCredit),
  unusedCost: count(r.unusedCost),
  penaltyMs: ms(1, 86_400_000).default(r.penaltyMs),
  maxPenaltyMs: ms(1, 30 * 86_400_000).default(r.maxPenaltyMs),
  forgetMs: ms(1, 30 * 86_400_000).default(r.forgetMs),
  maxResolvers: count(r.maxResolvers),
  demandWindowMs: ms(1, 86_400_000).default(r.demandWindowMs),
  // Resolvers the operator vouches for (their ISP's, say): proven from the start, never penalised.
  trusted: z.array(parsedBy<Prefix>(parsePrefix)).default([]),
}).strict()
  .refine((v) => v.maxCredit >= v.initialCredit, { path: ['maxCredit'], message: 'must be at least initialCredit' })
  .refine((v) => v.maxPenaltyMs >= v.penaltyMs, { path: ['maxPenaltyMs'], message: 'must be at least penaltyMs' });

/**
 * The shortest hold the router takes without `scheduler.allowShortHold`. Shorter is the paper's
 * "RC deleted at the first packet": two ENs behind one (coalesced) answer send the second to the
 * next host's RC unless the server's answer leases bind the address (nts.enCacheMs, docs/leases.md;
 * bench/capacity: 30 of 160 lookups of a burst under hold 0 without leases).
 */
export const SAFE_HOLD_MS = 200;

const d = ROUTER_SCHEDULER_DEFAULTS;
const scheduler = z.object({
  holdMs: ms(0, 60_000).default(d.holdMs),
  rcTimeoutMs: ms(1, 600_000).default(d.rcTimeoutMs),
  queueLimit: z.number().int().min(0).max(100_000).default(d.queueLimit),
  // One resolver's share of the queue (fair queuing, issue 8); default: a quarter of queueLimit.
  resolverQueueLimit: z.number().int().min(1).max(100_000).optional(),
  serviceEstimateMs: ms(0, 60_000).default(d.serviceEstimateMs),
  safetyMarginMs: ms(0, 60_000).default(d.safetyMarginMs),
  serviceEwmaAlpha: z.number().gt(0).max(1).default(d.serviceEwmaAlpha),
  idMemoryMs: ms(0, 3_600_000).default(d.idMemoryMs),
  stickyMs: ms(0, 3_600_000).default(d.stickyMs),
  minRcTimeoutMs: ms(1, 600_000).default(d.minRcTimeoutMs),
  reputation: reputation.default(() => reputation.parse({})),
  // An experiment's switch (the paper's design, the capacity bench), never a deployment's.
  allowShortHold: z.boolean().default(false),
}).strict().refine((v) => v.holdMs >= SAFE_HOLD_MS || v.allowShortHold, {
  path: ['holdMs'],
  message: `below ${SAFE_HOLD_MS} ms a second EN behind the same answer can reach the next host's RC unless the NTSv2 server's answer leases bind the address (docs/leases.md); set scheduler.allowShortHold: true to run it anyway (experiments only)`,
});

// PHL learning from DNS UPDATE (src/routerd/update-proxy.ts): LAN traffic for the NTSv2 server's
// port 53 is redirected to `listen` and relayed to `server` (one fixed upstream per port).
const learning = z.object({
  listen: listenHostPort,
  server: hostPort,
  pendingTimeoutMs: ms(100, 600_000).default(10_000), // an update's answer after this is not learned from
  maxPending: z.number().int().min(1).max(1_000_000).default(4096),
  idleTimeoutMs: ms(1000, 3_600_000).default(30_000),
  maxClients: z.number().int().min(1).max(100_000).default(1024),
}).strict();

export const routerConfigSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, "_", "-" or "." (the NTS key id; the server\'s routers[].id)'),
  key: secret,
  nts: z.object({
    listen: listenHostPort,
    windowMs: ms(1000, 300_000).default(30_000),
    keepaliveIntervalMs: ms(1000, 3_600_000).default(30_000),
  }).strict(),
  server: hostPort.optional(),
  learning: learning.optional(),
  /** SQLite file for learned PHL entries; relative to the config file. None: not persisted. */
  storage: z.string().min(1).optional(),
  globalAddresses: z.array(z.string().refine((s) => isIP(s) === 4, {
    message: 'expected an IPv4 address (NTS answers are A records; IPv6 global addresses come later)',
  })).min(1, 'at least one global address expected')
    .refine((a) => new Set(a).size === a.length, 'addresses must be distinct'),
  // services: what the host serves ("tcp/22", "udp/5000-5100"); hosts with disjoint services
  // share a global address without waiting for each other. Omitted: everything.
  phl: z.array(z.object({ name: hostName, address: ip, services: z.array(serviceSpec).min(1, 'at least one service, or omit the key to serve all').optional() }).strict()).default([])
    .superRefine((entries, ctx) => {
      const seen = new Set<string>();
      entries.forEach((e, i) => {
        if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${e.name} is listed twice` });
        seen.add(e.name);
      });
    }),
  scheduler: scheduler.default(() => scheduler.parse({})),
  dataplane,
  metrics: metricsSection(),
  control: controlSection(),
  dashboard: dashboardSection(),
}).strict().superRefine((c, ctx) => {
  // A relay on the NTS port would swallow the NTS requests (dataplane.md, trap 3).
  const l = c.nts.listen;
  if (c.dataplane.type === 'nftables') {
    // The kernel's safety timeout must not remove an element while the scheduler's RC lives.
    const life = c.scheduler.rcTimeoutMs + c.scheduler.holdMs;
    const s = c.dataplane.safetyTimeoutMs;
    if (s !== undefined && s <= life) {
      ctx.addIssue({ code: 'custom', path: ['dataplane', 'safetyTimeoutMs'], message: `must exceed scheduler.rcTimeoutMs + scheduler.holdMs (${life} ms)` });
    }
    return;
  }
  if (c.dataplane.type !== 'userspace') return;
  c.dataplane.ports.forEach((p, i) => {
    const shared = l.host === '0.0.0.0' || l.host === '::' || c.globalAddresses.includes(l.host);
    if (p.proto === 'udp' && p.port === l.port && shared) {
      ctx.addIssue({ code: 'custom', path: ['dataplane', 'ports', i], message: `udp/${p.port} is the NTS port (nts.listen); choose another relay port` });
    }
  });
});

export type RouterConfig = z.output<typeof routerConfigSchema> & { file: string };
export type RouterDataPlaneConfig = RouterConfig['dataplane'];

export function loadRouterConfig(file: string): RouterConfig {
  const cfg = validate(file, routerConfigSchema, readYaml(file));
  // Like the server's: relative to the config file, so the service works from any cwd.
  const storage = cfg.storage === undefined ? undefined : relativeTo(file, cfg.storage);
  const control = cfg.control && { socket: relativeTo(file, cfg.control.socket) };
  return { ...cfg, storage, control, file };
}

/** For callers (tests, demo) that build the object in code: validates it like a file. */
export function parseRouterConfig(data: unknown, file = '(inline)'): RouterConfig {
  return { ...validate(file, routerConfigSchema, data), file };
}


/** The `scheduler` section with every default filled in (tests and programs building a config). */
export function schedulerSection(input: Partial<z.input<typeof scheduler>> = {}): RouterConfig['scheduler'] {
  return scheduler.parse(input);
}
