// The fault scenarios' log audit (src/lab/scenarios/fault-audit.ts) on hand-made event lists:
// it must flag what the lab tests rely on it to flag, so that their "0 duplicates, 0 left
// queued" can fail at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DaemonEvent } from '../src/lab/daemons.js';
import { auditRouter, auditServer } from '../src/lab/scenarios/fault-audit.js';

const ev = (event: string, f: Record<string, unknown> = {}): DaemonEvent => ({ time: '', level: 'info', event, ...f });
const req = (id: string) => ev('nts-request', { id, fqdn: 'alice.home.example.' });
const ready = (ids: string, rc: number) => ev('respond', { ids, status: 'READY', rc });

test('audit: a clean run has no duplicates and nothing unanswered', () => {
  const a = auditRouter([ev('phl-loaded'), req('gw1 a'), ev('rc-created', { rc: 1 }), ready('gw1 a', 1), req('gw1 b'), ev('request-joined'), ready('gw1 b', 1)]);
  assert.deepEqual(a, { requests: 2, rcsCreated: 1, ready: 2, duplicates: [], unanswered: [] });
});

test('audit: a retransmission that reached the scheduler, a second RESPONSE, two RCs for one id', () => {
  assert.equal(auditRouter([req('gw1 a'), req('gw1 a'), ready('gw1 a', 1)]).duplicates.length, 1);
  assert.equal(auditRouter([req('gw1 a'), ready('gw1 a', 1), ready('gw1 a', 1)]).duplicates.length, 1);
  assert.equal(auditRouter([req('gw1 a'), ready('gw1 a', 1), ready('gw1 a', 2)]).duplicates.length, 1);
  // Joined ids in one respond line ("gw1 a,gw1 b") count for each.
  assert.equal(auditRouter([req('gw1 a'), req('gw1 b'), ready('gw1 a,gw1 b', 1), ready('gw1 b', 2)]).duplicates.length, 1);
});

test('audit: per router run; only the last run can leave a request queued', () => {
  // Killed with "gw1 a" unanswered (a run starts where the PHL is loaded, before any request); the server retransmits it to the new run, which answers.
  const a = auditRouter([ev('phl-loaded'), req('gw1 a'), ev('phl-loaded'), req('gw1 a'), ev('respond', { ids: 'gw1 a', status: 'TOO_LATE' })]);
  assert.deepEqual(a.duplicates, []);
  assert.deepEqual(a.unanswered, []);
  assert.deepEqual(auditRouter([ev('phl-loaded'), req('gw1 a'), ready('gw1 a', 1), req('gw1 b')]).unanswered, ['gw1 b']);
});

test('audit: the server side counts open NTS requests per server run', () => {
  const s = auditServer([ev('zone-loaded'), ev('nts-request'), ev('nts-ready'), ev('nts-request'), ev('nts-failed', { status: 'TIMEOUT' }), ev('nts-request')]);
  assert.deepEqual(s, { requests: 3, ready: 1, failed: 1, pending: 1, failures: { TIMEOUT: 1 } });
  assert.equal(auditServer([ev('zone-loaded'), ev('nts-request'), ev('zone-loaded'), ev('nts-request'), ev('nts-ready')]).pending, 0);
});
