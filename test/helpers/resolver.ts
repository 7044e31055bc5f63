// Resolver tests: an in-process `ntss resolver` from a config object, and dig pointed at it.
import assert from 'node:assert/strict';
import { checkResolverConfig, resolverConfigSchema } from '../../src/config/resolver-config.js';
import { startResolver, type RunningResolver } from '../../src/resolver/resolver.js';
import { memoryLogger } from '../../src/util/log.js';
import { parseDig, run, type ParsedDig } from './server-proc.js';

/** A resolver on 127.0.0.1 (one free port for UDP and TCP) forwarding to `upstream`. */
export function resolverFor(upstream: string[], extra: Record<string, unknown> = {}, now?: () => number): Promise<RunningResolver> {
  const cfg = checkResolverConfig('test.yaml', resolverConfigSchema.parse({ listen: ['127.0.0.1:0'], upstream, ...extra }));
  return startResolver(cfg, memoryLogger('info'), now);
}

/** dig at the resolver; `source` picks the client address (all of 127/8 is local). */
export async function digAt(port: number, args: string[], source = '127.0.0.1', time = 2): Promise<ParsedDig & { ms: number }> {
  const r = await run('dig', ['@127.0.0.1', '-p', String(port), '-b', source, `+time=${time}`, '+tries=1', ...args]);
  assert.equal(r.code, 0, `dig ${args.join(' ')} failed:\n${r.output}`);
  const m = /Query time: (\d+) msec/.exec(r.stdout);
  return { ...parseDig(r.stdout), ms: m ? Number(m[1]) : NaN };
}
