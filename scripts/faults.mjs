// `npm run faults [-- options]`: bundle test/faults/cli.ts with esbuild and run the full fault matrix,
// which writes RELIABILITY.md (see test/faults/cli.ts for the options). Builds the agents first.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleDevScript } from './bundle-dev-script.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
delete process.env.NODE_EXTRA_CA_CERTS;
const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
if (b.status !== 0) process.exit(1);
// Under tmp/ (ignored) inside the repo: the bundle finds node_modules, bin/ and the peers' assets from there.
const outdir = join(root, 'tmp', 'faults');
mkdirSync(outdir, { recursive: true });
await bundleDevScript(root, {
  entryPoints: [join(root, 'test/faults/cli.ts')],
  outfile: join(outdir, 'cli.mjs'),
});
const r = spawnSync(process.execPath, [join(outdir, 'cli.mjs'), ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
