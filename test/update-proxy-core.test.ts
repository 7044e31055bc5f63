// The UPDATE snooper without sockets: which updates teach the PHL what, and when.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage } from '../src/dns/codec.js';
import { Opcode, RRClass, RRType, Rcode } from '../src/dns/constants.js';
import { parseRecord } from '../src/dns/presentation.js';
import { newMessage, type ResourceRecord } from '../src/dns/types.js';
import { parseRouterConfig } from '../src/config/router-config.js';
import { signMessage } from '../src/dns/tsig.js';
import { planUpdate, plainAddress, UpdateSnooper } from '../src/routerd/update-proxy-core.js';

const ZONE = 'home.example.';
const LAN = '192.168.50.10';
const empty = (name: string, type: number, cls: number): ResourceRecord => ({ name, type, class: cls, ttl: 0, rdata: { kind: 'empty' } });

function update(id: number, ...records: (string | ResourceRecord)[]) {
  return newMessage({
    id, opcode: Opcode.UPDATE,
    question: [{ name: ZONE, type: RRType.SOA, class: RRClass.IN }],
    authority: records.map((r) => (typeof r === 'string' ? parseRecord(r) : r)),
  });
}
const req = (id: number, ...records: (string | ResourceRecord)[]) => encodeMessage(update(id, ...records));
const res = (id: number, rcode: number = Rcode.NOERROR) => encodeMessage(newMessage({ id, qr: true, opcode: Opcode.UPDATE, rcode, question: [{ name: ZONE, type: RRType.SOA, class: RRClass.IN }] }));
const snooper = (over: Partial<{ pendingTimeoutMs: number; maxPending: number }> = {}) => new UpdateSnooper({ pendingTimeoutMs: 5000, maxPending: 100, ...over });

test('an A add is learned with the source address, not the rdata, only after NOERROR', () => {
  const s = snooper();
  s.request(0, 'udp/a', LAN, req(7, 'Alice.Home.Example. 60 IN A 203.0.113.2'));
  assert.equal(s.pendingCount, 1);
  const ch = s.response(5, 'udp/a', res(7));
  assert.deepEqual(ch, [{ kind: 'learn', fqdn: 'alice.home.example.', address: LAN, flow: 'udp/a', id: 7 }]);
  assert.equal(s.pendingCount, 0);
  assert.equal(s.counters.get('updates-confirmed'), 1);
});

test('refusals, other flows, other ids and late answers teach nothing', () => {
  const s = snooper();
  s.request(0, 'udp/a', LAN, req(1, 'alice.home.example. 60 IN A 192.168.50.10'));
  assert.deepEqual(s.response(1, 'udp/b', res(1)), [], 'same id, other client');
  assert.deepEqual(s.response(1, 'udp/a', res(2)), [], 'same client, other id');
  assert.deepEqual(s.response(1, 'udp/a', res(1, Rcode.NOTAUTH)), []);
  assert.equal(s.counters.get('updates-refused'), 1);
  assert.deepEqual(s.response(2, 'udp/a', res(1)), [], 'the refusal consumed the pending entry');
  s.request(10, 'udp/a', LAN, req(3, 'alice.home.example. 60 IN A 192.168.50.10'));
  assert.deepEqual(s.response(5011, 'udp/a', res(3)), [], 'after pendingTimeoutMs');
  assert.equal(s.counters.get('pending-expired'), 1);
});

test('delete-only forgets; delete + add replaces; other types and classes are ignored', () => {
  const p = (...rrs: (string | ResourceRecord)[]) => planUpdate(update(1, ...rrs));
  assert.deepEqual(p(empty('a.home.example.', RRType.A, RRClass.ANY)), { learn: [], forget: ['a.home.example.'] });
  assert.deepEqual(p(empty('a.home.example.', RRType.ANY, RRClass.ANY)), { learn: [], forget: ['a.home.example.'] });
  assert.deepEqual(p({ ...parseRecord('a.home.example. 0 IN A 192.0.2.1'), class: RRClass.NONE }), { learn: [], forget: ['a.home.example.'] });
  assert.deepEqual(p(empty('a.home.example.', RRType.A, RRClass.ANY), 'a.home.example. 60 IN A 192.0.2.1'), { learn: ['a.home.example.'], forget: [] });
  assert.deepEqual(p('a.home.example. 60 IN AAAA 2001:db8::1', 'a.home.example. 60 IN TXT "x"', empty('a.home.example.', RRType.TXT, RRClass.ANY)), { learn: [], forget: [] });
  assert.deepEqual(p('a.home.example. 60 IN A 192.0.2.1', 'b.home.example. 60 IN A 192.0.2.2'), { learn: ['a.home.example.', 'b.home.example.'], forget: [] });
  const chaos = update(1, 'a.home.example. 60 IN A 192.0.2.1');
  chaos.question[0].class = RRClass.CH;
  assert.deepEqual(planUpdate(chaos), { learn: [], forget: [] });

  const s = snooper();
  s.request(0, 'tcp#1', LAN, req(9, empty('gone.home.example.', RRType.A, RRClass.ANY)));
  assert.deepEqual(s.response(1, 'tcp#1', res(9)), [{ kind: 'forget', fqdn: 'gone.home.example.', address: LAN, flow: 'tcp#1', id: 9 }]);
});

