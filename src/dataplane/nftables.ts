// The kernel data plane (shared/design/dataplane.md): a static nftables table whose only
// changing state is map elements, and conntrack as the NAT table.
//   activateRc   -> one element per RC key, e.g. `0.0.0.0/0 . GA . 0-255 . 0-65535 : PA` in rc_any,
//                   `198.51.100.0/24 . GA . tcp . 22 : PA` in rc, `EN . GA . tcp : PA` in rc_host
//                   (with a safety timeout)
//   deactivateRc -> that element deleted; established flows keep their conntrack entry
//   first packet -> conntrack NEW event (DNATed by the kernel already) -> classify -> scheduler
//   sticky       -> the scheduler's sticky entries as elements `EN . GA . proto . port : PA`
//                   in map sticky, timing out when the scheduler's do. The kernel looks up
//                   rc_host -> rc -> rc_any -> sticky; the order does not matter for correctness: the
//                   scheduler never lets keys of two hosts overlap (docs/leases.md)
//   flow end     -> conntrack DESTROY event -> mapping-closed
// The kernel decides first here (it forwards before we hear of the packet); the scheduler's
// verdict is checked against it and a disagreement (a race at an RC change) is resolved by
// deleting that conntrack entry, so the flow's next packet meets the current maps.
import { PlaneEvents } from './plane-events.js';
import type { Mapping, Rc, Sticky } from '../router/index.js';
import type { Logger } from '../util/log.js';
import { ConntrackTool } from './conntrack-tool.js';
import { type ConntrackRunner, type CtEntry, type CtWatch } from './conntrack.js';
import { DataPlaneError } from './errors.js';
import { NftBatcher } from './nft-batch.js';
import { isNotFound } from './nft-errors.js';
import { preflight, realHostProbe, type HostProbe } from './nft-preflight.js';
import { installCommands, rcElementsFor, STICKY_COUNTER, STICKY_CT_MARK, STICKY_MAP, type DnsRedirect, type RcKey, type RulesetOptions } from './nft-ruleset.js';
import { NftProcess, type NftRunner } from './nft-runner.js';
import { FlowTracker } from './nftables-flows.js';
import { formatPortSpec, type ClassifyFirstPacket, type DataPlane, type DataPlaneMappingEvent, type PortSpec } from './types.js';

export interface NftablesOptions {
  wan: string;
  lan: string;
  globalAddresses: readonly string[];
  classify: ClassifyFirstPacket;
  /** Table name (`table ip NAME`). Default "ntss". */
  table?: string;
  /** Kernel timeout of every RC element: a dead router leaves nothing open longer. Default 60 000. */
  safetyTimeoutMs?: number;
  /** The router's own services on the WAN side (the NTS port): never DNATed, accepted. */
  localServices?: readonly PortSpec[];
  trustedInterfaces?: readonly string[];
  /** Redirect LAN DNS for `server`:53 to this router's `port` (DNS UPDATE learning proxy). */
  dnsRedirect?: DnsRedirect;
  /** Re-list conntrack this often to catch lost events; 0: never. Default 60 000. */
  reconcileMs?: number;
  /** A conntrack watch that died is restarted after this long. Default 1000. */
  watchRestartMs?: number;
  /** Prepended to nft/conntrack/probe command lines, e.g. ["ip", "netns", "exec", "r1"]. */
  commandPrefix?: readonly string[];
  log?: Logger;
  now?: () => number;
  /** Fakes for tests (nft-fake.ts); default: the real tools. */
  nft?: NftRunner;
  conntrack?: ConntrackRunner;
  host?: HostProbe;
}

export const NFTABLES_DEFAULTS = { table: 'ntss', safetyTimeoutMs: 60_000, reconcileMs: 60_000, watchRestartMs: 1000 } as const;

/** An RC's kernel elements (nft-ruleset.ts rcElementsFor: rc_host, rc or rc_any). */
function rcElements(rc: Rc): Array<{ map: string; key: RcKey }> {
  return rcElementsFor(rc.keys);
}

