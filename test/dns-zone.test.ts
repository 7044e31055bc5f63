import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RRType } from '../src/dns/constants.js';
import { parseRecord } from '../src/dns/presentation.js';
import { decodeRdata, encodeRdata, rdataEqual, rdataKey } from '../src/dns/rdata-canonical.js';
import type { ResourceRecord } from '../src/dns/types.js';
import { Zone } from '../src/dns/zone.js';

const rr = (s: string): ResourceRecord => parseRecord(s);
const BASE = [
  'Example.COM. 3600 IN SOA ns1.example.com. hostmaster.example.com. 10 7200 900 1209600 300',
  'example.com. 3600 IN NS ns1.example.com.',
  'example.com. 3600 IN NS ns2.example.com.',
  'ns1.example.com. 300 IN A 192.0.2.1',
  'WWW.example.com. 300 IN A 192.0.2.10',
  'a.b.c.example.com. 300 IN TXT "deep"',
  'sub.example.com. 300 IN NS ns.sub.example.com.',
  'ns.sub.example.com. 300 IN A 192.0.2.53',
  'deeper.x.sub.example.com. 300 IN NS ns.elsewhere.net.',
  'alias.example.com. 300 IN CNAME www.example.com.',
];
const zone = (...extra: string[]): Zone => Zone.fromRecords('EXAMPLE.com', [...BASE, ...extra].map(rr));

test('origin, SOA, serial, class', () => {
  const z = zone();
  assert.equal(z.origin, 'example.com.');
  assert.equal(z.serial(), 10);
  assert.equal(z.soa().name, 'Example.COM.');
  assert.equal(z.zclass, 1);
  assert.equal(z.version, 0);
});

test('get is case-insensitive and returns the stored owner case', () => {
  const z = zone();
  const a = z.get('www.EXAMPLE.com', RRType.A);
  assert.equal(a.length, 1);
  assert.equal(a[0].name, 'WWW.example.com.');
  assert.deepEqual(z.get('www.example.com.', RRType.AAAA), []);
  assert.deepEqual(z.get('nope.example.com.', RRType.A), []);
  assert.equal(z.get('example.com.', RRType.ANY).length, 3);
  assert.deepEqual(z.typesAt('EXAMPLE.COM.').sort(), [RRType.NS, RRType.SOA]);
});

test('hasName, empty non-terminals, contains', () => {
  const z = zone();
  assert.ok(z.hasName('www.example.com.'));
  assert.ok(!z.hasName('b.c.example.com.'));
  assert.ok(z.isEmptyNonTerminal('b.c.example.com.'));
  assert.ok(z.isEmptyNonTerminal('C.example.com.'));
  assert.ok(!z.isEmptyNonTerminal('a.b.c.example.com.'), 'owns data');
  assert.ok(!z.isEmptyNonTerminal('zzz.example.com.'), 'does not exist at all');
  assert.ok(z.contains('example.com.') && z.contains('x.Example.Com.'));
  assert.ok(!z.contains('example.net.') && !z.contains('com.') && !z.contains('xexample.com.'));
});

test('removing the last RR below an ENT makes it vanish; adding restores it', () => {
  const z = zone();
  assert.ok(z.remove(rr('a.b.c.example.com. 0 IN TXT "deep"')));
  assert.ok(!z.isEmptyNonTerminal('b.c.example.com.'));
  assert.ok(!z.hasName('a.b.c.example.com.'));
  assert.ok(z.add(rr('x.c.example.com. 60 IN A 192.0.2.99')));
  assert.ok(z.isEmptyNonTerminal('c.example.com.'));
  assert.ok(!z.isEmptyNonTerminal('b.c.example.com.'));
});

test('an escaped dot is part of a label, not a separator', () => {
  const z = zone('a\\.b.example.com. 60 IN A 192.0.2.7');
  assert.ok(z.hasName('A\\.B.example.com.'));
  assert.ok(!z.isEmptyNonTerminal('b.example.com.'), 'b.example.com. is not an ancestor');
  assert.ok(!z.hasName('a.b.example.com.'));
});

test('findCut returns the highest delegation at or above the name, never the apex', () => {
  const z = zone();
  assert.equal(z.findCut('www.example.com.'), undefined);
  assert.equal(z.findCut('example.com.'), undefined);
  assert.equal(z.findCut('other.net.'), undefined);
  const cut = z.findCut('host.deeper.x.SUB.example.com.');
  assert.ok(cut);
  assert.equal(cut.length, 1);
  assert.equal(cut[0].name, 'sub.example.com.');
  assert.equal(z.findCut('sub.example.com.')?.[0].name, 'sub.example.com.');
});

