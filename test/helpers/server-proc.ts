// Integration-test helpers: run the real `ntss server` as a child process in a fresh temp dir,
// run external tools (dig, kdig, nsupdate, knsupdate) and parse their output, and talk raw DNS
// over UDP/TCP from Node.
//
// The server binary is located relative to this compiled file (dist/test/helpers/server-proc.js
// -> dist/src/cli/main.js), so the tests work from any outDir.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMessage, encodeMessage } from '../../src/dns/codec.js';
import { RRClass, RRType, Rcode } from '../../src/dns/constants.js';
import { newMessage, type Message } from '../../src/dns/types.js';

export const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const HOST = '127.0.0.1';

// ---- configuration ------------------------------------------------------------------------------

export interface TsigKeyConfig {
  name: string;
  algorithm: string;
  secret: string;
  allow?: string[];
}

/** The server configuration minus `listen` and `storage` (the helper fills those in). */
export interface TestConfig {
  zone: {
    name: string;
    soa: { mname: string; rname: string; refresh: number; retry: number; expire: number; minimum: number; serial?: number; ttl?: number };
    ns: string[];
    records?: string[];
  };
  tsig?: TsigKeyConfig[];
  routers?: { id: string; addresses: string[]; nts: string; key: string }[];
  udp?: { maxPayload?: number };
  tcp?: { idleTimeoutMs?: number; maxConnections?: number };
  [k: string]: unknown;
}

/** A small zone like examples/server.yaml; tests add what they need. */
export function baseConfig(extra: Partial<TestConfig> = {}): TestConfig {
  return {
    zone: {
      name: 'home.example.',
      soa: { mname: 'ns1.home.example.', rname: 'hostmaster.home.example.', refresh: 3600, retry: 600, expire: 86400, minimum: 60, ttl: 3600, serial: 1 },
      ns: ['ns1.home.example.'],
      records: [
        'ns1.home.example. 3600 IN A 192.0.2.53',
        'www.home.example. 300 IN A 192.0.2.80',
        'www.home.example. 300 IN AAAA 2001:db8::80',
        'mail.home.example. 300 IN CNAME www.home.example.',
        'home.example. 300 IN MX 10 mail.home.example.',
        'home.example. 300 IN TXT "v=spf1 -all"',
      ],
    },
    ...extra,
  };
}

// ---- process management -------------------------------------------------------------------------

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort: never leave a server behind, whatever happened to the test.
  process.on('exit', () => {
    for (const c of live) {
      try { c.kill('SIGKILL'); } catch { /* already gone */ }
    }
  });
}

export interface StartOptions {
  config: TestConfig;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long to wait for the `listening` event. */
  readyTimeoutMs?: number;
  /** Keep the temp dir after the test (for debugging). Also NTSS_KEEP_TMP=1. */
  keepDir?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProc {
  /** The port used for both UDP and TCP (may change on restart if the old one was taken). */
  port: number;
  dir: string;
  configFile: string;
  /** Every stderr line of every run, in order. */
  stderrLines: string[];
  /** The JSON log objects parsed from stderrLines (non-JSON lines skipped). */
  events(): Record<string, unknown>[];
  /** Resolves when a log event matching pred appears (already-seen lines count). */
  waitForEvent(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly running: boolean;
  pid(): number | undefined;
  /** SIGTERM, wait for exit, assert exit code 0. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<void>;
  /** Start again on the same dir/storage (after stop() or kill9()). */
  restart(): Promise<void>;
  /** Stop if still running (SIGKILL), remove the temp dir. Idempotent; registered with t.after. */
  dispose(): Promise<void>;
}

type AfterHost = { after(fn: () => unknown): void } | ((fn: () => unknown) => void);

/** A port free for both TCP and UDP on 127.0.0.1 right now (the server may still lose the race). */
export async function pickPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const srv = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, HOST, () => resolve((srv.address() as net.AddressInfo).port));
    });
    const sock = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(port, HOST, () => resolve(true));
    });
    await new Promise<void>((r) => sock.close(() => r())).catch(() => undefined);
    await new Promise<void>((r) => srv.close(() => r()));
    if (ok) return port;
  }
  throw new Error('could not find a port free for both TCP and UDP');
}

