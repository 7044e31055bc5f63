// What a reload (SIGHUP) changes: the configuration keys whose values differ, and the keys a
// running daemon cannot take over (sockets, storage): those refuse the whole new configuration.
import { ConfigError } from '../util/errors.js';

/** Dotted key paths ("nts.enCacheMs", "tsig") whose values differ, two levels deep; names only, never values. */
export function changedKeys(old: Record<string, unknown>, next: Record<string, unknown>, depth = 2): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string, d: number) => {
    if (same(a, b)) return;
    if (d > 1 && isPlain(a) && isPlain(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k, d - 1);
    } else out.push(path);
  };
  walk(old, next, '', depth + 1);
  return out.filter((k) => k !== 'file');
}

/** Throws a ConfigError naming the first fixed key (a dotted path) whose value changed. */
export function refuseFixed(file: string, old: Record<string, unknown>, next: Record<string, unknown>, fixed: readonly string[]): void {
  for (const key of fixed) {
    if (!same(at(old, key), at(next, key))) throw new ConfigError(file, key, 'cannot change on reload; restart');
  }
}

function at(o: unknown, path: string): unknown {
  for (const k of path.split('.')) o = isPlain(o) ? o[k] : undefined;
  return o;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

// JSON is enough: configs are plain data (Buffers serialise as their bytes).
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
