import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestClock } from '../src/routerd/request-clock.js';

test('RequestClock: the wait of each id once; bounded, the oldest forgotten first', () => {
  const c = new RequestClock(2);
  c.start('a', 100);
  c.start('b', 150);
  assert.equal(c.stop('a', 400), 300);
  assert.equal(c.stop('a', 500), undefined, 'once');
  c.start('c', 200);
  c.start('d', 210);
  assert.equal(c.size, 2);
  assert.equal(c.stop('b', 300), undefined, 'b, the oldest, was forgotten');
  assert.equal(c.stop('d', 260), 50);
});
