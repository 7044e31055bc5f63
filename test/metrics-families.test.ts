// The counter -> Prometheus family rules: every counter lands in the family its name says, with a
// label from the name, and the families' help and label names are consistent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROUTER_RULES, SERVER_RULES, samplesOf } from '../src/metrics/families.js';

const one = (rules: typeof SERVER_RULES, name: string) => samplesOf(rules, { [name]: 7 })[0];

test('server counters: outcomes, kinds and profiles become labels; the rest goes to events_total', () => {
  assert.deepEqual(one(SERVER_RULES, 'queries'), { metric: 'ntss_server_queries_total', labels: {}, value: 7 });
  assert.deepEqual(one(SERVER_RULES, 'updates_applied'), { metric: 'ntss_server_update_outcomes_total', labels: { outcome: 'applied' }, value: 7 });
  assert.deepEqual(one(SERVER_RULES, 'nts_ready')?.labels, { outcome: 'ready' });
  assert.deepEqual(one(SERVER_RULES, 'nts_profile_via_fingerprint'), { metric: 'ntss_server_nts_requests_by_profile_source_total', labels: { via: 'fingerprint' }, value: 7 });
  assert.deepEqual(one(SERVER_RULES, 'nts_profile_unbound'), { metric: 'ntss_server_nts_requests_by_profile_total', labels: { profile: 'unbound' }, value: 7 });
  assert.deepEqual(one(SERVER_RULES, 'nts_router_announcements'), { metric: 'ntss_server_events_total', labels: { event: 'nts_router_announcements' }, value: 7 });
  assert.deepEqual(one(SERVER_RULES, 'tsig_badtime')?.labels, { kind: 'badtime' });
  assert.deepEqual(one(SERVER_RULES, 'formerr'), { metric: 'ntss_server_events_total', labels: { event: 'formerr' }, value: 7 });
});

test('router counters: statuses and event types become labels; gauges in the snapshot are left out', () => {
  assert.deepEqual(one(ROUTER_RULES, 'respond.QUEUE_FULL'), { metric: 'ntss_router_responses_total', labels: { status: 'QUEUE_FULL' }, value: 7 });
  assert.deepEqual(one(ROUTER_RULES, 'event.rc-created')?.labels, { type: 'rc-created' });
  assert.deepEqual(one(ROUTER_RULES, 'nts.auth-failed')?.labels, { counter: 'auth-failed' });
  assert.deepEqual(one(ROUTER_RULES, 'announce.ack.ACCEPTED'), { metric: 'ntss_router_announcements_total', labels: { kind: 'ack.ACCEPTED' }, value: 7 });
  assert.equal(one(ROUTER_RULES, 'nts.state.requests'), undefined);
  assert.equal(one(ROUTER_RULES, 'state.failed-rcs'), undefined);
});

test('one family, one label name: two rules for the same metric never disagree', () => {
  for (const rules of [SERVER_RULES, ROUTER_RULES]) {
    const label = new Map<string, string | undefined>();
    for (const r of rules.filter((x) => x.metric !== '')) {
      if (label.has(r.metric)) assert.equal(r.label, label.get(r.metric), r.metric);
      label.set(r.metric, r.label);
      assert.match(r.metric, /^ntss_(server|router)_[a-z_]+_total$/);
    }
  }
});
