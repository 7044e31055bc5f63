// Errors with stable codes. Callers branch on `code`, never on message text.
export class NtssError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'NtssError';
  }
}

/** A configuration mistake: names the file, the key and what was expected. */
export class ConfigError extends NtssError {
  constructor(readonly file: string, readonly key: string, readonly expected: string) {
    super('CONFIG_INVALID', `${file}: ${key || '(top level)'}: ${expected}`);
    this.name = 'ConfigError';
  }
}

/** Bad command-line usage: the CLI prints the message and exits 2. */
export class UsageError extends NtssError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'UsageError';
  }
}
