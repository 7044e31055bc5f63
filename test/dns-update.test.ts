import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Opcode, Rcode, RRClass, RRType, rcodeToString } from '../src/dns/constants.js';
import { parseRecord } from '../src/dns/presentation.js';
import { newMessage, type Question, type ResourceRecord } from '../src/dns/types.js';
import { applyChangeset, evaluateUpdate, nextSerial, serialGreater, type UpdateResult } from '../src/dns/update.js';
import { Zone } from '../src/dns/zone.js';

const rr = (s: string): ResourceRecord => parseRecord(s);
const ZONE_Q: Question = { name: 'example.com.', type: RRType.SOA, class: RRClass.IN };

function zone(serial = 100, ...extra: string[]): Zone {
  return Zone.fromRecords('example.com.', [
    `example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. ${serial} 7200 900 1209600 300`,
    'example.com. 3600 IN NS ns1.example.com.',
    'example.com. 3600 IN NS ns2.example.com.',
    'example.com. 3600 IN MX 10 mail.example.com.',
    'ns1.example.com. 300 IN A 192.0.2.1',
    'www.example.com. 300 IN A 192.0.2.10',
    'www.example.com. 300 IN A 192.0.2.11',
    'www.example.com. 300 IN TXT "web"',
    'alias.example.com. 300 IN CNAME www.example.com.',
    'leaf.ent.example.com. 300 IN A 192.0.2.20',
    ...extra,
  ].map(rr));
}

interface Opts { question?: Question[]; may?: (name: string) => boolean }

/** Evaluates, and applies on NOERROR with changes (as the server does after the store commit). */
function run(z: Zone, prereqs: string[], updates: (string | ResourceRecord)[], o: Opts = {}): UpdateResult {
  const msg = newMessage({
    opcode: Opcode.UPDATE,
    question: o.question ?? [ZONE_Q],
    answer: prereqs.map(rr),
    authority: updates.map((u) => (typeof u === 'string' ? rr(u) : u)),
  });
  const res = evaluateUpdate(z, msg, o.may ?? (() => true));
  if (res.changes) applyChangeset(z, res.changes);
  return res;
}

function expectRcode(res: UpdateResult, rcode: number): void {
  assert.equal(rcodeToString(res.rcode), rcodeToString(rcode), res.detail);
  if (rcode !== Rcode.NOERROR) assert.equal(res.changes, undefined);
}

/** A stable text picture of a zone, to prove "nothing changed". */
const snapshot = (z: Zone): string =>
  z.all().map((r) => `${r.name.toLowerCase()} ${r.ttl} ${r.type} ${JSON.stringify(r.rdata)}`).sort().join('\n');

const ADD_X = 'x.example.com. 60 IN A 192.0.2.99';

test('zone section: exactly one SOA question of the zone class, for our zone', () => {
  const z = zone();
  expectRcode(run(z, [], [ADD_X], { question: [] }), Rcode.FORMERR);
  expectRcode(run(z, [], [ADD_X], { question: [ZONE_Q, ZONE_Q] }), Rcode.FORMERR);
  expectRcode(run(z, [], [ADD_X], { question: [{ ...ZONE_Q, type: RRType.A }] }), Rcode.FORMERR);
  expectRcode(run(z, [], [ADD_X], { question: [{ ...ZONE_Q, class: RRClass.CH }] }), Rcode.FORMERR);
  expectRcode(run(z, [], [ADD_X], { question: [{ ...ZONE_Q, name: 'example.net.' }] }), Rcode.NOTAUTH);
  expectRcode(run(z, [], [ADD_X], { question: [{ ...ZONE_Q, name: 'sub.example.com.' }] }), Rcode.NOTAUTH);
  expectRcode(run(z, [], [ADD_X], { question: [{ ...ZONE_Q, name: 'EXAMPLE.COM' }] }), Rcode.NOERROR);
});

test('prerequisite: RRset exists (value-independent)', () => {
  const z = zone();
  expectRcode(run(z, ['WWW.example.com. 0 ANY A'], []), Rcode.NOERROR);
  expectRcode(run(z, ['www.example.com. 0 ANY AAAA'], []), Rcode.NXRRSET);
  expectRcode(run(z, ['nothing.example.com. 0 ANY A'], []), Rcode.NXRRSET);
});

