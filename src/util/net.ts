// TCP listening the same way everywhere: bind (rejecting on error), and a close() that also
// ends the open connections, so shutdown never waits for an idle client.
import dns from 'node:dns';
import { isIP } from 'node:net';
import type net from 'node:net';

export async function listenTracked(server: net.Server, at: { host: string; port: number }, conns: Set<net.Socket>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: at.host, port: at.port, backlog: 511 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of conns) s.destroy();
    return close(cb);
  }) as typeof server.close;
}

/**
 * dgram's `lookup` for sockets whose peers are IP literals (configured as such, or a datagram's
 * source): skips dns.lookup and the process.nextTick it costs on every send. Anything else still
 * goes through dns.lookup.
 */
export function literalLookup(host: string, opts: dns.LookupOneOptions, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(host);
  if (family !== 0) cb(null, host, family);
  else dns.lookup(host, opts, cb);
}
