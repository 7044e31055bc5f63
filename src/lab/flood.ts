// The flood of issue 8: dnsperf on the `attacker` host asks the NTSv2 server for the inside
// hosts' names and never connects. One dnsperf per attacking address (its own resolver, as far as
// the server can tell), or all of them from the lab resolver's own address (forged: the answers
// go to the real resolver, which drops them). Bounded by dnsperf's -l and a hard kill after it.
import { writeFileSync } from 'node:fs';
import type { Lab } from './lab.js';
import { LabError, run } from './shell.js';
import { ADDR, fqdn, nsName } from './topology.js';

export type FloodTransport = 'udp' | 'tcp';

export interface FloodSpec {
  /** Queries a second, all attackers together (each sends rate / attackers). */
  rate: number;
  /** Attacking addresses: 192.0.2.100 .. 192.0.2.(100 + attackers - 1). */
  attackers: number;
  /** Every attacker sends from the lab resolver's address instead of its own (UDP only). */
  forged: boolean;
  transport: FloodTransport;
  seconds: number;
}

export const MAX_ATTACKERS = 10;
export const MAX_RATE = 20_000;
export const MAX_SECONDS = 300;
/**
 * A forged attacker's source port: FORGED_PORT + its index. Unbound and BIND pick random ports,
 * so the router's log tells the forged requests from the real resolver's by this port.
 */
export const FORGED_PORT = 5390;
const NAMES = ['alice', 'bob', 'carol'];

export interface DnsperfResult {
  source: string;
  code: number | null;
  sent: number;
  completed: number;
  lost: number;
  /** "NOERROR 10, SERVFAIL 200" as dnsperf prints it (percentages dropped). */
  rcodes: string;
  error?: string;
}

/** Throws on a spec the lab cannot run (a clear error, before anything starts). */
export function checkFloodSpec(s: FloodSpec): void {
  const bad = (what: string) => { throw new LabError(`flood: ${what}`, 'USAGE'); };
  if (!Number.isInteger(s.attackers) || s.attackers < 1 || s.attackers > MAX_ATTACKERS) bad(`attackers must be 1..${MAX_ATTACKERS}, got ${s.attackers}`);
  if (!Number.isFinite(s.rate) || s.rate < s.attackers || s.rate > MAX_RATE) bad(`rate must be ${s.attackers}..${MAX_RATE} queries a second (at least 1 per attacker), got ${s.rate}`);
  if (!Number.isFinite(s.seconds) || s.seconds < 1 || s.seconds > MAX_SECONDS) bad(`seconds must be 1..${MAX_SECONDS}, got ${s.seconds}`);
  if (s.transport !== 'udp' && s.transport !== 'tcp') bad(`transport must be udp or tcp, got ${String(s.transport)}`);
  if (s.forged && s.transport === 'tcp') bad('a forged source cannot complete a TCP handshake (the answers go to the real resolver): use udp');
}

export function attackerAddresses(n: number): string[] {
  const base = Number(ADDR.attacker.split('.')[3]);
  return Array.from({ length: n }, (_, i) => `192.0.2.${base + i}`);
}

/** Who sent a request the router logged (its `resolver` field, address:port). */
export function isAttackerSource(hostPort: string): boolean {
  const i = hostPort.lastIndexOf(':');
  const host = i < 0 ? hostPort : hostPort.slice(0, i);
  const port = i < 0 ? NaN : Number(hostPort.slice(i + 1));
  if (attackerAddresses(MAX_ATTACKERS).includes(host)) return true;
  return host === ADDR.resolver && port >= FORGED_PORT && port < FORGED_PORT + MAX_ATTACKERS;
}

/**
 * The attacker's addresses (its own, and the resolver's as a /32 when forged), and a core that
 * routes a packet from 198.51.100.53 arriving on the infra bridge (no reverse-path filter).
 * Idempotent: a second flood in one lab finds them in place.
 */
export function prepareAttackers(lab: Lab, s: FloodSpec): void {
  const ns = lab.ns('attacker');
  const have = run('ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout;
  const want = [...attackerAddresses(s.attackers).slice(1).map((a) => `${a}/24`), ...(s.forged ? [`${ADDR.resolver}/32`] : [])];
  for (const a of want) if (!have.includes(` ${a} `)) run('ip', ['-n', ns, 'addr', 'add', a, 'dev', 'eth0']);
  // The kernel uses the larger of all/<if>: both 0. New namespaces inherit init_net's IPv4 settings (often 2).
  run('ip', ['netns', 'exec', nsName(lab.prefix, 'inet'), 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.br-infra.rp_filter=0']);
  writeFileSync(lab.file('flood-queries.txt'), NAMES.map((n) => `${fqdn(n).slice(0, -1)} A`).join('\n') + '\n');
}

/** Runs the flood to its end; resolves with what each dnsperf reported. */
export async function flood(lab: Lab, s: FloodSpec): Promise<DnsperfResult[]> {
  checkFloodSpec(s);
  prepareAttackers(lab, s);
  const perAttacker = s.rate / s.attackers;
  const jobs = attackerAddresses(s.attackers).map(async (own, i) => {
    const source = s.forged ? ADDR.resolver : own;
    const args = [
      '-s', ADDR.server, '-a', source, '-m', s.transport, '-d', lab.file('flood-queries.txt'),
      '-Q', String(Math.max(1, Math.round(perAttacker))), '-l', String(s.seconds),
      // The server holds NTS answers up to ~1.8 s: without room for that many outstanding
      // queries, dnsperf would send far below the asked rate.
      '-q', String(Math.min(60_000, Math.max(100, Math.ceil(perAttacker * 4)))), '-t', '3',
      ...(s.forged ? ['-x', String(FORGED_PORT + i)] : []),
    ];
    const r = await lab.exec('attacker', 'dnsperf', args, { timeoutMs: (s.seconds + 15) * 1000 });
    return parseDnsperf(s.forged ? `${source}:${FORGED_PORT + i}` : own, r.code, `${r.stdout}\n${r.stderr}`);
  });
  return Promise.all(jobs);
}

export function parseDnsperf(source: string, code: number | null, out: string): DnsperfResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const rcodes = (/Response codes:[ \t]+(.*)/.exec(out)?.[1] ?? '').replace(/ \([\d.]+%\)/g, '').trim();
  const sent = num(/Queries sent:\s+(\d+)/);
  const r: DnsperfResult = { source, code, sent, completed: num(/Queries completed:\s+(\d+)/), lost: num(/Queries lost:\s+(\d+)/), rcodes };
  if (code !== 0 || Number.isNaN(sent)) r.error = out.trim().split('\n').filter(Boolean).slice(-2).join(' / ') || `exit ${code}`;
  return r;
}
