// A running lab: bring it up (network, configs, daemons, registrations), run commands in its
// hosts, read what the inside hosts saw, restart the router, and take all of it down again.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  newSecrets, nsdConf, nsupdateKey, nsupdateScript, rootHints, rootZone, routerAuxRuleset, routerSupports, routerYaml, serverYaml, v1ResolverYaml,
  type DataPlaneKind, type LabMode, type ProfileSource,
} from './configs.js';
import { buildDelayLine } from './delay-line-build.js';
import { DELAY_CORE_JS, MAIN_JS, SERVICES_JS, countInLog, daemonEvents, logTail, startDaemon, startNtss, stopDaemon, waitReady, type DaemonEvent } from './daemons.js';
import { DELAY_TUN, buildNetwork, labNamespaces, routeThroughDelayLine, shapeWithNetem, teardownNetwork } from './netns.js';
import { assertLabAvailable, labTools } from './preflight.js';
import { DEFAULT_RESOLVER, RESOLVERS, resolverVersion, type ResolverKind, type ResolverOptions, type ResolverSpec } from './resolvers/index.js';
import { LabError, alive, nsExecArgs, runAsync, runInBackground, run, sleep, type AsyncRunOptions, type Background, type RunResult } from './shell.js';
import { loadState, saveState, stateDir, type LabState } from './state.js';
import { CAPACITY_HOST_NS, capacityHosts, checkCapacityTuning, type CapacityTuning } from './capacity-hosts.js';
import { ADDR, INSIDE_HOSTS, PROBE_ADDR, REGISTERED_AT_UP, WAN_IF, ZONE, globalAddresses, nsName, type InsideHost } from './topology.js';

export interface UpOptions {
  prefix: string;
  delayMs: number;
  lossPct: number;
  dataplane: DataPlaneKind | 'auto';
  /** The ENs' resolver (default Unbound). */
  resolver?: ResolverKind;
  /** How many global addresses the router holds (1..8, default 1). */
  globalAddresses?: number;
  /** The resolver sends ECS where it can. */
  ecs?: boolean;
  /** How the NTSv2 server knows the resolver: configured by prefix (default) or only by its fingerprint. */
  profiles?: ProfileSource;
  /** The server's nts.enCacheMs: what EN-side caches (browsers) may add to an answer's life. */
  enCacheMs?: number;
  /** The server's nts.verifySource (default cookie-or-tcp). */
  verifySource?: 'cookie-or-tcp' | 'off';
  /**
   * Everything but `ntss server` and `ntss router`, and nobody registered: the caller runs them
   * (test/deployment-e2e: the installed package, as docs/deployment.md says), then calls
   * `waitResolver()`. The lab still writes its own server and router configs (unused then).
   */
  withoutNtss?: boolean;
  /** A load run (bench/capacity): extra inside hosts on carol, and the scheduler knobs. */
  capacity?: CapacityTuning;
  say?: (line: string) => void;
}

/** One line of an inside host's services log (services.ts). */
export interface InEvent {
  t: number;
  host: string;
  event: 'listening' | 'tcp-accept' | 'http' | 'udp' | 'stream-end';
  client?: string;
  via?: string;
  /** The address the connection reached (HTTP lines; carol holds a load run's hosts). */
  local?: string;
  path?: string;
  data?: string;
  acceptedAt?: number;
  ticks?: number;
  complete?: boolean;
}

const AUX_TABLE = 'ntss_lab';

export class Lab {
  constructor(readonly s: LabState) {}

  get prefix(): string {
    return this.s.prefix;
  }

  get mode(): LabMode {
    return this.s.mode;
  }

  static attach(prefix: string): Lab | undefined {
    const s = loadState(prefix);
    return s ? new Lab(s) : undefined;
  }

