// `ntss router --config FILE`: the example loads, defaults are the documented ones, and every
// mistake names the file and the key.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadRouterConfig, ROUTER_SCHEDULER_DEFAULTS } from '../src/config/router-config.js';
import { REPUTATION_DEFAULTS } from '../src/router/reputation.js';
import { loadServerConfig } from '../src/config/server-config.js';
import { ConfigError } from '../src/util/errors.js';

// The compiled test runs from <outDir>/test/: dist/ lies inside the repository, other outDirs need cwd = repository.
const here = dirname(fileURLToPath(import.meta.url));
const examples = [resolve(here, '../../examples'), resolve('examples')].find((d) => existsSync(join(d, 'router.yaml')));

const dir = mkdtempSync(join(tmpdir(), 'ntss-router-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'bnRzLXJvdXRlci1rZXktZm9yLWd3MS1leGFtcGxlLW9ubHk=';
const minimal = `
id: gw1
key: "${KEY}"
nts: { listen: "127.0.0.1:5301" }
globalAddresses: [127.0.0.2]
dataplane: { ports: ["tcp/8080"] }
`;

function write(text: string): string {
  const f = join(dir, 'router.yaml');
  writeFileSync(f, text);
  return f;
}

function expectError(text: string, key: string, pattern: RegExp): void {
  const f = write(text);
  assert.throws(() => loadRouterConfig(f), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.equal(e.key, key);
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(`${f}: `), 'names the file');
    return true;
  });
}

test('examples/router.yaml loads and shares gw1\'s id and key with examples/server.yaml', () => {
  assert.ok(examples, 'examples/ found (run from the repository root)');
  const c = loadRouterConfig(join(examples, 'router.yaml'));
  assert.equal(c.id, 'gw1');
  assert.deepEqual([c.nts.listen.host, c.nts.listen.port], ['127.0.0.1', 5301]);
  assert.deepEqual(c.globalAddresses, ['127.0.0.2']);
  assert.deepEqual(c.phl, [{ name: 'alice.home.example.', address: '127.0.0.10' }, { name: 'bob.home.example.', address: '127.0.0.11' }]);
  assert.equal(c.dataplane.type, 'userspace');
  assert.ok(c.dataplane.type === 'userspace');
  assert.deepEqual(c.dataplane.ports, [{ proto: 'tcp', port: 8080 }, { proto: 'udp', port: 7007 }]);
  const gw1 = loadServerConfig(join(examples, 'server.yaml')).routers.find((r) => r.id === c.id);
  assert.ok(gw1 && gw1.key.equals(c.key));
});

test('defaults: scheduler from the paper, userspace data plane, NTS window and keepalive', () => {
  const c = loadRouterConfig(write(minimal));
  const { reputation, allowShortHold, ...times } = c.scheduler;
  assert.deepEqual(times, { ...ROUTER_SCHEDULER_DEFAULTS });
  assert.equal(allowShortHold, false, 'a short hold is an experiment\'s opt-in');
  assert.equal(c.scheduler.queueLimit, 250);
  // Resolver reputation is on in the daemon (docs/reputation.md), with the core's numbers.
  assert.deepEqual(reputation, { ...REPUTATION_DEFAULTS, trusted: [] });
  assert.deepEqual(c.dataplane, { type: 'userspace', ports: [{ proto: 'tcp', port: 8080 }], udpIdleTimeoutMs: 30_000, proxyProtocol: false });
  assert.deepEqual([c.nts.windowMs, c.nts.keepaliveIntervalMs, c.server, c.phl], [30_000, 30_000, undefined, []]);
  assert.equal(c.key.toString(), 'nts-router-key-for-gw1-example-only');
});

