// The demo's little world on loopback: who lives at which 127.x address, which ports the
// router relays, and the timing knobs. Linux lets any process bind any 127.x.y.z, so the
// whole picture needs no root and no setup.

export const ZONE = 'home.example.';

/** The NTS router gw1: one global address (the paper's GA2) and the LAN side it relays from. */
export const ROUTER = {
  id: 'gw1',
  globalAddress: '127.0.0.2',
  lanAddress: '127.0.0.1',
  tcpPort: 8080,
  udpPort: 7007,
  // The paper's hold (3.5) is the worst EN RTT. 400 ms is long enough for the demo's
  // interference flow (EN1 arrives 100 ms after EN3) and long enough that EN2's held answer
  // in the simultaneous flow outlives the resolver's first retry at 376 ms, which shows why
  // the server must answer every pending query id at once.
  holdMs: 400,
  rcTimeoutMs: 2000,
} as const;

/** The NTSv2 server (authoritative DDNS for the zone) listens here, on a free port. */
export const SERVER_ADDRESS = '127.0.0.1';

/**
 * One resolver address shared by every EN. That is the paper's point (section 3): the NTSv2
 * server only ever sees the resolver, never the EN, so the router can only create `any` RCs,
 * and must serialize them. (The server coalesces queries per (resolver, name, type); the
 * flows ask for different names at the same time, so nothing is merged by accident.)
 */
export const RESOLVER_ADDRESS = '127.0.0.53';

export interface InsideHost {
  readonly name: 'alice' | 'bob';
  readonly fqdn: string;
  readonly address: string;
  readonly keyName: string;
}

export const ALICE: InsideHost = { name: 'alice', fqdn: `alice.${ZONE}`, address: '127.0.0.10', keyName: 'alice-key.' };
export const BOB: InsideHost = { name: 'bob', fqdn: `bob.${ZONE}`, address: '127.0.0.11', keyName: 'bob-key.' };
export const INSIDE_HOSTS = [ALICE, BOB] as const;

export type EnName = 'EN1' | 'EN2' | 'EN3';
export const EN_ADDRESS: Record<EnName, string> = { EN1: '127.0.0.21', EN2: '127.0.0.22', EN3: '127.0.0.23' };
