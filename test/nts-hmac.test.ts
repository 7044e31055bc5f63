// The NTS MAC with per-key precomputed states (nts/hmac.ts) is HMAC-SHA256 exactly, for keys
// shorter than, equal to and longer than the block, called again and again with one key; and
// message ids from the pool are 16 hex digits, distinct across pool refills.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { hmacSha256 } from '../src/nts/hmac.js';
import { randomMessageId } from '../src/nts/message-id.js';

test('hmacSha256 equals createHmac for every key length around the block size', () => {
  for (const n of [1, 16, 32, 63, 64, 65, 100, 200]) {
    const key = randomBytes(n);
    for (const m of [0, 1, 55, 56, 64, 113, 1000]) {
      const data = randomBytes(m);
      const want = createHmac('sha256', key).update(data).digest();
      assert.deepEqual(hmacSha256(key, data), want, `key ${n}, data ${m}`);
      assert.deepEqual(hmacSha256(key, data), want, `key ${n}, data ${m}, again (the cached states are copied, not used up)`);
    }
  }
});

test('hmacSha256: RFC 4231 test case 2', () => {
  const mac = hmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'));
  assert.equal(mac.toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('randomMessageId: 16 hex digits, no repeats across refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const id = randomMessageId();
    assert.match(id, /^[0-9a-f]{16}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 3000);
});
