// `ntss lab up|down|status|run SCENARIO|exec HOST -- CMD`: the whole system in Linux network
// namespaces with a real resolver (Unbound, BIND, Knot Resolver or PowerDNS Recursor), NSD,
// nsupdate and curl. Argument checks here; src/lab/ does the work.
import { spawnSync } from 'node:child_process';
import { Lab, teardownLab } from '../lab/lab.js';
import { labNamespaces, labPrefixes } from '../lab/netns.js';
import { assertLabAvailable, labTools } from '../lab/preflight.js';
import { DEFAULT_RESOLVER, RESOLVER_KINDS, isResolverKind, type ResolverKind } from '../lab/resolvers/index.js';
import type { Scenario } from '../lab/scenarios/context.js';
import { SCENARIOS, runScenarios, selectScenarios, type RunSummary, type ScenarioObserver } from '../lab/scenarios/index.js';
import { loadState } from '../lab/state.js';
import { ADDR, DASHBOARD_PORT, HOSTS, MAX_GLOBAL_ADDRESSES, PREFIX_RE, nsName } from '../lab/topology.js';
import { assertWritable, diagramPaths, parseWindow, type Window } from '../diagram/file.js';
import { startDiagramCapture } from '../lab/diagram.js';
import { UsageError } from '../util/errors.js';
import type { Command } from './main.js';

const FIXED_PREFIX = 'ntsslab';
const say = (line: string) => console.log(line);

interface Opts {
  prefix: string;
  delayMs: number;
  lossPct: number;
  dataplane: 'auto' | 'nftables' | 'userspace';
  resolver: ResolverKind;
  globalAddresses: number;
  ecs: boolean;
  profiles: 'configured' | 'fingerprint';
  /** --en-cache; undefined: the scenario's (run) or 0 (up: the lab's ENs keep nothing). */
  enCacheMs: number | undefined;
  /** --verify-source: the server's nts.verifySource. */
  verifySource: 'cookie-or-tcp' | 'off';
}

function options(v: Record<string, string | boolean | undefined>, defaultPrefix: string): Opts {
  const prefix = typeof v.prefix === 'string' ? v.prefix : defaultPrefix;
  if (!PREFIX_RE.test(prefix)) throw new UsageError(`lab: --prefix must be 1-16 lowercase letters and digits, starting with a letter; got "${prefix}"`);
  const num = (name: string, max: number, dflt: number) => {
    const s = v[name];
    if (s === undefined) return dflt;
    const n = Number(s);
    if (typeof s !== 'string' || !Number.isFinite(n) || n < 0 || n > max) throw new UsageError(`lab: --${name} must be a number from 0 to ${max}, got "${String(s)}"`);
    return n;
  };
  const dataplane = (v.dataplane ?? 'auto') as string;
  if (!['auto', 'nftables', 'userspace'].includes(dataplane)) throw new UsageError(`lab: --dataplane must be auto, nftables or userspace, got "${dataplane}"`);
  const resolver = (v.resolver ?? DEFAULT_RESOLVER) as string;
  if (!isResolverKind(resolver)) throw new UsageError(`lab: --resolver must be ${RESOLVER_KINDS.join(', ')}; got "${resolver}"`);
  const ga = num('global-addresses', MAX_GLOBAL_ADDRESSES, 1);
  if (!Number.isInteger(ga) || ga < 1) throw new UsageError(`lab: --global-addresses must be a whole number from 1 to ${MAX_GLOBAL_ADDRESSES}, got "${String(v['global-addresses'])}"`);
  const profiles = (v.profiles ?? 'configured') as string;
  if (profiles !== 'configured' && profiles !== 'fingerprint') throw new UsageError(`lab: --profiles must be configured or fingerprint, got "${profiles}"`);
  const verifySource = (v['verify-source'] ?? 'cookie-or-tcp') as string;
  if (verifySource !== 'cookie-or-tcp' && verifySource !== 'off') throw new UsageError(`lab: --verify-source must be cookie-or-tcp or off, got "${verifySource}"`);
  return {
    verifySource,
    prefix, delayMs: Math.round(num('delay', 5000, 0)), lossPct: num('loss', 100, 0), dataplane: dataplane as Opts['dataplane'],
    resolver, globalAddresses: ga, ecs: v.ecs === true, profiles,
    enCacheMs: v['en-cache'] === undefined ? undefined : Math.round(num('en-cache', 600_000, 0)),
  };
}

