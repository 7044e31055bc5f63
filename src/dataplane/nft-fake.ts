// Fakes of the host, `nft` and `conntrack` for unit tests (part of the product, as knftables
// ships its fake). FakeNft applies each transaction all-or-nothing to a model that refuses
// what the kernel refuses (EEXIST for an overlapping or re-valued element in an interval map,
// ENOENT for a missing table/map/element) and honours element timeouts on an injected clock;
// route() answers where the table's prerouting rules would DNAT a new flow (the accept rules of
// local services and the `dnat ... map @m` rules, in rule order, as the kernel evaluates them;
// firstPacket() also says whether the rules silenced the flow's conntrack events, and counts);
// dump() prints the state as the `add` statements that would rebuild it, for golden files.
import { isIPv4 } from 'node:net';
import type { ConntrackRunner, CtEntry, CtFilter, CtListOptions, CtWatch } from './conntrack.js';
import { NftError } from './nft-errors.js';
import type { HostProbe } from './nft-preflight.js';
import { formatElement, formatKey, renderCommand, type NftCommand, type RcKey } from './nft-ruleset.js';
import type { NftRunner } from './nft-runner.js';

type FakeFlow = { proto: 'tcp' | 'udp'; src: string; dst: string; dport: number };

interface FakeElement {
  readonly key: RcKey;
  readonly value: string;
  readonly timeoutMs?: number;
  readonly expiresAt?: number;
}

interface FakeTable {
  statics: string[];
  chains: Set<string>;
  maps: Map<string, Map<string, FakeElement>>;
  /** Maps declared without `flags interval`: the kernel takes single points only. */
  pointMaps: Map<string, { ports: boolean }>;
}

export class FakeNft implements NftRunner {
  private tables = new Map<string, FakeTable>();
  /** Every transaction as rendered text, in order (failed ones too). */
  readonly transactions: string[][] = [];
  private failures: ((cmds: readonly NftCommand[]) => NftError | undefined)[] = [];
  /** Named counters ("table name"), counted by firstPacket(). */
  private readonly counters = new Map<string, number>();
  closed = false;

  constructor(private readonly now: () => number = () => 0) {}

  private gate: Promise<void> | undefined;

  /** Transactions wait (unacknowledged) until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((r) => (release = r));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  /** The next transaction for which `f` returns an error fails with it (one-shot). */
  failOnce(f: (cmds: readonly NftCommand[]) => NftError | undefined): void {
    this.failures.push(f);
  }

