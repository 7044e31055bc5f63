// How long will a new request wait? Deadline-aware admission needs an estimate; this file
// holds the whole formula so it can be read, tested and replaced in one place.
//
//   E   = estimated lock occupancy of one request = time from RC creation to its release.
//         An EWMA over observed occupancies: (first packet - creation) + holdMs for an RC that
//         saw its packet, rcTimeoutMs for one that expired. Initial value serviceEstimateMs +
//         holdMs (about one RTT to the EN, the paper's t, plus the hold of section 3.5).
//   F_k = when lock k is expected to be free:
//           free now                          -> now
//           RC holding (saw its packet)       -> releaseAt                    (known exactly)
//           RC waiting for its packet         -> max(createdAt + E, now + holdMs)
//         (if the packet is later than expected, it still needs a full hold after it arrives).
//   Queued-ahead requests take the earliest free lock in turn and keep it E each; the new
//   request starts when the next lock frees after them:
//           W = (min over locks after assigning the Q requests ahead) - now
//   With one address this is simply   W = (F - now) + Q * E.
//   Admission: W < deadlineMs - now - safetyMarginMs, else TOO_LATE at once.
// Requests ahead that time out in the queue would shorten the real wait: ignored, so W errs long.
import type { Rc } from './types.js';

export class ServiceEstimator {
  private value: number;

  constructor(initialPacketDelayMs: number, private holdMs: number, private alpha: number) {
    this.value = initialPacketDelayMs + holdMs;
  }

  /** A reload: new hold time and smoothing for what comes; the estimate learned so far stays. */
  reconfigure(holdMs: number, alpha: number): void {
    this.holdMs = holdMs;
    this.alpha = alpha;
  }

  /** E: expected time one request holds a lock. */
  get occupancyMs(): number {
    return this.value;
  }

  /** Feed the occupancy of an RC that just went away. */
  observe(occupancyMs: number): void {
    this.value += this.alpha * (occupancyMs - this.value);
  }
}

/** F_k for a held lock. */
export function estimatedFreeAt(rc: Rc, nowMs: number, occupancyMs: number, holdMs: number): number {
  if (rc.releaseAt !== null) return rc.releaseAt;
  return Math.max(rc.createdAt + occupancyMs, nowMs + holdMs);
}

/**
 * W for a request behind `queuedAhead` others, given when each lock frees. Linear in
 * locks x queue, both small (a pool of a few addresses, queueLimit of a few hundred).
 */
export function expectedWaitMs(nowMs: number, freeAts: readonly number[], queuedAhead: number, occupancyMs: number): number {
  if (freeAts.length === 0) throw new Error('no locks');
  const f = freeAts.map((t) => Math.max(t, nowMs));
  for (let i = 0; i < queuedAhead; i++) {
    const k = argMin(f);
    f[k] += occupancyMs;
  }
  return f[argMin(f)] - nowMs;
}

function argMin(xs: readonly number[]): number {
  let k = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] < xs[k]) k = i;
  return k;
}
