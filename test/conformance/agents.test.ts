// Every agent binary in bin/ through the fence-agents protocol: stdin and argv, comments, repeated and
// unknown keys, missing or unknown actions, bad values, metadata against fence-agents' own RelaxNG schema,
// manpage, validate-all, and no secret in any output. Nothing here needs a device: every run points at a
// loopback port where nothing answers but every packet is counted, so "no device touched" is measured.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentByName } from '../../agents/registry.js';
import { agentBinaries, BIN, runAgentBinary } from '../support/run-agent.js';
import { startSilentDevice, type SilentDevice } from '../support/silent-device.js';

const RNG = '/usr/share/cluster/relaxng/metadata.rng';
const SECRET = 'S3cr3t-Pa55w0rd-for-conformance';

interface Param { name: string; required: boolean; deprecated: boolean; type: string; default?: string; secret: boolean }

function parseMetadata(xml: string) {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => ['parameter', 'action', 'symlink', 'option'].includes(n) }).parse(xml);
  const ra = doc['resource-agent'];
  const params: Param[] = ra.parameters.parameter.map((p: Record<string, any>) => ({
    name: p.name,
    required: p.required === '1',
    deprecated: p.deprecated === '1',
    type: p.content.type,
    default: p.content.default,
    // By name, independently of the declarations: what an admin reading the metadata would take for a secret.
    secret: /password|passwd|kg|community/.test(p.name),
  }));
  return { name: ra.name as string, params, actions: (ra.actions.action as { name: string }[]).map((a) => a.name), symlinks: (ra.symlink ?? []) as { name: string }[] };
}

/** A valid configuration for any agent: required options filled, device address pointed at the counter. */
function validConfig(params: Param[], port: number): Record<string, string> {
  const has = (n: string) => params.some((p) => p.name === n && !p.deprecated);
  const cfg: Record<string, string> = {};
  if (has('ip')) cfg.ip = '127.0.0.1';
  if (has('ipport')) cfg.ipport = String(port);
  if (has('username')) cfg.username = 'admin';
  if (has('password')) cfg.password = SECRET;
  // An SNMP agent with a user and a password is SNMPv3; fence_kit_apc_snmp wants that said.
  if (has('snmp_version') && has('username')) cfg.snmp_version = '3';
  // fence_kit_apc speaks the card's command line over SSH only, and wants that said.
  if (has('ssh')) cfg.ssh = '1';
  if (has('plug')) cfg.plug = '1';
  if (has('login_timeout')) cfg.login_timeout = '1';
  if (has('power_timeout')) cfg.power_timeout = '2';
  for (const p of params) if (p.required && !p.deprecated && p.name !== 'action' && !(p.name in cfg)) cfg[p.name] = p.type === 'integer' || p.type === 'second' ? '1' : 'x';
  return cfg;
}

const stdinOf = (cfg: Record<string, string>) => Object.entries(cfg).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';

const binaries = agentBinaries();
let device: SilentDevice;
let work: string;

beforeAll(async () => {
  device = await startSilentDevice();
  work = mkdtempSync(join(tmpdir(), 'fk-conf-'));
});
afterAll(async () => {
  await device.close();
  rmSync(work, { recursive: true, force: true });
});

it('finds agent binaries to check', () => {
  expect(binaries.length).toBeGreaterThan(0);
});

// Metadata is read once at collection time, so that the checks each agent gets follow from what it declares.
const agents = binaries
  .filter((b) => !b.isAlias)
  .map(({ name }) => ({
    name,
    meta: parseMetadata(execFileSync(join(BIN, name), ['-o', 'metadata'], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } }).toString()),
  }));

it('has secret parameters to check for defaults (fence_kit_apc_snmp: password, community)', () => {
  const apc = agents.find((a) => a.name === 'fence_kit_apc_snmp')!;
  expect(apc.meta.params.filter((p) => p.secret).map((p) => p.name)).toEqual(expect.arrayContaining(['password', 'community', 'snmp_priv_passwd']));
});

