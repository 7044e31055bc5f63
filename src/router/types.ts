// The router core's vocabulary: what comes in (requests, first packets), what it keeps (RCs,
// mappings). Plain data only, so the daemon, the simulator and the logs share it unchanged.
import type { ClaimKey } from './claims.js';

/** An NTS request as the router sees it, after authentication by the NTS layer. */
export interface NtsRequest {
  /** Opaque NTS message id. Each resolver retry arrives with a new one. */
  readonly id: string;
  /** The name asked for; canonicalised (lowercase, trailing dot) before any lookup. */
  readonly fqdn: string;
  /** DNS TYPE code of the query (1 = A); part of the duplicate key. */
  readonly qtype: number;
  /** Address of the resolver that asked the NTSv2 server; part of the duplicate key. */
  readonly resolver: string;
  /** EDNS Client Subnet prefix, e.g. "198.51.100.0/24": the RC's source with mode 'prefix'. */
  readonly ecs?: string;
  /** Absolute time (ms) at which the resolver gives up on this query. */
  readonly deadlineMs: number;
  /**
   * Whose packets the RC accepts: 'any' (NTSSv2, paper 3.2), 'prefix' (the ECS prefix, from a
   * resolver the server trusts), 'source' (NTSS v1: the EN's own address). Default 'any'.
   */
  readonly mode?: RcMode;
  /** NTSS v1: the EN's address (mode 'source'). */
  readonly enAddress?: string;
  /** How long after READY caches downstream may still hand the answer out (docs/leases.md). */
  readonly leaseMs?: number;
}

export type RcMode = 'any' | 'prefix' | 'source';

export type Proto = 'tcp' | 'udp';

/** The first packet of a new flow to one of our global addresses, as the data plane saw it. */
export interface FirstPacket {
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  readonly proto: Proto;
  /**
   * The inside address the packet already went to (the kernel plane: DNATed by a map element
   * before the router heard of it). If the scheduler has since moved on to another host, the
   * packet must not count for that host's RC: it is refused and changes nothing.
   */
  readonly deliveredTo?: string;
}

/**
 * A Request Cache entry. Immutable: a state change makes a new object, so an event keeps the
 * RC as it was when the event happened.
 */
export interface Rc {
  readonly id: number;
  /** What the RC holds: one key per service of the host (claims.ts); the kernel's map keys. */
  readonly keys: readonly ClaimKey[];
  readonly globalAddress: string;
  readonly privateAddress: string;
  readonly fqdn: string;
  /** Whose packets the RC accepts. NTSSv2 cannot know the EN, hence 'any' (paper 3.2). */
  readonly source: RcMode;
  readonly createdAt: number;
  /** The latest READY that (re)armed it: a request for the same host and keys shares the RC. */
  readonly armedAt: number;
  /** Removed at this time unless a packet arrives before it (rcTimeoutMs after creation). */
  readonly expiresAt: number;
  /** Time of the first mapped packet; null while the RC still waits for one. */
  readonly firstPacketAt: number | null;
  /** End of the hold time (firstPacketAt + holdMs); null while waiting. */
  readonly releaseAt: number | null;
}

/**
 * An answer lease (docs/leases.md): until `until`, caches downstream may still hand out the
 * answer that named `globalAddress` for `fqdn`, so no other host may claim overlapping keys.
 */
export interface Lease {
  readonly id: number;
  readonly fqdn: string;
  readonly privateAddress: string;
  readonly globalAddress: string;
  readonly keys: readonly ClaimKey[];
  readonly createdAt: number;
  readonly until: number;
}

/**
 * A sticky entry: an EN whose first packet reached `privateAddress` keeps reaching it on that
 * address, protocol and port until `until`, which never passes the host's lease there.
 */
export interface Sticky {
  readonly id: number;
  readonly key: ClaimKey;
  readonly enAddress: string;
  readonly privateAddress: string;
  readonly fqdn: string;
  readonly rcId: number;
  readonly createdAt: number;
  readonly until: number;
}

/** A NAT mapping `en:enPort <-> {globalAddress:globalPort <=> privateAddress:privatePort}`. */
export interface Mapping {
  readonly id: number;
  readonly rcId: number;
  readonly proto: Proto;
  readonly enAddress: string;
  readonly enPort: number;
  readonly globalAddress: string;
  readonly globalPort: number;
  readonly privateAddress: string;
  /** Same as globalPort: the router rewrites the address only (GA2:d <=> PA1:d). */
  readonly privatePort: number;
  readonly fqdn: string;
  readonly createdAt: number;
  /** What let the flow in: its RC, or the EN's sticky entry (no RC active for it). */
  readonly via?: 'rc' | 'sticky';
}

/** What the NTS response tells the NTSv2 server. */
export type ResponseStatus = 'READY' | 'UNKNOWN_HOST' | 'QUEUE_FULL' | 'TOO_LATE';
