// What a scenario works with: the ENs' own tools (curl, dig, getent, socat) run inside their
// namespaces, what the inside hosts logged, and checks that print one line each. A failed
// check fails the scenario; `must` also stops it (later steps would only repeat the failure).
import { schedulerTimes } from '../configs.js';
import type { InEvent, Lab } from '../lab.js';
import { sleep, type RunResult } from '../shell.js';
import { ADDR, type ExternalNode } from '../topology.js';

export class ScenarioFailed extends Error {}

export interface HttpResult {
  run: RunResult;
  ok: boolean;
  body: string;
  /** Parsed from the body: host=, client=, via=. */
  host?: string;
  client?: string;
  via?: string;
  /** curl's own timings, ms from its start. */
  dnsMs?: number;
  connectMs?: number;
  firstByteMs?: number;
}

export interface Scenario {
  name: string;
  summary: string;
  /** Router features the scenario cannot do without. */
  needs?: ('learning' | 'kernel')[];
  /**
   * How long its ENs keep an answer (the server's nts.enCacheMs, unless --en-cache says
   * otherwise). Default 0: curl, getent and socat through glibc keep nothing.
   */
  enCacheMs?: number;
  run(ctx: ScenarioContext): Promise<void>;
}

const CURL_W = '\\nCURL %{http_code} %{time_namelookup} %{time_connect} %{time_starttransfer}\\n';

export class ScenarioContext {
  failures = 0;
  readonly hold: number;
  readonly rcTimeout: number;
  /** Values a scenario reports (latency) for the caller. */
  readonly results: Record<string, number> = {};

  constructor(readonly lab: Lab, readonly say: (line: string) => void) {
    const t = schedulerTimes(lab.mode.delayMs);
    this.hold = t.holdMs;
    this.rcTimeout = t.rcTimeoutMs;
  }

  get kernel(): boolean {
    return this.lab.mode.dataplane === 'nftables';
  }

  check(ok: boolean, what: string, detail = ''): boolean {
    if (!ok) this.failures++;
    this.say(`  ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` -- ${detail}` : ''}`);
    return ok;
  }

  must(ok: boolean, what: string, detail = ''): void {
    if (!this.check(ok, what, detail)) throw new ScenarioFailed(what);
  }

  note(line: string): void {
    this.say(`       ${line}`);
  }

  /** An HTTP GET from an EN with curl (its resolver: the lab's Unbound). */
  async curl(en: ExternalNode, url: string, opts: { maxTimeS?: number; extra?: string[]; onStdout?: (s: string) => void } = {}): Promise<HttpResult> {
    const args = ['-sS', '--max-time', String(opts.maxTimeS ?? 5), '-w', CURL_W, ...(opts.extra ?? []), url];
    const run = await this.lab.exec(en, 'curl', args, { timeoutMs: ((opts.maxTimeS ?? 5) + 5) * 1000, onStdout: opts.onStdout });
    return parseCurl(run);
  }

  /** One UDP datagram with socat, and whatever comes back within waitS. */
  async udp(en: ExternalNode, target: string, payload: string, opts: { sourcePort?: number; waitS?: number } = {}): Promise<{ run: RunResult; reply: string }> {
    const sp = opts.sourcePort ? `,sourceport=${opts.sourcePort},reuseaddr` : '';
    const run = await this.lab.exec(en, 'socat', ['-t', String(opts.waitS ?? 1.5), '-T', '5', '-', `UDP4:${target}${sp}`], { input: `${payload}\n`, timeoutMs: 15_000 });
    return { run, reply: run.stdout.trim() };
  }

