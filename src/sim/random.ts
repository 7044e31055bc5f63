// Seeded randomness for the simulator and the seeded test worlds: the one PRNG (src/util/prng.ts) and the
// distributions the model's times are drawn from. Same seed, same run, on every machine.
import { UsageError } from '../util/errors.js';
import { prng } from '../util/prng.js';

export { prng };

/** A non-negative duration distribution (ms). */
export type Dist =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly lo: number; readonly hi: number }
  /** exp(N(ln median, sigma^2)): RTTs have a floor-free, long right tail. */
  | { readonly kind: 'lognormal'; readonly median: number; readonly sigma: number }
  | { readonly kind: 'exp'; readonly mean: number };

export const fixed = (ms: number): Dist => ({ kind: 'fixed', ms });

/** Mean of a distribution (the analytic models' service time). */
export function distMean(d: Dist): number {
  switch (d.kind) {
    case 'fixed': return d.ms;
    case 'uniform': return (d.lo + d.hi) / 2;
    case 'lognormal': return d.median * Math.exp((d.sigma * d.sigma) / 2);
    case 'exp': return d.mean;
  }
}

/** One draw. `rnd` is consumed a fixed number of times per kind, so runs stay reproducible. */
export function sample(d: Dist, rnd: () => number): number {
  switch (d.kind) {
    case 'fixed': return d.ms;
    case 'uniform': return d.lo + (d.hi - d.lo) * rnd();
    case 'lognormal': {
      // Box-Muller; 1 - u keeps log away from 0.
      const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      return d.median * Math.exp(d.sigma * z);
    }
    case 'exp': return -d.mean * Math.log(1 - rnd());
  }
}

/**
 * `20` (fixed), `uniform:10:30`, `lognormal:20:0.5` (median, sigma), `exp:100` (mean); ms.
 * `what` names the flag in the error.
 */
export function parseDist(s: string, what: string): Dist {
  const bad = (why: string): never => {
    throw new UsageError(`${what}: ${JSON.stringify(s)}: ${why} (forms: 20, uniform:10:30, lognormal:20:0.5, exp:100; ms)`);
  };
  const parts = s.trim().split(':');
  const nums = parts.slice(parts.length === 1 ? 0 : 1).map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (nums.some((n) => !Number.isFinite(n) || n < 0)) bad('numbers must be finite and >= 0');
  const [a, b] = nums as [number, number];
  switch (parts.length === 1 ? 'fixed' : parts[0]) {
    case 'fixed': return nums.length === 1 ? { kind: 'fixed', ms: a } : bad('fixed takes one number');
    case 'uniform': return nums.length === 2 && a <= b ? { kind: 'uniform', lo: a, hi: b } : bad('uniform takes lo:hi with lo <= hi');
    case 'lognormal': return nums.length === 2 && a > 0 ? { kind: 'lognormal', median: a, sigma: b } : bad('lognormal takes median:sigma, median > 0');
    case 'exp': return nums.length === 1 && a > 0 ? { kind: 'exp', mean: a } : bad('exp takes one mean > 0');
    default: return bad(`unknown distribution ${JSON.stringify(parts[0])}`);
  }
}