export class NftablesDataPlane implements DataPlane {
  readonly kind = 'nftables' as const;
  readonly table: string;
  private readonly nft: NftRunner;
  private readonly ct: ConntrackRunner;
  private readonly batch: NftBatcher;
  private readonly flows: FlowTracker;
  private readonly rcs = new Map<number, Rc>();
  private readonly watches = new Map<string, CtWatch>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private state: 'new' | 'started' | 'stopped' = 'new';
  private relistSoon = false;
  private stickyAdmitted: number | undefined;
  /** Only a table this plane installed is removed at stop (a refused start touches nothing). */
  private installed = false;
  private readonly now: () => number;
  private readonly events: PlaneEvents;

  constructor(private readonly opts: NftablesOptions) {
    this.events = new PlaneEvents(opts.log);
    this.table = opts.table ?? NFTABLES_DEFAULTS.table;
    this.now = opts.now ?? Date.now;
    this.nft = opts.nft ?? new NftProcess({ prefix: opts.commandPrefix });
    this.ct = opts.conntrack ?? new ConntrackTool({ prefix: opts.commandPrefix });
    this.batch = new NftBatcher(this.nft, (n) => this.events.count(n), this.now);
    this.flows = new FlowTracker({
      classify: opts.classify, now: this.now, log: opts.log,
      localServices: opts.localServices ?? [],
      count: (n) => this.events.count(n),
      emit: (e) => this.events.emit(e),
      dropEntry: (e) => this.dropEntry(e),
      rcFor: (ga, pa) => [...this.rcs.values()].find((r) => r.globalAddress === ga && r.privateAddress === pa),
    });
  }

  /** The static ruleset this plane installs (for `nft -f` by hand, docs, tests). */
  rulesetOptions(): RulesetOptions {
    return {
      table: this.table, wan: this.opts.wan, lan: this.opts.lan, localServices: this.opts.localServices ?? [],
      trustedInterfaces: this.opts.trustedInterfaces ?? [], dnsRedirect: this.opts.dnsRedirect,
    };
  }

  /**
   * Checks the host, replaces any leftover table atomically, starts one conntrack watch per
   * global address and lists the flows that exist already. Rejects (DataPlaneError) with one
   * line naming what is missing; nothing is left installed then.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`nftables data plane: start() when ${this.state}`);
    this.state = 'started';
    try {
      const warnings = await preflight(
        { wan: this.opts.wan, lan: this.opts.lan, trustedInterfaces: this.opts.trustedInterfaces ?? [] },
        this.opts.host ?? realHostProbe(this.opts.commandPrefix),
      );
      for (const w of warnings) this.opts.log?.warn('dataplane-warning', { warning: w });
      await this.nft.run(installCommands(this.rulesetOptions())).catch((e: Error) => {
        throw new DataPlaneError('DATAPLANE_UNSUPPORTED', `nftables data plane: cannot install table ip ${this.table}: ${e.message}`);
      });
      this.installed = true;
      for (const ga of this.opts.globalAddresses) this.watch(ga);
      await this.refreshMappings().catch((e: Error) => {
        throw new DataPlaneError('DATAPLANE_UNSUPPORTED', `nftables data plane: cannot list conntrack: ${e.message}`);
      });
      const o = this.rulesetOptions();
      this.opts.log?.info('nftables-installed', {
        table: `ip ${this.table}`, wan: o.wan, lan: o.lan, localServices: o.localServices.map(formatPortSpec).join(',') || undefined,
        dnsRedirect: o.dnsRedirect ? `${o.dnsRedirect.server}:${o.dnsRedirect.serverPort ?? 53}->:${o.dnsRedirect.port}` : undefined,
        adopted: this.listMappings().length || undefined,
      });
    } catch (e) {
      await this.stop();
      throw e;
    }
    const every = this.opts.reconcileMs ?? NFTABLES_DEFAULTS.reconcileMs;
    if (every > 0) this.repeat(every, () => this.refreshMappings());
  }

  async activateRc(rc: Rc): Promise<void> {
    if (this.state !== 'started') throw new DataPlaneError('DATAPLANE_RC', `RC ${rc.id}: the nftables data plane is not running`);
    this.rcs.set(rc.id, rc);
    const timeoutMs = this.opts.safetyTimeoutMs ?? NFTABLES_DEFAULTS.safetyTimeoutMs;
    const add = this.batch.submit(rcElements(rc).map(({ map, key }) => ({ kind: 'add-element', table: this.table, map, key, value: rc.privateAddress, timeoutMs }) as const));
    // Trap 4: a non-NAT entry to this address would keep its flow away from the new RC.
    const stale = Promise.all(this.flows.takeStale(rc.globalAddress).map((e) => this.dropEntry(e, 'stale-deleted')
      .catch((err: Error) => this.failed('stale-delete', err)))); // not worth refusing the RC for
    try {
      await Promise.all([add, stale]);
      this.events.count('rc-activated');
    } catch (e) {
      this.rcs.delete(rc.id);
      throw new DataPlaneError('DATAPLANE_RC', `RC ${rc.id} (${rc.globalAddress} -> ${rc.privateAddress}): ${(e as Error).message}`);
    }
  }

  /**
   * Queues the element's removal and returns at once: the daemon calls activateRc for the next
   * RC right after, and both must go in one transaction. A failure is logged and counted here.
   */
  async deactivateRc(rc: Rc): Promise<void> {
    if (this.state !== 'started') return;
    this.rcs.delete(rc.id);
    this.batch.submit(rcElements(rc).map(({ map, key }) => ({ kind: 'delete-element', table: this.table, map, key }) as const)).then(
      () => this.events.count('rc-deactivated'),
      (e: Error) => this.failed('deactivate-rc', e, { rc: rc.id }),
    );
  }