test('all() lists every RR once, SOA first', () => {
  const z = zone();
  const all = z.all();
  assert.equal(all[0].type, RRType.SOA);
  assert.equal(all.length, BASE.length);
  assert.equal(all.filter((r) => r.type === RRType.SOA).length, 1);
});

test('duplicates collapse, comparing names in RDATA case-insensitively', () => {
  const z = zone('example.com. 3600 IN NS NS1.EXAMPLE.COM.', 'www.example.com. 300 IN A 192.0.2.10');
  assert.equal(z.get('example.com.', RRType.NS).length, 2);
  assert.equal(z.get('www.example.com.', RRType.A).length, 1);
  const v = z.version;
  assert.equal(z.add(rr('www.example.com. 300 IN A 192.0.2.10')), false);
  assert.equal(z.version, v, 'no change, no version bump');
});

test('TTL: loading keeps the first TTL of a set; adding sets the whole set to the new TTL', () => {
  const z = zone('www.example.com. 900 IN A 192.0.2.11');
  assert.deepEqual(z.get('www.example.com.', RRType.A).map((r) => r.ttl), [300, 300]);
  assert.ok(z.add(rr('www.example.com. 60 IN A 192.0.2.12')));
  assert.deepEqual(z.get('www.example.com.', RRType.A).map((r) => r.ttl), [60, 60, 60]);
  // A duplicate with another TTL still changes the set's TTL.
  assert.ok(z.add(rr('www.example.com. 120 IN A 192.0.2.12')));
  assert.deepEqual(z.get('www.example.com.', RRType.A).map((r) => r.ttl), [120, 120, 120]);
});

test('CNAME exclusivity: conflicting adds are ignored, CNAME replaces CNAME', () => {
  const z = zone();
  assert.equal(z.add(rr('www.example.com. 300 IN CNAME elsewhere.example.com.')), false);
  assert.equal(z.add(rr('alias.example.com. 300 IN A 192.0.2.1')), false);
  assert.deepEqual(z.typesAt('alias.example.com.'), [RRType.CNAME]);
  assert.ok(z.add(rr('alias.example.com. 300 IN CNAME ns1.example.com.')));
  const c = z.get('alias.example.com.', RRType.CNAME);
  assert.equal(c.length, 1);
  assert.equal(c[0].rdata.kind === 'CNAME' && c[0].rdata.target, 'ns1.example.com.');
  // DNSSEC records may sit beside a CNAME (RFC 4035 2.5).
  assert.ok(z.add(rr('alias.example.com. 300 IN TYPE46 \\# 1 00')));
});

test('SOA: add at the apex replaces it, elsewhere it is ignored, removal is refused', () => {
  const z = zone();
  assert.equal(z.add(rr('www.example.com. 300 IN SOA a. b. 99 1 1 1 1')), false);
  assert.ok(z.add(rr('example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 11 7200 900 1209600 300')));
  assert.equal(z.serial(), 11);
  assert.equal(z.get('example.com.', RRType.SOA).length, 1);
  assert.throws(() => z.remove(z.soa()), /SOA/);
});

test('add/remove: version bumps on change only; outside names and other classes throw', () => {
  const z = zone();
  assert.ok(z.add(rr('new.example.com. 60 IN AAAA 2001:db8::1')));
  assert.equal(z.version, 1);
  assert.equal(z.remove(rr('new.example.com. 0 IN AAAA 2001:DB8:0::2')), false);
  assert.equal(z.version, 1);
  assert.ok(z.remove(rr('NEW.example.com. 0 IN AAAA 2001:DB8:0:0::1')), 'RDATA compared as data, TTL ignored');
  assert.equal(z.version, 2);
  assert.ok(!z.hasName('new.example.com.'));
  assert.throws(() => z.add(rr('www.example.net. 60 IN A 192.0.2.1')), /outside/);
  assert.throws(() => z.add(rr('www.example.com. 60 CH A 192.0.2.1')), /class/);
});

test('records handed out are frozen', () => {
  const z = zone();
  const [a] = z.get('www.example.com.', RRType.A);
  assert.throws(() => { (a as { ttl: number }).ttl = 1; }, TypeError);
});

