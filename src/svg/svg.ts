// The smallest SVG writer the tool needs: plots (src/sim) and sequence diagrams (src/diagram)
// are written by ntss itself, so a reader needs nothing but a browser. No DOM, no library:
// elements are strings built from escaped attributes.

export type Attrs = Record<string, string | number | undefined>;

/** Text and attribute values escaped for XML (& < > " '). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Numbers with at most 2 decimals: smaller files, stable output for golden tests. */
export function num(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`svg: not a finite number: ${x}`);
  return String(Math.round(x * 100) / 100);
}

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : escapeXml(v!)}"`)
    .join('');
}

/** One element; `children` are already-built element strings, or text (escaped) when `text` is set. */
export function el(name: string, a: Attrs = {}, children: string | string[] = ''): string {
  const body = Array.isArray(children) ? children.join('') : children;
  return body === '' ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${body}</${name}>`;
}

export function text(x: number, y: number, s: string, a: Attrs = {}): string {
  return el('text', { x, y, ...a }, escapeXml(s));
}

/** A complete standalone document (white background, a default font and a title for viewers). */
export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" ` +
    `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">\n` +
    `<title>${escapeXml(title)}</title>\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    body.join('\n') +
    `\n</svg>\n`
  );
}
