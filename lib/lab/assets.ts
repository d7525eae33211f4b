// Files the lab runs (shell hooks, the PowerNet-MIB emulator) live in the source tree; code that uses
// them may run from lib/ (tests) or from a bundle in dist/. Find them from the package root either way.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'lib', 'lab'))) return dir;
  }
  throw new Error('fencekit package root not found');
}

const ASSET_DIRS = ['lib/lab/assets'];

export function labAsset(name: string): string {
  const root = packageRoot();
  for (const d of ASSET_DIRS) {
    const p = join(root, d, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`lab asset ${name} not found under ${ASSET_DIRS.join(', ')}`);
}
