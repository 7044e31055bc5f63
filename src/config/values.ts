// Value types shared by every config schema, each with a message that says what was expected.
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { canonicalName, nameToLabels } from '../dns/name.js';
import { parseHostPort, type HostPort } from '../util/addr.js';

const hostPortOf = (listen: boolean) => z.string().transform((s, ctx): HostPort => {
  const r = parseHostPort(s, { listen });
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

/** A peer: "ADDR:PORT" or "[v6]:PORT", port 1..65535. */
export const hostPort = hostPortOf(false);

/** Where to listen: as hostPort, and port 0 means any free port. */
export const listenHostPort = hostPortOf(true);

/** A domain name, returned canonical (lowercase, trailing dot). `absolute`: the dot is required. */
export const domainName = (opts: { absolute: boolean } = { absolute: true }) =>
  z.string().transform((s, ctx) => {
    if (opts.absolute && !s.endsWith('.')) {
      ctx.addIssue({ code: 'custom', message: `expected an absolute domain name ending in ".", got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    try {
      if (s === '' || (!opts.absolute && s === '.')) throw new Error('not a host name');
      nameToLabels(s);
      return canonicalName(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `invalid domain name ${JSON.stringify(s)}: ${(e as Error).message}` });
      return z.NEVER;
    }
  });

const PLACEHOLDER = Buffer.from('REPLACE-ME');

/** packaging/etc/ntss/*.yaml ship placeholders ("REPLACE-ME..."): a daemon must not run with a published secret. */
export function isPlaceholder(secret: Buffer): boolean {
  return secret.subarray(0, PLACEHOLDER.length).equals(PLACEHOLDER);
}

/** A base64 secret of at least minBytes octets, returned as bytes. */
export const base64Secret = (minBytes: number, hint = '') =>
  z.string().transform((s, ctx) => {
    const b = Buffer.from(s, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || b.length === 0) {
      ctx.addIssue({ code: 'custom', message: `expected a base64 secret of at least ${minBytes} octets${hint}` });
      return z.NEVER;
    }
    if (b.length < minBytes) {
      ctx.addIssue({ code: 'custom', message: `secret too short: ${b.length} bytes, at least ${minBytes} expected${hint}` });
      return z.NEVER;
    }
    if (isPlaceholder(b)) {
      ctx.addIssue({ code: 'custom', message: `still the example's placeholder secret: replace it with your own${hint || ' (e.g. "openssl rand -base64 32")'}` });
      return z.NEVER;
    }
    return b;
  });

export const ipAddress = z.string().refine((s) => isIP(s) !== 0, { message: 'expected an IPv4 or IPv6 address' });

/** `metrics:` in both daemons' configs: the Prometheus listener, off when absent (docs/operations.md). */
export const metricsSection = () => z.object({ listen: listenHostPort }).strict().optional();

/** `control:` in both daemons' configs: the `ntss status` Unix socket, off when absent. */
export const controlSection = () => z.object({ socket: z.string().min(1, 'expected a file path for the Unix socket') }).strict().optional();

/** A path in a config file: relative to the file, so the service works from any cwd. */
export function relativeTo(configFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(resolve(configFile)), path);
}

export const u32 = z.number().int().min(0).max(0xffffffff);

export const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** A string read by `parse`, which returns the value or an error message (the issue's text). */
export const parsedBy = <T>(parse: (s: string) => T | string) => z.string().transform((s, ctx): T => {
  const r = parse(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});