  /** A shared RC waits for a packet again: its elements get a fresh safety timeout (delete + add, one transaction). */
  async renewRc(rc: Rc): Promise<void> {
    if (this.state !== 'started') throw new DataPlaneError('DATAPLANE_RC', `RC ${rc.id}: the nftables data plane is not running`);
    this.rcs.set(rc.id, rc);
    const timeoutMs = this.opts.safetyTimeoutMs ?? NFTABLES_DEFAULTS.safetyTimeoutMs;
    const els = rcElements(rc);
    await this.batch.submit([
      ...els.map(({ map, key }) => ({ kind: 'delete-element', table: this.table, map, key }) as const),
      ...els.map(({ map, key }) => ({ kind: 'add-element', table: this.table, map, key, value: rc.privateAddress, timeoutMs }) as const),
    ]).then(() => this.events.count('rc-renewed'), (e: Error) => {
      throw new DataPlaneError('DATAPLANE_RC', `RC ${rc.id} (${rc.globalAddress} -> ${rc.privateAddress}) renewal: ${(e as Error).message}`);
    });
  }

  /**
   * The scheduler's sticky entry in map `sticky`, with the kernel timeout at its end; `replaced`:
   * the scheduler extended one it had (the kernel refuses a second add), so delete + add. If the
   * kernel timed it out meanwhile the batcher retries the add alone.
   */
  addSticky(s: Sticky, replaced = false): void {
    if (this.state !== 'started') return;
    // Timed when the transaction is built (the batcher), not now: a queue of other changes
    // must not make the kernel's element outlive the scheduler's entry.
    const add = { kind: 'add-element', table: this.table, map: STICKY_MAP, key: s.key, value: s.privateAddress, endsAt: s.until } as const;
    this.batch.submit(replaced ? [{ kind: 'delete-element', table: this.table, map: STICKY_MAP, key: s.key }, add] : [add]).then(
      () => this.events.count(replaced ? 'sticky-replaced' : 'sticky-added'),
      (e: Error) => this.failed('sticky', e, { en: s.enAddress }),
    );
  }

  /** Resolves when every queued element change is in the kernel (or failed). */
  flush(): Promise<void> {
    return this.batch.flush();
  }

  listMappings(): Mapping[] {
    return this.flows.list();
  }