test('prerequisite: RRset exists (value-dependent) compares whole RRsets, not TTLs', () => {
  const z = zone();
  const both = ['www.example.com. 0 IN A 192.0.2.11', 'WWW.example.com. 0 IN A 192.0.2.10'];
  expectRcode(run(z, both, []), Rcode.NOERROR);
  expectRcode(run(z, [...both, 'www.example.com. 0 IN A 192.0.2.10'], []), Rcode.NOERROR); // duplicates collapse
  expectRcode(run(z, [both[0]], []), Rcode.NXRRSET); // subset
  expectRcode(run(z, [...both, 'www.example.com. 0 IN A 192.0.2.12'], []), Rcode.NXRRSET); // superset
  expectRcode(run(z, ['nothing.example.com. 0 IN A 192.0.2.10'], []), Rcode.NXRRSET);
  expectRcode(run(z, ['example.com. 0 IN MX 10 MAIL.EXAMPLE.COM.'], []), Rcode.NOERROR); // names compare case-insensitively
  expectRcode(run(z, ['www.example.com. 0 IN TXT "WEB"'], []), Rcode.NXRRSET); // TXT does not
});

test('prerequisite: RRset does not exist', () => {
  const z = zone();
  expectRcode(run(z, ['www.example.com. 0 NONE AAAA'], []), Rcode.NOERROR);
  expectRcode(run(z, ['nothing.example.com. 0 NONE A'], []), Rcode.NOERROR);
  expectRcode(run(z, ['www.example.com. 0 NONE A'], []), Rcode.YXRRSET);
});

test('prerequisite: name is in use', () => {
  const z = zone();
  expectRcode(run(z, ['www.example.com. 0 ANY ANY'], []), Rcode.NOERROR);
  expectRcode(run(z, ['nothing.example.com. 0 ANY ANY'], []), Rcode.NXDOMAIN);
  expectRcode(run(z, ['ent.example.com. 0 ANY ANY'], []), Rcode.NXDOMAIN); // RFC 2136 2.4.4: ENTs are not in use
});

test('prerequisite: name is not in use', () => {
  const z = zone();
  expectRcode(run(z, ['nothing.example.com. 0 NONE ANY'], []), Rcode.NOERROR);
  expectRcode(run(z, ['ent.example.com. 0 NONE ANY'], []), Rcode.NOERROR);
  expectRcode(run(z, ['alias.example.com. 0 NONE ANY'], []), Rcode.YXDOMAIN);
});

test('prerequisite format errors and NOTZONE', () => {
  const z = zone();
  expectRcode(run(z, ['www.example.com. 5 ANY A'], []), Rcode.FORMERR); // TTL must be 0
  expectRcode(run(z, ['www.example.com. 5 IN A 192.0.2.10'], []), Rcode.FORMERR);
  expectRcode(run(z, ['www.example.net. 0 ANY A'], []), Rcode.NOTZONE);
  expectRcode(run(z, ['www.example.com. 0 ANY A 192.0.2.10'], []), Rcode.FORMERR); // RDATA where none belongs
  expectRcode(run(z, ['www.example.com. 0 NONE A 192.0.2.10'], []), Rcode.FORMERR);
  expectRcode(run(z, ['www.example.com. 0 CH A 192.0.2.10'], []), Rcode.FORMERR);
  expectRcode(run(z, ['www.example.com. 0 ANY AXFR'], []), Rcode.FORMERR);
  // TTL is checked before the zone (RFC 2136 3.2.5 order), and the first failing prerequisite decides.
  expectRcode(run(z, ['www.example.net. 1 ANY A'], []), Rcode.FORMERR);
  expectRcode(run(z, ['www.example.com. 0 NONE A', 'nothing.example.com. 0 ANY ANY'], []), Rcode.YXRRSET);
  expectRcode(run(z, ['nothing.example.com. 0 ANY ANY', 'www.example.com. 0 NONE A'], []), Rcode.NXDOMAIN);
});

test('a failing prerequisite changes nothing', () => {
  const z = zone();
  const before = snapshot(z);
  expectRcode(run(z, ['www.example.com. 0 ANY AAAA'], [ADD_X, 'www.example.com. 0 ANY A']), Rcode.NXRRSET);
  assert.equal(snapshot(z), before);
  assert.equal(z.version, 0);
});

