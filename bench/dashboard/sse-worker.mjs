// bench/dashboard's event-stream clients, in a worker thread (their parsing must not slow the
// load generator): K connections to /events that parse every event as the page does. Reports
// per delta item of kind `response` (client 0 only: all get the same deltas) the time from the
// item's `at` to its arrival, and for all clients the bytes and items received.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { port, k, token } = workerData;
const delivery = [];
let bytes = 0;
let items = 0;
let closed = 0;
let snapshots = 0;
const reqs = [];
for (let c = 0; c < k; c++) {
  const req = http.get({ host: '127.0.0.1', port, path: '/events', headers: { authorization: `Bearer ${token}` } }, (res) => {
    if (res.statusCode !== 200) {
      parentPort.postMessage({ error: `/events answered ${res.statusCode}` });
      return;
    }
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
      bytes += Buffer.byteLength(d);
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (\w+)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!ev || !data) continue;
        const m = JSON.parse(data);
        if (ev === 'snapshot' && ++snapshots === k) parentPort.postMessage({ ready: true });
        if (ev !== 'delta') continue;
        const now = Date.now();
        items += m.items.length;
        if (c === 0) for (const x of m.items) if (x.kind === 'response') delivery.push(now - x.at);
      }
    });
    res.on('close', () => closed++);
  });
  req.on('error', (e) => parentPort.postMessage({ error: e.message }));
  reqs.push(req);
}
parentPort.on('message', () => {
  const dropped = closed; // before we close them ourselves
  for (const r of reqs) r.destroy();
  parentPort.postMessage({ delivery, bytes, items, clients: k, closed: dropped });
  parentPort.close();
});
