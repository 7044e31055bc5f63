// PROXY protocol v2 header: exact bytes (haproxy proxy-protocol.txt 2.2) and decoding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProxyV2, encodeProxyV2, PROXY_V2_SIGNATURE } from '../src/dataplane/index.js';

test('IPv4 TCP header: signature, 0x21, 0x11, length 12, addresses then ports', () => {
  const h = encodeProxyV2({ proto: 'tcp', src: '198.51.100.7', srcPort: 40000, dst: '203.0.113.2', dstPort: 80 });
  assert.equal(h.toString('hex'), PROXY_V2_SIGNATURE.toString('hex') + '2111000c' + 'c6336407' + 'cb007102' + '9c40' + '0050');
  assert.deepEqual(decodeProxyV2(Buffer.concat([h, Buffer.from('GET /')])), {
    kind: 'header', command: 'PROXY', length: 28,
    addresses: { proto: 'tcp', src: '198.51.100.7', srcPort: 40000, dst: '203.0.113.2', dstPort: 80 },
  });
});

test('IPv6 and mixed families: one family in the header (IPv4-mapped when mixed), UDP transport', () => {
  const h = encodeProxyV2({ proto: 'udp', src: '2001:db8::7', srcPort: 1, dst: '203.0.113.2', dstPort: 2 });
  assert.equal(h[13], 0x22);
  assert.equal(h.readUInt16BE(14), 36);
  const d = decodeProxyV2(h);
  assert.equal(d.kind === 'header' && d.addresses?.dst, '::ffff:203.0.113.2');
  // Node's dual-stack form of an IPv4 peer stays IPv4.
  const v4 = encodeProxyV2({ proto: 'tcp', src: '::ffff:198.51.100.7', srcPort: 1, dst: '203.0.113.2', dstPort: 2 });
  assert.equal(v4[13], 0x11);
});

test('partial input, other protocols and LOCAL', () => {
  const h = encodeProxyV2({ proto: 'tcp', src: '192.0.2.1', srcPort: 1, dst: '192.0.2.2', dstPort: 2 });
  for (let n = 0; n < h.length; n++) assert.deepEqual(decodeProxyV2(h.subarray(0, n)), { kind: 'incomplete' }, `cut at ${n}`);
  assert.deepEqual(decodeProxyV2(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'not-proxy' });
  const local = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  assert.deepEqual(decodeProxyV2(local), { kind: 'header', command: 'LOCAL', length: 16 });
  // TLVs after the address block are skipped by `length`.
  const withTlv = Buffer.from(h);
  withTlv.writeUInt16BE(12 + 4, 14);
  const d = decodeProxyV2(Buffer.concat([withTlv, Buffer.from([0x04, 0x00, 0x01, 0x00]), Buffer.from('x')]));
  assert.equal(d.kind === 'header' && d.length, 32);
});
