// Issue 8's flood matrix in the namespace lab: rates x attackers x {udp, tcp, forged} behind each
// resolver, with 1 and 3 global addresses; every cell is `ntss lab run flood` in a fresh lab (so
// no state of one cell, reputation included, helps the next). Prints progress on stderr and a
// markdown table on stdout. Root, Linux, the lab's tools and dnsperf. Build first (npx tsc).
//   node bench/flood/flood.mjs [--seconds 10] [--resolvers unbound,bind] [--addresses 1,3]
//        [--rates 30,300,3000] [--attackers 1,10] [--transports udp,tcp,forged] [--attack-first 1]
//        [--log-dir DIR]   (each cell's whole output, with the reasons of every failed lookup)
// --attack-first 1 adds, per resolver and address count, two cells (1 attacker, 300 q/s, udp and
// tcp) whose attack starts before the good ENs do.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/main.js');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const list = (name, dflt) => arg(name, dflt).split(',').filter(Boolean);
const seconds = arg('seconds', '10');
const resolvers = list('resolvers', 'unbound,bind');
const addresses = list('addresses', '1,3');
const rates = list('rates', '30,300,3000');
const attackers = list('attackers', '1,10');
const transports = list('transports', 'udp,tcp,forged');
const attackFirst = arg('attack-first', '1') === '1';
/** Each cell's whole output (the scenario explains every failed lookup there), if given. */
const logDir = arg('log-dir', '');
if (logDir) mkdirSync(logDir, { recursive: true });

const cells = [];
for (const resolver of resolvers) for (const n of addresses) {
  for (const transport of transports) for (const a of attackers) for (const rate of rates) cells.push({ resolver, n, transport, a, rate, order: 'warm' });
  if (attackFirst) for (const transport of ['udp', 'tcp']) cells.push({ resolver, n, transport, a: '1', rate: '300', order: 'attack-first' });
}

const LINE = /flood under (.+?), (\d+) global address\(es\), .*?: good (\d+)\/(\d+) \(([\d.]+)%\), wrong (\d+), attackers' RCs (\d+)\/(\d+), server RSS max (\S+) MiB, router RSS max (\S+) MiB/;
const SENT = /attackers sent (\d+) queries \((\d+)\/s\)/;
const REFUSED = /refusals to the good resolver: (.*)$/m;
const HWM = /(server|router) memory: .*VmHWM (\S+) MiB/g;

const rows = [];
const t0 = Date.now();
for (const [i, c] of cells.entries()) {
  const env = {
    ...process.env, NTSS_LAB_FLOOD_RATE: c.rate, NTSS_LAB_FLOOD_ATTACKERS: c.a, NTSS_LAB_FLOOD_SECONDS: seconds,
    NTSS_LAB_FLOOD_TRANSPORT: c.transport === 'tcp' ? 'tcp' : 'udp', NTSS_LAB_FLOOD_FORGED: c.transport === 'forged' ? '1' : '0',
    NTSS_LAB_FLOOD_ORDER: c.order, NTSS_LAB_FLOOD_WARM_S: '3',
  };
  const args = ['lab', 'run', 'flood', '--resolver', c.resolver, '--global-addresses', c.n];
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: (Number(seconds) + 120) * 1000 });
  const out = `${r.stdout}${r.stderr}`;
  if (logDir) writeFileSync(path.join(logDir, `${i + 1}-${c.resolver}-${c.n}-${c.a}x${c.rate}-${c.transport}-${c.order}.txt`), out);
  const m = LINE.exec(out);
  const hwm = Object.fromEntries([...out.matchAll(HWM)].map((x) => [x[1], x[2]]));
  const row = m
    ? [m[1], m[2], c.a, c.rate, c.transport, c.order, `${m[3]}/${m[4]} (${m[5]}%)`, m[6], `${m[7]}/${m[8]}`, SENT.exec(out)?.[2] ?? '?',
      REFUSED.exec(out)?.[1] ?? '?', `${m[9]} (${hwm.server ?? '?'})`, `${m[10]} (${hwm.router ?? '?'})`]
    : [c.resolver, c.n, c.a, c.rate, c.transport, c.order, `? (exit ${r.status ?? r.signal})`, '?', '?', '?', '?', '?', '?'];
  rows.push(row);
  const eta = ((Date.now() - t0) / (i + 1)) * (cells.length - i - 1) / 1000;
  process.stderr.write(`# [${i + 1}/${cells.length}] ${row.slice(0, 9).join(' | ')}  (exit ${r.status}; ~${Math.round(eta)} s left)\n`);
  if (!m) process.stderr.write(out.split('\n').slice(-15).join('\n') + '\n');
}

console.log(`Each cell: \`ntss lab run flood\` in a fresh lab, ${seconds} s of attack; en2 -> bob every 1 s, en1 -> alice every 2 s; rate = all attackers together.`);
console.log('');
console.log('| resolver | global addresses | attackers | q/s asked | transport | order | good ENs right/attempts | wrong | attackers\' RCs / all RCs | q/s sent | refusals to the good resolver | server RSS max (VmHWM), MiB | router RSS max (VmHWM), MiB |');
console.log('|---|---:|---:|---:|---|---|---|---:|---:|---:|---|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
