#!/usr/bin/env node
// Issue 7's table: every resolver of the lab zoo x the scenarios zoo, browser, scanner x the
// policies one address / a pool of 3 / the server left to recognise the resolver by its
// fingerprint / trusted ECS (where the resolver can send it), plus the NTSS v1 scenario. Each cell is one `ntss lab run` in labs of its own (root, Linux); the
// numbers come from the scenarios' own summary lines (what the inside hosts saw).
//   node bench/lab-matrix/matrix.mjs [--seconds 10] [--resolvers unbound,bind,knot,powerdns] > table.md
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/main.js');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const seconds = arg('seconds', '10');
const resolvers = arg('resolvers', 'unbound,bind,knot,powerdns').split(',');
const SENDS_ECS = new Set(['unbound', 'powerdns']);
const env = { ...process.env, NTSS_LAB_BROWSER_SECONDS: seconds, NTSS_LAB_SCANNER_SECONDS: seconds, NTSS_LAB_ZOO_ROUNDS: '4' };

function run(args) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [MAIN, 'lab', 'run', ...args], { encoding: 'utf8', env, timeout: 15 * 60_000 });
  const out = `${r.stdout}${r.stderr}`;
  process.stderr.write(`# ntss lab run ${args.join(' ')}: exit ${r.status} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  return out;
}

/** "zoo under Unbound 1.17.1, 1 global address(es), ECS: right 12, wrong 0, refused 0" and the scanner's lines. */
function parse(out) {
  const cells = {};
  for (const m of out.matchAll(/(\w+) under (.+?), (\d+) global address\(es\)(, ECS)?: right (\d+), wrong (\d+), refused (\d+)/g)) {
    cells[m[1]] = { resolver: m[2], right: +m[5], wrong: +m[6], refused: +m[7] };
  }
  const reach = /scanner: (\d+)\/(\d+) connections reached an inside host/.exec(out);
  const perMin = /reachable ([\d.]+) s per minute/.exec(out);
  if (cells.scanner && reach) Object.assign(cells.scanner, { scannerGot: `${reach[1]}/${reach[2]}`, perMin: perMin?.[1] });
  return cells;
}

const rows = [];
for (const resolver of resolvers) {
  const policies = [['one address', []], ['3 addresses', ['--global-addresses', '3']], ['fingerprinted, one address', ['--profiles', 'fingerprint']]];
  if (SENDS_ECS.has(resolver)) policies.push(['trusted ECS (/32)', ['--ecs']]);
  for (const [policy, flags] of policies) {
    const cells = parse(run(['zoo,browser,scanner', '--resolver', resolver, ...flags]));
    for (const sc of ['zoo', 'browser', 'scanner']) {
      const c = cells[sc];
      rows.push(c ? [c.resolver, policy, sc, c.right, c.refused, c.wrong, c.scannerGot ?? '', c.perMin ?? '']
        : [resolver, policy, sc, '?', '?', '?', '', '']);
    }
  }
}
const v1 = parse(run(['v1'])).v1;
if (v1) rows.push([v1.resolver, 'NTSS v1 (ntss resolver)', 'v1', v1.right, v1.refused, v1.wrong, 'en2 during en1\'s RC: refused', '']);

console.log(`| resolver | policy | scenario | right | refused | wrong host | scanner's connections that reached a host | reachable to the scanner (s/min) |`);
console.log('|---|---|---|---:|---:|---:|---|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
