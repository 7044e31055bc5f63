// Everything the scheduler decides, as plain values. The daemon turns `respond` into NTS
// responses and `rc-*` into data-plane changes; logs, metrics and the simulator read the rest.
// `at` is the logical time of the event (a timer fires at its due time even if poll() is late).
import type { Lease, Mapping, Rc, Sticky } from './types.js';

/** READY: the NTSv2 server may now answer with `globalAddress`. Sent to every coalesced id. */
export interface RespondReady {
  readonly type: 'respond';
  readonly at: number;
  readonly requestIds: readonly string[];
  readonly status: 'READY';
  readonly globalAddress: string;
  readonly rcId: number;
  readonly rcExpiresAt: number;
}

export type RejectReason =
  | 'unknown-host'          // name not in the PHL at request time
  | 'host-removed'          // name left the PHL while the request waited
  | 'queue-full'            // queueLimit waiting entries already
  | 'resolver-queue-full'   // resolverQueueLimit waiting entries of this resolver already
  | 'wait-exceeds-deadline' // admission: expected wait does not fit in the time left
  | 'deadline-in-queue'     // waited until deadline - safetyMargin without being served
  | 'bad-source'            // mode 'source' without an IPv4 EN address: nothing to key the RC on
  | 'reputation'            // the resolver is penalised: its RCs went unused (reputation.ts)
  | 'probation';            // a resolver not yet proven may not take an address others in good standing need

export interface RespondRejected {
  readonly type: 'respond';
  readonly at: number;
  readonly requestIds: readonly string[];
  readonly status: 'UNKNOWN_HOST' | 'QUEUE_FULL' | 'TOO_LATE' | 'DENIED';
  readonly reason: RejectReason;
  /** For 'wait-exceeds-deadline': the estimate that failed the test. */
  readonly expectedWaitMs?: number;
}

export type RespondEvent = RespondReady | RespondRejected;

export type RouterEvent =
  | RespondEvent
  | { readonly type: 'rc-created'; readonly at: number; readonly rc: Rc }
  /** The RC saw its first packet: it stays (paper 3.5) until rc.releaseAt. */
  | { readonly type: 'rc-hold-started'; readonly at: number; readonly rc: Rc }
  | { readonly type: 'rc-removed'; readonly at: number; readonly rc: Rc; readonly reason: 'hold-done' | 'expired' }
  /** A request for the same host and keys shared the RC: it waits for a packet again (expiresAt moved). */
  | { readonly type: 'rc-renewed'; readonly at: number; readonly rc: Rc }
  /** An answer lease began (or an equal one was extended): docs/leases.md. */
  | { readonly type: 'lease-created'; readonly at: number; readonly lease: Lease; readonly extended: boolean }
  | { readonly type: 'lease-ended'; readonly at: number; readonly lease: Lease }
  /** An EN that reached a host keeps reaching it on that tuple until sticky.until. */
  | { readonly type: 'sticky-created'; readonly at: number; readonly sticky: Sticky; readonly replaced: boolean }
  | { readonly type: 'sticky-ended'; readonly at: number; readonly sticky: Sticky }
  | { readonly type: 'sticky-refused'; readonly at: number; readonly src: string; readonly reason: 'table-full' }
  /** A packet matched RCs of two hosts: refused. Impossible by construction; counted if it ever happens. */
  | { readonly type: 'packet-ambiguous'; readonly at: number; readonly src: string; readonly dst: string; readonly hosts: readonly string[] }
  | { readonly type: 'mapping-created'; readonly at: number; readonly mapping: Mapping }
  /** Waiting for a lock; `position` is 1-based in the FIFO. No RC and no response yet (paper 3.4). */
  | {
      readonly type: 'request-queued'; readonly at: number; readonly id: string;
      readonly position: number; readonly expectedWaitMs: number;
    }
  /** A resolver retry joined a pending request; `joinedId` is that request's first id. */
  | {
      readonly type: 'request-joined'; readonly at: number; readonly id: string;
      readonly joinedId: string; readonly state: 'queued' | 'active';
    }
  /** A resolver's standing changed (reputation.ts): penalised until `until`, or proven. */
  | {
      readonly type: 'reputation-changed'; readonly at: number; readonly resolver: string;
      readonly standing: 'penalised' | 'proven'; readonly until?: number; readonly offences?: number;
    }
  /** An id seen before (NTS retransmission): no effect. Re-sending a lost response is the NTS layer's job. */
  | { readonly type: 'request-ignored'; readonly at: number; readonly id: string; readonly reason: 'duplicate-id' };

export type RouterEventType = RouterEvent['type'];
