// Connection setup rate: many short TCP connections in a bounded time. Runs inside the lab.
//   node connrate.mjs server --port 5202 [--host 0.0.0.0]
//       accepts, writes one byte, ends (the server closes first: the TIME_WAIT stays on the IN,
//       the EN's ports are free again at once); prints "listening" when ready.
//   node connrate.mjs client --host GA --port 5202 [--seconds 3] [--concurrency 8]
//       keeps `concurrency` connections in flight for `seconds`; each must deliver that byte and
//       end cleanly to count. Prints one JSON line: { ok, failed, errors, seconds, perSecond }.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string' }, port: { type: 'string', default: '5202' },
    seconds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '8' },
  },
});
const mode = positionals[0];
const port = Number(values.port);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
if (!['server', 'client'].includes(mode) || !(port > 0 && port < 65536) || !(seconds > 0 && seconds <= 120) || !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 256)) {
  console.error('usage: connrate.mjs server|client --port 1..65535 [--host H] [--seconds 0<S<=120] [--concurrency 1..256]');
  process.exit(2);
}
/** A connection that neither finishes nor fails within this long counts as failed (timeout). */
const CONNECTION_TIMEOUT_MS = 2000;

if (mode === 'server') {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.end('x');
  });
  server.listen({ host: values.host ?? '0.0.0.0', port, backlog: 1024 }, () => console.log('listening'));
} else {
  if (!values.host) {
    console.error('connrate client: --host is required');
    process.exit(2);
  }
  const errors = {};
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let inFlight = 0;
  let end;
  const finished = new Promise((r) => (end = r));
  const one = () => {
    if (performance.now() >= deadline) {
      if (inFlight === 0) end();
      return;
    }
    inFlight++;
    let got = false;
    let failure;
    const s = net.connect({ host: values.host, port });
    s.setTimeout(CONNECTION_TIMEOUT_MS, () => s.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    s.on('data', () => (got = true));
    s.on('end', () => s.end());
    s.on('error', (e) => (failure = e.code ?? e.message));
    s.on('close', () => {
      inFlight--;
      if (got && !failure) ok++;
      else {
        failed++;
        const k = failure ?? 'no-data';
        errors[k] = (errors[k] ?? 0) + 1;
      }
      one();
    });
  };
  for (let i = 0; i < concurrency; i++) one();
  await finished;
  const elapsed = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ ok, failed, errors, seconds: elapsed, perSecond: ok / elapsed }));
}
