// A small well-formedness check for the SVG the tool writes (no XML parser in Node's standard
// library): tags balance, attributes are quoted, every '&' starts an entity, no stray '<'.
import assert from 'node:assert/strict';

export function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(body))) {
    const between = body.slice(last, m.index);
    assert.ok(!between.includes('<'), `stray '<' or a malformed tag near: ${body.slice(Math.max(0, m.index - 80), m.index + 20)}`);
    assertEntities(between);
    assertEntities(m[3]);
    const [, close, name, , self] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!self) stack.push(name);
    last = tag.lastIndex;
  }
  assert.ok(!body.slice(last).includes('<'), 'a malformed tag at the end');
  assert.deepEqual(stack, [], 'unclosed elements');
}

function assertEntities(s: string): void {
  for (const m of s.matchAll(/&/g)) {
    assert.match(s.slice(m.index), /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/, `a bare '&' in: ${s.slice(Math.max(0, m.index - 30), m.index + 30)}`);
  }
}

/** The message arrows of a rendered diagram, in document order: class, from, to, y. */
export function arrowsOf(svg: string): { style: string; from: string; to: string; y: number }[] {
  return [...svg.matchAll(/<line class="msg msg-([\w-]+)" data-from="([^"]*)" data-to="([^"]*)" x1="[^"]*" y1="([^"]*)"/g)]
    .map((m) => ({ style: m[1], from: m[2], to: m[3], y: Number(m[4]) }));
}