describe.each(agents)('$name', ({ name, meta }) => {
  let cfg: Record<string, string>;
  const has = (n: string) => meta.params.some((p) => p.name === n);
  // ipmitool_timeout is a number of seconds that metadata shows as a string, as fence_ipmilan's does.
  const numericOptions = ['power_timeout', 'login_timeout', 'retry_on', 'delay', 'ipmitool_timeout', 'io_timeout'].filter(has);

  beforeAll(() => {
    cfg = validConfig(meta.params, device.port);
  });

  /** cfg as long options; a boolean (fence_kit_apc's ssh=1) is a bare flag there, as getopt has it. */
  const argvOf = (c: Record<string, string>) =>
    Object.entries(c).map(([k, v]) => (meta.params.find((p) => p.name === k)?.type === 'boolean' ? `--${k.replace(/_/g, '-')}` : `--${k.replace(/_/g, '-')}=${v}`));

  /** Runs that must not reach the device: the counter must not move. */
  async function runUntouched(opts: Parameters<typeof runAgentBinary>[1]) {
    const before = device.contacts();
    const r = await runAgentBinary(name, opts);
    await new Promise((res) => setTimeout(res, 50));
    expect(device.contacts(), 'the agent contacted the device').toBe(before);
    return r;
  }

  it('prints metadata from stdin that validates against fence-agents metadata.rng', async () => {
    const r = await runUntouched({ stdin: 'action=metadata\n' });
    const file = join(work, `${name}.xml`);
    writeFileSync(file, r.stdout);
    expect(existsSync(RNG), `${RNG} (Debian fence-agents) is needed`).toBe(true);
    execFileSync('xmllint', ['--noout', '--relaxng', RNG, file], { stdio: 'pipe' });
    expect(meta.name).toBe(name);
    expect(meta.actions[0]).toBe('on');
    for (const a of ['off', 'status', 'monitor', 'metadata', 'manpage', 'validate-all']) expect(meta.actions).toContain(a);
  });

  it('prints the same metadata for -o metadata, --action=meta-data and action=meta-data', async () => {
    const base = (await runUntouched({ stdin: 'action=metadata\n' })).stdout;
    expect((await runUntouched({ argv: ['-o', 'metadata'] })).stdout).toBe(base);
    expect((await runUntouched({ argv: ['--action=meta-data'] })).stdout).toBe(base);
    expect((await runUntouched({ stdin: 'action=meta-data\n' })).stdout).toBe(base);
  });

  it('shows no default for a secret parameter (declared secret, or named like one)', () => {
    const declared = agentByName(name)!.options.filter((o) => o.secret).flatMap((o) => [o.name, ...(o.deprecatedName ? [o.deprecatedName] : [])]);
    const secret = meta.params.filter((p) => p.secret || declared.includes(p.name));
    expect(secret.map((p) => p.name)).toEqual(expect.arrayContaining(declared));
    expect(secret.filter((p) => p.default !== undefined).map((p) => `${p.name}=${p.default}`)).toEqual([]);
  });

  it('does not echo a secret given on stdin with the metadata action', async () => {
    const r = await runUntouched({ stdin: `action=metadata\npassword=${SECRET}\n` });
    expect(r.stdout).not.toContain(SECRET);
  });

  it('manpage names the canonical agent; each alias reports its own name in metadata', async () => {
    const man = await runUntouched({ stdin: 'action=manpage\n' });
    expect(man.code).toBe(0);
    expect(parseMetadata(man.stdout).name).toBe(name);
    for (const link of meta.symlinks) {
      const aliasRun = await runAgentBinary(link.name, { stdin: 'action=metadata\n' });
      expect(aliasRun.code, `alias ${link.name} must exist in bin/`).toBe(0);
      expect(parseMetadata(aliasRun.stdout).name).toBe(link.name);
      const aliasMan = await runAgentBinary(link.name, { stdin: 'action=manpage\n' });
      expect(parseMetadata(aliasMan.stdout).name).toBe(name);
    }
  });

  it('validate-all accepts a complete configuration without contacting the device', async () => {
    const r = await runUntouched({ stdin: stdinOf(cfg) + 'action=validate-all\n' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('skips comments and blank lines and lets the last of a repeated harmless key win', async () => {
    // verbose_level=x first: were it the value kept, validation would fail.
    const r = await runUntouched({ stdin: `# configured by hand\n\nverbose_level=x\n${stdinOf(cfg)}  # indented comment\nverbose_level=0\naction=validate-all\n` });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  // Review finding 6: a second action line (a newline in some value upstream) turned a topology off into
  // an on. An action given twice is refused as a whole, whatever the two say, before anything runs.
  it.each([
    ['off then on', 'action=off\naction=on\n'],
    ['the same action twice', 'action=off\naction=off\n'],
    ['action and the legacy option', 'action=off\noption=on\n'],
    ['metadata then off', 'action=metadata\naction=off\n'],
  ])('refuses a repeated action line on stdin (%s): one line naming action, exit 1, device untouched', async (_what, lines) => {
    const r = await runUntouched({ stdin: `${stdinOf(cfg)}${lines}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Failed: option 'action' .*more than once/);
  });

  it('refuses a repeated -o/--action on the command line: one line naming action, exit 1, device untouched', async () => {
    const argv = ['-o', 'off', ...argvOf(cfg), '--action=on'];
    const r = await runUntouched({ argv });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Failed: option 'action' .*more than once/);
  });

  if (has('plug')) it('refuses plug and port naming different targets; accepts what Pacemaker sends (nodename, port, plug alike)', async () => {
    const { plug: _omit, ...rest } = cfg;
    const bad = await runUntouched({ stdin: `${stdinOf(rest)}port=1\nplug=2\naction=off\n` });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^Failed: option 'plug' .*different values/);
    const pacemaker = await runUntouched({ stdin: `${stdinOf(rest)}nodename=node2\nport=1\nplug=1\naction=validate-all\n` });
    expect(pacemaker.stderr).toBe('');
    expect(pacemaker.code).toBe(0);
  });

  if (has('ip')) it('refuses ip and ipaddr naming different devices, device untouched', async () => {
    const r = await runUntouched({ stdin: `${stdinOf(cfg)}ipaddr=127.0.0.2\naction=off\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Failed: option 'ip' .*different values/);
  });

  it('ignores unknown stdin keys with a warning that names the key but not the value', async () => {
    const r = await runUntouched({ stdin: `${stdinOf(cfg)}frobnicate=${SECRET}\nnodename=node2\naction=validate-all\n` });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("'frobnicate'");
    expect(r.stderr).not.toContain(SECRET);
    expect(r.stderr).not.toContain('nodename');
  });

  it('refuses to run without an action: one line naming the option, exit 1, device untouched', async () => {
    const r = await runUntouched({ stdin: stdinOf(cfg) });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no action given.*'action'/);
  });

  it('refuses an unknown action with the phrase Pacemaker maps to "not supported"', async () => {
    const r = await runUntouched({ stdin: `${stdinOf(cfg)}action=explode\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Unrecognised action 'explode'");
  });

  it.each(numericOptions)('rejects a malformed %s before doing anything', async (opt) => {
    const r = await runUntouched({ stdin: `${stdinOf(cfg)}${opt}=soon\naction=off\n` });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`'${opt}'`);
  });

  it('names each missing required option and touches nothing', async () => {
    const required = meta.params.filter((p) => p.required && !p.deprecated && p.name !== 'action');
    for (const p of required) {
      const partial = { ...cfg };
      delete partial[p.name];
      const r = await runUntouched({ stdin: `${stdinOf(partial)}action=off\n` });
      expect(r.code, p.name).toBe(1);
      expect(r.stderr).toContain(`'${p.name}'`);
    }
  });

  it('reads only argv when arguments are given (stdin is ignored)', async () => {
    const argv = ['-o', 'validate-all', ...argvOf(cfg)];
    const r = await runUntouched({ argv, stdin: 'action=off\nbogus line\n' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('rejects an unknown command-line option, exit 1', async () => {
    const r = await runUntouched({ argv: ['-o', 'status', '--no-such-option'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--no-such-option');
  });

  it('prints usage for -h and a version for -V, exit 0', async () => {
    const h = await runUntouched({ argv: ['-h'] });
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage:/);
    for (const p of meta.params.filter((x) => !x.deprecated)) expect(h.stdout).toContain(`--${p.name.replace(/_/g, '-')}`);
    const v = await runUntouched({ argv: ['-V'] });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('fencekit');
  });

  if (has('password')) it('fails an unreachable device with exit 1 within its bounds and leaks no secret at -vvv', async () => {
    const debugFile = join(work, `${name}.debug`);
    const r = await runAgentBinary(name, { stdin: `${stdinOf(cfg)}verbose_level=3\ndebug_file=${debugFile}\naction=status\n`, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('Status:');
    // A failure reported, not a crash that happens to exit 1 (fence_kit_apc's SSH client once threw an
    // unhandled 'error' event after a login timeout).
    expect(r.stderr).toMatch(/(^|ERROR: )Failed: /m);
    expect(r.stderr).not.toMatch(/Unhandled 'error' event|^\s+at /m);
    expect(r.ms).toBeLessThan(15_000);
    const debug = existsSync(debugFile) ? readFileSync(debugFile, 'utf8') : '';
    expect(debug.length).toBeGreaterThan(0);
    for (const text of [r.stdout, r.stderr, debug]) expect(text).not.toContain(SECRET);
  });

  if (has('password_script')) it('reads the password from password_script, run without a shell, and never prints it', async () => {
    const script = join(work, 'pw.sh');
    writeFileSync(script, `#!/bin/sh\necho '${SECRET}-from-script'\n`);
    chmodSync(script, 0o700);
    const { password: _omit, ...rest } = cfg;
    const r = await runAgentBinary(name, { stdin: `${stdinOf(rest)}password_script=${script}\nverbose=1\naction=status\n`, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(`${SECRET}-from-script`);
    expect(r.stderr).toMatch(/Running command: .*pw\.sh/);
  });

  if (has('password_script')) it('refuses password together with password_script (a conflicting pair)', async () => {
    const r = await runUntouched({ stdin: `${stdinOf(cfg)}password_script=/bin/true\naction=status\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'password'.*conflicts with.*'password_script'/);
  });
});

// Issue 14 item 1: fence_apc without ssh=1 is telnet. fence_kit_apc used to send SNMP v1 SETs with community
// "private" to such a configuration's port instead, and validate-all said 0. Now it refuses, before any packet
// of any protocol: the counter on the configured port (UDP and TCP alike) must not move.
describe('fence_kit_apc without ssh=1: refused with one line, nothing sent', () => {
  const TELNET_LINE = /^Failed: option 'ssh' \(-x, --ssh\) is not set: fence_kit_apc speaks the card's command line over SSH only; set ssh=1 .*fence_kit_apc_snmp/;

  async function refusedUntouched(opts: Parameters<typeof runAgentBinary>[1]) {
    const before = device.contacts();
    const r = await runAgentBinary('fence_kit_apc', opts);
    await new Promise((res) => setTimeout(res, 200));
    expect(device.contacts(), 'fence_kit_apc sent something to the device').toBe(before);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    const failures = r.stderr.split('\n').filter((l) => l.startsWith('Failed:'));
    expect(failures, r.stderr).toHaveLength(1);
    expect(failures[0]).toMatch(TELNET_LINE);
    return r;
  }

  it.each(['validate-all', 'off', 'reboot', 'on', 'status', 'list', 'monitor'])('%s with fence_apc_snmp-like options (no credentials): exit 1', async (action) => {
    await refusedUntouched({ stdin: stdinOf({ action, ip: '127.0.0.1', ipport: String(device.port), plug: '1', login_timeout: '1', power_timeout: '2' }) });
  });

  it("fence_apc's telnet configuration (username, password, telnet_path): exit 1, the password nowhere", async () => {
    const r = await refusedUntouched({
      stdin: stdinOf({ action: 'off', ip: '127.0.0.1', ipport: String(device.port), username: 'apc', password: SECRET, plug: '1', telnet_path: '/usr/bin/telnet' }),
    });
    expect(r.stderr).not.toContain(SECRET);
  });

  it('SNMP options are unknown keys to fence_kit_apc, warned about without their value, and change nothing', async () => {
    const r = await refusedUntouched({
      stdin: stdinOf({ action: 'off', ip: '127.0.0.1', ipport: String(device.port), plug: '1', community: SECRET, snmp_version: '2c' }),
    });
    expect(r.stderr).toContain("Ignoring unknown option 'community'");
    expect(r.stderr).toContain("Ignoring unknown option 'snmp_version'");
    expect(r.stderr).not.toContain(SECRET);
  });

  it('on the command line too (-a -u -n -o off, no -x)', async () => {
    await refusedUntouched({ argv: ['-a', '127.0.0.1', '-u', String(device.port), '-n', '1', '-o', 'off'] });
  });

  it("fence_kit_apc_snmp's validate-all of the same options exits 0, untouched (SNMP is its own agent)", async () => {
    const before = device.contacts();
    const r = await runAgentBinary('fence_kit_apc_snmp', { stdin: stdinOf({ action: 'validate-all', ip: '127.0.0.1', ipport: String(device.port), plug: '1' }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(device.contacts()).toBe(before);
  });
});