  async run(commands: readonly NftCommand[]): Promise<void> {
    if (commands.length === 0) return;
    if (this.gate) await this.gate;
    this.transactions.push(commands.map(renderCommand));
    for (const [i, f] of this.failures.entries()) {
      const e = f(commands);
      if (e) {
        this.failures.splice(i, 1);
        throw e;
      }
    }
    const next = cloneTables(this.tables);
    for (const c of commands) this.apply(next, c); // throws: nothing is committed
    this.tables = next;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Live elements of a map as "key timeout T : value" lines, sorted. */
  elements(table: string, map: string): string[] {
    const m = this.tables.get(table)?.maps.get(map);
    return m ? [...this.live(m).values()].map((e) => formatElement(e.key, e.value, e.timeoutMs, map)).sort() : [];
  }

  /**
   * Where the kernel would DNAT a new flow from the WAN (a first packet), walking `prerouting` in
   * rule order: a local service's accept rule ends the walk undNATed; each `dnat ... map @m` rule
   * takes the first live element of `m` whose key contains the flow. undefined: not DNATed.
   */
  route(table: string, f: FakeFlow): string | undefined {
    return this.walk(table, f)?.to;
  }

  /**
   * route() and what the rules did to the flow's conntrack entry on the way: a rule `KEY @m ...
   * ct mark set ct mark or BIT ct event set 0` that matched (an element of `m` contains the flow)
   * silenced its events (`events: false`) and set BIT in its mark (and counts in its named
   * counter). A first packet, so it counts: route() is the same walk without counting.
   */
  firstPacket(table: string, f: FakeFlow): { to: string; events: boolean; mark: number } | undefined {
    const r = this.walk(table, f);
    for (const c of r?.counted ?? []) this.counters.set(`${table} ${c}`, (this.counters.get(`${table} ${c}`) ?? 0) + 1);
    return r && { to: r.to, events: r.events, mark: r.mark };
  }

  async readCounter(table: string, name: string): Promise<number> {
    if (!this.tables.get(table)?.statics.includes(`add counter ip ${table} ${name}`)) {
      throw new NftError('not-found', `nft: Could not process rule: No such file or directory (counter ${table} ${name})`);
    }
    return this.counters.get(`${table} ${name}`) ?? 0;
  }

  private walk(table: string, f: FakeFlow): { to: string; events: boolean; mark: number; counted: string[] } | undefined {
    const t = this.tables.get(table);
    if (!t) return undefined;
    let events = true;
    let mark = 0;
    const counted: string[] = [];
    const hit = (map: string | undefined) => {
      const elements = map === undefined ? undefined : t.maps.get(map);
      return elements ? [...this.live(elements).values()].find((e) => contains(e.key, f)) : undefined;
    };
    for (const rule of t.statics) {
      const r = /^add rule ip \S+ prerouting (.*)$/.exec(rule)?.[1];
      if (r === undefined) continue;
      const service = /\b(tcp|udp) dport (\d+) accept$/.exec(r);
      if (service) {
        if (service[1] === f.proto && Number(service[2]) === f.dport) return undefined;
        continue;
      }
      const quiet = /(?<!map )@(\S+) .*ct mark set ct mark or (0x[0-9a-f]+) ct event set 0$/.exec(r);
      if (quiet) {
        if (hit(quiet[1])) {
          events = false;
          mark |= Number(quiet[2]);
          const c = /\bcounter name (\S+)/.exec(r)?.[1];
          if (c) counted.push(c);
        }
        continue;
      }
      const e = hit(/\bmap @(\S+)$/.exec(r)?.[1]);
      if (e) return { to: e.value, events, mark, counted };
    }
    return undefined;
  }

  hasTable(table: string): boolean {
    return this.tables.has(table);
  }

  /** The whole state as `add` statements (knftables' Dump()): statics, then live elements. */
  dump(): string {
    const out: string[] = [];
    for (const [name, t] of this.tables) {
      out.push(...t.statics);
      for (const map of t.maps.keys()) for (const e of this.elements(name, map)) out.push(`add element ip ${name} ${map} { ${e} }`);
    }
    return out.join('\n') + (out.length ? '\n' : '');
  }

  private apply(tables: Map<string, FakeTable>, c: NftCommand): void {
    const enoent = (what: string) => new NftError('not-found', `nft: Could not process rule: No such file or directory (${what})`);
    switch (c.kind) {
      case 'delete-table':
        if (!tables.delete(c.table)) throw enoent(`table ${c.table}`);
        return;
      case 'raw': {
        const m = /^add (table|map|chain|rule|counter) ip (\S+)(?: (\S+))?/.exec(c.text);
        if (!m) throw new NftError('syntax', `nft: the fake does not understand ${JSON.stringify(c.text)}`);
        const [, what, table, name] = m;
        let t = tables.get(table!);
        if (what === 'table') {
          if (!t) tables.set(table!, (t = { statics: [], chains: new Set(), maps: new Map(), pointMaps: new Map() }));
          if (!t.statics.includes(c.text)) t.statics.push(c.text);
          return;
        }
        if (!t) throw enoent(`table ${table}`);
        if (what === 'map') {
          t.maps.set(name!, new Map());
          if (!/flags [^;]*interval/.test(c.text)) t.pointMaps.set(name!, { ports: /inet_service/.test(c.text) });
        }
        if (what === 'chain') t.chains.add(name!);
        if (what === 'rule' && !t.chains.has(name!)) throw enoent(`chain ${name}`);
        t.statics.push(c.text);
        return;
      }
      case 'add-element':
      case 'delete-element': {
        const m = tables.get(c.table)?.maps.get(c.map);
        if (!m) throw enoent(`map ${c.table} ${c.map}`);
        for (const [k, e] of m) if (e.expiresAt !== undefined && e.expiresAt <= this.now()) m.delete(k);
        const id = formatKey(c.key);
        if (c.kind === 'delete-element') {
          if (!m.delete(id)) throw enoent(`element ${id}`);
          return;
        }
        const point = tables.get(c.table)!.pointMaps.get(c.map);
        if (point && !isPoint(c.key, point.ports)) {
          // nft: "You must add 'flags interval' to your map declaration if you want to add range elements";
          // a map keyed without ports (rc_host) would take the key for every port.
          throw new NftError('syntax', `nft: ${c.map} holds single points, not ${id}`);
        }
        const same = m.get(id);
        if (same && same.value === c.value) return; // the kernel ignores an identical add
        if (same || [...m.values()].some((e) => overlaps(e.key, c.key))) {
          throw new NftError('exists', `nft: Could not process rule: File exists (${id})`);
        }
        m.set(id, { key: c.key, value: c.value, timeoutMs: c.timeoutMs, expiresAt: c.timeoutMs === undefined ? undefined : this.now() + c.timeoutMs });
      }
    }
  }

  private live(m: Map<string, FakeElement>): Map<string, FakeElement> {
    return new Map([...m].filter(([, e]) => e.expiresAt === undefined || e.expiresAt > this.now()));
  }
}

function cloneTables(src: Map<string, FakeTable>): Map<string, FakeTable> {
  return new Map([...src].map(([k, t]) => [k, {
    statics: [...t.statics], chains: new Set(t.chains), maps: new Map([...t.maps].map(([n, m]) => [n, new Map(m)])), pointMaps: new Map(t.pointMaps),
  }]));
}

/** A key without ranges: one source address, one protocol, one port (or, keyed without ports, all of them). */
function isPoint(k: RcKey, withPorts: boolean): boolean {
  const [, len] = k.source.split('/');
  const ports = withPorts ? k.ports[0] === k.ports[1] : k.ports[0] === 0 && k.ports[1] === 65535;
  return (len === undefined || len === '32') && k.proto !== 'any' && ports;
}

function ipv4(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

function range(k: RcKey, dim: 'source' | 'proto' | 'ports'): [number, number] {
  if (dim === 'ports') return [k.ports[0], k.ports[1]];
  if (dim === 'proto') return k.proto === 'any' ? [0, 255] : k.proto === 'tcp' ? [6, 6] : [17, 17];
  const [addr, len] = k.source.split('/');
  if (!isIPv4(addr!)) throw new Error(`bad source ${k.source}`);
  const size = 2 ** (32 - Number(len ?? 32));
  const lo = Math.floor(ipv4(addr!) / size) * size;
  return [lo, lo + size - 1];
}

function contains(k: RcKey, f: FakeFlow): boolean {
  if (k.dst !== f.dst) return false;
  const point = { source: ipv4(f.src), proto: f.proto === 'tcp' ? 6 : 17, ports: f.dport };
  return (['source', 'proto', 'ports'] as const).every((d) => {
    const [lo, hi] = range(k, d);
    return lo <= point[d] && point[d] <= hi;
  });
}

/** Two interval keys overlap when they intersect in every dimension (the kernel says EEXIST). */
function overlaps(a: RcKey, b: RcKey): boolean {
  if (a.dst !== b.dst) return false;
  return (['source', 'proto', 'ports'] as const).every((d) => {
    const [x, y] = [range(a, d), range(b, d)];
    return x[0] <= y[1] && y[0] <= x[1];
  });
}

/** A fake conntrack table: tests add and end flows; watchers see NEW and DESTROY like the kernel's. */
export class FakeConntrack implements ConntrackRunner {
  readonly entries = new Map<string, CtEntry>();
  readonly deletes: CtFilter[] = [];
  private readonly marks = new Map<string, number>();
  private readonly silent = new Set<string>();
  private readonly watchers = new Map<string, { onEntry: (e: CtEntry) => void; onEnd: (why: string) => void; onLoss?: () => void }>();
  private nextWatch = 0;

  watch(dst: string, onEntry: (e: CtEntry) => void, onEnd: (why: string) => void, onLoss?: () => void): CtWatch {
    const id = `${dst}#${this.nextWatch++}`;
    this.watchers.set(id, { onEntry, onEnd, onLoss });
    return { close: () => void this.watchers.delete(id) };
  }

  /** Open watches per destination address. */
  watching(): string[] {
    return [...this.watchers.keys()].map((k) => k.split('#')[0]!).sort();
  }

  async list(dst: string, o: CtListOptions = {}): Promise<CtEntry[]> {
    return [...this.entries.values()].filter((e) => e.orig.dst === dst && ((this.marks.get(ctKey(e)) ?? 0) & (o.withoutMark ?? 0)) === 0)
      .map(({ event: _, ...e }) => e);
  }

  async delete(f: CtFilter): Promise<number> {
    this.deletes.push(f);
    const gone = [...this.entries.values()].filter((e) => matches(e, f));
    for (const e of gone) this.destroy(e);
    return gone.length;
  }

  /**
   * A new flow: recorded and reported to the watchers of its destination as NEW, unless the
   * rules silenced its events (`events: false`, FakeNft.firstPacket()); `mark`: its ct mark.
   */
  add(e: CtEntry, o: { events?: boolean; mark?: number } = {}): CtEntry {
    const key = ctKey(e);
    this.entries.set(key, e);
    this.marks.set(key, o.mark ?? 0);
    if (o.events === false) this.silent.add(key);
    else this.emit(e.orig.dst, { ...e, event: 'new' });
    return e;
  }

  /** The flow ended (or was deleted): DESTROY, with byte counts when given (none for a silenced flow). */
  destroy(e: CtEntry, bytes?: { orig: number; reply: number }): void {
    const key = ctKey(e);
    if (!this.entries.delete(key)) return;
    this.marks.delete(key);
    if (this.silent.delete(key)) return;
    this.emit(e.orig.dst, { ...e, event: 'destroy', ...(bytes ? { origBytes: bytes.orig, replyBytes: bytes.reply } : {}) });
  }

  /** A watch process died (or lost events). */
  endWatches(why: string): void {
    const all = [...this.watchers.values()];
    this.watchers.clear();
    for (const w of all) w.onEnd(why);
  }

  loseEvents(): void {
    for (const w of this.watchers.values()) w.onLoss?.();
  }

  private emit(dst: string, e: CtEntry): void {
    for (const [id, w] of this.watchers) if (id.startsWith(`${dst}#`)) w.onEntry(e);
  }
}

/** A DNATed flow EN:enPort -> GA:port rewritten to PA:port, as conntrack shows it. */
export function ctFlow(proto: 'tcp' | 'udp', en: string, enPort: number, ga: string, port: number, pa = ga): CtEntry {
  return { proto, orig: { src: en, dst: ga, sport: enPort, dport: port }, reply: { src: pa, dst: en, sport: port, dport: enPort } };
}

function ctKey(e: CtEntry): string {
  return `${e.proto} ${e.orig.src} ${e.orig.sport} ${e.orig.dst} ${e.orig.dport}`;
}

function matches(e: CtEntry, f: CtFilter): boolean {
  return (f.proto === undefined || e.proto === f.proto) && (f.src === undefined || e.orig.src === f.src)
    && (f.dst === undefined || e.orig.dst === f.dst) && (f.sport === undefined || e.orig.sport === f.sport)
    && (f.dport === undefined || e.orig.dport === f.dport) && (f.replySrc === undefined || e.reply.src === f.replySrc);
}

/** A host for preflight(): everything present unless overridden. */
export function fakeHost(o: { privileged?: boolean; commands?: string[]; interfaces?: string[]; ipForward?: boolean } = {}): HostProbe {
  const commands = o.commands ?? ['nft', 'conntrack'];
  const interfaces = o.interfaces ?? ['wan0', 'lan0'];
  return {
    privileged: () => o.privileged ?? true,
    command: async (n) => commands.includes(n),
    interfaceExists: async (n) => interfaces.includes(n),
    ipForward: async () => o.ipForward ?? true,
  };
}
