import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeMessage, encodeMessage } from '../src/dns/codec.js';
import { RRClass, RRType } from '../src/dns/constants.js';
import { parseRecord, rdataToString, recordToString } from '../src/dns/presentation.js';
import { DnsEncodeError, newMessage, type ResourceRecord } from '../src/dns/types.js';
import { fixtureDir } from './helpers/fixtures.js';

const encErr = (f: () => unknown, re?: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof DnsEncodeError && (!re || re.test(e.message)), re ? String(re) : undefined);
const A = 'alice.home.example.';

test('owner, TTL and class in any of the usual layouts', () => {
  const want = { name: A, type: RRType.A, class: RRClass.IN, ttl: 300, rdata: { kind: 'A', address: '192.0.2.1' } };
  assert.deepEqual(parseRecord(`${A} 300 IN A 192.0.2.1`), want);
  assert.deepEqual(parseRecord(`${A} IN 300 A 192.0.2.1`), want);
  assert.deepEqual(parseRecord(`${A}\t300\tA\t192.0.2.1 ; comment`), want);
  assert.deepEqual(parseRecord(`${A} 5m IN A 192.0.2.1`), want);
  assert.deepEqual(parseRecord(`${A} a 192.0.2.1`), { ...want, ttl: 0 });
  assert.deepEqual(parseRecord(`Alice.Home.Example. 1h CH A 192.0.2.1`), { ...want, name: 'Alice.Home.Example.', class: RRClass.CH, ttl: 3600 });
  assert.deepEqual(parseRecord(`${A} 0 CLASS254 TYPE1 192.0.2.1`), { ...want, class: 254, ttl: 0 });
  // RFC 2136 forms: "ANY" is a class when a type follows, else the type.
  assert.deepEqual(parseRecord(`${A} 0 ANY A`), { name: A, type: RRType.A, class: RRClass.ANY, ttl: 0, rdata: { kind: 'empty' } });
  assert.deepEqual(parseRecord(`${A} ANY ANY`), { name: A, type: RRType.ANY, class: RRClass.ANY, ttl: 0, rdata: { kind: 'empty' } });
  assert.deepEqual(parseRecord(`${A} NONE ANY`), { name: A, type: RRType.ANY, class: RRClass.NONE, ttl: 0, rdata: { kind: 'empty' } });
  assert.deepEqual(parseRecord(`${A} ANY`), { name: A, type: RRType.ANY, class: RRClass.IN, ttl: 0, rdata: { kind: 'empty' } });
  assert.deepEqual(parseRecord(`${A} NONE A 192.0.2.1`), { ...want, class: RRClass.NONE, ttl: 0 });
  assert.equal(parseRecord(`. 0 IN NS a.root.`).name, '.');
  assert.equal(parseRecord(`odd\\.label\\032here.home.example. A 192.0.2.9`).name, 'odd\\.label\\032here.home.example.');
});

test('every type in its usual form', () => {
  const rd = (s: string) => parseRecord(`${A} 60 IN ${s}`).rdata;
  assert.deepEqual(rd('AAAA 2001:DB8:0:0::1'), { kind: 'AAAA', address: '2001:db8::1' });
  assert.deepEqual(rd('NS ns1.home.example.'), { kind: 'NS', target: 'ns1.home.example.' });
  assert.deepEqual(rd('CNAME Bob.home.example.'), { kind: 'CNAME', target: 'Bob.home.example.' });
  assert.deepEqual(rd('PTR alice.home.example.'), { kind: 'PTR', target: 'alice.home.example.' });
  assert.deepEqual(rd('SOA ns1.home.example. host\\.master.home.example. ( 2024010101 1h 15m 2w 60 )'),
    { kind: 'SOA', mname: 'ns1.home.example.', rname: 'host\\.master.home.example.', serial: 2024010101, refresh: 3600, retry: 900, expire: 1209600, minimum: 60 });
  assert.deepEqual(rd('MX 10 mail.home.example.'), { kind: 'MX', preference: 10, exchange: 'mail.home.example.' });
  assert.deepEqual(rd('SRV 10 60 5060 sip.home.example.'), { kind: 'SRV', priority: 10, weight: 60, port: 5060, target: 'sip.home.example.' });
  assert.deepEqual(rd('TXT "hello world" bare "q\\"uote;d" "back\\\\slash" "\\255\\000x" ""'), {
    kind: 'TXT', strings: ['hello world', 'bare', 'q"uote;d', 'back\\slash'].map((s) => Buffer.from(s)).concat([Buffer.from([255, 0, 0x78]), Buffer.alloc(0)]),
  });
  assert.deepEqual(rd('TXT "ünï"'), { kind: 'TXT', strings: [Buffer.from('ünï', 'utf8')] });
  assert.deepEqual(rd('TSIG hmac-sha256. 1700000000 300 4 AQIDBA== 4660 BADTIME 0'),
    { kind: 'TSIG', algorithm: 'hmac-sha256.', timeSigned: 1700000000, fudge: 300, mac: Buffer.from([1, 2, 3, 4]), originalId: 4660, error: 18, other: Buffer.alloc(0) });
});

