import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
  family: 4 | 6;
}

/** "192.0.2.1:53" or "[2001:db8::1]:53". Returns an error string when malformed. Port 0 ("any
 *  free port") only where `listen` says so. */
export function parseHostPort(s: string, opts: { listen?: boolean } = {}): HostPort | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\[\]]+):(\d+)$/.exec(s);
  if (!m) return `expected "ADDRESS:PORT" (IPv6 as "[ADDRESS]:PORT"), got ${JSON.stringify(s)}`;
  const host = m[1];
  const port = Number(m[2]);
  const fam = isIP(host);
  if (fam === 0) return `expected an IP address before ":PORT", got ${JSON.stringify(host)}`;
  const min = opts.listen ? 0 : 1;
  if (!Number.isInteger(port) || port < min || port > 65535) return `port must be ${min}..65535, got ${m[2]}`;
  return { host, port, family: fam as 4 | 6 };
}

export function formatHostPort(hp: { host: string; port: number }): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