test('mistakes name the key', () => {
  const edit = (from: string, to: string) => minimal.replace(from, to);
  expectError(edit('{ ports: ["tcp/8080"] }', '{ type: nftables }'), 'dataplane.wan', /required: the Internet-side interface's name/);
  expectError(edit('{ ports: ["tcp/8080"] }', '{ type: nftables, wan: wan0, lan: wan0 }'), 'dataplane.lan', /differ/);
  expectError(edit('{ ports: ["tcp/8080"] }', '{ type: ebpf, ports: ["tcp/1"] }'), 'dataplane.type', /userspace/);
  expectError(edit('"tcp/8080"', '"sctp/8080"'), 'dataplane.ports[0]', /expected "tcp\/PORT" or "udp\/PORT"/);
  expectError(edit('"tcp/8080"', '"tcp/0"'), 'dataplane.ports[0]', /PORT 1\.\.65535/);
  expectError(edit('["tcp/8080"]', '["tcp/8080", "tcp/8080"]'), 'dataplane.ports', /distinct/);
  expectError(edit('["tcp/8080"]', '[]'), 'dataplane.ports', /userspace cannot listen on all ports/);
  expectError(edit('[127.0.0.2]', '["2001:db8::2"]'), 'globalAddresses[0]', /IPv4/);
  expectError(edit('key: "', 'key: "c2hvcnQ='), 'key', /at least 16 octets/);
  expectError(edit('5301', '99999'), 'nts.listen', /port must be 0\.\.65535/);
  expectError(edit('id: gw1', 'id: "gw 1"'), 'id', /letters, digits/);
  expectError(minimal + 'phl:\n  - { name: a.example., address: 127.0.0.10 }\n  - { name: A.example, address: 127.0.0.11 }\n', 'phl[1].name', /listed twice/);
  expectError(minimal + 'scheduler: { queueLimit: -1 }\n', 'scheduler.queueLimit', /0|>=/);
  expectError(minimal + 'colour: blue\n', '', /unknown key\(s\) "colour"/);
  expectError(minimal + 'scheduler: { reputation: { trusted: ["198.51.100.1/24"] } }\n', 'scheduler.reputation.trusted[0]', /198\.51\.100\.0\/24/);
  expectError(minimal + 'scheduler: { reputation: { initialCredit: 9 } }\n', 'scheduler.reputation.maxCredit', /at least initialCredit/);
  expectError(minimal + 'scheduler: { reputation: { penalty: 5 } }\n', 'scheduler.reputation', /unknown key\(s\) "penalty"/);
  expectError(edit('127.0.0.1:5301', '127.0.0.2:7007').replace('"tcp/8080"', '"tcp/8080", "udp/7007"'), 'dataplane.ports[1]', /is the NTS port/);
});

test('PHL services and scheduler.stickyMs; the old dataplane.stickyMs names where it went', () => {
  const cfg = loadRouterConfig(write(`${minimal}phl:\n  - { name: alice.home.example., address: 192.168.50.10, services: ["tcp/22", "udp/5000-5100", "any/443"] }\nscheduler: { stickyMs: 0 }\n`));
  assert.deepEqual(cfg.phl[0]!.services, [{ proto: 'tcp', ports: [22, 22] }, { proto: 'udp', ports: [5000, 5100] }, { proto: 'any', ports: [443, 443] }]);
  assert.equal(cfg.scheduler.stickyMs, 0);
  assert.equal(loadRouterConfig(write(minimal)).scheduler.stickyMs, ROUTER_SCHEDULER_DEFAULTS.stickyMs);
  expectError(`${minimal}phl:\n  - { name: a.example., address: 192.168.50.10, services: ["tcp/70000"] }\n`, 'phl[0].services[0]', /ports 1\.\.65535/);
  expectError(`${minimal}phl:\n  - { name: a.example., address: 192.168.50.10, services: ["tcp/80-22"] }\n`, 'phl[0].services[0]', /LOW-HIGH/);
  expectError(`${minimal}phl:\n  - { name: a.example., address: 192.168.50.10, services: [] }\n`, 'phl[0].services', /at least one service/);
  const nft = minimal.replace('dataplane: { ports: ["tcp/8080"] }', 'dataplane: { type: nftables, wan: wan0, lan: lan0, stickyMs: 1000 }');
  expectError(nft, 'dataplane.stickyMs', /moved to scheduler\.stickyMs/);
});

test('a hold under 200 ms is refused unless scheduler.allowShortHold says it is an experiment', () => {
  expectError(`${minimal}scheduler: { holdMs: 0 }\n`, 'scheduler.holdMs', /below 200 ms a second EN behind the same answer can reach the next host.*allowShortHold/);
  expectError(`${minimal}scheduler: { holdMs: 199 }\n`, 'scheduler.holdMs', /allowShortHold/);
  assert.equal(loadRouterConfig(write(`${minimal}scheduler: { holdMs: 200 }\n`)).scheduler.holdMs, 200);
  const paper = loadRouterConfig(write(`${minimal}scheduler: { holdMs: 0, allowShortHold: true }\n`)).scheduler;
  assert.deepEqual([paper.holdMs, paper.allowShortHold], [0, true]);
});
