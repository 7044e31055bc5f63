// Everything the scheduler decides, as plain values. The daemon turns `respond` into NTS
// responses and `rc-*` into data-plane changes; logs, metrics and the simulator read the rest.
// `at` is the logical time of the event (a timer fires at its due time even if poll() is late).
import type { Mapping, Rc } from './types.js';

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
  | 'wait-exceeds-deadline' // admission: expected wait does not fit in the time left
  | 'deadline-in-queue';    // waited until deadline - safetyMargin without being served

export interface RespondRejected {
  readonly type: 'respond';
  readonly at: number;
  readonly requestIds: readonly string[];
  readonly status: 'UNKNOWN_HOST' | 'QUEUE_FULL' | 'TOO_LATE';
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
  /** An id seen before (NTS retransmission): no effect. Re-sending a lost response is the NTS layer's job. */
  | { readonly type: 'request-ignored'; readonly at: number; readonly id: string; readonly reason: 'duplicate-id' };

export type RouterEventType = RouterEvent['type'];
