// `ntss logs follow ID --server FILE --router FILE`: one lookup across both daemons' JSON logs
// (src/logs/follow.ts, docs/operations.md).
import { readFileSync } from 'node:fs';
import { follow, formatFollowed } from '../logs/follow.js';
import { NtssError, UsageError } from '../util/errors.js';
import type { Command } from './main.js';

const USAGE = 'follow ID [--server FILE] [--router FILE] [--json]';

function read(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new NtssError('LOG_UNREADABLE', `logs: --${key} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export const logsCommand: Command = {
  summary: 'follow one lookup by its request id (`req`) through the server\'s and the router\'s JSON logs',
  usage: USAGE,
  positionals: true,
  options: {
    server: { type: 'string', description: 'the server\'s log (--log-format json)' },
    router: { type: 'string', description: 'the router\'s log (--log-format json)' },
    json: { type: 'boolean', description: 'print the lines as JSON, each with "daemon"' },
  },
  async run(v, positionals) {
    const [sub, id, ...extra] = positionals;
    if (sub !== 'follow' || id === undefined || extra.length > 0) throw new UsageError(`logs: usage: ntss logs ${USAGE}`);
    if (!/^[0-9a-f]{16}$/.test(id)) throw new UsageError(`logs: ${JSON.stringify(id)} is not a request id (16 lower-case hex digits, the "req" field)`);
    if (typeof v.server !== 'string' && typeof v.router !== 'string') throw new UsageError('logs: give --server FILE, --router FILE or both');
    const chain = follow(id, typeof v.server === 'string' ? read(v.server, 'server') : '', typeof v.router === 'string' ? read(v.router, 'router') : '');
    if (chain.length === 0) {
      console.error(`logs: no line with req ${id}`);
      return 1;
    }
    console.log(v.json ? chain.map((c) => JSON.stringify({ daemon: c.daemon, ...c.line })).join('\n') : formatFollowed(chain));
    return 0;
  },
};
