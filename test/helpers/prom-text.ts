// A small strict reader of the Prometheus text exposition format (0.0.4) for the metrics tests:
// every sample line must parse, and every sample must belong to a family announced by # HELP and
// # TYPE before it. Anything else throws, so a malformed /metrics fails the test.
import http from 'node:http';

export interface Exposition {
  types: Map<string, string>;
  /** `name{a="x",b="y"}` (labels sorted) -> value. */
  samples: Map<string, number>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const ls = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return ls.length ? `${name}{${ls.join(',')}}` : name;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples = new Map<string, number>();
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const fail = (why: string) => { throw new Error(`/metrics line ${i + 1}: ${why}: ${JSON.stringify(line)}`); };
    if (line.startsWith('# HELP ')) return void helps.add(line.split(' ')[2]!);
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!)) fail('unknown type');
      return void types.set(name!, type!);
    }
    if (line.startsWith('#')) return;
    const m = SAMPLE.exec(line);
    if (!m) return fail('not a sample');
    const [, name, body, value] = m;
    const family = [name!, name!.replace(/_(bucket|sum|count|total|created)$/, '')].find((f) => types.has(f));
    if (family === undefined || !helps.has(family)) fail('sample without # HELP and # TYPE');
    const labels: Record<string, string> = {};
    if (body) {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < body.length) {
        const l = LABEL.exec(body);
        if (!l) return fail('bad labels');
        labels[l[1]!] = l[2]!;
      }
    }
    // Prometheus parses values with Go's ParseFloat: NaN in any case (prom-client writes `Nan`).
    const v = value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : /^nan$/i.test(value!) ? NaN : Number(value);
    if (Number.isNaN(v) && !/^nan$/i.test(value!)) fail('bad value');
    const key = seriesKey(name!, labels);
    if (samples.has(key)) fail('duplicate series');
    samples.set(key, v);
  });
  return { types, samples };
}

/** The value of one series, 0 when absent (a counter not yet incremented). */
export function value(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples.get(seriesKey(name, labels)) ?? 0;
}

/** A real HTTP GET. */
export function httpGet(host: string, port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    }).on('error', reject).on('timeout', function (this: http.ClientRequest) { this.destroy(new Error('GET timed out')); });
  });
}

export async function scrape(host: string, port: number): Promise<Exposition> {
  const r = await httpGet(host, port, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}: ${r.body}`);
  if (!r.type.startsWith('text/plain; version=0.0.4')) throw new Error(`/metrics: content-type ${r.type}`);
  return parseExposition(r.body);
}
