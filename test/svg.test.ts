import { test } from 'node:test';
import assert from 'node:assert/strict';
import { el, escapeXml, num, svgDocument, text } from '../src/svg/svg.js';

test('svg: text and attributes are escaped, numbers rounded, non-finite numbers refused', () => {
  assert.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
  assert.equal(el('line', { x1: 1.23456, y1: 2, stroke: 'a"b', skip: undefined }), '<line x1="1.23" y1="2" stroke="a&quot;b"/>');
  assert.equal(text(1, 2, '<en1>'), '<text x="1" y="2">&lt;en1&gt;</text>');
  assert.equal(num(-0.004), '0');
  assert.throws(() => num(NaN), /not a finite number/);
  const doc = svgDocument(100, 50, 'a & b', [el('g', {}, [text(0, 0, 'x')])]);
  assert.match(doc, /^<\?xml/);
  assert.match(doc, /<title>a &amp; b<\/title>/);
  assert.match(doc, /<\/svg>\n$/);
});