  static async up(o: UpOptions): Promise<Lab> {
    const resolver = o.resolver ?? DEFAULT_RESOLVER;
    const spec = RESOLVERS[resolver];
    assertLabAvailable(labTools(resolver));
    const addresses = globalAddresses(o.globalAddresses ?? 1);
    if (o.capacity) checkCapacityTuning(o.capacity);
    if (labNamespaces(o.prefix).length > 0) {
      throw new LabError(`a lab with prefix "${o.prefix}" exists already: ntss lab down --prefix ${o.prefix}`, 'LAB_EXISTS');
    }
    const supports = routerSupports();
    const dataplane = o.dataplane === 'auto' ? (supports.nftables ? 'nftables' : 'userspace') : o.dataplane;
    if (dataplane === 'nftables' && !supports.nftables) throw new LabError('this build of ntss router has no nftables data plane yet; use --dataplane userspace', 'LAB_UNAVAILABLE');
    const dir = stateDir(o.prefix);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const s: LabState = {
      prefix: o.prefix, dir, createdAt: new Date().toISOString(), ownerPid: process.pid,
      mode: {
        dataplane, learning: supports.learning, delayMs: o.delayMs, lossPct: o.lossPct,
        resolver, resolverVersion: resolverVersion(spec), globalAddresses: addresses, ecs: (o.ecs ?? false) && spec.sendsEcs,
        profiles: o.profiles ?? 'configured', enCacheMs: o.enCacheMs ?? 0, verifySource: o.verifySource ?? 'cookie-or-tcp',
        ...(o.capacity ? { capacity: { ...o.capacity } } : {}),
      },
      secrets: newSecrets(), pids: {}, hosts: {},
    };
    saveState(s); // first, so that `down` finds the directory whatever happens next
    const lab = new Lab(s);
    const say = o.say ?? (() => undefined);
    try {
      say(`lab ${o.prefix}: data plane ${dataplane}, PHL ${s.mode.learning ? 'learned from DNS UPDATE' : 'configured'}, RTT +${o.delayMs} ms, loss ${o.lossPct}%`);
      say(`lab ${o.prefix}: resolver ${s.mode.resolverVersion}${s.mode.ecs ? ' sending ECS' : ''}, global addresses ${addresses.join(', ')}`);
      say(`lab ${o.prefix}: the server knows it ${s.mode.profiles === 'configured' ? `by configuration (profile ${resolver}${s.mode.ecs ? ', ECS trusted' : ''})` : 'only by its fingerprint (else: the conservative unknown profile)'}; EN caches ${s.mode.enCacheMs} ms; source verification ${s.mode.verifySource}`);
      if (o.ecs && !spec.sendsEcs) say(`lab ${o.prefix}: --ecs: ${spec.product} cannot send ECS as a recursive resolver; it is not sent`);
      buildNetwork(o.prefix);
      lab.addAddresses();
      await lab.shape(say);
      lab.writeConfigs();
      if (dataplane === 'userspace') run('ip', nsExecArgs(lab.ns('router'), 'nft', ['-f', join(dir, 'router-aux.nft')]));
      await lab.startAll(o.withoutNtss ?? false);
      if (!o.withoutNtss) for (const h of REGISTERED_AT_UP) await lab.register(h, true);
      const shaper = s.mode.shaper === 'tun' ? ' (no netem in this kernel: TUN delay line in Node)' : s.mode.shaper === 'tun-c' ? ' (no netem in this kernel: TUN delay line)' : '';
      say(`lab ${o.prefix}: up (${Object.keys(s.pids).length} daemons; state in ${dir})${shaper}`);
      return lab;
    } catch (e) {
      const problems = lab.down();
      if (problems.length > 0) say(`teardown problems: ${problems.join('; ')}`);
      throw e;
    }
  }

  ns(host: string): string {
    return nsName(this.prefix, host);
  }

  file(name: string): string {
    return join(this.s.dir, name);
  }

  /** The router's further global addresses on wan0, and the probe authoritative's on the server. */
  private addAddresses(): void {
    for (const a of this.s.mode.globalAddresses.slice(1)) run('ip', ['-n', this.ns('router'), 'addr', 'add', `${a}/24`, 'dev', WAN_IF]);
    run('ip', ['-n', this.ns('server'), 'addr', 'add', `${PROBE_ADDR}/24`, 'dev', 'eth0']);
    // A load run's hosts: carol's services answer on all of them (and say which one was reached).
    for (const h of capacityHosts(this.s.mode.capacity?.hosts ?? 0)) run('ip', ['-n', this.ns(CAPACITY_HOST_NS), 'addr', 'add', `${h.address}/24`, 'dev', 'eth0']);
  }