class StartupError extends Error {
  constructor(message: string, readonly addrInUse: boolean) {
    super(message);
  }
}

/**
 * Starts the real server. `host` is the test context (t) or node:test's `after`: the child is
 * always killed and the temp dir removed when the test (or suite) ends.
 */
export async function startServer(host: AfterHost | undefined, opts: StartOptions): Promise<ServerProc> {
  installExitHook();
  if (!existsSync(MAIN_JS)) throw new Error(`server entry point not built: ${MAIN_JS}`);
  const dir = mkdtempSync(join(tmpdir(), 'ntss-it-'));
  const configFile = join(dir, 'server.yaml');
  const stderrLines: string[] = [];
  const parsed: Record<string, unknown>[] = [];
  const waiters = new Set<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }>();
  let child: ChildProcess | undefined;
  let exited: Promise<ExitInfo> | undefined;
  let running = false;
  let disposed = false;
  let port = 0;

  const writeConfig = () => {
    const cfg = { listen: [`${HOST}:${port}`], storage: './ntss.db', ...opts.config };
    // JSON is YAML (1.2): no dependency needed here.
    writeFileSync(configFile, `# written by test/helpers/server-proc.ts\n${JSON.stringify(cfg, null, 2)}\n`);
  };

  const onLine = (line: string) => {
    stderrLines.push(line);
    if (!line.startsWith('{')) return;
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      parsed.push(e);
      for (const w of [...waiters]) if (w.pred(e)) { waiters.delete(w); w.resolve(e); }
    } catch { /* not JSON */ }
  };

  const launchOnce = async (): Promise<void> => {
    writeConfig();
    const firstLine = stderrLines.length;
    const c = spawn(process.execPath, [MAIN_JS, 'server', '--config', configFile, '--log-format', 'json', '--log-level', opts.logLevel ?? 'info'], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    live.add(c);
    running = true;
    exited = new Promise<ExitInfo>((resolve) => {
      c.once('exit', (code, signal) => {
        running = false;
        live.delete(c);
        resolve({ code, signal });
      });
    });
    let partial = '';
    c.stderr!.setEncoding('utf8');
    c.stderr!.on('data', (chunk: string) => {
      partial += chunk;
      let i: number;
      while ((i = partial.indexOf('\n')) >= 0) {
        onLine(partial.slice(0, i));
        partial = partial.slice(i + 1);
      }
    });
    c.stderr!.on('end', () => { if (partial) onLine(partial); partial = ''; });
    c.stdout!.resume();
    const timeoutMs = opts.readyTimeoutMs ?? 10_000;
    const runLog = () => stderrLines.slice(firstLine).join('\n');
    let timer: NodeJS.Timeout | undefined;
    let waiter: { pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void } | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          const seenBefore = parsed.length;
          waiter = { pred: (e) => e.event === 'listening' && parsed.indexOf(e) >= seenBefore, resolve: () => resolve() };
          waiters.add(waiter);
        }),
        exited.then((x) => {
          throw new StartupError(
            `server exited before listening (code ${x.code}, signal ${x.signal}); stderr:\n${runLog()}`,
            /EADDRINUSE|address already in use/i.test(runLog()),
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StartupError(`server not listening after ${timeoutMs} ms; stderr:\n${runLog()}`, false)), timeoutMs);
        }),
      ]);
    } catch (e) {
      if (running) { c.kill('SIGKILL'); await exited; }
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      if (waiter) waiters.delete(waiter);
    }
  };

  /** Launch on the current port if set, else a fresh one; on EADDRINUSE pick another, up to 5 times. */
  const launch = async (keepPort: boolean): Promise<void> => {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!(keepPort && attempt === 0 && port)) port = await pickPort();
      try {
        await launchOnce();
        return;
      } catch (e) {
        lastErr = e;
        if (!(e instanceof StartupError && e.addrInUse)) throw e;
      }
    }
    throw lastErr;
  };

  const killAndWait = async (sig: NodeJS.Signals): Promise<ExitInfo | undefined> => {
    if (!child || !running) return undefined;
    child.kill(sig);
    return exited!;
  };

  const proc: ServerProc = {
    get port() { return port; },
    dir, configFile, stderrLines,
    events: () => parsed,
    waitForEvent(pred, timeoutMs = 5000) {
      const found = parsed.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (e: Record<string, unknown>) => { clearTimeout(timer); resolve(e); } };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`log event not seen within ${timeoutMs} ms; stderr tail:\n${stderrLines.slice(-20).join('\n')}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    get running() { return running; },
    pid: () => child?.pid,
    async stop() {
      if (!running) throw new Error('stop(): server is not running');
      let timer: NodeJS.Timeout | undefined;
      const x = await Promise.race([
        killAndWait('SIGTERM'),
        new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), 5000); }),
      ]);
      clearTimeout(timer);
      if (x === 'timeout') {
        await killAndWait('SIGKILL');
        throw new Error(`server did not exit within 5 s of SIGTERM; stderr tail:\n${stderrLines.slice(-20).join('\n')}`);
      }
      if (!x || x.code !== 0) {
        throw new Error(`server exited with code ${x?.code} signal ${x?.signal} after SIGTERM (expected 0); stderr tail:\n${stderrLines.slice(-20).join('\n')}`);
      }
    },
    async kill9() {
      await killAndWait('SIGKILL');
    },
    async restart() {
      if (running) throw new Error('restart(): stop() or kill9() first');
      await launch(true);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await killAndWait('SIGKILL');
      if (!opts.keepDir && process.env.NTSS_KEEP_TMP !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };

  if (host) {
    if (typeof host === 'function') host(() => proc.dispose());
    else host.after(() => proc.dispose());
  }
  try {
    await launch(false);
  } catch (e) {
    await proc.dispose();
    throw e;
  }
  return proc;
}

// ---- running tools ------------------------------------------------------------------------------

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for matching messages whose stream varies between versions. */
  output: string;
}

/** Runs a command to completion (SIGKILL after timeoutMs; then code is null). Never throws on a
 *  non-zero exit; throws if the command cannot be started. */
export function run(cmd: string, args: string[], input?: string, timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.once('error', (e) => { clearTimeout(timer); reject(e); });
    c.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, output: stdout + stderr });
    });
    c.stdin.on('error', () => undefined); // EPIPE if the tool exits early
    c.stdin.end(input ?? '');
  });
}

/** dig (BIND) with short timeouts against the test server. */
export function dig(port: number, args: string[]): Promise<RunResult> {
  return run('dig', [`@${HOST}`, '-p', String(port), '+time=2', '+tries=1', ...args]);
}

/** kdig (Knot) with short timeouts against the test server. */
export function kdig(port: number, args: string[]): Promise<RunResult> {
  return run('kdig', [`@${HOST}`, '-p', String(port), '+time=2', '+retry=0', ...args]);
}

/** `dig +short NAME TYPE`: the rdata lines (empty for no answer). Throws on a dig failure. */
export async function digShort(port: number, name: string, type = 'A', extra: string[] = []): Promise<string[]> {
  const r = await dig(port, ['+short', ...extra, name, type]);
  if (r.code !== 0) throw new Error(`dig +short ${name} ${type} failed (${r.code}): ${r.output}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}

