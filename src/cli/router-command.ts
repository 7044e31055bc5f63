import { loadRouterConfig } from '../config/router-config.js';
import { startRouter } from '../routerd/index.js';
import { UsageError } from '../util/errors.js';
import { createLogger, type LogFormat, type LogLevel } from '../util/log.js';
import type { Command } from './main.js';

export const routerCommand: Command = {
  summary: 'run the NTS router: NTS protocol server, PHL, RC scheduler, data plane (userspace relay)',
  usage: '--config FILE [--log-format text|json] [--log-level debug|info|warn|error]',
  options: {
    config: { type: 'string', short: 'c', description: 'YAML configuration file (required)' },
    'log-format': { type: 'string', description: 'text (default) or json' },
    'log-level': { type: 'string', description: 'debug (also retransmitted ids), info (default: every request, RC, mapping), warn, error' },
  },
  async run(v) {
    if (typeof v.config !== 'string') throw new UsageError('router: --config FILE is required');
    const format = (v['log-format'] ?? 'text') as string;
    if (format !== 'text' && format !== 'json') throw new UsageError(`router: --log-format must be text or json, got "${format}"`);
    const level = (v['log-level'] ?? 'info') as string;
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`router: --log-level must be debug, info, warn or error, got "${level}"`);
    const cfg = loadRouterConfig(v.config);
    const log = createLogger({ format: format as LogFormat, level: level as LogLevel }, { svc: 'router' });
    const router = await startRouter(cfg, log);
    process.on('SIGUSR1', () => log.info('counters', router.counters.snapshot()));
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log.info('signal', { signal: sig });
        router.close().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};