/** Tears the lab down on Ctrl-C, SIGTERM, SIGHUP and process exit, until disarmed. */
function guard(prefix: string): { disarm(): void } {
  let armed = true;
  const cleanup = () => {
    if (!armed) return;
    armed = false;
    const problems = teardownLab(prefix);
    if (problems.length > 0) console.error(`ntss: lab ${prefix}: could not remove: ${problems.join('; ')}`);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\nntss: ${sig}: removing lab ${prefix}`);
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, onSignal);
  process.on('exit', cleanup);
  return {
    disarm() {
      armed = false;
      for (const s of sigs) process.off(s, onSignal);
      process.off('exit', cleanup);
    },
  };
}

async function up(o: Opts): Promise<number> {
  const g = guard(o.prefix);
  await Lab.up({ ...o, enCacheMs: o.enCacheMs ?? 0, say });
  g.disarm(); // from here on the lab lives until `ntss lab down`
  const p = o.prefix === FIXED_PREFIX ? '' : ` --prefix ${o.prefix}`;
  say(`  hosts: ${Object.entries(ADDR).map(([h, a]) => `${h} ${a}`).join(', ')}`);
  say(`  try:   ntss lab exec en1${p} -- curl http://alice.home.example/`);
  say(`         ntss lab run basic${p}   (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  say(`  stop:  ntss lab down${p}`);
  return 0;
}

function listScenarios(): number {
  say('scenarios (ntss lab run NAME[,NAME...]|all):');
  for (const s of SCENARIOS) say(`  ${s.name.padEnd(13)} ${s.summary}`);
  return 2;
}

function scenariosOf(spec: string): Scenario[] {
  try {
    return selectScenarios(spec);
  } catch (e) {
    throw new UsageError(`lab: ${(e as Error).message}`);
  }
}

interface Diagrams {
  paths: Map<string, string>;
  window?: Window;
}

/** --diagram: a capture per scenario, drawn when it ends (src/lab/diagram.ts). */
function diagramObserver(lab: Lab, d: Diagrams | undefined): ScenarioObserver | undefined {
  if (!d) return undefined;
  return async (sc) => {
    const cap = await startDiagramCapture(lab, sc, d.paths.get(sc.name)!, d.window);
    return async () => say(`  ${await cap.finish()}`);
  };
}

async function runCommand(o: Opts, list: Scenario[], diagrams?: Diagrams): Promise<number> {
  // An existing lab with this prefix (from `ntss lab up`) is used and left running; otherwise
  // each scenario gets a fresh lab, so no RC, hold or sticky entry of one can touch the next.
  const existing = labNamespaces(o.prefix).length > 0 ? Lab.attach(o.prefix) : undefined;
  let summary: RunSummary = { passed: [], failed: [], results: {} };
  if (existing) {
    say(`using the running lab ${o.prefix} (data plane ${existing.mode.dataplane}, resolver ${existing.mode.resolver}; its own options, not this command's)`);
    summary = await runScenarios(existing, list, say, diagramObserver(existing, diagrams));
  } else {
    for (const sc of list) {
      const g = guard(o.prefix);
      let lab: Lab;
      try {
        lab = await Lab.up({ ...o, enCacheMs: o.enCacheMs ?? sc.enCacheMs ?? 0, say });
      } catch (e) {
        g.disarm();
        say(`FAIL ${sc.name}: the lab did not come up: ${(e as Error).message}`);
        summary.failed.push(sc.name);
        break;
      }
      const one = await runScenarios(lab, [sc], say, diagramObserver(lab, diagrams));
      const problems = lab.down();
      g.disarm();
      if (problems.length > 0) say(`could not remove: ${problems.join('; ')}`);
      summary = { passed: [...summary.passed, ...one.passed], failed: [...summary.failed, ...one.failed], results: { ...summary.results, ...one.results } };
    }
  }
  if (summary.results.latencyMedianMs !== undefined) say(`median latency (DNS query -> first byte at alice): ${summary.results.latencyMedianMs.toFixed(1)} ms`);
  say(`${summary.failed.length === 0 ? 'PASS' : 'FAIL'}: ${summary.passed.length} passed${summary.failed.length ? `, failed: ${summary.failed.join(', ')}` : ''}`);
  return summary.failed.length === 0 ? 0 : 1;
}

function status(prefix: string): number {
  const spaces = labNamespaces(prefix);
  const s = loadState(prefix);
  if (spaces.length === 0 && !s) {
    const others = labPrefixes();
    say(`no lab with prefix "${prefix}"${others.length ? ` (labs found: ${others.join(', ')})` : ''}`);
    return 1;
  }
  say(`lab ${prefix}: ${spaces.length}/${HOSTS.length} namespaces${s ? `, up since ${s.createdAt}, data plane ${s.mode.dataplane}, RTT +${s.mode.delayMs} ms, loss ${s.mode.lossPct}%, state ${s.dir}` : ' (no state file)'}`);
  if (s) say(`  resolver ${s.mode.resolver} (${s.mode.resolverVersion ?? '?'})${s.mode.ecs ? ', sends ECS' : ''}; global addresses ${(s.mode.globalAddresses ?? [ADDR.routerWan]).join(', ')}`);
  if (s) say(`  server knows the resolver: ${s.mode.profiles ?? 'configured'}; EN caches ${s.mode.enCacheMs ?? 0} ms`);
  if (s?.secrets.dashboard) say(`  dashboard http://127.0.0.1:${DASHBOARD_PORT}/?token=${s.secrets.dashboard} in ${nsName(prefix, 'router')} (ip netns exec ${nsName(prefix, 'router')} chromium ...)`);
  if (s) {
    const alive = new Lab(s).daemons();
    for (const [name, ok] of Object.entries(alive)) say(`  ${name.padEnd(8)} ${ok ? 'running' : 'DEAD   '} pid ${s.pids[name]} in ${nsName(prefix, s.hosts[name])}, log ${s.dir}/${name}.log`);
  }
  return spaces.length === HOSTS.length && s && Object.values(new Lab(s).daemons()).every(Boolean) ? 0 : 1;
}

function exec(prefix: string, host: string | undefined, cmd: string[]): number {
  if (!host || cmd.length === 0) throw new UsageError('lab: usage: ntss lab exec HOST -- COMMAND [ARGS...]');
  if (!HOSTS.some((h) => h.name === host)) throw new UsageError(`lab: unknown host "${host}" (hosts: ${HOSTS.map((h) => h.name).join(', ')})`);
  const ns = nsName(prefix, host);
  if (!labNamespaces(prefix).includes(ns)) throw new UsageError(`lab: no lab "${prefix}" is up (ntss lab up${prefix === FIXED_PREFIX ? '' : ` --prefix ${prefix}`})`);
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'inherit' });
  return r.status ?? 1;
}

