// Files the lab runs (shell hooks, the PowerNet-MIB emulator) are not code: they stay files, in
// lab/assets/ of the tree the running code belongs to. That code is lab/*.ts (tests), a bundle in
// dist/ or dist/chunks/ of a checkout, or the same bundles in /usr/lib/fencekit/dist/ of the Debian and RPM
// packages, which install the assets at /usr/lib/fencekit/lab/assets/. The search looks only that far
// up (three directories), never at a package.json: a copy of dist/ with its assets works anywhere.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ASSETS = join('lab', 'assets');
/** From dist/chunks/ the root is two directories up, from lab/ or dist/ one. */
const MAX_UP = 2;

export function assetsDirectory(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (let up = 0; up <= MAX_UP; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, ASSETS))) return join(dir, ASSETS);
  }
  throw new Error(`the lab's files (${ASSETS}) are not beside ${dirname(from)} or up to ${MAX_UP} directories above it`);
}

export function labAsset(name: string, from?: string): string {
  const p = join(assetsDirectory(from), name);
  if (!existsSync(p)) throw new Error(`lab asset ${p} not found`);
  return p;
}