  get resolver(): ResolverSpec {
    return RESOLVERS[this.s.mode.resolver];
  }

  /** The resolver's daemon name in the state (its log: <name>.log). */
  get resolverDaemon(): string {
    return this.s.mode.resolver;
  }

  private resolverOptions(): ResolverOptions {
    return { dir: this.s.dir, ecs: this.s.mode.ecs };
  }

  /** Delay and loss between the Internet segments: netem, or where the kernel lacks it, the TUN delay line. */
  private async shape(say: (line: string) => void): Promise<void> {
    const { delayMs, lossPct } = this.s.mode;
    if (delayMs <= 0 && lossPct <= 0) return;
    if (shapeWithNetem(this.prefix, { delayMs, lossPct })) {
      this.s.mode.shaper = 'netem';
      return;
    }
    // The C delay line (one read and one write per packet), else the Node one through socat.
    const built = process.env.NTSS_LAB_DELAY_LINE === 'node' ? { ok: false as const, reason: 'NTSS_LAB_DELAY_LINE=node' } : buildDelayLine(this.s.dir);
    if (built.ok) {
      this.s.mode.shaper = 'tun-c';
      startDaemon(this.s, 'delay', 'inet', built.binary, ['--dev', DELAY_TUN, '--delay-us', String(Math.round(delayMs * 500)), '--loss-pct', String(lossPct)]);
      await waitReady(this.s, 'delay', 'listening', () => countInLog(this.s, 'delay', 'listening') > 0);
      routeThroughDelayLine(this.prefix);
      return;
    }
    say(`lab ${this.prefix}: the C delay line could not be built (${built.reason}); using the Node one (more CPU per packet)`);
    this.s.mode.shaper = 'tun';
    // 127.0.0.1 of the core namespace: the TUN's packets travel as UDP between socat and the delay line.
    startDaemon(this.s, 'delay', 'inet', process.execPath, [DELAY_CORE_JS, '--listen', '127.0.0.1:9000', '--peer', '127.0.0.1:9001', '--delay', String(delayMs / 2), '--loss', String(lossPct)]);
    await waitReady(this.s, 'delay', 'listening', () => countInLog(this.s, 'delay', 'listening') > 0);
    startDaemon(this.s, 'tun', 'inet', 'socat', [`TUN,tun-name=${DELAY_TUN},tun-type=tun,iff-no-pi,iff-up`, 'UDP-DATAGRAM:127.0.0.1:9000,bind=127.0.0.1:9001,rcvbuf=4194304,sndbuf=4194304']);
    await waitReady(this.s, 'tun', DELAY_TUN, () => run('ip', ['-n', this.ns('inet'), 'link', 'show', DELAY_TUN], { allowFail: true }).code === 0);
    routeThroughDelayLine(this.prefix);
  }

  private writeConfigs(): void {
    const { dir, secrets, mode } = this.s;
    const w = (name: string, text: string) => writeFileSync(join(dir, name), text, { mode: 0o600 });
    w('root.zone', rootZone());
    w('nsd.conf', nsdConf(dir));
    w('root.hints', rootHints());
    for (const d of this.resolver.dirs?.(this.resolverOptions()) ?? []) mkdirSync(d, { recursive: true, mode: 0o700 });
    for (const [name, text] of Object.entries(this.resolver.files(this.resolverOptions()))) w(name, text);
    w('server.yaml', serverYaml(secrets, mode));
    w('router.yaml', routerYaml(secrets, mode));
    w('router-aux.nft', routerAuxRuleset(AUX_TABLE, mode.learning));
    for (const h of INSIDE_HOSTS) {
      w(`${h}.key`, nsupdateKey(h, secrets));
      w(`${h}.nsupdate`, nsupdateScript(h));
    }
  }