test('prescan: NOTZONE and FORMERR for bad class/type/TTL/RDATA combinations, all-or-nothing', () => {
  const z = zone();
  const before = snapshot(z);
  const bad = (u: string | ResourceRecord, rcode: number = Rcode.FORMERR) => expectRcode(run(z, [], [ADD_X, u]), rcode);
  bad('www.example.net. 60 IN A 192.0.2.1', Rcode.NOTZONE);
  bad('www.example.com. 60 IN ANY \\# 0');
  bad('www.example.com. 60 IN AXFR \\# 0');
  bad('www.example.com. 60 IN TYPE253 \\# 0'); // MAILB
  bad('www.example.com. 60 IN TYPE254 \\# 0'); // MAILA
  bad('www.example.com. 60 IN TYPE250 \\# 0'); // TSIG
  bad({ ...rr('www.example.com. 60 IN A 192.0.2.1'), rdata: { kind: 'empty' } }); // A needs RDATA
  bad({ ...rr('www.example.com. 60 IN A 192.0.2.1'), rdata: { kind: 'unknown', data: Buffer.from([1, 2, 3]) } }); // malformed A
  bad('www.example.com. 60 ANY A'); // delete with TTL
  bad('www.example.com. 0 ANY A 192.0.2.10'); // RRset delete with RDATA
  bad('www.example.com. 0 ANY AXFR');
  bad('www.example.com. 60 NONE A 192.0.2.10'); // delete with TTL
  bad('www.example.com. 0 NONE ANY');
  bad('www.example.com. 0 NONE TYPE252');
  bad('www.example.com. 60 CH A 192.0.2.1');
  assert.equal(snapshot(z), before);
  assert.equal(z.serial(), 100);
});

test('permission: one refused name refuses the whole update, after prerequisites and prescan', () => {
  const z = zone();
  const before = snapshot(z);
  const asked: string[] = [];
  const may = (n: string) => { asked.push(n); return n.toLowerCase() !== 'www.example.com.'; };
  expectRcode(run(z, [], [ADD_X, 'WWW.example.com. 0 ANY A'], { may }), Rcode.REFUSED);
  assert.deepEqual(asked, ['x.example.com.', 'WWW.example.com.']);
  assert.equal(snapshot(z), before);
  // Prerequisite failures and format errors are reported before the policy is consulted.
  expectRcode(run(z, ['www.example.com. 0 NONE A'], ['www.example.com. 0 ANY A'], { may }), Rcode.YXRRSET);
  expectRcode(run(z, [], ['www.example.com. 0 ANY A', 'x.example.com. 5 ANY A'], { may }), Rcode.FORMERR);
  expectRcode(run(z, [], [ADD_X], { may }), Rcode.NOERROR);
});

test('add: new RR bumps the serial once and lands in the zone', () => {
  const z = zone();
  const res = run(z, ['x.example.com. 0 NONE ANY'], [ADD_X, 'x.example.com. 60 IN AAAA 2001:db8::99']);
  expectRcode(res, Rcode.NOERROR);
  assert.ok(res.changes);
  assert.equal(res.changes.adds.length, 2);
  assert.equal(res.changes.deletes.length, 0);
  assert.equal(res.changes.previousSerial, 100);
  assert.equal(z.serial(), 101);
  assert.equal(z.get('X.example.com.', RRType.A)[0].rdata.kind, 'A');
  assert.ok(z.version > 0);
});

test('add: duplicate is a no-op (no serial bump, no changeset); other TTL retimes the set', () => {
  const z = zone();
  const dup = run(z, [], ['www.example.com. 300 IN A 192.0.2.10', 'WWW.EXAMPLE.COM. 300 IN A 192.0.2.11']);
  expectRcode(dup, Rcode.NOERROR);
  assert.equal(dup.changes, undefined);
  assert.equal(z.serial(), 100);
  assert.equal(z.version, 0);
  const retime = run(z, [], ['www.example.com. 30 IN A 192.0.2.12']);
  assert.equal(retime.changes?.deletes.length, 2);
  assert.equal(retime.changes?.adds.length, 3);
  assert.deepEqual(z.get('www.example.com.', RRType.A).map((r) => r.ttl), [30, 30, 30]);
  assert.equal(z.serial(), 101);
});