test('RFC 3597 generic form', () => {
  const rd = (s: string) => parseRecord(`${A} 60 IN ${s}`).rdata;
  assert.deepEqual(rd('A \\# 4 c0000201'), { kind: 'A', address: '192.0.2.1' });
  assert.deepEqual(rd('TYPE1 \\# 4 C0 00 02 01'), { kind: 'A', address: '192.0.2.1' });
  assert.deepEqual(rd('TYPE65280 \\# 3 abcdef'), { kind: 'unknown', data: Buffer.from('abcdef', 'hex') });
  assert.deepEqual(rd('TYPE65280 \\# 0'), { kind: 'empty' });
  assert.deepEqual(rd('MX \\# 5 000a016100'), { kind: 'MX', preference: 10, exchange: 'a.' });
  encErr(() => rd('TYPE65280 \\# 3 abcd'), /3 octets/);
  encErr(() => rd('TYPE65280 \\# 2 abcg'), /octets of hex/);
  encErr(() => rd('A \\# 3 c00002'), /not valid A/);
  encErr(() => rd('MX \\# 4 000ac000'), /not valid MX/); // no compression outside a message
});

test('errors say what is wrong', () => {
  encErr(() => parseRecord('alice.home.example 300 IN A 192.0.2.1'), /not absolute/);
  encErr(() => parseRecord('alice.home.example\\. A 192.0.2.1'), /not absolute/);
  encErr(() => parseRecord(`${A} 300 IN CNAME bob`), /CNAME target "bob" is not absolute/);
  encErr(() => parseRecord(''), /missing owner/);
  encErr(() => parseRecord(`${A} 300 IN`), /missing type/);
  encErr(() => parseRecord(`${A} 300 IN BOGUS x`), /unknown type "BOGUS"/);
  encErr(() => parseRecord(`${A} 300 IN A 192.0.2.256`), /IPv4/);
  encErr(() => parseRecord(`${A} 300 IN A 192.0.2.1 192.0.2.2`), /trailing data/);
  encErr(() => parseRecord(`${A} 300 IN MX 10`), /MX exchange/);
  encErr(() => parseRecord(`${A} 300 IN MX 70000 a.`), /MX preference 70000 out of range/);
  encErr(() => parseRecord(`${A} 300 IN SRV 1 2 x a.`), /SRV port/);
  encErr(() => parseRecord(`${A} 300 IN SOA a. b. 1 2 3 4`), /SOA minimum/);
  encErr(() => parseRecord(`${A} 300 IN TXT "abc`), /unterminated/);
  encErr(() => parseRecord(`${A} 300 IN TXT "${'x'.repeat(256)}"`), /255/);
  encErr(() => parseRecord(`${A} 300 IN TXT "\\300"`), /escape/);
  encErr(() => parseRecord(`${A} 300 IN TYPE65280 abc`), /generic/);
  encErr(() => parseRecord(`${'x'.repeat(64)}.example. A 192.0.2.1`), /63/);
  encErr(() => parseRecord(`${A} 99999999999 IN A 192.0.2.1`), /unknown type "99999999999"/);
});

