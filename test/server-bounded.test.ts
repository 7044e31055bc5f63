// Bounded memory on the query path (issue 8): a flood of 200,000 distinct sources and names
// through the handler core, and every per-source or per-name table stays under its bound, with
// a counter when something had to go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fingerprinter } from '../src/server/fingerprint.js';
import { parsePrefix, type Prefix } from '../src/server/prefix-table.js';
import { ResolverProfiles } from '../src/server/resolver-profiles.js';
import { ResponseRateLimiter } from '../src/server/rrl.js';
import { query, rig, udp } from './helpers/handler-rig.js';

const FLOOD = 200_000;
const BOUND = { rrl: 5_000, fingerprint: 2_000, cache: 1_000, pending: 500, refused: 10_000 };

test(`a flood of ${FLOOD.toLocaleString('en')} distinct sources and names: every table stays under its bound`, async () => {
  const fingerprint = new Fingerprinter({ zone: 'home.example.', maxResolvers: BOUND.fingerprint });
  const profiles = new ResolverProfiles({ fingerprint });
  const rrl = new ResponseRateLimiter({
    responsesPerSecond: 20, slip: 1, exempt: [parsePrefix('127.0.0.0/8') as Prefix], maxEntries: BOUND.rrl, ipv4PrefixLength: 24, ipv6PrefixLength: 56,
  });
  const r = rig({ rrl, profiles, responseCacheSize: BOUND.cache }, { profiles, maxPending: BOUND.pending, refusalHoldMs: 60_000 });
  // Each source in a network of its own (/24, /56): the worst case for per-network state.
  const src = (i: number) => (i % 3 === 0 ? `2001:db8:${(i >> 8).toString(16)}:${((i & 255) << 8).toString(16)}::1` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`.replace(/^10\.(\d+)\.(\d+)\.(\d+)$/, '$3.$2.$1.1'));
  let max = { pending: 0, inFlight: 0 };
  for (let i = 0; i < FLOOD; i++) {
    if (i % 10 === 0) {
      // Verified (TCP) lookups of the NTS-managed name from ever new resolvers: the gateway's tables.
      void r.h.handle(query('alice.home.example.', undefined, i & 0xffff), { ...udp, transport: 'tcp', remoteAddress: src(i) });
      const s = r.gateway.sizes();
      max = { pending: Math.max(max.pending, s.pending), inFlight: Math.max(max.inFlight, s.inFlight) };
      // The router fails them in batches: each failure is remembered (refusalHoldMs) for a while.
      if (r.requests.length >= BOUND.pending) {
        for (const q of r.requests.splice(0)) q.answer({ status: 'TIMEOUT' });
        await new Promise((res) => setImmediate(res));
      }
    } else {
      // Ordinary UDP queries for distinct names (NXDOMAIN) and a popular one, from distinct sources.
      r.h.handle(query(i % 2 ? `n${i}.home.example.` : 'www.home.example.', undefined, i & 0xffff), { ...udp, remoteAddress: src(i) });
    }
  }
  const sizes = { ...r.h.tableSizes(), ...r.gateway.sizes(), fingerprint: fingerprint.size };
  console.log(`# after ${FLOOD} queries: ${JSON.stringify(sizes)}; max pending ${max.pending}, max per-resolver ${max.inFlight}`);
  console.log(`# evictions: rrl ${rrl.evictions}, fingerprint ${fingerprint.evictions}; counters ${JSON.stringify(r.counters.snapshot())}`);
  assert.ok(sizes.rrl <= BOUND.rrl && rrl.evictions > 0, `rrl ${sizes.rrl}`);
  assert.ok(sizes.fingerprint <= BOUND.fingerprint && fingerprint.evictions > 0, `fingerprint ${sizes.fingerprint}`);
  assert.ok(sizes.responseCache <= 2 * BOUND.cache && r.counters.get('response_cache_cleared') > 0, `response cache ${sizes.responseCache} (UDP + TCP maps)`);
  assert.ok(max.pending <= BOUND.pending && max.inFlight <= BOUND.pending, `gateway ${JSON.stringify(max)}`);
  assert.ok(sizes.refused <= BOUND.refused && r.counters.get('nts_refused_table_cleared') > 0, `refused ${sizes.refused}`);
  assert.ok(r.counters.get('nts_requests') >= 19_000, 'the flood did reach the gateway, in batches');
  // Nothing was refused for the bound's sake but what was over it.
  assert.equal(r.counters.get('nts_server_limit'), 0, 'batches of maxPending never exceed it');
});

test('the gateway: over maxPending in flight, more lookups fail at once (SERVFAIL), counted', async () => {
  const r = rig({}, { maxPending: 3 });
  for (let i = 0; i < 5; i++) void r.h.handle(query('alice.home.example.'), { ...udp, transport: 'tcp', remoteAddress: `192.0.2.${i + 1}` });
  assert.equal(r.requests.length, 3);
  assert.equal(r.counters.get('nts_server_limit'), 2);
  assert.equal(r.gateway.sizes().pending, 3);
});