test('add then delete in one update: nothing changed, no serial bump', () => {
  const z = zone();
  const res = run(z, [], [ADD_X, 'x.example.com. 0 NONE A 192.0.2.99']);
  expectRcode(res, Rcode.NOERROR);
  assert.equal(res.changes, undefined);
  assert.equal(z.serial(), 100);
});

test('\\# RDATA of a known type is stored in its typed form', () => {
  const z = zone();
  run(z, [], ['y.example.com. 60 IN A \\# 4 c0000207']);
  assert.deepEqual(z.get('y.example.com.', RRType.A)[0].rdata, { kind: 'A', address: '192.0.2.7' });
});

test('delete an RRset, all RRsets of a name, one RR', () => {
  const z = zone();
  expectRcode(run(z, [], ['www.example.com. 0 ANY A']), Rcode.NOERROR);
  assert.deepEqual(z.typesAt('www.example.com.'), [RRType.TXT]);
  assert.equal(z.serial(), 101);
  assert.equal(run(z, [], ['www.example.com. 0 ANY AAAA']).changes, undefined); // absent: no-op
  expectRcode(run(z, [], ['ns1.example.com. 0 NONE A 192.0.2.1']), Rcode.NOERROR);
  assert.ok(!z.hasName('ns1.example.com.'));
  assert.equal(run(z, [], ['www.example.com. 0 NONE TXT "nope"']).changes, undefined);
  expectRcode(run(z, [], ['leaf.ent.example.com. 0 ANY ANY', 'alias.example.com. 0 ANY ANY']), Rcode.NOERROR);
  assert.ok(!z.hasName('leaf.ent.example.com.') && !z.isEmptyNonTerminal('ent.example.com.'));
  assert.ok(!z.hasName('alias.example.com.'));
  assert.equal(z.serial(), 103);
});

test('apex: SOA and NS survive every delete form; the last NS stays', () => {
  const z = zone();
  expectRcode(run(z, [], ['example.com. 0 ANY ANY']), Rcode.NOERROR);
  assert.deepEqual(z.typesAt('example.com.').sort(), [RRType.NS, RRType.SOA]); // MX went
  assert.equal(z.serial(), 101);
  for (const u of ['example.com. 0 ANY NS', 'example.com. 0 ANY SOA', 'example.com. 0 NONE SOA ns1.example.com. hostmaster.example.com. 101 7200 900 1209600 300']) {
    const res = run(z, [], [u]);
    expectRcode(res, Rcode.NOERROR);
    assert.equal(res.changes, undefined, u);
  }
  const res = run(z, [], ['example.com. 0 NONE NS ns1.example.com.', 'example.com. 0 NONE NS NS2.example.com.']);
  assert.equal(res.changes?.deletes.length, 1);
  assert.deepEqual(z.get('example.com.', RRType.NS).map((r) => r.rdata.kind === 'NS' && r.rdata.target), ['ns2.example.com.']);
  // Replacing the NS set in one update works: add first, then delete the old one.
  run(z, [], ['example.com. 3600 IN NS ns3.example.com.', 'example.com. 0 NONE NS ns2.example.com.']);
  assert.deepEqual(z.get('example.com.', RRType.NS).map((r) => r.rdata.kind === 'NS' && r.rdata.target), ['ns3.example.com.']);
  // Below the apex NS sets (delegations) may be deleted entirely.
  run(z, [], ['sub.example.com. 300 IN NS ns.other.net.']);
  run(z, [], ['sub.example.com. 0 NONE NS ns.other.net.']);
  assert.ok(!z.hasName('sub.example.com.'));
});

test('SOA add: replaces only at the apex, only with a later serial, which is then used as is', () => {
  const z = zone();
  const soa = (serial: number, owner = 'example.com.', mname = 'ns1.example.com.') =>
    `${owner} 3600 IN SOA ${mname} hostmaster.example.com. ${serial} 7200 900 1209600 300`;
  for (const s of [100, 99, 100 + 0x80000001]) {
    const res = run(z, [], [soa(s, 'example.com.', 'other.example.com.')]);
    expectRcode(res, Rcode.NOERROR);
    assert.equal(res.changes, undefined, `serial ${s} is not later than 100`);
  }
  assert.equal(run(z, [], [soa(500, 'www.example.com.')]).changes, undefined);
  const res = run(z, [], [soa(200, 'example.com.', 'other.example.com.'), ADD_X]);
  assert.equal(res.changes?.soa.rdata.kind === 'SOA' && res.changes.soa.rdata.serial, 200);
  assert.equal(z.serial(), 200, 'no extra increment on top of an explicit serial');
  const rd = z.soa().rdata;
  assert.equal(rd.kind === 'SOA' && rd.mname, 'other.example.com.');
  assert.ok(z.hasName('x.example.com.'));
  // The only change being the SOA is still a change.
  const only = run(z, [], [soa(300)]);
  assert.ok(only.changes);
  assert.equal(z.serial(), 300);
});