  private async startAll(withoutNtss: boolean): Promise<void> {
    const s = this.s;
    startDaemon(s, 'nsd', 'root', 'nsd', ['-d', '-c', this.file('nsd.conf')]);
    if (!withoutNtss) startNtss(s, 'server', 'server', 'server', this.file('server.yaml'));
    this.startResolver();
    if (!withoutNtss) this.startRouter();
    for (const h of INSIDE_HOSTS) startDaemon(s, h, h, process.execPath, [SERVICES_JS, '--name', h, '--log', this.file(`${h}.events.jsonl`)]);
    const dig = (from: string, ...args: string[]) => async () =>
      answered((await this.exec(from, 'dig', ['+time=1', '+tries=1', '+short', ...args], { timeoutMs: 3000 })).stdout);
    await waitReady(s, 'nsd', 'the root zone', dig('resolver', `@${ADDR.root}`, '.', 'SOA'));
    if (!withoutNtss) {
      await waitReady(s, 'server', `${ZONE} SOA`, dig('resolver', `@${ADDR.server}`, ZONE, 'SOA'));
      await this.waitRouter(1);
      await this.waitResolver();
    }
    for (const h of INSIDE_HOSTS) await waitReady(s, h, 'its services', () => this.inEvents(h).some((e) => e.event === 'listening'));
  }

  private startResolver(): void {
    const [cmd, ...args] = this.resolver.argv(this.resolverOptions());
    startDaemon(this.s, this.resolverDaemon, 'resolver', cmd, args);
  }

  /** Through the resolver, as the ENs ask: primes the delegation, so every lookup below iterates from cache. */
  async waitResolver(): Promise<void> {
    const soa = async () => answered((await this.exec('en1', 'dig', ['+time=1', '+tries=1', '+short', ZONE, 'SOA'], { timeoutMs: 3000 })).stdout);
    await waitReady(this.s, this.resolverDaemon, `${ZONE} SOA through the resolver`, soa);
  }

  /**
   * NTSS v1: `ntss resolver` on a second address of the resolver host (once), and `ens` use it
   * as their primary DNS from now on (their resolv.conf; the lab's teardown removes it).
   */
  async useV1Resolver(ens: readonly string[]): Promise<void> {
    if (!this.s.pids.v1resolver) {
      run('ip', ['-n', this.ns('resolver'), 'addr', 'add', `${ADDR.v1resolver}/24`, 'dev', 'eth0']);
      writeFileSync(this.file('v1-resolver.yaml'), v1ResolverYaml(this.s.secrets, this.s.mode.globalAddresses, this.s.mode.enCacheMs ?? 0), { mode: 0o600 });
      startDaemon(this.s, 'v1resolver', 'resolver', process.execPath, [MAIN_JS, 'resolver', '--config', this.file('v1-resolver.yaml')]);
      const soa = async () => answered((await this.exec('en1', 'dig', [`@${ADDR.v1resolver}`, '+time=1', '+tries=1', '+short', ZONE, 'SOA'], { timeoutMs: 3000 })).stdout);
      await waitReady(this.s, 'v1resolver', `${ZONE} SOA through ntss resolver`, soa);
    }
    for (const en of ens) writeFileSync(`/etc/netns/${this.ns(en)}/resolv.conf`, `# ntss lab: NTSS v1\nnameserver ${ADDR.v1resolver}\noptions timeout:3 attempts:2\n`);
  }