test('recordToString is dig-like and parses back', () => {
  const recs: ResourceRecord[] = [
    parseRecord(`${A} 300 IN A 192.0.2.1`),
    parseRecord(`${A} 300 IN AAAA 2001:db8::1`),
    parseRecord(`home.example. 300 IN NS ns1.home.example.`),
    parseRecord(`www.home.example. 300 IN CNAME alice.home.example.`),
    parseRecord(`x.home.example. 300 IN PTR alice.home.example.`),
    parseRecord(`home.example. 300 IN SOA ns1.home.example. hostmaster.home.example. 1 2 3 4 5`),
    parseRecord(`home.example. 300 IN MX 10 mail.home.example.`),
    parseRecord(`${A} 300 IN TXT "a \\"b\\" c" "\\\\" "\\007\\255" ""`),
    parseRecord(`_sip._udp.home.example. 300 IN SRV 10 60 5060 alice.home.example.`),
    parseRecord(`alice-key. 0 ANY TSIG hmac-sha256. 1700000000 300 2 AAE= 7 BADSIG 3 AQID`),
    parseRecord(`alice-key. 0 ANY TSIG hmac-sha256. 1700000000 300 0 7 0 0`),
    parseRecord(`${A} 300 IN TYPE65280 \\# 2 beef`),
    parseRecord(`${A} 0 NONE A`),
    parseRecord(`odd\\.label\\032here.home.example. 0 CLASS999 TYPE999 \\# 0`),
  ];
  assert.equal(recordToString(recs[0]), `${A}\t300\tIN\tA\t192.0.2.1`);
  assert.equal(recordToString(recs[7]), `${A}\t300\tIN\tTXT\t"a \\"b\\" c" "\\\\" "\\007\\255" ""`);
  assert.equal(recordToString(recs[9]), 'alice-key.\t0\tANY\tTSIG\thmac-sha256. 1700000000 300 2 AAE= 7 BADSIG 3 AQID');
  assert.equal(recordToString(recs[11]), `${A}\t300\tIN\tTYPE65280\t\\# 2 beef`);
  assert.equal(recordToString(recs[12]), `${A}\t0\tNONE\tA`);
  assert.equal(rdataToString(recs[5]), 'ns1.home.example. hostmaster.home.example. 1 2 3 4 5');
  for (const r of recs) assert.deepEqual(parseRecord(recordToString(r)), r, recordToString(r));
  // And through the wire.
  const m = decodeMessage(encodeMessage(newMessage({ answer: recs.slice(0, 9).concat(recs.slice(11)) })));
  assert.deepEqual(m.answer.map(recordToString), recs.slice(0, 9).concat(recs.slice(11)).map(recordToString));
});

test('rdataToString matches dig on captured nsd replies', () => {
  const dir = fixtureDir('wire');
  const first = (f: string) => decodeMessage(Buffer.from(fs.readFileSync(path.join(dir, f), 'utf8').trim(), 'hex')).answer[0];
  // The right-hand sides are what dig 9.18 printed for these replies.
  assert.equal(rdataToString(first('dig-txt.reply.hex')), '"hello world" "second \\"quoted\\" string" "semi;colon" "\\255\\000bin"');
  assert.equal(recordToString(first('dig-soa.reply.hex')), 'home.example.\t300\tIN\tSOA\tns1.home.example. hostmaster.home.example. 2024010101 3600 900 1209600 60');
  assert.equal(recordToString(first('dig-escaped.reply.hex')), 'odd\\.label\\032here.home.example.\t300\tIN\tA\t192.0.2.99');
  assert.equal(rdataToString(first('dig-unknown-type.reply.hex')), '\\# 4 deadbeef');
  assert.equal(rdataToString(first('dig-srv.reply.hex')), '10 60 5060 alice.home.example.');
  // Every record of every capture survives recordToString -> parseRecord.
  let n = 0;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.hex'))) {
    const m = decodeMessage(Buffer.from(fs.readFileSync(path.join(dir, f), 'utf8').trim(), 'hex'));
    for (const r of [...m.answer, ...m.authority, ...m.additional, ...(m.tsig ? [m.tsig.rr] : [])]) {
      assert.deepEqual(parseRecord(recordToString(r)), r, `${f}: ${recordToString(r)}`);
      n++;
    }
  }
  assert.ok(n > 400, `${n} records`);
});
