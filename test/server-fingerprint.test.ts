// The passive fingerprint on synthetic query sequences: each built-in resolver is recognised
// from the signals its defaults show; anything ambiguous, incomplete or contradictory is
// `unknown`; memory is bounded. Virtual time throughout.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RRType } from '../src/dns/constants.js';
import { classify, Fingerprinter } from '../src/server/fingerprint.js';
import { qnameCase, retryBucket, SIGNALS, FINGERPRINTABLE, type QueryEvent, type SignalName } from '../src/server/fingerprint-signals.js';
import { fixtureDir } from './helpers/fixtures.js';
import { prng } from './helpers/prng.js';

const ZONE = 'home.example.';
const T0 = 1_790_000_000_000;

type Style = 'unbound' | 'bind' | 'knot' | 'powerdns';

/** A query as each resolver sends it with its defaults (fingerprint-signals.ts rows). */
function query(style: Style, resolver: string, qname: string, qtype: number = RRType.A, id = 1, rnd = prng(7)): QueryEvent {
  const cookie = style === 'bind';
  const name = style === 'knot' ? randomCase(qname, rnd) : qname;
  return {
    resolver, transport: 'udp', id, qname: name, qtype, cd: style === 'unbound' || style === 'knot',
    edns: { udpSize: 1232, dnssecOk: true, optionCodes: cookie ? [10] : [] },
  };
}

