// test/fixtures/NAME, found from the compiled test (dist/test -> ../../test/fixtures) or from
// the repository root, so the tests run from any outDir.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function fixtureDir(name: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../../test/fixtures', name), path.resolve('test/fixtures', name)];
  const dir = candidates.find((d) => existsSync(d));
  if (!dir) throw new Error(`test/fixtures/${name} not found in ${candidates.join(', ')} (run from the repository root)`);
  return dir;
}
