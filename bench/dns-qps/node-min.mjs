#!/usr/bin/env node
// A minimal Node.js UDP responder for A queries: the ceiling that node:dgram
// allows on one core, to put ntss's number in perspective (run.sh --servers
// ...,node-min / node-min-naive). Not a DNS server: answers A for the names of
// the zone file with AA set, echoes the question, no EDNS, no NS/SOA logic.
//
// usage: node node-min.mjs <zonefile> <port> [fast|naive]
//   naive: sock.send(buf, port, addressString, callback)  (dns.lookup + nextTick per send)
//   fast:  createSocket({ lookup: synchronous }) and send without a callback
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const [zonefile, portArg, variant = 'fast'] = process.argv.slice(2);
const a = new Map(); // lower-case wire qname (latin1) -> 4-byte address
for (const line of readFileSync(zonefile, 'utf8').split('\n')) {
  const t = line.trim().split(/\s+/);
  const i = t.findIndex((x, k) => k > 0 && x.toUpperCase() === 'A');
  if (i < 0 || line.startsWith(';') || line.startsWith('$')) continue;
  const wire = Buffer.concat([
    ...t[0].replace(/\.$/, '').toLowerCase().split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
  a.set(wire.toString('latin1'), Buffer.from(t[i + 1].split('.').map(Number)));
}

const opts = { type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
if (variant === 'fast') opts.lookup = (host, _family, cb) => cb(null, host, 4);
const sock = dgram.createSocket(opts);

sock.on('message', (q, rinfo) => {
  if (q.length < 17 || q[2] & 0x80) return;
  // qname ends at the first zero label byte after offset 12
  let p = 12;
  while (p < q.length && q[p] !== 0) p += q[p] + 1;
  const qend = p + 5; // zero byte + type + class
  if (qend > q.length) return;
  const addr = a.get(q.toString('latin1', 12, p + 1).toLowerCase());
  const isA = q[p + 1] === 0 && q[p + 2] === 1;
  const out = Buffer.allocUnsafe(qend + (addr && isA ? 16 : 0));
  q.copy(out, 0, 0, qend);
  out[2] = 0x84 | (q[2] & 0x01); // QR AA (+RD copied)
  out[3] = addr ? 0 : 3; // NOERROR / NXDOMAIN
  out.writeUInt16BE(addr && isA ? 1 : 0, 6);
  out.writeUInt32BE(0, 8); // NS, AR
  if (addr && isA) {
    out.writeUInt16BE(0xc00c, qend);
    out.writeUInt16BE(1, qend + 2);
    out.writeUInt16BE(1, qend + 4);
    out.writeUInt32BE(300, qend + 6);
    out.writeUInt16BE(4, qend + 10);
    addr.copy(out, qend + 12);
  }
  if (variant === 'fast') sock.send(out, rinfo.port, rinfo.address);
  else sock.send(out, rinfo.port, rinfo.address, () => {});
});
sock.bind(Number(portArg), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
