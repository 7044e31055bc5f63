// `ntss --version` and `ntss version`. The version is read at run time from the installed
// package's package.json (dist/src/cli/version.js -> ../../../package.json), never written into
// the code: a release cannot print a number its package.json does not have.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NtssError } from '../util/errors.js';
import type { Command } from './main.js';

export const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

/** The `version` of the package.json at `url`; NtssError VERSION_UNKNOWN when there is none. */
export function packageVersion(url: URL = PACKAGE_JSON): string {
  const file = fileURLToPath(url);
  let pkg: { name?: unknown; version?: unknown };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8')) as typeof pkg;
  } catch (e) {
    throw new NtssError('VERSION_UNKNOWN', `cannot read the version from ${file}: ${(e as Error).message}`);
  }
  if (typeof pkg.version !== 'string' || pkg.version === '') {
    throw new NtssError('VERSION_UNKNOWN', `${file} has no "version" string`);
  }
  return pkg.version;
}

/** One line: `ntss 0.1.0 (node v20.20.2)`. */
export function versionLine(url: URL = PACKAGE_JSON): string {
  return `ntss ${packageVersion(url)} (node ${process.version})`;
}

export const versionCommand: Command = {
  summary: 'print the version of ntss and of Node.js (also: ntss --version)',
  usage: '',
  options: {},
  run: async () => {
    console.log(versionLine());
    return 0;
  },
};