  /** One query, one try; `ms`: dig's own "Query time", or the wall time when no answer came (timeS). */
  async dig(en: ExternalNode, name: string, type: string, opts: { timeS?: number } = {}): Promise<{ status: string; answers: string[]; ms: number; run: RunResult }> {
    const timeS = opts.timeS ?? 3;
    const run = await this.lab.exec(en, 'dig', [`+time=${timeS}`, '+tries=1', name, type], { timeoutMs: (timeS + 7) * 1000 });
    const status = /status: (\w+)/.exec(run.stdout)?.[1] ?? (/timed out/.test(run.stdout) ? 'TIMEOUT' : `exit ${run.code}`);
    const section = /;; ANSWER SECTION:\n([\s\S]*?)\n\n/.exec(run.stdout)?.[1] ?? '';
    const q = /;; Query time: (\d+) msec/.exec(run.stdout);
    return { status, answers: section.split('\n').filter(Boolean), ms: q ? Number(q[1]) : run.ms, run };
  }

  /** The EN's stub resolver (glibc), as applications use it: A only. */
  async getent(en: ExternalNode, name: string): Promise<{ address?: string; run: RunResult }> {
    const run = await this.lab.exec(en, 'getent', ['ahostsv4', name], { timeoutMs: 15_000 });
    return { address: run.stdout.split(/\s+/)[0] || undefined, run };
  }

  inEvents(h: string): InEvent[] {
    return this.lab.inEvents(h);
  }

  /** Events at an inside host whose path or payload carries the tag. */
  seen(h: string, tag: string, event?: InEvent['event']): InEvent[] {
    return this.inEvents(h).filter((e) => (event === undefined || e.event === event) && ((e.path ?? '').includes(tag) || (e.data ?? '').includes(tag)));
  }

  /**
   * Did the inside host see this EN as the client? The kernel plane keeps the EN's address;
   * the userspace relay shows itself, and names the EN in a PROXY v2 header on TCP only.
   */
  fromEn(e: { client?: string; via?: string }, en: ExternalNode, proto: 'tcp' | 'udp'): boolean {
    const addr = ADDR[en];
    if (this.kernel) return (e.client ?? '').startsWith(`${addr}:`) && !e.via;
    if (proto === 'tcp') return (e.client ?? '').startsWith(`${addr}:`) && (e.via ?? '').startsWith(`${ADDR.routerLan}:`);
    return (e.client ?? '').startsWith(`${ADDR.routerLan}:`);
  }

  /** Long enough for every RC and hold of earlier steps to be over. */
  async quiet(): Promise<void> {
    await sleep(this.rcTimeout + this.hold + 200);
  }

  sleep(ms: number): Promise<void> {
    return sleep(ms);
  }
}

export function parseCurl(run: RunResult): HttpResult {
  const m = /\nCURL (\d+) ([\d.]+) ([\d.]+) ([\d.]+)\n?$/.exec(run.stdout);
  const body = m ? run.stdout.slice(0, m.index) : run.stdout;
  const field = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S+)`).exec(body)?.[1];
  const ms = (s: string | undefined) => (s === undefined ? undefined : Number(s) * 1000);
  return {
    run, ok: run.code === 0 && m?.[1] === '200', body: body.trim(),
    host: field('host'), client: field('client'), via: field('via'),
    dnsMs: ms(m?.[2]), connectMs: ms(m?.[3]), firstByteMs: ms(m?.[4]),
  };
}

export function describe(r: HttpResult): string {
  if (!r.ok) return `curl exit ${r.run.code}: ${(r.run.stderr || r.body).trim().split('\n').pop()}`;
  const t = r.dnsMs === undefined ? '' : ` (dns ${r.dnsMs.toFixed(0)} ms, connect ${r.connectMs?.toFixed(0)} ms)`;
  return `"${r.body.split('\n')[0]}"${t}`;
}

let tagCounter = 0;
/** A unique marker for one request, found again in the inside host's log (fixed width: no tag is a prefix of another). */
export function tag(what: string): string {
  return `${what.replace(/[^A-Za-z0-9]+/g, '-')}-${process.pid}-${String(++tagCounter).padStart(5, '0')}`;
}