/** The zone's SOA serial, read with a raw UDP query (no process spawn: many tests read it often). */
export async function soaSerial(port: number, zone = 'home.example.'): Promise<number> {
  const m = await queryUdp(port, zone, RRType.SOA);
  const soa = m.answer.find((r) => r.rdata.kind === 'SOA');
  if (m.rcode !== Rcode.NOERROR || !soa || soa.rdata.kind !== 'SOA') throw new Error(`no SOA for ${zone}: rcode ${m.rcode}, ${m.answer.length} answers`);
  return soa.rdata.serial;
}

let queryId = 1;
/** One query over UDP with the project's codec; the decoded reply. */
export async function queryUdp(port: number, name: string, type: number, timeoutMs = 2000): Promise<Message> {
  const c = new UdpClient(port);
  try {
    queryId = (queryId + 1) & 0xffff;
    const q = encodeMessage(newMessage({ id: queryId, question: [{ name, type, class: RRClass.IN }] }));
    return decodeMessage(await c.exchange(q, timeoutMs));
  } finally {
    c.close();
  }
}

// ---- parsing dig / kdig output ------------------------------------------------------------------

export interface ParsedRR {
  name: string;
  ttl: number;
  class: string;
  type: string;
  rdata: string;
}

export interface ParsedDig {
  opcode?: string;
  status?: string;
  id?: number;
  flags: string[];
  counts: Record<string, number>;
  /** OPT pseudosection lines, as printed (without the leading semicolons). */
  opt?: string[];
  edns?: { version?: number; udp?: number };
  /** CLIENT-SUBNET: "192.0.2.0/24/0" */
  clientSubnet?: string;
  question: { name: string; class: string; type: string }[];
  answer: ParsedRR[];
  authority: ParsedRR[];
  additional: ParsedRR[];
  raw: string;
}