test('queries, malformed messages and updates without A are counted, nothing pending', () => {
  const s = snooper();
  s.request(0, 'f', LAN, encodeMessage(newMessage({ id: 1, question: [{ name: ZONE, type: RRType.SOA, class: RRClass.IN }] })));
  s.request(0, 'f', LAN, Buffer.from('short'));
  const bad = Buffer.from(req(2, 'a.home.example. 60 IN A 192.0.2.1'));
  bad.writeUInt16BE(40, 8); // NSCOUNT beyond the message
  s.request(0, 'f', LAN, bad);
  s.request(0, 'f', LAN, req(3, 'a.home.example. 60 IN TXT "only"'));
  assert.equal(s.pendingCount, 0);
  assert.deepEqual([s.counters.get('queries'), s.counters.get('malformed'), s.counters.get('updates-without-a')], [1, 2, 1]);
  assert.deepEqual(s.response(0, 'f', res(2)), []);
});

test('pending state is bounded: the oldest goes; a retransmission refreshes its entry', () => {
  const s = snooper({ maxPending: 2 });
  s.request(0, 'f', LAN, req(1, 'a.home.example. 60 IN A 192.0.2.1'));
  s.request(1, 'f', LAN, req(2, 'b.home.example. 60 IN A 192.0.2.1'));
  s.request(2, 'f', LAN, req(1, 'a.home.example. 60 IN A 192.0.2.1')); // retransmission: now the youngest
  s.request(3, 'f', LAN, req(3, 'c.home.example. 60 IN A 192.0.2.1')); // evicts id 2
  assert.equal(s.counters.get('pending-evicted'), 1);
  assert.deepEqual(s.response(4, 'f', res(2)), []);
  assert.equal(s.response(4, 'f', res(1))[0].fqdn, 'a.home.example.');
  assert.equal(s.response(4, 'f', res(3))[0].fqdn, 'c.home.example.');
});

test('a signed update replayed from another address teaches nothing; a retransmission does', () => {
  const s = snooper();
  const key = { name: 'k.', algorithm: 'hmac-sha256' as const, secret: Buffer.alloc(32, 3) };
  const signed = signMessage(req(5, 'alice.home.example. 60 IN A 192.0.2.1'), key, { nowSeconds: 1000, fudge: 300 }).message;
  s.request(0, 'udp/alice', LAN, signed);
  s.request(10, 'udp/alice', LAN, signed); // nsupdate's UDP retry: same bytes, same host
  s.request(20, 'udp/mallory', '192.168.50.66', signed);
  assert.equal(s.counters.get('replays'), 1);
  assert.deepEqual(s.response(30, 'udp/mallory', res(5)), []);
  assert.equal(s.response(30, 'udp/alice', res(5))[0].address, LAN);
  s.request(600_001, 'udp/mallory2', '192.168.50.66', signed); // after 2 x fudge: forgotten (the server refuses it by then)
  assert.equal(s.counters.get('replays'), 1);
  assert.equal(s.pendingCount, 1);
});

test('a v4-mapped source is learned as plain IPv4', () => {
  assert.equal(plainAddress('::ffff:192.168.50.10'), '192.168.50.10');
  assert.equal(plainAddress('2001:db8::1'), '2001:db8::1');
});

test('config: learning and storage keys', () => {
  const base = {
    id: 'gw1', key: Buffer.alloc(32, 1).toString('base64'), nts: { listen: '127.0.0.1:5300' },
    globalAddresses: ['127.0.0.2'], dataplane: { ports: ['tcp/8080'] },
  };
  const c = parseRouterConfig({ ...base, learning: { listen: '192.168.50.1:5353', server: '198.51.100.53:53' }, storage: './var/router.db' });
  assert.deepEqual(c.learning, {
    listen: { host: '192.168.50.1', port: 5353, family: 4 }, server: { host: '198.51.100.53', port: 53, family: 4 },
    pendingTimeoutMs: 10_000, maxPending: 4096, idleTimeoutMs: 30_000, maxClients: 1024,
  });
  assert.equal(c.storage, './var/router.db');
  assert.equal(parseRouterConfig(base).learning, undefined);
  assert.throws(() => parseRouterConfig({ ...base, learning: { listen: '192.168.50.1:5353' } }), /learning\.server/);
  assert.throws(() => parseRouterConfig({ ...base, learning: { listen: 'x:1', server: '198.51.100.53:53' } }), /learning\.listen/);
  assert.throws(() => parseRouterConfig({ ...base, learning: { listen: '192.168.50.1:5353', server: '198.51.100.53:53', extra: 1 } }), /extra/);
});