const lab = {
  summary: 'the whole system in Linux network namespaces: a real resolver, NSD, nsupdate, curl against ntss (root)',
  usage: 'up|down|status|run SCENARIO[,...]|all|exec HOST -- CMD [--prefix P] [--delay MS] [--loss PCT] [--dataplane auto|nftables|userspace] '
    + `[--resolver ${RESOLVER_KINDS.join('|')}] [--global-addresses 1..${MAX_GLOBAL_ADDRESSES}] [--ecs] [--profiles configured|fingerprint] [--en-cache MS] [--verify-source cookie-or-tcp|off] [--diagram FILE.svg [--diagram-window FROM-TO]]`,
  positionals: true,
  options: {
    prefix: { type: 'string', description: `name prefix of the lab's namespaces (default: ${FIXED_PREFIX}; for run: derived from the PID)` },
    delay: { type: 'string', description: 'RTT in ms added between any two Internet hosts (tc netem)' },
    loss: { type: 'string', description: 'packet loss in percent on each Internet link (tc netem)' },
    dataplane: { type: 'string', description: 'auto (default: nftables when this build has it), nftables or userspace' },
    resolver: { type: 'string', description: `the ENs' recursive resolver: ${RESOLVER_KINDS.join(', ')} (default ${DEFAULT_RESOLVER})` },
    'global-addresses': { type: 'string', description: `global addresses of the router, 203.0.113.2 upward (1..${MAX_GLOBAL_ADDRESSES}, default 1)` },
    ecs: { type: 'boolean', description: 'the resolver sends EDNS Client Subnet to the NTSv2 server (Unbound, PowerDNS); the server trusts it' },
    profiles: { type: 'string', description: 'how the NTSv2 server knows the resolver: configured (by prefix, default) or fingerprint (recognition, else the conservative unknown profile)' },
    'en-cache': { type: 'string', description: 'ms EN-side caches (browsers) may keep an answer: the server\'s nts.enCacheMs (default: the scenario\'s, 60000 for browser; 0 otherwise: curl keeps nothing)' },
    diagram: { type: 'string', description: 'run: draw each scenario as a sequence diagram (SVG, as the paper\'s Figs. 5-8) in FILE; with several scenarios FILE-<scenario>.svg' },
    'diagram-window': { type: 'string', description: 'with --diagram: only FROM-TO ms since the scenario\'s first event (e.g. 0-1200)' },
    'verify-source': { type: 'string', description: 'the server\'s nts.verifySource: cookie-or-tcp (default: UDP lookups without a valid cookie get TC or BADCOOKIE) or off (to measure what it costs)' },
  },
  async run(v: Record<string, string | boolean | undefined>, positionals: string[] = []): Promise<number> {
    const [action, ...rest] = positionals;
    if (!action) throw new UsageError(`lab: an action is required: ${lab.usage}`);
    const o = options(v, action === 'run' ? `nl${process.pid}` : FIXED_PREFIX);
    if (action === 'down') {
      const n = labNamespaces(o.prefix).length;
      const problems = teardownLab(o.prefix);
      say(problems.length === 0 ? `lab ${o.prefix}: removed (${n} namespaces)` : `lab ${o.prefix}: could not remove: ${problems.join('; ')}`);
      return problems.length === 0 ? 0 : 1;
    }
    if (action === 'status') return status(o.prefix);
    if (action === 'run' && !rest[0]) return listScenarios();
    const list = action === 'run' ? scenariosOf(rest[0]) : [];
    if (v.diagram !== undefined && (action !== 'run' || typeof v.diagram !== 'string')) throw new UsageError('lab: --diagram FILE goes with run');
    if (v['diagram-window'] !== undefined && v.diagram === undefined) throw new UsageError('lab: --diagram-window goes with --diagram');
    const diagrams = typeof v.diagram === 'string'
      ? { paths: diagramPaths(v.diagram, list.map((s) => s.name)), window: typeof v['diagram-window'] === 'string' ? parseWindow(v['diagram-window']) : undefined }
      : undefined;
    for (const p of diagrams?.paths.values() ?? []) assertWritable(p);
    assertLabAvailable(labTools(o.resolver));
    if (action === 'up') return up(o);
    if (action === 'run') return runCommand(o, list, diagrams);
    if (action === 'exec') return exec(o.prefix, rest[0], rest.slice(1));
    throw new UsageError(`lab: unknown action "${action}" (up, down, status, run, exec)`);
  },
} satisfies Command & { positionals: boolean };

export const labCommand: Command = lab;