function parseRR(line: string): ParsedRR | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 4) return undefined;
  const ttl = Number(f[1]);
  if (!Number.isInteger(ttl)) return undefined;
  return { name: f[0], ttl, class: f[2], type: f[3], rdata: f.slice(4).join(' ') };
}

/**
 * Parses the default (or +comments) output of dig 9.18 or kdig 3.x for ONE message.
 * dig:  ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1" / ";; flags: qr aa; QUERY: 1, ..."
 * kdig: ";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 1" / ";; Flags: qr aa; QUERY: 1; ..."
 */
export function parseDig(out: string): ParsedDig {
  const p: ParsedDig = { flags: [], counts: {}, question: [], answer: [], authority: [], additional: [], raw: out };
  let section: 'question' | 'answer' | 'authority' | 'additional' | 'opt' | undefined;
  for (const line of out.split('\n')) {
    const hdr = /->>HEADER<<-\s+opcode:\s*([A-Z0-9]+)[,;]\s*status:\s*([A-Z0-9]+)[,;]\s*id:\s*(\d+)/.exec(line);
    if (hdr) {
      p.opcode = hdr[1];
      p.status = hdr[2];
      p.id = Number(hdr[3]);
      continue;
    }
    const fl = /^;;\s*flags:([^;]*);(.*)$/i.exec(line);
    if (fl && p.status !== undefined && p.flags.length === 0 && Object.keys(p.counts).length === 0) {
      p.flags = fl[1].trim().split(/\s+/).filter(Boolean);
      for (const m of fl[2].matchAll(/([A-Z]+):\s*(\d+)/g)) p.counts[m[1]] = Number(m[2]);
      continue;
    }
    const sec = /^;;\s*(QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line) ?? /^;;\s*(OPT|EDNS) PSEUDOSECTION:/.exec(line);
    if (sec) {
      const s = sec[1];
      section = s === 'OPT' || s === 'EDNS' ? 'opt' : (s.toLowerCase() as typeof section);
      if (section === 'opt') p.opt = [];
      continue;
    }
    if (line.trim() === '') { section = undefined; continue; }
    if (!section) continue;
    if (section === 'opt') {
      const text = line.replace(/^;+\s*/, '');
      p.opt!.push(text);
      const v = /version:\s*(\d+)/i.exec(text);
      if (v) p.edns = { ...p.edns, version: Number(v[1]) };
      const u = /(?:udp|UDP size):\s*(\d+)/.exec(text);
      if (u) p.edns = { ...p.edns, udp: Number(u[1]) };
      const ecs = /CLIENT-SUBNET:\s*(\S+)/.exec(text);
      if (ecs) p.clientSubnet = ecs[1];
      continue;
    }
    if (section === 'question') {
      const f = line.replace(/^;+\s*/, '').trim().split(/\s+/);
      if (f.length >= 3) p.question.push({ name: f[0], class: f[1], type: f[2] });
      continue;
    }
    if (line.startsWith(';')) continue;
    const rr = parseRR(line);
    if (rr) p[section].push(rr);
  }
  return p;
}

