// What `ntss server` and `ntss router` share: the logging options, and running in the
// foreground until SIGTERM/SIGINT (SIGUSR1 logs the counters, SIGHUP reloads the configuration).
import v8 from 'node:v8';
import { ConfigError, UsageError } from '../util/errors.js';
import { createLogger, deferredWriter, type LogFormat, type LogLevel, type Logger } from '../util/log.js';
import type { Command } from './main.js';

export const daemonOptions = (levelHelp: string): Command['options'] => ({
  config: { type: 'string', short: 'c', description: 'YAML configuration file (required)' },
  'log-format': { type: 'string', description: 'text (default) or json' },
  'log-level': { type: 'string', description: levelHelp },
});

export const DAEMON_USAGE = '--config FILE [--log-format text|json] [--log-level debug|info|warn|error]';

interface Running {
  counters: { snapshot(): Record<string, number> };
  close(): Promise<void>;
  /** Reads the configuration file again and applies it: the keys that changed. Throws ConfigError to refuse it. */
  reload?(): string[];
}

/** Validates the options, starts the daemon, and returns 0 once a signal has stopped it. */
export async function runDaemon(name: string, v: Record<string, string | boolean | undefined>, start: (config: string, log: Logger) => Promise<Running>): Promise<number> {
  if (typeof v.config !== 'string') throw new UsageError(`${name}: --config FILE is required`);
  const format = (v['log-format'] ?? 'text') as string;
  if (format !== 'text' && format !== 'json') throw new UsageError(`${name}: --log-format must be text or json, got "${format}"`);
  const level = (v['log-level'] ?? 'info') as string;
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`${name}: --log-level must be debug, info, warn or error, got "${level}"`);
  coldPathFlags();
  const out = deferredWriter();
  process.on('exit', out.flush);
  const log = createLogger({ format: format as LogFormat, level: level as LogLevel, write: out.write }, { svc: name });
  // Handlers before start: a `systemctl reload` or stop while the daemon is still setting up must
  // not meet the signals' default action (death, and the deferred log lines with it).
  let running: Running | undefined;
  let stopAsked: string | undefined;
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (sig: string) => {
    log.info('signal', { signal: sig });
    if (running) running.close().then(stopped, stopped);
    else stopAsked = sig; // stopped once start returns
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGUSR1', () => log.info('counters', running?.counters.snapshot() ?? {}));
  process.on('SIGHUP', () => {
    if (running) reloadOnce(running, v.config as string, log);
    else log.warn('reload-refused', { file: v.config, reason: 'still starting: send SIGHUP again once started' });
  });
  running = await start(v.config, log);
  if (stopAsked) running.close().then(stopped, stopped);
  await done;
  return 0;
}

/**
 * A daemon's request path runs once per lookup, often seconds apart: never hot enough for V8 to
 * optimise it, so a lookup waits for interpreted, cache-cold code (docs/eval/latency.md). Compile
 * every function to baseline code when it is first compiled, and keep bytecode across GCs
 * instead of recompiling it lazily after an idle spell.
 */
export function coldPathFlags(): void {
  v8.setFlagsFromString('--always-sparkplug');
  v8.setFlagsFromString('--no-flush-bytecode');
}

/** One SIGHUP: `reloaded` with the changed keys, or ONE `reload-refused` line and the old configuration stays. */
export function reloadOnce(running: Pick<Running, 'reload'>, file: string, log: Logger): void {
  if (!running.reload) return log.warn('reload-refused', { file, key: '', expected: 'this daemon does not reload; restart' });
  try {
    const changed = running.reload();
    log.info('reloaded', { file, changed: changed.join(',') || 'nothing' });
  } catch (e) {
    if (e instanceof ConfigError) log.warn('reload-refused', { file: e.file, key: e.key || '(top level)', expected: e.expected });
    else log.error('reload-refused', { file, key: '', expected: (e as Error).message });
  }
}
