// `ntss resolver` as a user runs it: configuration errors that name file, key and expectation;
// the documented defaults; and the real process forwarding to the real `ntss server`, queried
// with dig, stopped with SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { loadResolverConfig } from '../src/config/resolver-config.js';
import { ConfigError } from '../src/util/errors.js';
import { baseConfig, MAIN_JS, run, startServer } from './helpers/server-proc.js';
import { digAt } from './helpers/resolver.js';
import { needTools } from './helpers/tools.js';
import { formatPrefix } from '../src/server/prefix-table.js';

const dir = mkdtempSync(join(tmpdir(), 'ntss-resolver-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function configFile(text: string): string {
  const f = join(dir, `resolver-${++n}.yaml`);
  writeFileSync(f, text);
  return f;
}

describe('resolver configuration', () => {
  test('errors name the file, the key and what was expected', () => {
    const cases: [string, RegExp][] = [
      ['listen: ["127.0.0.1:0"]\n', /: upstream: /],
      ['upstream: ["example.net:53"]\n', /: upstream\[0\]: expected an IP address/],
      ['upstream: ["127.0.0.1:53"]\nallow: ["10.0.0.0/8", "10.0.0.0/33"]\n', /: allow\[1\]: prefix length must be 0\.\.32/],
      ['upstream: ["127.0.0.1:53"]\ncache: { entires: 5 }\n', /: cache: unknown key\(s\) "entires"/],
      ['upstream: ["127.0.0.1:53"]\nnts: { clientPatienceMs: 1000, marginMs: 950 }\n', /: nts\.marginMs: must leave at least 100 ms/],
      ['upstream: ["127.0.0.1:53"]\nrouters: [{ id: gw1, addresses: [192.0.2.1], nts: "127.0.0.1:5301", key: "c2hvcnQ=" }]\n', /: routers\[0\]\.key: secret too short/],
    ];
    for (const [text, re] of cases) {
      const f = configFile(text);
      assert.throws(() => loadResolverConfig(f), (e: unknown) => e instanceof ConfigError && e.message.startsWith(f) && re.test(e.message), text);
    }
  });

  test('defaults are the documented ones', () => {
    const c = loadResolverConfig(configFile('upstream: ["192.0.2.10:53"]\n'));
    assert.deepEqual(c.listen, [{ host: '127.0.0.1', port: 53, family: 4 }]);
    assert.deepEqual(c.forward, { timeoutMs: 1000, rounds: 2, tcpTimeoutMs: 2000 });
    assert.deepEqual(c.cache, { entries: 10_000, maxBytes: 32 << 20, maxTtl: 86_400, maxNegativeTtl: 3_600 });
    assert.deepEqual(c.allow.map(formatPrefix), ['127.0.0.0/8', '0:0:0:0:0:0:0:1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
    assert.deepEqual({ ...c.nts, listen: undefined }, { listen: undefined, clientPatienceMs: 4500, marginMs: 150, enCacheMs: 60_000 });
    assert.deepEqual(c.routers, []);
    assert.equal(c.udp.maxPayload, 1232);
  });

  test('examples/resolver.yaml is valid and shows the defaults', () => {
    const example = fileURLToPath(new URL('../../examples/resolver.yaml', import.meta.url));
    const c = loadResolverConfig(example);
    const d = loadResolverConfig(configFile('upstream: ["127.0.0.1:5300"]\n'));
    for (const k of ['forward', 'allow', 'cache', 'udp', 'tcp'] as const) assert.deepEqual(c[k], d[k], k);
    assert.deepEqual({ ...c.nts, listen: undefined }, { ...d.nts, listen: undefined });
  });

  test('the CLI exits 1 with the message on a bad config', async () => {
    const f = configFile('upstream: []\n');
    const r = await run(process.execPath, [MAIN_JS, 'resolver', '--config', f]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.stderr, new RegExp(`^ntss: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: upstream: at least one upstream`));
  });
});

describe('ntss resolver in front of the real ntss server', () => {
  test('forwards, caches, falls back to TCP, caches NXDOMAIN; SIGTERM stops it cleanly', async (t) => {
    if (!needTools(t, 'dig')) return;
    const zone = baseConfig();
    const big = Array.from({ length: 30 }, (_, i) => `big.home.example. 300 IN TXT "${`big-${i}-`.padEnd(100, 'x')}"`);
    zone.zone.records!.push(...big);
    const srv = await startServer(t, { config: zone });
    const f = configFile(`listen: ["127.0.0.1:0"]\nupstream: ["127.0.0.1:${srv.port}"]\n`);
    const child = spawn(process.execPath, [MAIN_JS, 'resolver', '--config', f, '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    const events: Record<string, unknown>[] = [];
    let partial = '';
    const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        partial += d;
        for (let i; (i = partial.indexOf('\n')) >= 0; partial = partial.slice(i + 1)) {
          const e = JSON.parse(partial.slice(0, i)) as Record<string, unknown>;
          events.push(e);
          if (e.event === 'listening') resolve(e);
        }
      });
      exited.then((c) => reject(new Error(`resolver exited (${c}) before listening`)));
    });
    const port = Number(String((await listening).udp).split(':')[1]);

    const miss = await digAt(port, ['www.home.example.', 'A']);
    const hit = await digAt(port, ['www.home.example.', 'A']);
    for (const p of [miss, hit]) {
      assert.equal(p.status, 'NOERROR', p.raw);
      assert.deepEqual(p.answer.map((r) => r.rdata), ['192.0.2.80']);
      assert.ok(p.flags.includes('ra') && !p.flags.includes('aa'));
    }
    const txt = await digAt(port, ['big.home.example.', 'TXT']);
    assert.equal(txt.answer.length, 30, txt.raw);
    const nx = await digAt(port, ['nothing.home.example.', 'A']);
    const nx2 = await digAt(port, ['nothing.home.example.', 'A']);
    for (const p of [nx, nx2]) assert.equal(p.status, 'NXDOMAIN');
    console.log(`# dig query time via the real server: miss ${miss.ms} ms, hit ${hit.ms} ms`);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const stopped = events.find((e) => e.event === 'stopped') as { counters: Record<string, number> } | undefined;
    assert.ok(stopped, 'a stopped event with the counters');
    assert.equal(stopped.counters.cache_hits, 3, 'www, dig\'s TCP retry of big, nothing');
    assert.equal(stopped.counters.upstream_tcp_fallbacks, 1);
    assert.equal(stopped.counters.cache_misses, 3);
  });
});
