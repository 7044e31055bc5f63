// `ntss --version` / `ntss version` as a user runs them: the package.json's version (read at run
// time, not compiled in) and Node's, exit 0; named in `ntss --help`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PACKAGE_JSON, packageVersion, versionLine } from '../src/cli/version.js';
import { NtssError } from '../src/util/errors.js';
import { MAIN_JS } from './helpers/server-proc.js';

const dir = mkdtempSync(join(tmpdir(), 'ntss-version-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ntss = (...args: string[]) => spawnSync(process.execPath, [MAIN_JS, ...args], { encoding: 'utf8', timeout: 10_000 });
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

test('ntss --version and ntss version print the package.json version and node\'s, exit 0', () => {
  assert.match(pkg.version, /^\d+\.\d+\.\d+/);
  for (const args of [['--version'], ['version'], ['-V']]) {
    const r = ntss(...args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, `ntss ${pkg.version} (node ${process.version})\n`, args.join(' '));
    assert.equal(r.stderr, '');
  }
});

test('--help names --version and the version command', () => {
  const r = ntss('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /ntss --version/);
  assert.match(r.stdout, /^ {2}version +print the version/m);
});

test('the version is read from the package.json given at run time, not compiled in', () => {
  assert.equal(PACKAGE_JSON.pathname, new URL('../../package.json', import.meta.url).pathname, 'dist/src/cli -> package root');
  const f = join(dir, 'package.json');
  writeFileSync(f, JSON.stringify({ name: 'ntss', version: '9.8.7-rc.1' }));
  assert.equal(packageVersion(pathToFileURL(f)), '9.8.7-rc.1');
  assert.equal(versionLine(pathToFileURL(f)), `ntss 9.8.7-rc.1 (node ${process.version})`);
});

test('a missing or versionless package.json is a clear VERSION_UNKNOWN error', () => {
  const none = join(dir, 'missing.json');
  assert.throws(() => packageVersion(pathToFileURL(none)), (e: unknown) => e instanceof NtssError && e.code === 'VERSION_UNKNOWN' && e.message.includes(none));
  const f = join(dir, 'noversion.json');
  writeFileSync(f, '{"name":"ntss"}');
  assert.throws(() => packageVersion(pathToFileURL(f)), (e: unknown) => e instanceof NtssError && e.code === 'VERSION_UNKNOWN' && /no "version"/.test(e.message));
});
