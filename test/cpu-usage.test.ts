import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuBetween } from '../src/lab/cpu-usage.js';

test('cpuBetween: per component, largest first; idle and new-but-idle components left out; a new one counts whole', () => {
  const before = new Map([['router:ntss router', 100], ['router:nft', 40], ['inet:delay-line', 10]]);
  const after = new Map([['router:ntss router', 350], ['router:nft', 40], ['inet:delay-line', 70], ['router:conntrack', 20], ['resolver:unbound', 0]]);
  assert.deepEqual(Object.entries(cpuBetween(before, after)), [['router:ntss router', 250], ['inet:delay-line', 60], ['router:conntrack', 20]]);
});
