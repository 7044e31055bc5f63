import { loadServerConfig } from '../config/server-config.js';
import { startServer } from '../server/server.js';
import { UsageError } from '../util/errors.js';
import { createLogger, type LogFormat, type LogLevel } from '../util/log.js';
import type { Command } from './main.js';

export const serverCommand: Command = {
  summary: 'run the NTSv2 server: authoritative DNS + RFC 2136 updates with TSIG',
  usage: '--config FILE [--log-format text|json] [--log-level debug|info|warn|error]',
  options: {
    config: { type: 'string', short: 'c', description: 'YAML configuration file (required)' },
    'log-format': { type: 'string', description: 'text (default) or json' },
    'log-level': { type: 'string', description: 'debug (every query), info (default), warn, error' },
  },
  async run(v) {
    if (typeof v.config !== 'string') throw new UsageError('server: --config FILE is required');
    const format = (v['log-format'] ?? 'text') as string;
    if (format !== 'text' && format !== 'json') throw new UsageError(`server: --log-format must be text or json, got "${format}"`);
    const level = (v['log-level'] ?? 'info') as string;
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`server: --log-level must be debug, info, warn or error, got "${level}"`);
    const cfg = loadServerConfig(v.config);
    const log = createLogger({ format: format as LogFormat, level: level as LogLevel }, { svc: 'server' });
    const srv = await startServer(cfg, log);
    process.on('SIGUSR1', () => log.info('counters', srv.counters.snapshot()));
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log.info('signal', { signal: sig });
        srv.close().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};
