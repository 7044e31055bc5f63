// Closed forms beside the simulator (the paper's section 4 and its slide): the bound on
// waiting requests, and the mean waits of M/M/1 and M/D/1 queues. Times in ms, rates per ms
// unless named otherwise.
import { UsageError } from '../util/errors.js';

/** The paper's bound: requests a router can keep waiting, DNS timeout / t (5 s, 20 ms -> 250). */
export function paperBound(timeoutMs: number, tMs: number): number {
  if (!(timeoutMs > 0 && tMs > 0)) throw new UsageError(`paperBound: timeout and t must be > 0 (got ${timeoutMs}, ${tMs})`);
  return timeoutMs / tMs;
}

export interface QueueWait {
  /** Utilisation lambda / mu. */
  readonly rho: number;
  /** Mean wait in the queue before service (Wq), ms; Infinity when rho >= 1. */
  readonly waitMs: number;
  /** Mean time in the system (Wq + service), ms. */
  readonly sojournMs: number;
}

function check(lambda: number, mu: number): void {
  if (!(lambda >= 0 && mu > 0)) throw new UsageError(`queue model: need lambda >= 0 and mu > 0 (got ${lambda}, ${mu})`);
}

/** M/M/1: Wq = rho / (mu - lambda), W = 1 / (mu - lambda). */
export function mm1(lambda: number, mu: number): QueueWait {
  check(lambda, mu);
  const rho = lambda / mu;
  if (rho >= 1) return { rho, waitMs: Infinity, sojournMs: Infinity };
  return { rho, waitMs: rho / (mu - lambda), sojournMs: 1 / (mu - lambda) };
}

/** M/D/1 (Pollaczek-Khinchine with deterministic service): Wq = rho / (2 mu (1 - rho)). */
export function md1(lambda: number, mu: number): QueueWait {
  check(lambda, mu);
  const rho = lambda / mu;
  if (rho >= 1) return { rho, waitMs: Infinity, sojournMs: Infinity };
  const waitMs = rho / (2 * mu * (1 - rho));
  return { rho, waitMs, sojournMs: waitMs + 1 / mu };
}

/**
 * The slide's table: lambda = 0..100 requests per 10 s in steps of 10, mu = 100 per 10 s
 * (about 100 ms per request); mean waits in ms.
 */
export function slideTable(): Array<{ lambdaPer10s: number; mm1: QueueWait; md1: QueueWait }> {
  const mu = 100 / 10_000;
  return Array.from({ length: 11 }, (_, k) => {
    const lambda = (k * 10) / 10_000;
    return { lambdaPer10s: k * 10, mm1: mm1(lambda, mu), md1: md1(lambda, mu) };
  });
}
