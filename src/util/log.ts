// One structured line per event: `text` (human) or `json` (one object per line) on stderr.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, unknown>;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** `urgent`: a warn or error line, which a deferring writer should not hold back. */
  write?: (line: string, urgent?: boolean) => void;
  now?: () => Date;
}

/** A value as the text format writes it: quoted when it has spaces, quotes or '='. */
export function textValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export function createLogger(opts: LoggerOptions = {}, base: LogFields = {}): Logger {
  const format = opts.format ?? 'text';
  const min = order[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? (() => new Date());
  const emit = (level: LogLevel, event: string, fields: LogFields = {}) => {
    if (order[level] < min) return;
    const all = { ...base, ...fields };
    if (format === 'json') {
      write(JSON.stringify({ time: now().toISOString(), level, event, ...all }), order[level] >= order.warn);
    } else {
      const kv = Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${textValue(v)}`);
      write([now().toISOString(), level.padEnd(5), event, ...kv].join(' '), order[level] >= order.warn);
    }
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    enabled: (level) => order[level] >= min,
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/**
 * A daemon's log writer that keeps log I/O off the request path: the lines of one turn of the
 * event loop are written together by a setImmediate, after that turn's sockets have sent (a
 * READY, a DNS answer) and nft has its transaction. Each line keeps the time it was made.
 * `flush()` writes what is pending (the daemon calls it at exit); a SIGKILL loses at most the
 * info/debug lines of the turn it interrupts. A warn or error line goes out at once, with the
 * lines before it: what went wrong is never among what a crash can lose.
 */
export function deferredWriter(out: (text: string) => void = (t) => process.stderr.write(t)): { write: (line: string, urgent?: boolean) => void; flush: () => void } {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    out(`${lines.join('\n')}\n`);
  };
  return {
    write(line, urgent = false) {
      pending.push(line);
      if (urgent) return flush();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

/** A logger that records lines in memory, for tests. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', level, write: (l) => lines.push(l) });
  return Object.assign(log, { lines });
}
