// A small authoritative server on 127.0.0.1 for resolver tests: the project's own zone model
// and answering logic behind UDP and TCP on one port, recording every query it gets. `policy`
// can make it drop a query (silence), truncate it (TC=1 over UDP) or fail it.
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeMessage, encodeMessage } from '../../src/dns/codec.js';
import { Rcode } from '../../src/dns/constants.js';
import { parseRecord } from '../../src/dns/presentation.js';
import { newMessage, type Message, type Question } from '../../src/dns/types.js';
import { Zone } from '../../src/dns/zone.js';
import { answerQuestion } from '../../src/server/answer.js';
import { listenTracked } from '../../src/util/net.js';

export interface SeenQuery {
  name: string;
  type: number;
  transport: 'udp' | 'tcp';
  rd: boolean;
  edns: boolean;
}

export type Policy = 'answer' | 'drop' | 'truncate' | 'servfail' | 'refused';

export interface FakeUpstream {
  port: number;
  /** Every query, in arrival order. */
  queries: SeenQuery[];
  /** How many queries for this name (case-insensitive), of this type if given. */
  count(name: string, type?: number): number;
  /** "127.0.0.1:PORT", as the resolver config wants it. */
  address: string;
  close(): Promise<void>;
}

/** The zone the tests use: SOA TTL 3600, MINIMUM 60, so negative answers live 60 s. */
export const TEST_ZONE = [
  'example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60',
  'example.test. 3600 IN NS ns1.example.test.',
  'ns1.example.test. 3600 IN A 192.0.2.53',
  'www.example.test. 300 IN A 192.0.2.80',
  'www.example.test. 300 IN AAAA 2001:db8::80',
  'alias.example.test. 600 IN CNAME www.example.test.',
  'short.example.test. 2 IN A 192.0.2.2',
  'zero.example.test. 0 IN A 192.0.2.0',
];

export async function startFakeUpstream(records: string[] = TEST_ZONE, policy: (q: Question, transport: 'udp' | 'tcp') => Policy = () => 'answer'): Promise<FakeUpstream> {
  const zone = Zone.fromRecords('example.test.', records.map(parseRecord));
  const queries: SeenQuery[] = [];
  const respond = (raw: Buffer, transport: 'udp' | 'tcp'): Buffer | null => {
    let q: Message;
    try {
      q = decodeMessage(raw);
    } catch {
      return null;
    }
    const question = q.question[0];
    if (!question) return null;
    queries.push({ name: question.name, type: question.type, transport, rd: q.rd, edns: !!q.edns });
    const what = policy(question, transport);
    if (what === 'drop') return null;
    const res = newMessage({ id: q.id, qr: true, rd: q.rd, question: [question], edns: q.edns && { udpSize: 1232, version: 0, dnssecOk: false, flags: 0, options: [] } });
    if (what === 'servfail' || what === 'refused') res.rcode = what === 'servfail' ? Rcode.SERVFAIL : Rcode.REFUSED;
    else Object.assign(res, answerQuestion(zone, question));
    if (what === 'truncate') return encodeMessage({ ...res, tc: true, answer: [], authority: [], additional: [] });
    const max = transport === 'tcp' ? 65535 : Math.min(q.edns?.udpSize ?? 512, 1232);
    return encodeMessage(res, { maxSize: max });
  };
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve());
    });
    const port = udp.address().port;
    const conns = new Set<net.Socket>();
    const tcp = net.createServer((s) => {
      conns.add(s);
      s.on('close', () => conns.delete(s));
      s.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const out = respond(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (out) s.write(Buffer.concat([Buffer.from([out.length >> 8, out.length & 0xff]), out]));
        }
      });
    });
    try {
      await listenTracked(tcp, { host: '127.0.0.1', port }, conns);
    } catch (e) {
      udp.close();
      if (attempt < 5) continue; // the TCP port was taken: try another pair
      throw e;
    }
    udp.on('message', (raw, rinfo) => {
      const out = respond(raw, 'udp');
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
    return {
      port, queries, address: `127.0.0.1:${port}`,
      count: (name, type) => queries.filter((q) => q.name.toLowerCase() === name.toLowerCase() && (type === undefined || q.type === type)).length,
      close: () => Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]).then(() => undefined),
    };
  }
}
