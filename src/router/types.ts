// The router core's vocabulary: what comes in (requests, first packets), what it keeps (RCs,
// mappings). Plain data only, so the daemon, the simulator and the logs share it unchanged.

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
  /** EDNS Client Subnet prefix, e.g. "198.51.100.0/24". Kept, not yet used (future RC key). */
  readonly ecs?: string;
  /** Absolute time (ms) at which the resolver gives up on this query. */
  readonly deadlineMs: number;
}

export type Proto = 'tcp' | 'udp';

/** The first packet of a new flow to one of our global addresses, as the data plane saw it. */
export interface FirstPacket {
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  readonly proto: Proto;
}

/**
 * A Request Cache entry. Immutable: a state change makes a new object, so an event keeps the
 * RC as it was when the event happened.
 */
export interface Rc {
  readonly id: number;
  /** The conflict key this RC holds. Today the global address; later (GA, proto, port) or a prefix. */
  readonly key: string;
  readonly globalAddress: string;
  readonly privateAddress: string;
  readonly fqdn: string;
  /** Source the RC accepts. NTSSv2 cannot know the EN, hence 'any' (paper 3.2). */
  readonly source: 'any';
  readonly createdAt: number;
  /** Removed at this time unless a packet arrives before it (rcTimeoutMs after creation). */
  readonly expiresAt: number;
  /** Time of the first mapped packet; null while the RC still waits for one. */
  readonly firstPacketAt: number | null;
  /** End of the hold time (firstPacketAt + holdMs); null while waiting. */
  readonly releaseAt: number | null;
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
}

/** What the NTS response tells the NTSv2 server. */
export type ResponseStatus = 'READY' | 'UNKNOWN_HOST' | 'QUEUE_FULL' | 'TOO_LATE';
