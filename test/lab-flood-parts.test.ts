// The flood scenario's pure parts, without a lab: who got the RCs (rc-share.ts) from router log
// lines as routerd writes them, the attackers' sources, dnsperf's report, and bad parameters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FORGED_PORT, checkFloodSpec, isAttackerSource, parseDnsperf, type FloodSpec } from '../src/lab/flood.js';
import type { DaemonEvent } from '../src/lab/daemons.js';
import { rcShare } from '../src/lab/rc-share.js';
import { floodOptions } from '../src/lab/scenarios/flood.js';
import { createLogger } from '../src/util/log.js';

const T0 = Date.parse('2026-12-01T16:00:00.000Z');

test('rcShare: RCs and READYs by who asked, inside the window only', () => {
  let now = T0 - 1000;
  const lines: string[] = [];
  const l = createLogger({ format: 'json', now: () => new Date(now), write: (x) => lines.push(x) }, { svc: 'router' });
  const at = (ms: number) => { now = T0 + ms; };
  l.info('nts-request', { id: 1, fqdn: 'alice.home.example.', resolver: '198.51.100.53:40000' }); // before the window
  at(100); l.info('respond', { ids: '1', status: 'READY', rc: 1 }); // the good resolver's RC
  at(150); l.info('mapping-created', { mapping: 1, rc: 1 });
  at(200); l.info('nts-request', { id: 2, fqdn: 'bob.home.example.', resolver: '192.0.2.100:5300' });
  at(210); l.info('nts-request', { id: 3, fqdn: 'bob.home.example.', resolver: `198.51.100.53:${FORGED_PORT}` });
  at(220); l.info('respond', { ids: '2,3', status: 'READY', rc: 2 }); // attackers only: theirs
  at(300); l.info('nts-request', { id: 4, fqdn: 'bob.home.example.', resolver: '198.51.100.53:41000' });
  at(310); l.info('respond', { ids: '4', status: 'READY', rc: 2 }); // shared: counted as a READY, not a new RC
  at(400); l.info('nts-request', { id: 5, fqdn: 'carol.home.example.', resolver: '198.51.100.53:41001' });
  at(410); l.info('respond', { ids: '5', status: 'TOO_LATE', reason: 'x' });
  at(5000); l.info('respond', { ids: '2', status: 'READY', rc: 9 }); // after the window
  const s = rcShare(lines.map((x) => JSON.parse(x) as DaemonEvent), T0, T0 + 1000, isAttackerSource);
  assert.deepEqual(s, {
    rcs: 2, attackerRcs: 1, readies: 3, attackerReadies: 1, requests: 4, attackerRequests: 2, usedRcs: 1, goodRefusals: { TOO_LATE: 1 },
  });
});

test('isAttackerSource: attacker addresses and the forged ports, not the resolver itself', () => {
  assert.equal(isAttackerSource('192.0.2.100:1234'), true);
  assert.equal(isAttackerSource('192.0.2.109:1234'), true);
  assert.equal(isAttackerSource('192.0.2.110:1234'), false);
  assert.equal(isAttackerSource(`198.51.100.53:${FORGED_PORT + 9}`), true);
  assert.equal(isAttackerSource(`198.51.100.53:${FORGED_PORT + 10}`), false);
  assert.equal(isAttackerSource('198.51.100.53:33000'), false);
});

test('parseDnsperf: sent, completed, lost, response codes; a failed run says why', () => {
  const out = [
    'Statistics:', '', '  Queries sent:         3000', '  Queries completed:    2990 (99.67%)', '  Queries lost:         10 (0.33%)', '',
    '  Response codes:       NOERROR 1000 (33.44%), SERVFAIL 990 (33.11%), NXDOMAIN 1000 (33.44%)', '  Average packet size:  request 35, response 80',
  ].join('\n');
  assert.deepEqual(parseDnsperf('192.0.2.100', 0, out), { source: '192.0.2.100', code: 0, sent: 3000, completed: 2990, lost: 10, rcodes: 'NOERROR 1000, SERVFAIL 990, NXDOMAIN 1000' });
  const none = parseDnsperf('x', 0, '  Queries sent:         5\n  Queries completed:    0 (0.00%)\n  Queries lost:         5 (100.00%)\n\n  Average packet size:  request 35, response 0\n');
  assert.equal(none.rcodes, '');
  const bad = parseDnsperf('x', 1, 'Error: failed to bind 1.2.3.4\n');
  assert.match(bad.error ?? '', /failed to bind/);
});

test('checkFloodSpec: clear errors for what the lab cannot run', () => {
  const ok: FloodSpec = { rate: 300, attackers: 10, forged: false, transport: 'udp', seconds: 15 };
  checkFloodSpec(ok);
  checkFloodSpec({ ...ok, forged: true });
  const bad: Array<[Partial<FloodSpec>, RegExp]> = [
    [{ attackers: 11 }, /attackers must be 1\.\.10, got 11/],
    [{ attackers: 0 }, /attackers must be/],
    [{ rate: 5 }, /rate must be 10\.\.20000/],
    [{ rate: Number.NaN }, /rate must be/],
    [{ seconds: 0 }, /seconds must be 1\.\.300/],
    [{ transport: 'dot' as never }, /transport must be udp or tcp/],
    [{ forged: true, transport: 'tcp' }, /forged source cannot complete a TCP handshake/],
  ];
  for (const [change, re] of bad) assert.throws(() => checkFloodSpec({ ...ok, ...change }), (e: Error & { code?: string }) => re.test(e.message) && e.code === 'USAGE');
});

test('floodOptions: defaults, and a bad NTSS_LAB_FLOOD_* value named in the error', () => {
  assert.deepEqual(floodOptions({}), { rate: 300, attackers: 1, forged: false, transport: 'udp', seconds: 15, order: 'warm', warmS: 4 });
  assert.equal(floodOptions({ NTSS_LAB_FLOOD_FORGED: '1', NTSS_LAB_FLOOD_ORDER: 'attack-first' }).forged, true);
  assert.throws(() => floodOptions({ NTSS_LAB_FLOOD_ATTACKERS: 'ten' }), /attackers must be 1\.\.10, got NaN \(from NTSS_LAB_FLOOD_RATE/);
  assert.throws(() => floodOptions({ NTSS_LAB_FLOOD_TRANSPORT: 'tcp', NTSS_LAB_FLOOD_FORGED: 'yes' }), /forged source cannot complete a TCP handshake/);
  assert.throws(() => floodOptions({ NTSS_LAB_FLOOD_ORDER: 'later' }), /NTSS_LAB_FLOOD_ORDER must be warm or attack-first, got later/);
});
