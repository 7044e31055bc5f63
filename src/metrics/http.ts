// The `/metrics` listener (`metrics.listen`): Prometheus text format over plain HTTP, nothing
// else. Unauthenticated by design, like node_exporter: bind it to loopback or a management network.
import http from 'node:http';
import type { Registry } from 'prom-client';
import { listenError } from '../dataplane/errors.js';
import { formatHostPort } from '../util/addr.js';
import { NtssError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface MetricsListener {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

export async function listenMetrics(at: { host: string; port: number }, reg: Registry, log: Logger): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: only /metrics is served\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    reg.metrics().then(
      (text) => res.writeHead(200, { 'content-type': reg.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: Error) => {
        log.error('metrics-error', { error: e.message });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
      },
    );
  });
  // A scraper that never finishes its request must not hold a socket forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new NtssError('METRICS_LISTEN', listenError(e, 'tcp', at.host, at.port, 'metrics.listen').message)));
    server.listen(at.port, at.host, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  log.info('metrics-listening', { listen: formatHostPort({ host: a.address, port: a.port }), path: '/metrics' });
  return {
    address: { host: a.address, port: a.port },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