// ---- raw DNS from Node --------------------------------------------------------------------------

/** One UDP socket to the server; send() resolves with the next datagram whose ID matches (or
 *  any datagram when id is undefined), rejects after timeoutMs. */
export class UdpClient {
  private readonly sock = dgram.createSocket('udp4');
  private readonly queue: Buffer[] = [];
  private waiters: { id?: number; resolve: (b: Buffer) => void }[] = [];
  private ready: Promise<void>;

  constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      const id = m.length >= 2 ? m.readUInt16BE(0) : -1;
      const i = this.waiters.findIndex((w) => w.id === undefined || w.id === id);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
      else this.queue.push(m);
    });
    this.sock.on('error', () => undefined);
    this.ready = new Promise((r) => this.sock.bind(0, HOST, () => r()));
  }

  async sendRaw(buf: Buffer): Promise<void> {
    await this.ready;
    await new Promise<void>((resolve, reject) => this.sock.send(buf, this.port, HOST, (e) => (e ? reject(e) : resolve())));
  }

  /** Next datagram (with this ID, if given). Datagrams already received count. */
  receive(id?: number, timeoutMs = 2000): Promise<Buffer> {
    const qi = this.queue.findIndex((m) => id === undefined || (m.length >= 2 && m.readUInt16BE(0) === id));
    if (qi >= 0) return Promise.resolve(this.queue.splice(qi, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = {
        id,
        resolve: (b: Buffer) => { clearTimeout(timer); resolve(b); },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no UDP reply${id === undefined ? '' : ` with id ${id}`} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async exchange(buf: Buffer, timeoutMs = 2000): Promise<Buffer> {
    const id = buf.readUInt16BE(0);
    const p = this.receive(id, timeoutMs);
    await this.sendRaw(buf);
    return p;
  }

  /** Datagrams received but not claimed by receive(). */
  pending(): Buffer[] {
    return this.queue;
  }

  close(): void {
    try { this.sock.close(); } catch { /* closed */ }
  }
}

/** A TCP connection with RFC 1035 4.2.2 framing. */
export class TcpClient {
  private buf = Buffer.alloc(0);
  private readonly messages: Buffer[] = [];
  private waiter?: () => void;
  private closed = false;

  private constructor(readonly sock: net.Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        const n = this.buf.readUInt16BE(0);
        this.messages.push(Buffer.from(this.buf.subarray(2, 2 + n)));
        this.buf = this.buf.subarray(2 + n);
      }
      this.waiter?.();
    });
    sock.on('close', () => { this.closed = true; this.waiter?.(); });
    sock.on('error', () => undefined);
  }

  static connect(port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: HOST, port }, () => { s.off('error', reject); resolve(new TcpClient(s)); });
      s.once('error', reject);
    });
  }

  static frame(msgs: Buffer[]): Buffer {
    return Buffer.concat(msgs.flatMap((m) => {
      const l = Buffer.alloc(2);
      l.writeUInt16BE(m.length);
      return [l, m];
    }));
  }

  write(data: Buffer): void {
    this.sock.write(data);
  }

  /** Resolves with the next n messages; rejects on timeout or close. */
  async read(n: number, timeoutMs = 3000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < n) {
      if (this.closed) throw new Error(`TCP connection closed after ${this.messages.length}/${n} messages`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.messages.length}/${n} TCP messages within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(t); this.waiter = undefined; resolve(); };
      });
    }
    return this.messages.splice(0, n);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Polls cond until it returns a truthy value or the deadline passes (then throws with what). */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, timeoutMs = 5000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