test('serial arithmetic: increments wrap (skipping 0) and compare per RFC 1982', () => {
  assert.equal(nextSerial(5), 6);
  assert.equal(nextSerial(0xfffffffe), 0xffffffff);
  assert.equal(nextSerial(0xffffffff), 1);
  assert.ok(serialGreater(5, 0xfffffff0));
  assert.ok(!serialGreater(0xfffffff0, 5));
  assert.ok(!serialGreater(7, 7));
  assert.ok(!serialGreater(0x80000000, 0)); // exactly half way: undefined, not greater

  const z = zone(0xffffffff);
  run(z, [], [ADD_X]);
  assert.equal(z.serial(), 1);
  run(z, [], ['y.example.com. 60 IN A 192.0.2.98']);
  assert.equal(z.serial(), 2);
  // An explicit SOA whose serial wrapped past zero is later than 0xfffffff0.
  const w = zone(0xfffffff0);
  run(w, [], ['example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 5 7200 900 1209600 300']);
  assert.equal(w.serial(), 5);
});

test('CNAME rules: conflicting adds are silently ignored; sequence inside one update counts', () => {
  const z = zone();
  const a = run(z, [], ['www.example.com. 300 IN CNAME elsewhere.example.com.']);
  expectRcode(a, Rcode.NOERROR);
  assert.equal(a.changes, undefined);
  assert.equal(run(z, [], ['alias.example.com. 300 IN A 192.0.2.1']).changes, undefined);
  assert.deepEqual(z.typesAt('alias.example.com.'), [RRType.CNAME]);
  // CNAME replaces CNAME.
  run(z, [], ['alias.example.com. 300 IN CNAME ns1.example.com.']);
  const c = z.get('alias.example.com.', RRType.CNAME);
  assert.equal(c.length, 1);
  assert.equal(c[0].rdata.kind === 'CNAME' && c[0].rdata.target, 'ns1.example.com.');
  // Delete the data first, then the CNAME add is accepted (same update).
  run(z, [], ['www.example.com. 0 ANY ANY', 'www.example.com. 300 IN CNAME alias.example.com.']);
  assert.deepEqual(z.typesAt('www.example.com.'), [RRType.CNAME]);
  // CNAME at the apex conflicts with SOA/NS: ignored.
  assert.equal(run(z, [], ['example.com. 300 IN CNAME www.example.com.']).changes, undefined);
});

test('applyChangeset refuses a changeset computed against another version of the zone', () => {
  const z = zone();
  const msg = newMessage({ opcode: Opcode.UPDATE, question: [ZONE_Q], authority: [rr(ADD_X)] });
  const res = evaluateUpdate(z, msg, () => true);
  assert.ok(res.changes);
  z.add(rr('late.example.com. 60 IN A 192.0.2.5'));
  assert.throws(() => applyChangeset(z, res.changes!), /changed since/);
  assert.ok(!z.hasName('x.example.com.'));
});

test('evaluateUpdate is pure: the zone is untouched until applyChangeset', () => {
  const z = zone();
  const before = snapshot(z);
  const msg = newMessage({
    opcode: Opcode.UPDATE, question: [ZONE_Q],
    authority: ['www.example.com. 0 ANY ANY', 'example.com. 0 NONE NS ns1.example.com.', ADD_X, 'www.example.com. 5 IN A 192.0.2.10'].map(rr),
  });
  const res = evaluateUpdate(z, msg, () => true);
  assert.ok(res.changes);
  assert.equal(snapshot(z), before);
  assert.equal(z.version, 0);
  applyChangeset(z, res.changes);
  assert.equal(z.serial(), 101);
  assert.deepEqual(z.typesAt('www.example.com.'), [RRType.A]);
  assert.equal(z.get('example.com.', RRType.NS).length, 1);
});
