import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalName, isSubdomain, labelsToName, nameToLabels, nameToWire, wireLength } from '../src/dns/name.js';
import { DnsEncodeError } from '../src/dns/types.js';

const lbl = (s: string) => Buffer.from(s, 'latin1');
const throwsEnc = (f: () => unknown, re?: RegExp) => assert.throws(f, (e: unknown) => e instanceof DnsEncodeError && (!re || re.test(e.message)));

test('canonicalName lowercases, adds the dot, normalizes escapes', () => {
  assert.equal(canonicalName('Alice.Home.Example'), 'alice.home.example.');
  assert.equal(canonicalName('alice.home.example.'), 'alice.home.example.');
  assert.equal(canonicalName('.'), '.');
  assert.equal(canonicalName('A\\.B.c.'), 'a\\.b.c.');
  assert.equal(canonicalName('\\065bc.'), 'abc.'); // \065 is "A"
  assert.equal(canonicalName('a@b.'), 'a\\@b.');
  assert.equal(canonicalName('a\\@b'), 'a\\@b.');
  assert.equal(canonicalName('x\\032y.EXAMPLE'), 'x\\032y.example.');
  assert.equal(canonicalName('x y.'), 'x\\032y.');
  assert.equal(canonicalName('\\ÄB.'), '\\195\\132b.'); // non-ASCII goes out as UTF-8, only ASCII is folded
  throwsEnc(() => canonicalName('a..b'));
});

test('nameToLabels parses escapes', () => {
  assert.deepEqual(nameToLabels('.'), []);
  assert.deepEqual(nameToLabels('a.b.'), [lbl('a'), lbl('b')]);
  assert.deepEqual(nameToLabels('a.b'), [lbl('a'), lbl('b')]); // missing trailing dot tolerated
  assert.deepEqual(nameToLabels('a\\.b.c.'), [lbl('a.b'), lbl('c')]);
  assert.deepEqual(nameToLabels('a\\\\.c.'), [lbl('a\\'), lbl('c')]);
  assert.deepEqual(nameToLabels('\\000\\255\\"x.'), [Buffer.from([0, 255, 0x22, 0x78])]);
  assert.deepEqual(nameToLabels('a\\.'), [lbl('a.')]); // escaped final dot: one label, still absolute
  assert.deepEqual(nameToLabels('é.'), [Buffer.from('é', 'utf8')]);
});

test('nameToLabels rejects bad names', () => {
  throwsEnc(() => nameToLabels(''), /empty/);
  throwsEnc(() => nameToLabels('a..b.'), /empty label/);
  throwsEnc(() => nameToLabels('.a.'), /empty label/);
  throwsEnc(() => nameToLabels('a\\256.'), /DDD/);
  throwsEnc(() => nameToLabels('a\\12.'), /DDD/);
  throwsEnc(() => nameToLabels('a\\'), /backslash/);
  nameToLabels('x'.repeat(63) + '.');
  throwsEnc(() => nameToLabels('x'.repeat(64) + '.'), /63/);
  throwsEnc(() => nameToLabels('\\120'.repeat(64) + '.'), /63/);
  const l63 = 'x'.repeat(63);
  const max = `${l63}.${l63}.${l63}.${'y'.repeat(61)}.`; // 3*64 + 62 + 1 = 255
  assert.equal(wireLength(max), 255);
  throwsEnc(() => nameToLabels(`${l63}.${l63}.${l63}.${'y'.repeat(62)}.`), /255/);
});

test('labelsToName escapes special and non-printable bytes', () => {
  assert.equal(labelsToName([]), '.');
  assert.equal(labelsToName([lbl('a.b'), lbl('c')]), 'a\\.b.c.');
  assert.equal(labelsToName([Buffer.from([0x20, 0x00, 0x7f, 0xff, 0x5c, 0x22, 0x3b, 0x40, 0x24, 0x28, 0x29])]), '\\032\\000\\127\\255\\\\\\"\\;\\@\\$\\(\\).');
  assert.equal(labelsToName([lbl('Mixed-Case_1*')]), 'Mixed-Case_1*.');
});

test('labels survive labelsToName -> nameToLabels for every byte value', () => {
  for (let b = 0; b < 256; b++) {
    const labels = [Buffer.from([b, 0x41, b]), lbl('x')];
    assert.deepEqual(nameToLabels(labelsToName(labels)), labels, `byte ${b}`);
  }
});

test('nameToWire and wireLength', () => {
  assert.deepEqual(nameToWire('Ab.c.'), Buffer.from([2, 0x41, 0x62, 1, 0x63, 0]));
  assert.deepEqual(nameToWire('.'), Buffer.from([0]));
  assert.equal(wireLength('.'), 1);
  assert.equal(wireLength('alice.home.example.'), 20);
  assert.equal(wireLength([lbl('ab')]), 4);
});

test('isSubdomain', () => {
  assert.equal(isSubdomain('alice.home.example.', 'home.example.'), true);
  assert.equal(isSubdomain('ALICE.Home.Example', 'home.example.'), true);
  assert.equal(isSubdomain('home.example.', 'Home.Example'), true);
  assert.equal(isSubdomain('xhome.example.', 'home.example.'), false);
  assert.equal(isSubdomain('example.', 'home.example.'), false);
  assert.equal(isSubdomain('anything.', '.'), true);
  assert.equal(isSubdomain('.', '.'), true);
  assert.equal(isSubdomain('a\\.home.example.', 'home.example.'), false); // one label "a.home"
  assert.equal(isSubdomain('a\\\\.home.example.', 'home.example.'), true); // label "a\" then home
  assert.equal(isSubdomain('a\\046home.example.', 'home.example.'), false); // \046 is "."
});
