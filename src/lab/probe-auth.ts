// The probe authoritative (scenario `profile`): serves probe.example. on the server host's second
// address and logs every query as it arrived, so that a resolver's retry pattern, patience,
// SERVFAIL caching and passive fingerprint (EDNS size, DO, COOKIE, 0x20, qname minimisation, ECS)
// can be read off. What a name gets depends on the label right below the zone:
//   ttl0-*       A 203.0.113.99 with TTL 0 at once (AAAA: NODATA), also for names below it
//   hold<ms>-*   the same, but held: every query for the name and type is answered together,
//                <ms> after the first one arrived (as ntss server answers on READY)
//   delay<ms>-*  the same, each query answered <ms> after it arrived (a slow server: a lookup
//                that waited for it is told from one answered from the resolver's cache)
//   drop-*       never answered
//   servfail-*   SERVFAIL at once
//   node probe-auth.js --listen 192.0.2.54 --log FILE
import { appendFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { decodeMessage, encodeMessage } from '../dns/codec.js';
import { EdnsOptionCode, Rcode, RRType } from '../dns/constants.js';
import { findOption, parseClientSubnet } from '../dns/edns.js';
import { newMessage, type Message, type ResourceRecord } from '../dns/types.js';

const { values } = parseArgs({ options: { listen: { type: 'string' }, log: { type: 'string' }, zone: { type: 'string', default: 'probe.example.' } } });
const ZONE = values.zone!.toLowerCase();
const HERE = values.listen ?? '127.0.0.1';
const ANSWER = '203.0.113.99'; // documentation prefix; nobody connects to it
const wall = () => performance.timeOrigin + performance.now();
const log = (o: Record<string, unknown>) => {
  const line = JSON.stringify({ t: wall(), ...o });
  if (values.log) appendFileSync(values.log, line + '\n');
};

type Reply = (msg: Message) => void;
/** name|type -> held replies and when they go. */
const held = new Map<string, { replies: { q: Message; reply: Reply }[]; released: boolean }>();

const soa: ResourceRecord = {
  name: ZONE, type: RRType.SOA, class: 1, ttl: 0,
  rdata: { kind: 'SOA', mname: `ns.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 0 },
};

function response(q: Message, rcode: number, answer: ResourceRecord[] = [], authority: ResourceRecord[] = []): Message {
  // ECS is echoed with scope 0 (the answer is the same for every client).
  const ecs = findOption(q.edns, EdnsOptionCode.ECS);
  const options = ecs ? [{ code: ecs.code, data: Buffer.concat([ecs.data.subarray(0, 3), Buffer.from([0]), ecs.data.subarray(4)]) }] : [];
  return newMessage({
    id: q.id, qr: true, opcode: q.opcode, aa: true, rd: q.rd, cd: q.cd, rcode, question: q.question, answer, authority,
    edns: q.edns ? { udpSize: 1232, version: 0, dnssecOk: false, flags: 0, options } : undefined,
  });
}

function positive(q: Message): Message {
  const { name, type } = q.question[0];
  if (type === RRType.A) return response(q, Rcode.NOERROR, [{ name, type: RRType.A, class: 1, ttl: 0, rdata: { kind: 'A', address: ANSWER } }]);
  return response(q, Rcode.NOERROR, [], [soa]); // NODATA
}

function answer(q: Message, reply: Reply): void {
  const { name, type } = q.question[0];
  const lower = name.toLowerCase();
  if (lower !== ZONE && !lower.endsWith(`.${ZONE}`)) return reply(response(q, Rcode.REFUSED));
  if (lower === ZONE) {
    if (type === RRType.SOA) return reply(response(q, Rcode.NOERROR, [{ ...soa, name }]));
    if (type === RRType.NS) return reply(response(q, Rcode.NOERROR, [{ name, type: RRType.NS, class: 1, ttl: 3600, rdata: { kind: 'NS', target: `ns.${ZONE}` } }]));
    return reply(response(q, Rcode.NOERROR, [], [soa]));
  }
  const label = lower.slice(0, -ZONE.length - 1).split('.').pop()!;
  if (label === 'ns') {
    if (lower !== `ns.${ZONE}` || type !== RRType.A) return reply(response(q, Rcode.NOERROR, [], [soa]));
    return reply(response(q, Rcode.NOERROR, [{ name, type: RRType.A, class: 1, ttl: 3600, rdata: { kind: 'A', address: HERE } }]));
  }
  if (label.startsWith('ttl0-')) return reply(positive(q));
  if (label.startsWith('servfail-')) return reply(response(q, Rcode.SERVFAIL));
  if (label.startsWith('drop-')) return;
  const delay = /^delay(\d+)-/.exec(label);
  if (delay) {
    setTimeout(() => reply(positive(q)), Math.min(Number(delay[1]), 60_000));
    return;
  }
  const hold = /^hold(\d+)-/.exec(label);
  if (hold) {
    const key = `${lower}|${type}`;
    let h = held.get(key);
    if (h?.released) return reply(positive(q));
    if (!h) {
      const entry = { replies: [] as { q: Message; reply: Reply }[], released: false };
      held.set(key, entry);
      h = entry;
      setTimeout(() => {
        entry.released = true;
        for (const p of entry.replies) p.reply(positive(p.q));
        log({ event: 'released', qname: name, qtype: type, count: entry.replies.length });
      }, Math.min(Number(hold[1]), 60_000));
    }
    h.replies.push({ q, reply });
    return;
  }
  reply(response(q, Rcode.NXDOMAIN, [], [soa]));
}

/** Everything the authoritative can see of the resolver in one query. */
function fingerprint(q: Message): Record<string, unknown> {
  const e = q.edns;
  const ecs = findOption(e, EdnsOptionCode.ECS);
  let subnet: string | undefined;
  if (ecs) {
    try {
      const s = parseClientSubnet(ecs.data);
      subnet = `${s.address}/${s.sourcePrefix}`;
    } catch {
      subnet = 'malformed';
    }
  }
  return {
    id: q.id, qname: q.question[0]?.name, qtype: q.question[0]?.type, rd: q.rd, cd: q.cd, ad: q.ad,
    edns: e ? { udp: e.udpSize, do: e.dnssecOk, options: e.options.map((o) => o.code), cookie: e.options.some((o) => o.code === EdnsOptionCode.COOKIE), ecs: subnet } : null,
  };
}

function handle(raw: Buffer, src: string, port: number, proto: 'udp' | 'tcp', send: (b: Buffer) => void): void {
  let q: Message;
  try {
    q = decodeMessage(raw);
  } catch (e) {
    log({ event: 'malformed', proto, src, port, error: (e as Error).message });
    return;
  }
  if (q.qr || q.question.length !== 1) return;
  log({ event: 'query', proto, src, port, ...fingerprint(q) });
  answer(q, (m) => {
    try {
      send(encodeMessage(m, { maxSize: proto === 'udp' ? 1232 : 65535 }));
    } catch { /* socket gone */ }
  });
}

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, r) => handle(msg, r.address, r.port, 'udp', (b) => udp.send(b, r.port, r.address)));
udp.on('error', (e) => log({ event: 'error', error: e.message }));

const tcp = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('error', () => undefined);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      const m = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      handle(m, sock.remoteAddress ?? '?', sock.remotePort ?? 0, 'tcp', (b) => {
        const l = Buffer.alloc(2);
        l.writeUInt16BE(b.length);
        if (!sock.destroyed) sock.write(Buffer.concat([l, b]));
      });
    }
  });
});

udp.bind(53, HERE, () => tcp.listen(53, HERE, () => log({ event: 'listening', listen: HERE, zone: ZONE })));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
