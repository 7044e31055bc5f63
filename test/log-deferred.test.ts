// The daemons' log writer (util/log.ts deferredWriter): the lines of one loop turn go out
// together after it, in order, each with the time it was made; flush() writes what is pending.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, deferredWriter } from '../src/util/log.js';

test('deferredWriter: one write per turn, after the turn, lines in order with their own times', async () => {
  const writes: string[] = [];
  const w = deferredWriter((t) => writes.push(t));
  let clock = 1_000;
  const log = createLogger({ format: 'json', write: w.write, now: () => new Date(clock++) });
  log.info('a', { n: 1 });
  log.info('b');
  assert.equal(writes.length, 0, 'nothing written during the turn');
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 1);
  const lines = writes[0]!.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.event, l.time]), [['a', new Date(1000).toISOString()], ['b', new Date(1001).toISOString()]]);
  assert.ok(writes[0]!.endsWith('\n'));
  log.info('c');
  log.warn('d'); // a warn or error goes out at once, with the lines before it
  assert.equal(writes.length, 2);
  assert.deepEqual(writes[1]!.trimEnd().split('\n').map((l) => JSON.parse(l).event), ['c', 'd']);
  w.flush();
  assert.equal(writes.length, 2, 'nothing left to flush');
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 2, 'a flushed turn writes nothing more');
});