  /** Re-lists conntrack: flows whose DESTROY was lost are closed, unknown DNATed flows adopted; reads the sticky count. */
  async refreshMappings(): Promise<Mapping[]> {
    const counted = this.readStickyCount(); // never rejects
    const listedAt = this.flows.listingStarted();
    try {
      // Flows admitted by a sticky element alone are silent by design (nft-ruleset.ts): not adopted.
      const lists = await Promise.all(this.opts.globalAddresses.map((ga) => this.ct.list(ga, { withoutMark: STICKY_CT_MARK })));
      if (this.state === 'started') this.flows.reconcile(this.opts.globalAddresses, lists.flat(), listedAt);
    } finally {
      this.flows.listingEnded();
      await counted;
    }
    return this.listMappings();
  }

  /** RCs announced and not withdrawn. */
  activeRcs(): Rc[] {
    return [...this.rcs.values()].sort((a, b) => a.id - b.id);
  }

  onEvent(listener: (e: DataPlaneMappingEvent) => void): void {
    this.events.on(listener);
  }

  counters(): Record<string, number> {
    const c = this.events.snapshot();
    if (this.stickyAdmitted !== undefined) c['sticky-admitted'] = this.stickyAdmitted;
    return c;
  }

  /**
   * The kernel's count of flows admitted through a sticky element alone (silent: the router
   * never sees them), as of the last re-list or stop: `dataplane.sticky-admitted`.
   */
  private async readStickyCount(): Promise<void> {
    if (!this.installed) return;
    try {
      this.stickyAdmitted = await this.nft.readCounter(this.table, STICKY_COUNTER);
    } catch (e) {
      this.failed('sticky-count', e as Error);
    }
  }

  /** Stops the watches, removes the table (RC and sticky elements with it), reports flows closed. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
    if (this.installed) {
      await this.readStickyCount();
      this.installed = false;
      await this.batch.flush();
      await this.nft.run([{ kind: 'delete-table', table: this.table }]).then(
        () => this.opts.log?.info('nftables-removed', { table: `ip ${this.table}` }),
        (e: Error) => {
          if (!isNotFound(e)) this.failed('delete-table', e);
        },
      );
    }
    await this.nft.close();
    this.rcs.clear();
    this.flows.closeAll('stop');
  }

  private watch(ga: string): void {
    const w = this.ct.watch(ga, (e) => this.onEntry(e), (why) => {
      if (this.state !== 'started' || this.watches.get(ga) !== w) return;
      this.watches.delete(ga);
      this.failed('conntrack-watch', new Error(why), { address: ga });
      this.later(this.opts.watchRestartMs ?? NFTABLES_DEFAULTS.watchRestartMs, () => {
        if (this.state !== 'started') return;
        this.events.count('conntrack-watch-restart');
        this.watch(ga);
        void this.refreshMappings().catch((e: Error) => this.failed('conntrack-list', e));
      });
    }, () => {
      this.events.count('conntrack-events-lost');
      if (this.relistSoon) return;
      this.relistSoon = true;
      this.later(100, () => {
        this.relistSoon = false;
        return this.refreshMappings();
      });
    });
    this.watches.set(ga, w);
  }

  private onEntry(e: CtEntry): void {
    if (this.state !== 'started') return;
    try {
      this.flows.onEntry(e);
    } catch (err) {
      this.failed('conntrack-event', err as Error); // a bug must not kill the daemon
    }
  }

  /** Deletes one conntrack entry by its exact original tuple (and reply source). */
  private async dropEntry(e: CtEntry, counter = 'ct-deleted'): Promise<void> {
    const n = await this.ct.delete({ proto: e.proto, src: e.orig.src, sport: e.orig.sport, dst: e.orig.dst, dport: e.orig.dport, replySrc: e.reply.src });
    if (n > 0) this.events.count(counter);
  }

  private later(ms: number, f: () => unknown): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      Promise.resolve().then(f).catch((e: Error) => this.failed('timer', e));
    }, ms);
    this.timers.add(t);
  }

  private repeat(ms: number, f: () => unknown): void {
    this.later(ms, async () => {
      try {
        await f();
      } catch (e) {
        this.failed('reconcile', e as Error);
      }
      if (this.state === 'started') this.repeat(ms, f);
    });
  }

  private failed(op: string, e: Error, fields: Record<string, unknown> = {}): void {
    this.events.count(`error.${op}`);
    this.opts.log?.error('dataplane-error', { op, ...fields, error: e.message });
  }


}