  /** A fresh resolver: stopped, its on-disk cache emptied, started again (no cache, no memory of any server). */
  async restartResolver(): Promise<void> {
    await stopDaemon(this.s, this.resolverDaemon, 'SIGTERM');
    for (const d of this.resolver.cacheDirs?.(this.resolverOptions()) ?? []) {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { recursive: true, mode: 0o700 });
    }
    this.startResolver();
    await this.waitResolver();
  }

  private startRouter(): void {
    startNtss(this.s, 'router', 'router', 'router', this.file('router.yaml'));
  }

  /** A signal to one daemon, not waited on (SIGSTOP: frozen, its sockets still take datagrams). */
  signal(name: string, signal: NodeJS.Signals): void {
    const pid = this.s.pids[name];
    if (pid) process.kill(pid, signal);
  }

  /** Stops `ntss router` and leaves it stopped (faults: the router is gone); `startRouterAgain` ends that. */
  async stopRouter(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await stopDaemon(this.s, 'router', signal);
  }

  async startRouterAgain(): Promise<void> {
    const starts = countInLog(this.s, 'router', 'router-started');
    this.startRouter();
    await this.waitRouter(starts + 1);
  }

  /** Stops `ntss server` (KILL: a crash), waits downMs, starts it again on the same database. */
  async restartServer(signal: 'SIGTERM' | 'SIGKILL', downMs = 0): Promise<void> {
    await stopDaemon(this.s, 'server', signal);
    await sleep(downMs);
    startNtss(this.s, 'server', 'server', 'server', this.file('server.yaml'));
    await waitReady(this.s, 'server', `${ZONE} SOA`, async () =>
      answered((await this.exec('resolver', 'dig', ['+time=1', '+tries=1', '+short', `@${ADDR.server}`, ZONE, 'SOA'], { timeoutMs: 3000 })).stdout));
  }

  /** The JSON events of an ntss daemon ('router', 'server'), across restarts. */
  events(name: 'router' | 'server'): DaemonEvent[] {
    return daemonEvents(this.s, name);
  }

  private async waitRouter(starts: number): Promise<void> {
    await waitReady(this.s, 'router', 'router-started', () => countInLog(this.s, 'router', 'router-started') >= starts);
  }

  /** Stops `ntss router` (TERM: clean stop; KILL: a crash) and starts it again. */
  async restartRouter(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await this.stopRouter(signal);
    await this.startRouterAgain();
  }

  /** The IN registers its name with BIND's nsupdate, TSIG-signed, to the server's address (through the router). */
  async register(h: InsideHost, mustSucceed = false): Promise<RunResult> {
    const r = await this.exec(h, 'nsupdate', ['-t', '5', '-k', this.file(`${h}.key`), this.file(`${h}.nsupdate`)], { timeoutMs: 15_000 });
    if (mustSucceed && r.code !== 0) {
      throw new LabError(`${h}: nsupdate failed (${r.code}): ${(r.stderr || r.stdout).trim()}\n${logTail(this.s, 'server', 10)}\n${logTail(this.s, 'router', 10)}`);
    }
    return r;
  }

  /** A command inside a host's namespace. */
  exec(host: string, cmd: string, args: readonly string[], opts: AsyncRunOptions = {}): Promise<RunResult> {
    return runAsync('ip', nsExecArgs(this.ns(host), cmd, args), { timeoutMs: 30_000, ...opts });
  }

  /** A command inside a host's namespace that runs until stopped. */
  background(host: string, cmd: string, args: readonly string[]): Background {
    return runInBackground('ip', nsExecArgs(this.ns(host), cmd, args));
  }

  /** Everything that reached an inside host's services, in order. */
  inEvents(h: string): InEvent[] {
    return this.jsonLines<InEvent>(`${h}.events.jsonl`);
  }

  /** A JSON-lines log in the state directory (empty when it does not exist yet). */
  jsonLines<T>(name: string): T[] {
    const f = this.file(name);
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  }

  /** Daemon name -> alive? */
  daemons(): Record<string, boolean> {
    return Object.fromEntries(Object.entries(this.s.pids).map(([n, pid]) => [n, alive(pid)]));
  }

  /** Removes everything this lab created. Returns what could not be removed. */
  down(): string[] {
    return teardownLab(this.prefix, Object.values(this.s.pids));
  }
}

/** Teardown by prefix (state file or not): processes, namespaces, /etc/netns entries, state directory. */
export function teardownLab(prefix: string, pids: readonly number[] = []): string[] {
  const known = loadState(prefix);
  const problems = teardownNetwork(prefix, [...pids, ...Object.values(known?.pids ?? {})]);
  if (problems.length === 0) rmSync(stateDir(prefix), { recursive: true, force: true });
  return problems;
}

/** `dig +short` printed an answer: its errors (";; communications error ...") go to stdout too. */
function answered(stdout: string): boolean {
  return stdout.trim() !== '' && !stdout.includes(';;');
}
