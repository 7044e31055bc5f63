// The profile table, prefixes, and which profile a resolver gets: configuration by longest
// prefix, then the fingerprint, then the conservative default.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RRType } from '../src/dns/constants.js';
import { Fingerprinter } from '../src/server/fingerprint.js';
import { formatPrefix, parsePrefix, PrefixTable, type Prefix } from '../src/server/prefix-table.js';
import { BUILTIN_PROFILE_NAMES, BUILTIN_PROFILES, profileWith } from '../src/server/profiles.js';
import { DuplicatePrefixError, ResolverProfiles } from '../src/server/resolver-profiles.js';

const T0 = 1_790_000_000_000;

function prefix(s: string): Prefix {
  const p = parsePrefix(s);
  assert.ok(typeof p !== 'string', p as string);
  return p;
}

test('profile table: the numbers of the brief, a source for each, and unknown is the conservative one', () => {
  const t = BUILTIN_PROFILES;
  assert.deepEqual(BUILTIN_PROFILE_NAMES.map((n) => [n, t[n].patienceMs, t[n].ttlFloorMs, t[n].ecs]), [
    ['unbound', 1900, 0, 'ignored'],
    ['bind', 9500, 0, 'ignored'],
    ['knot', 9500, 5000, 'ignored'],
    ['powerdns', 1500, 1000, 'ignored'],
    ['unknown', 1800, 5000, 'ignored'],
  ]);
  for (const n of BUILTIN_PROFILE_NAMES) {
    assert.equal(t[n].name, n);
    assert.ok(t[n].source.length > 40, `${n} says where its numbers come from`);
  }
  // Never the wrong host: no known resolver keeps a TTL-0 answer longer than the default assumes.
  const known = BUILTIN_PROFILE_NAMES.filter((n) => n !== 'unknown');
  assert.equal(t.unknown.ttlFloorMs, Math.max(...known.map((n) => t[n].ttlFloorMs)));
  assert.ok(t.unknown.patienceMs < t.unbound.patienceMs, 'below Unbound, the shortest patience the brief measured');
  assert.deepEqual(profileWith('knot', { ttlFloorMs: 2000, ecs: 'trusted' }), { name: 'knot', patienceMs: 9500, ttlFloorMs: 2000, ecs: 'trusted' });
  assert.equal(BUILTIN_PROFILES.knot.ttlFloorMs, 5000, 'profileWith does not change the table');
});

test('prefixes: address/length, bare addresses, host bits refused, IPv6', () => {
  assert.deepEqual(prefix('198.51.100.0/24'), { family: 4, bytes: Buffer.from([198, 51, 100, 0]), length: 24 });
  assert.equal(prefix('198.51.100.53').length, 32);
  assert.equal(prefix('2001:db8::/32').length, 32);
  assert.equal(prefix('2001:db8::53').length, 128);
  assert.equal(formatPrefix(prefix('0.0.0.0/0')), '0.0.0.0/0');
  assert.match(parsePrefix('198.51.100.1/24') as string, /bits set past \/24; the network is 198\.51\.100\.0\/24/);
  assert.match(parsePrefix('198.51.100.0/33') as string, /0\.\.32/);
  assert.match(parsePrefix('2001:db8::/129') as string, /0\.\.128/);
  assert.match(parsePrefix('resolver.example') as string, /expected "ADDRESS\/LENGTH"/);
  assert.match(parsePrefix('198.51.100.0/') as string, /prefix length/);
});

test('longest prefix wins; IPv4-mapped IPv6 sources match IPv4 prefixes; no match is undefined', () => {
  const t = new PrefixTable<string>();
  for (const [p, v] of [['0.0.0.0/0', 'all'], ['198.51.100.0/24', 'net'], ['198.51.100.53/32', 'host'], ['198.51.100.128/25', 'upper'], ['2001:db8::/32', 'v6']] as const) {
    assert.ok(t.add(prefix(p), v));
  }
  assert.equal(t.add(prefix('198.51.100.0/24'), 'again'), false, 'a duplicate is reported');
  assert.equal(t.size, 5);
  assert.equal(t.lookup('198.51.100.53'), 'host');
  assert.equal(t.lookup('198.51.100.52'), 'net');
  assert.equal(t.lookup('198.51.100.200'), 'upper');
  assert.equal(t.lookup('203.0.113.9'), 'all');
  assert.equal(t.lookup('::ffff:198.51.100.53'), 'host');
  assert.equal(t.lookup('2001:db8:1::5'), 'v6');
  assert.equal(t.lookup('2001:db9::5'), undefined, 'IPv4 /0 does not cover IPv6');
  assert.equal(t.lookup('not an address'), undefined);
  assert.equal(new PrefixTable<string>().lookup('198.51.100.53'), undefined);
});

test('selection: configuration beats the fingerprint, the fingerprint beats the default', () => {
  const knotAt53 = { prefixes: [prefix('198.51.100.53/32')], profile: profileWith('knot') };
  const campus = { prefixes: [prefix('198.51.100.0/24')], profile: { name: 'campus', patienceMs: 3000, ttlFloorMs: 2000, ecs: 'trusted' as const } };
  const fp = new Fingerprinter({ zone: 'home.example.' });
  const profiles = new ResolverProfiles({ rules: [campus, knotAt53], fingerprint: fp, defaultProfile: profileWith('unknown', { patienceMs: 1700 }) });
  // BIND's queries from a configured Knot address and from an address nobody configured.
  const bindQuery = (resolver: string, i: number) => ({
    resolver, transport: 'udp' as const, id: i, qname: 'www.home.example.', qtype: RRType.A, cd: false,
    edns: { udpSize: 1232, dnssecOk: true, optionCodes: [10] },
  });
  for (let i = 0; i < 5; i++) {
    profiles.observe(T0 + i, bindQuery('198.51.100.53', i));
    profiles.observe(T0 + i, bindQuery('203.0.113.7', i));
  }
  assert.deepEqual(profiles.select(T0 + 10, '198.51.100.53'), { profile: knotAt53.profile, via: 'config' });
  assert.equal(fp.size, 1, 'configured resolvers are not fingerprinted');
  assert.equal(profiles.select(T0 + 10, '198.51.100.54').profile.name, 'campus');
  const byFp = profiles.select(T0 + 10, '203.0.113.7');
  assert.equal(byFp.via, 'fingerprint');
  assert.equal(byFp.profile.name, 'bind');
  assert.equal(byFp.profile.patienceMs, 9500);
  assert.ok(byFp.confidence! > 0.5);
  assert.deepEqual(profiles.select(T0 + 10, '203.0.113.8'), { profile: { name: 'unknown', patienceMs: 1700, ttlFloorMs: 5000, ecs: 'ignored' }, via: 'default' });
  // Without fingerprinting, the default.
  const off = new ResolverProfiles({ rules: [knotAt53] });
  off.observe(T0, bindQuery('203.0.113.7', 1));
  assert.equal(off.select(T0, '203.0.113.7').via, 'default');
  assert.throws(() => new ResolverProfiles({ rules: [knotAt53, knotAt53] }), DuplicatePrefixError);
});
