// One plane's tests in the lab, from en1 to the router's global address: iperf3 TCP, iperf3 UDP
// at a fixed rate, and the connection setup rate (connrate.mjs). Through `ntss router` each test
// starts with a real lookup of alice (glibc -> Unbound -> NTSv2 server -> NTS REQUEST -> READY),
// and its connections are mapped by that RC, or, after the hold, let in by en1's sticky elements
// (silently: the kernel counts them, planes.mjs); what the router logged meanwhile is counted,
// so every connection is one the system can justify.
import { existsSync, openSync, readSync, closeSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseIperf } from './summary.mjs';
import { CONN_PORT, IPERF_PORT } from './planes.mjs';

const CONNRATE_JS = fileURLToPath(new URL('./connrate.mjs', import.meta.url));
const NAME = 'alice.home.example';

/** glibc's lookup from en1, as an application makes it; the address must be the router's. */
export async function lookup(lab) {
  const r = await lab.exec('en1', 'getent', ['ahostsv4', NAME], { timeoutMs: 10_000 });
  const address = r.stdout.split(/\s+/)[0] || undefined;
  if (address !== lab.mode.globalAddresses[0]) throw new Error(`lookup of ${NAME} from en1: ${address ?? `nothing (exit ${r.code}) ${r.stderr.trim()}`}`);
  return { address, ms: r.ms };
}

async function iperf(lab, target, proto, o) {
  const args = ['-c', target, '-p', String(IPERF_PORT), '-t', String(o.seconds), '-J'];
  if (proto === 'udp') args.push('-u', '-b', o.udpRate, '-l', String(o.udpLength));
  const r = await lab.exec('en1', 'iperf3', args, { timeoutMs: (o.seconds + 15) * 1000 });
  return parseIperf(r.stdout || r.stderr, proto);
}

async function connRate(lab, target, o) {
  const r = await lab.exec('en1', process.execPath, [CONNRATE_JS, 'client', '--host', target, '--port', String(CONN_PORT), '--seconds', String(o.seconds), '--concurrency', String(o.concurrency)],
    { timeoutMs: (o.seconds + 15) * 1000 });
  const line = r.stdout.trim().split('\n').pop();
  let j;
  try {
    j = JSON.parse(line);
  } catch {
    throw new Error(`connrate client: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
  }
  return j;
}

/**
 * CPU seconds of every process in the router namespace so far (reaped children included:
 * socat's forks), in total and by command name (`node`, `conntrack`, `nft`, ...): which
 * process a connection costs.
 */
export async function routerCpu(lab) {
  const r = await lab.exec('inet', 'ip', ['netns', 'pids', lab.ns('router')]);
  const byCommand = {};
  let total = 0;
  for (const pid of r.stdout.split(/\s+/).filter(Boolean)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const s = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100; // utime stime cutime cstime, USER_HZ
      byCommand[comm] = (byCommand[comm] ?? 0) + s;
      total += s;
    } catch { /* gone */ }
  }
  return { total, byCommand };
}

/** What `b` (a later routerCpu) adds to `a`, by command; a process that ended meanwhile is lost (none does during a test). */
function cpuSince(a, b) {
  const byCommand = {};
  for (const [c, s] of Object.entries(b.byCommand)) byCommand[c] = Math.max(0, s - (a.byCommand[c] ?? 0));
  return { cpuS: b.total - a.total, cpuByCommand: byCommand };
}

/** The router log's length now: events after this offset belong to what follows. */
export function logOffset(lab) {
  const f = lab.file('router.log');
  return existsSync(f) ? statSync(f).size : 0;
}

/** The router's JSON events since `offset`, counted by name (mapping-created split by rc/sticky). */
export function routerEventsSince(lab, offset) {
  const f = lab.file('router.log');
  if (!existsSync(f)) return {};
  const size = statSync(f).size;
  const buf = Buffer.alloc(Math.max(0, size - offset));
  const fd = openSync(f, 'r');
  try {
    readSync(fd, buf, 0, buf.length, offset);
  } finally {
    closeSync(fd);
  }
  const counts = {};
  for (const l of buf.toString('utf8').split('\n')) {
    if (!l.startsWith('{')) continue;
    let e;
    try {
      e = JSON.parse(l);
    } catch {
      continue;
    }
    const k = e.event === 'mapping-created' ? `mapping-created.${e.by}` : e.event;
    counts[k] = (counts[k] ?? 0) + 1;
    if (e.event === 'stopped') for (const [c, v] of Object.entries(e.counters ?? {})) if (/^dataplane\.|^event\./.test(c)) counts[`counter.${c}`] = v;
  }
  // Mappings through a sticky entry are logged at debug (routine lines of an EN already let in):
  // the router's own count of every mapping, at its stop, gives them.
  const all = counts['counter.event.mapping-created'];
  if (all !== undefined) counts['mapping-created.sticky'] = Math.max(counts['mapping-created.sticky'] ?? 0, all - (counts['mapping-created.rc'] ?? 0));
  return counts;
}

export const TESTS = ['tcp', 'udp', 'conn'];

/** One test on the current plane; `nts`: look alice up first. Returns { value, unit, ..., cpuS, lookupMs? }. */
export async function runTest(lab, test, nts, o) {
  const target = lab.mode.globalAddresses[0];
  const looked = nts ? await lookup(lab) : undefined;
  const cpu0 = await routerCpu(lab);
  const t0 = performance.now();
  let res;
  if (test === 'tcp') {
    const r = await iperf(lab, target, 'tcp', o);
    res = { value: r.mbps, unit: 'Mbit/s' };
  } else if (test === 'udp') {
    const r = await iperf(lab, target, 'udp', o);
    res = { value: r.mbps, unit: 'Mbit/s', lossPct: r.lossPct, offeredMbps: r.offeredMbps };
  } else {
    const r = await connRate(lab, target, o);
    res = { value: r.perSecond, unit: 'conn/s', ok: r.ok, failed: r.failed, errors: r.errors };
  }
  const wallS = (performance.now() - t0) / 1000;
  return { ...res, ...cpuSince(cpu0, await routerCpu(lab)), wallS, ...(looked ? { lookupMs: looked.ms } : {}) };
}
