// The Debian package as an admin uses it: `npm run package`, `dpkg -i`, then from a directory outside the
// checkout, with a PATH that does not reach it: every agent's metadata against fence-agents' metadata.rng,
// pacemaker-fenced registering and fencing through /usr/sbin/fence_kit_ipmi against ipmi_sim, the manual
// pages, `fencekit demo`; lintian and rpmlint on the packages, and the RPM's file set against the .deb's.
// `dpkg --purge` at the end must leave no file of the package behind. The package is installed on this
// machine for the length of the file: it refuses to start over agents that are already in /usr/sbin.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { FENCED, registerArgs, startFencer, STONITH_ADMIN, type Fencer } from '../pacemaker/fencer.js';
import { explain, run, type RunResult } from '../pacemaker/proc.js';
import { missingPrograms } from '../support/programs.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RNG = '/usr/share/cluster/relaxng/metadata.rng';
const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
/** What a user's shell has: nothing of the checkout. */
const env: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' };

let out: string; // the packages
let away: string; // a working directory outside the checkout
let deb: string;
let rpm: string;
let installedPaths: string[] = [];
let installed = false;

/** A command as a user runs it: their PATH, in a directory of their own (never the checkout). */
function sh(argv: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: away, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    }).stdin!.end();
  });
}
async function ok(argv: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await sh(argv, timeoutMs);
  if (r.code !== 0) throw new Error(explain(argv, r));
  return r.stdout;
}
const dpkgInstalled = () => {
  try {
    return /^install ok installed/.test(execFileSync('dpkg-query', ['-W', '-f=${Status}', 'fencekit'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
};
const sbinAgents = () => readdirSync('/usr/sbin').filter((n) => n.startsWith('fence_kit_') || n === 'fencekit');

beforeAll(async () => {
  expect(missingPrograms(['dpkg-deb', 'rpmbuild', 'lintian', 'rpmlint', 'man', 'xmllint', 'ipmi_sim', 'snmpd', FENCED, STONITH_ADMIN])).toEqual([]);
  if (dpkgInstalled()) throw new Error('the fencekit package is installed already: dpkg --purge fencekit first');
  if (sbinAgents().length > 0) throw new Error(`/usr/sbin holds ${sbinAgents().join(', ')} (a development install? run fencekit uninstall): not installing over them`);
  out = mkdtempSync(join(tmpdir(), 'fk-packages-'));
  away = mkdtempSync(join(tmpdir(), 'fk-user-'));
  const r = await run([process.execPath, join(ROOT, 'scripts/package.mjs'), '--no-build', '--out', out], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(explain(['npm run package'], r));
  deb = join(out, `fencekit_${version}_all.deb`);
  rpm = join(out, `fencekit-${version}-1.noarch.rpm`);
  installed = true;
  await ok(['dpkg', '-i', deb]);
  installedPaths = (await ok(['dpkg', '-L', 'fencekit'])).split('\n').filter((p) => p.startsWith('/') && p !== '/.');
}, 180_000);

afterAll(async () => {
  if (installed) await run(['dpkg', '--purge', 'fencekit'], { timeoutMs: 60_000 });
  for (const d of [out, away]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('the installed files', () => {
  it('every agent, alias and the CLI is a regular root-owned 0755 file in /usr/sbin, started by /usr/bin/node', () => {
    const names = readdirSync(join(ROOT, 'bin')).filter((n) => n.startsWith('fence_kit_') || n === 'fencekit');
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      const p = join('/usr/sbin', name);
      const st = lstatSync(p);
      expect(st.isFile(), p).toBe(true);
      expect([st.uid, st.gid, st.mode & 0o7777], p).toEqual([0, 0, 0o755]);
      expect(readFileSync(p, 'utf8').split('\n')[0], p).toBe('#!/usr/bin/node');
    }
  });

  it('no file is group- or world-writable or owned by anyone but root, no node_modules, no path into the build tree', () => {
    const buildPaths = [...new Set([ROOT, realpathSync(ROOT), realpathSync(join(ROOT, 'node_modules')), tmpdir() + '/fencekit-stage'])];
    const problems: string[] = [];
    for (const p of installedPaths) {
      const st = lstatSync(p);
      if (st.uid !== 0 || st.gid !== 0) problems.push(`${p}: owned by ${st.uid}:${st.gid}`);
      if (!st.isSymbolicLink() && st.mode & 0o022) problems.push(`${p}: mode ${(st.mode & 0o7777).toString(8)}`);
      if (p.includes('node_modules')) problems.push(`${p}: node_modules`);
      if (st.isFile()) {
        const bytes = readFileSync(p);
        const text = p.endsWith('.gz') ? execFileSync('zcat', [p]).toString('latin1') : bytes.toString('latin1');
        for (const b of buildPaths) if (text.includes(b)) problems.push(`${p} names ${b}`);
      }
    }
    expect(problems).toEqual([]);
    expect(installedPaths.length).toBeGreaterThan(40);
  });

  it('lintian finds no error in the .deb; rpmlint none in the .rpm but the missing signature', async () => {
    const l = await sh(['lintian', '--fail-on', 'error', deb], 150_000);
    expect(l.code, explain(['lintian', deb], l)).toBe(0);
    expect(l.stdout).not.toMatch(/^E: /m);
    const r = await sh(['rpmlint', '-c', join(ROOT, 'packaging/rpmlint.toml'), rpm], 60_000);
    const errors = r.stdout.split('\n').filter((line) => /: E: /.test(line) && !/: E: no-signature$/.test(line));
    expect(errors, r.stdout).toEqual([]);
  }, 240_000);

  it('the .rpm holds the same files, links and modes as the .deb (directories other packages own aside)', async () => {
    const fromRpm = (await ok(['rpm', '-qlvp', rpm])).split('\n').filter(Boolean).map((l) => l.split(/\s+/));
    const rpmSet = fromRpm.map((f) => `${f[0]!.replace(/^l.*/, 'link')} ${f[8]}`).sort();
    const fromDeb = (await ok(['dpkg-deb', '-c', deb])).split('\n').filter(Boolean).map((l) => l.split(/\s+/));
    const debSet = fromDeb
      .map((f) => [f[0]!.replace(/^l.*/, 'link'), f[5]!.replace(/^\./, '').replace(/\/$/, '')] as const)
      .filter(([, p]) => p.includes('fencekit') || !p.match(/^\/usr(\/(lib|sbin|share|share\/doc|share\/man|share\/man\/man8))?$|^$/))
      .map(([m, p]) => `${m} ${p}`)
      .sort();
    expect(rpmSet).toEqual(debSet);
    const deps = await ok(['rpm', '-qRp', rpm]);
    const minimum = JSON.parse(readFileSync(join(ROOT, 'packaging/runtime.json'), 'utf8')).minimum as string;
    expect(deps).toContain(`nodejs >= 1:${minimum}`);
    expect(await ok(['dpkg-deb', '-f', deb, 'Depends'])).toBe(`nodejs (>= ${minimum})\n`);
  });
});

describe('from a directory outside the checkout', () => {
  it('every agent prints metadata that validates against metadata.rng, under its own name', async () => {
    for (const name of readdirSync(join(ROOT, 'bin')).filter((n) => n.startsWith('fence_kit_'))) {
      const xml = await ok([`/usr/sbin/${name}`, '-o', 'metadata']);
      expect(xml, name).toContain(`<resource-agent name="${name}"`);
      const file = join(away, `${name}.xml`);
      writeFileSync(file, xml);
      const v = await sh(['xmllint', '--noout', '--relaxng', RNG, file]);
      expect(v.code, explain(['xmllint', name], v)).toBe(0);
    }
  });

  it('man fence_kit_ipmi renders, and an alias leads to its agent\'s page', async () => {
    for (const name of ['fence_kit_ipmi', 'fence_kit_ilo3', 'fencekit']) {
      const page = await ok(['man', '-P', 'cat', '8', name]);
      expect(page, name).toMatch(/^NAME\n\s+(fence_kit_ipmi|fencekit) /m);
    }
  });

  it('fencekit --version and fencekit demo run', async () => {
    expect(await ok(['fencekit', '--version'])).toBe(`${version}\n`);
    const demo = await ok(['fencekit', 'demo'], 120_000);
    expect(demo).toMatch(/was really powered off/);
  }, 150_000);
});

describe('pacemaker-fenced runs /usr/sbin/fence_kit_ipmi from the package, against ipmi_sim', () => {
  let bmc: IpmiSim;
  let fencer: Fencer;
  beforeAll(async () => {
    bmc = await startIpmiSim({ hostOn: true });
    fencer = await startFencer();
  });
  afterAll(async () => {
    await fencer?.stop();
    await bmc?.stop();
  });

  it('registers the device, fences the node (the BMC\'s host process is gone) and unfences it', async () => {
    const admin = async (args: readonly string[]) => {
      const r = await fencer.admin(args);
      if (r.code !== 0) throw new Error(`${explain(['stonith_admin', ...args], r)}\n--- fencer log (tail):\n${fencer.log().slice(-3000)}`);
      return r.stdout;
    };
    expect(await admin(['--list-installed'])).toMatch(/^\s*fence_kit_ipmi$/m);
    await admin(registerArgs('pkg-ipmi', 'fence_kit_ipmi', { ip: bmc.host, ipport: String(bmc.port), username: bmc.users.admin.name, password: bmc.users.admin.password, lanplus: '1', pcmk_host_list: 'node-p' }));
    await admin(['--query', 'pkg-ipmi']);
    expect(bmc.isHostRunning()).toBe(true);
    await admin(['--fence', 'node-p']);
    expect(bmc.isHostRunning()).toBe(false);
    await admin(['--unfence', 'node-p']);
    expect(bmc.isHostRunning()).toBe(true);
    await admin(['--deregister', 'pkg-ipmi']);
  }, 120_000);
});

describe('dpkg --purge', () => {
  it('removes every file and directory of the package, and nothing is left in /usr/sbin', async () => {
    await ok(['dpkg', '--purge', 'fencekit']);
    installed = false;
    const left = installedPaths.filter((p) => (p.includes('fencekit') || p.includes('fence_kit')) && existsSync(p));
    expect(left).toEqual([]);
    expect(sbinAgents()).toEqual([]);
    expect(existsSync('/usr/lib/fencekit')).toBe(false);
    expect(dpkgInstalled()).toBe(false);
    expect(statSync('/usr/sbin').isDirectory()).toBe(true);
  });
});