test('fromRecords rejects broken zones with a reason', () => {
  const soa = BASE[0];
  const ns = BASE[1];
  const bad = (why: RegExp, ...lines: (string | ResourceRecord)[]) =>
    assert.throws(() => Zone.fromRecords('example.com.', lines.map((l) => (typeof l === 'string' ? rr(l) : l))), why);
  bad(/no SOA/, ns);
  bad(/no NS/, soa);
  bad(/outside/, soa, ns, 'www.example.net. 60 IN A 192.0.2.1');
  bad(/class/, soa, ns, 'www.example.com. 60 CH A 192.0.2.1');
  bad(/SOA not at the zone apex/, soa, ns, 'www.example.com. 60 IN SOA a. b. 1 1 1 1 1');
  bad(/more than one SOA/, soa, ns, 'example.com. 3600 IN SOA x. y. 1 1 1 1 1');
  bad(/CNAME and other data/, soa, ns, 'w.example.com. 60 IN A 192.0.2.1', 'w.example.com. 60 IN CNAME x.example.com.');
  bad(/CNAME and other data/, soa, ns, 'w.example.com. 60 IN CNAME x.example.com.', 'w.example.com. 60 IN TXT "t"');
  bad(/more than one CNAME/, soa, ns, 'w.example.com. 60 IN CNAME x.example.com.', 'w.example.com. 60 IN CNAME y.example.com.');
  bad(/empty RDATA/, soa, ns, { ...rr('w.example.com. 60 IN A 192.0.2.1'), rdata: { kind: 'empty' } });
});

test('canonical RDATA: equal data gives equal keys whatever its spelling', () => {
  const eq = (a: string, b: string) => {
    const x = rr(a), y = rr(b);
    assert.ok(rdataEqual(x.type, x.rdata, y.rdata), `${a} == ${b}`);
  };
  eq('a. 0 IN AAAA 2001:DB8::0:1', 'a. 0 IN AAAA 2001:db8:0:0:0:0:0:1');
  eq('a. 0 IN AAAA ::ffff:192.0.2.1', 'a. 0 IN AAAA ::FFFF:c000:201');
  eq('a. 0 IN MX 10 Mail.Example.', 'a. 0 IN MX 10 mail.example.');
  eq('a. 0 IN SRV 1 2 3 T.example.', 'a. 0 IN SRV 1 2 3 t.EXAMPLE.');
  eq('a. 0 IN A 192.0.2.1', 'a. 0 IN A \\# 4 c0000201');
  eq('a. 0 IN NS x.', 'a. 0 IN NS \\# 3 01 58 00'); // "X." lowercased
  const txt1 = rr('a. 0 IN TXT "Hello"'), txt2 = rr('a. 0 IN TXT "hello"');
  assert.ok(!rdataEqual(RRType.TXT, txt1.rdata, txt2.rdata), 'TXT is case-sensitive');
  assert.notEqual(rdataKey(RRType.A, rr('a. 0 IN A 192.0.2.1').rdata), rdataKey(RRType.A, rr('a. 0 IN A 192.0.2.2').rdata));
  assert.throws(() => encodeRdata(RRType.A, { kind: 'NS', target: 'x.' }), /kind NS/);
});

test('RDATA storage form round-trips every known type, keeping case', () => {
  for (const s of [
    'a. 0 IN A 192.0.2.1', 'a. 0 IN AAAA 2001:db8::1', 'a. 0 IN NS Ns.Example.', 'a. 0 IN CNAME c.example.',
    'a. 0 IN PTR p.example.', 'a. 0 IN SOA M.example. r.example. 4294967295 1 2 3 4', 'a. 0 IN MX 5 mx.example.',
    'a. 0 IN TXT "one" "two" ""', 'a. 0 IN SRV 1 2 3 t.example.', 'a. 0 IN TYPE65280 \\# 3 010203',
    'a. 0 IN NS a\\.b.example.',
  ]) {
    const r = rr(s);
    const back = decodeRdata(r.type, encodeRdata(r.type, r.rdata));
    assert.deepEqual(back, r.rdata, s);
  }
  assert.deepEqual(decodeRdata(RRType.A, Buffer.from([1, 2, 3])), { kind: 'unknown', data: Buffer.from([1, 2, 3]) });
  assert.deepEqual(decodeRdata(RRType.A, Buffer.alloc(0)), { kind: 'empty' });
});