/** 0x20 as Knot does it: each letter's case from a random bit; retried until really mixed. */
function randomCase(name: string, rnd: () => number): string {
  for (;;) {
    const out = [...name].map((c) => (rnd() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
    if (qnameCase(out) === 'mixed') return out;
  }
}

const NAMES = ['alice.home.example.', 'www.home.example.', 'bob.home.example.', 'mail.home.example.'];

function feed(fp: Fingerprinter, style: Style, resolver: string, n = 4, at = T0): number {
  const rnd = prng(resolver.length * 31 + n);
  for (let i = 0; i < n; i++) fp.observe(at + i * 10, query(style, resolver, NAMES[i % NAMES.length], RRType.A, 100 + i, rnd));
  return at + n * 10;
}

test('each built-in resolver is recognised from the signals of its defaults', () => {
  const fp = new Fingerprinter({ zone: ZONE });
  const styles: Style[] = ['unbound', 'bind', 'knot', 'powerdns'];
  styles.forEach((s, i) => feed(fp, s, `198.51.100.${10 + i}`));
  styles.forEach((s, i) => {
    const v = fp.verdict(T0 + 1000, `198.51.100.${10 + i}`);
    assert.equal(v.profile, s, `${s}: ${JSON.stringify(v)} from ${JSON.stringify(fp.signals(`198.51.100.${10 + i}`))}`);
    assert.equal(v.reason, 'matched');
    assert.ok(v.confidence > 0 && v.confidence <= 1);
  });
});

test('too few queries, or signals that fit two profiles, give unknown (fail closed)', () => {
  const fp = new Fingerprinter({ zone: ZONE });
  feed(fp, 'bind', '198.51.100.1', 2);
  assert.deepEqual(fp.verdict(T0 + 100, '198.51.100.1'), { profile: 'unknown', confidence: 0, reason: 'too-few-queries' });
  // CD set, no cookie, but only short names: case never shows, so Unbound and Knot both fit.
  for (let i = 0; i < 5; i++) fp.observe(T0 + i, { ...query('unbound', '198.51.100.2', 'a.home.example.'), qname: 'a.b.example.' });
  const v = fp.verdict(T0 + 100, '198.51.100.2');
  assert.equal(v.profile, 'unknown');
  assert.equal(v.reason, 'ambiguous:unbound,knot');
  // A behaviour row rules Unbound out, but Knot's query rows are not all seen: still unknown.
  fp.held(T0 + 200, '198.51.100.2', 'a.b.example.', RRType.A, 1, 'udp');
  fp.held(T0 + 600, '198.51.100.2', 'a.b.example.', RRType.A, 2, 'udp');
  fp.held(T0 + 1400, '198.51.100.2', 'a.b.example.', RRType.A, 3, 'tcp');
  assert.equal(fp.verdict(T0 + 1500, '198.51.100.2').reason, 'ambiguous:unbound,knot', 'retry-transport makes no claim about Unbound');
});

test('another EDNS size, a cookie now and then, or no EDNS: no profile (non-default settings)', () => {
  const fp = new Fingerprinter({ zone: ZONE });
  const r = '203.0.113.50';
  feed(fp, 'unbound', r);
  assert.equal(fp.verdict(T0 + 100, r).profile, 'unbound');
  fp.observe(T0 + 200, { ...query('unbound', r, 'www.home.example.'), edns: { udpSize: 4096, dnssecOk: true, optionCodes: [] } });
  assert.deepEqual(fp.verdict(T0 + 200, r), { profile: 'unknown', confidence: 0, reason: 'no-match' });
  const b = '203.0.113.51';
  feed(fp, 'bind', b);
  fp.observe(T0 + 300, query('powerdns', b, 'www.home.example.')); // same address, no cookie this time
  assert.equal(fp.verdict(T0 + 300, b).profile, 'unknown');
  const n = '203.0.113.52';
  for (let i = 0; i < 5; i++) fp.observe(T0 + i, { ...query('powerdns', n, NAMES[i % 4]), edns: undefined });
  assert.equal(fp.verdict(T0 + 100, n).reason, 'no-match');
});

test('qname-minimisation probes: A (Unbound, PowerDNS) vs NS (Knot, BIND) vs "_" A (older BIND)', () => {
  const fp = new Fingerprinter({ zone: ZONE });
  const r = '198.51.100.20';
  // Unbound asks "b.home.example. A" before "a.b.home.example.": consistent with Unbound.
  fp.observe(T0, query('unbound', r, 'b.home.example.', RRType.A, 1));
  fp.observe(T0 + 20, query('unbound', r, 'a.b.home.example.', RRType.AAAA, 2));
  assert.deepEqual(fp.signals(r)['qmin-probe'], { A: 1 });
  feed(fp, 'unbound', r, 4, T0 + 100);
  assert.equal(fp.verdict(T0 + 200, r).profile, 'unbound');
  // The same resolver now probing with NS contradicts every profile: unknown.
  fp.observe(T0 + 300, query('unbound', r, 'c.home.example.', RRType.NS, 3));
  fp.observe(T0 + 310, query('unbound', r, 'x.c.home.example.', RRType.A, 4));
  assert.equal(fp.verdict(T0 + 310, r).profile, 'unknown');

  const k = '198.51.100.21';
  fp.observe(T0, query('knot', k, 'c.home.example.', RRType.NS, 1));
  fp.observe(T0 + 5, query('knot', k, 'x.c.home.example.', RRType.A, 2));
  assert.deepEqual(fp.signals(k)['qmin-probe'], { NS: 1 });
  const b = '198.51.100.22';
  fp.observe(T0, query('bind', b, '_.c.home.example.', RRType.A, 1));
  fp.observe(T0 + 5, query('bind', b, 'x.c.home.example.', RRType.A, 2));
  assert.deepEqual(fp.signals(b)['qmin-probe'], { _A: 1 });
  // Not probes: the apex, an unrelated name, a descendant asked after the window.
  const o = '198.51.100.23';
  fp.observe(T0, query('bind', o, 'home.example.', RRType.NS, 1));
  fp.observe(T0 + 1, query('bind', o, 'www.home.example.', RRType.A, 2));
  fp.observe(T0 + 2, query('bind', o, 'd.home.example.', RRType.NS, 3));
  fp.observe(T0 + 1003, query('bind', o, 'x.d.home.example.', RRType.A, 4));
  assert.equal(fp.signals(o)['qmin-probe'], undefined);
});

test('retry pattern while an answer is held: first retry interval, TCP switch, no retry at all', () => {
  const fp = new Fingerprinter({ zone: ZONE });
  const name = 'alice.home.example.';
  // BIND: 800 ms, same id again is a network duplicate, not a retry.
  const b = '198.51.100.30';
  fp.held(T0, b, name, RRType.A, 1, 'udp');
  fp.held(T0 + 5, b, name, RRType.A, 1, 'udp');
  fp.held(T0 + 800, b, name, RRType.A, 2, 'udp');
  fp.held(T0 + 1600, b, name, RRType.A, 3, 'udp');
  fp.released(T0 + 1700, b, name, RRType.A);
  assert.deepEqual(fp.signals(b)['first-retry'], { '600-1100': 1 });
  // Knot: 400 ms, then TCP.
  const k = '198.51.100.31';
  fp.held(T0, k, name, RRType.A, 1, 'udp');
  fp.held(T0 + 400, k, name, RRType.A, 2, 'udp');
  fp.held(T0 + 1200, k, name, RRType.A, 3, 'tcp');
  assert.deepEqual(fp.signals(k)['first-retry'], { '300-600': 1 });
  assert.deepEqual(fp.signals(k)['retry-transport'], { tcp: 1 });
  // PowerDNS: one try; held 1.5 s without a retry.
  const p = '198.51.100.32';
  fp.held(T0, p, name, RRType.A, 1, 'udp');
  fp.released(T0 + 1500, p, name, RRType.A);
  assert.deepEqual(fp.signals(p)['first-retry'], { none: 1 });
  // A short hold without a retry says nothing.
  const q = '198.51.100.33';
  fp.held(T0, q, name, RRType.A, 1, 'udp');
  fp.released(T0 + 300, q, name, RRType.A);
  assert.equal(fp.signals(q)['first-retry'], undefined);
  // A later query for the same name after the answer is a new hold, not a retry.
  fp.held(T0 + 400, q, name, RRType.A, 2, 'udp');
  assert.equal(fp.signals(q)['first-retry'], undefined);

  // Behaviour decides between profiles the queries alone cannot: PowerDNS-looking queries with
  // an 800 ms retry are not PowerDNS (nor BIND: no cookie).
  feed(fp, 'powerdns', b);
  assert.equal(fp.verdict(T0 + 2000, b).reason, 'no-match');
  feed(fp, 'powerdns', p);
  assert.equal(fp.verdict(T0 + 2000, p).profile, 'powerdns');
  feed(fp, 'knot', k);
  const vk = fp.verdict(T0 + 2000, k);
  assert.equal(vk.profile, 'knot');
  const vk2 = (() => { const f = new Fingerprinter({ zone: ZONE }); feed(f, 'knot', k); return f.verdict(T0 + 2000, k); })();
  assert.ok(vk.confidence > vk2.confidence, 'behaviour rows add to the confidence');
});

test('memory is bounded: least recently used resolvers go; an idle address starts from nothing', () => {
  const fp = new Fingerprinter({ zone: ZONE, maxResolvers: 100, maxIdleMs: 60_000 });
  feed(fp, 'bind', '10.0.0.1');
  for (let i = 0; i < 250; i++) fp.observe(T0 + 100 + i, query('unbound', `10.1.${i >> 8}.${i & 255}`, 'www.home.example.'));
  assert.equal(fp.size, 100);
  assert.equal(fp.evictions, 151);
  assert.equal(fp.verdict(T0 + 1000, '10.0.0.1').reason, 'too-few-queries', 'the oldest was evicted');
  // Touching an entry keeps it: the most recently used survive.
  feed(fp, 'bind', '10.0.0.2', 4, T0 + 2000);
  for (let i = 0; i < 99; i++) fp.observe(T0 + 3000 + i, query('unbound', `10.2.0.${i}`, 'www.home.example.'));
  assert.equal(fp.verdict(T0 + 4000, '10.0.0.2').profile, 'bind');
  // Idle longer than maxIdleMs (last query at T0 + 2030): the address may be someone else's now.
  assert.equal(fp.verdict(T0 + 2030 + 60_000, '10.0.0.2').profile, 'bind');
  assert.equal(fp.verdict(T0 + 2030 + 60_001, '10.0.0.2').profile, 'unknown');
  fp.observe(T0 + 2030 + 60_001, query('bind', '10.0.0.2', 'www.home.example.'));
  assert.equal(fp.verdict(T0 + 2030 + 60_002, '10.0.0.2').reason, 'too-few-queries');
});

test('the classifier rule itself: each profile is told apart by the query rows alone; every row has a source', () => {
  const queryRows = SIGNALS.filter((r) => r.kind === 'query');
  for (const p of FINGERPRINTABLE) {
    const values = new Map<SignalName, Map<string, number>>(
      queryRows.filter((r) => r.expect[p]).map((r) => [r.signal, new Map([[r.expect[p]![0], 3]])]),
    );
    assert.equal(classify(values, 5, 3).profile, p, `${p} from its own query rows`);
  }
  for (const row of SIGNALS) assert.ok(row.source.length > 20, `${row.signal} says where it comes from`);
  assert.equal(new Set(SIGNALS.map((r) => r.signal)).size, SIGNALS.length, 'one row per signal');
  assert.equal(classify(new Map(), 5, 3).reason, 'ambiguous:unbound,bind,knot,powerdns');
  // Only BIND fits a cookie, but its other query rows were never seen: not picked.
  assert.deepEqual(classify(new Map([['cookie', new Map([['yes', 3]])]]), 5, 3), { profile: 'unknown', confidence: 0, reason: 'incomplete' });
});

test('a resolver that never shows one of its query signals stays unknown', () => {
  const fp = new Fingerprinter({ zone: ZONE });
  const r = '198.51.100.40';
  // BIND's queries, but only for short names: the cookie rules the others out, the case is never seen.
  for (let i = 0; i < 10; i++) fp.observe(T0 + i, { ...query('bind', r, 'www.home.example.'), qname: `w${i}.b.example.` });
  assert.equal(fp.verdict(T0 + 100, r).reason, 'incomplete');
  fp.observe(T0 + 200, query('bind', r, 'www.home.example.'));
  assert.equal(fp.verdict(T0 + 200, r).profile, 'bind');
});

test('signal extraction: case needs real evidence; retry buckets', () => {
  assert.equal(qnameCase('alice.home.example.'), 'single');
  assert.equal(qnameCase('ALICE.HOME.EXAMPLE.'), 'single');
  assert.equal(qnameCase('Alice.home.example.'), undefined, 'one capital is what people type');
  assert.equal(qnameCase('aLiCe.HoMe.example.'), 'mixed');
  assert.equal(qnameCase('a.b.example.'), undefined, 'too few letters to tell');
  assert.deepEqual([0, 299, 300, 376, 599, 600, 800, 1099, 1100].map(retryBucket),
    ['<300', '<300', '300-600', '300-600', '300-600', '600-1100', '600-1100', '600-1100', '>=1100']);
});

// ---- real resolvers: queries captured from the Debian 12 packages (test/fixtures/resolver-captures) ----

interface Captured { t: number; from: string; tr: 'udp' | 'tcp'; id: number; name: string; type: number; cd: boolean; edns?: { size: number; do: boolean; opts: number[] } }

function replay(file: string): { fp: Fingerprinter; resolver: string } {
  const [head, ...lines] = readFileSync(join(fixtureDir('resolver-captures'), file), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const { holdMs, heldName } = head.meta as { holdMs: number; heldName: string };
  const fp = new Fingerprinter({ zone: ZONE });
  let firstHeld: number | undefined;
  for (const c of lines as Captured[]) {
    fp.observe(T0 + c.t, {
      resolver: c.from, transport: c.tr, id: c.id, qname: c.name, qtype: c.type, cd: c.cd,
      edns: c.edns && { udpSize: c.edns.size, dnssecOk: c.edns.do, optionCodes: c.edns.opts },
    });
    // The server held this name's answer (a slow router) and saw the resolver's retries.
    if (c.name.toLowerCase() === heldName && c.type === RRType.A) {
      firstHeld ??= c.t;
      fp.held(T0 + c.t, c.from, c.name, c.type, c.id, c.tr);
    }
  }
  fp.released(T0 + firstHeld! + holdMs, lines[0].from, heldName, RRType.A);
  return { fp, resolver: lines[0].from };
}

test('real captures: each Debian resolver is recognised, with its retry pattern', () => {
  const want: Record<string, { retry: string; transport?: string }> = {
    unbound: { retry: '<300' }, bind: { retry: '600-1100' }, knot: { retry: '<300', transport: 'tcp' }, powerdns: { retry: 'none' },
  };
  for (const [name, w] of Object.entries(want)) {
    const { fp, resolver } = replay(`${name}.jsonl`);
    const v = fp.verdict(T0 + 60_000, resolver);
    const seen = fp.signals(resolver);
    assert.equal(v.profile, name, `${name}: ${JSON.stringify(v)} ${JSON.stringify(seen)}`);
    assert.deepEqual(Object.keys(seen['first-retry'] ?? {}), [w.retry], name);
    assert.deepEqual(Object.keys(seen['retry-transport'] ?? {}), w.transport ? [w.transport] : [], name);
    assert.ok(v.confidence >= 0.8, `${name} confidence ${v.confidence}`);
  }
});
