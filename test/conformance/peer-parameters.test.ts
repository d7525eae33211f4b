// Parameters the peers have that a migrated configuration carries (issue 14 item 6: pcs refuses a parameter the
// metadata lacks), through the real binaries: each spelling the peer takes, on the command line and on stdin,
// is accepted without a warning; the metadata lists it; one without effect says so there. fence_scsi's logfile
// is honoured: the output goes to the file. No device is needed: nothing here reaches one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runAgentBinary, stdinOf } from '../support/run-agent.js';

interface Parameter { name: string; deprecated?: string; obsoletes?: string; getopt: { mixed: string }; shortdesc: { '#text': string } }

function parameters(binary: string): Map<string, Parameter> {
  const xml = execFileSync(join(BIN, binary), ['-o', 'metadata'], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } }).toString();
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'parameter' }).parse(xml);
  return new Map((doc['resource-agent'].parameters.parameter as Parameter[]).map((p) => [p.name, p]));
}

/** No warning, no error, exit 0: the option was taken as the agent's own. */
function expectAccepted(r: { code: number | null; stderr: string }) {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fk-peer-params-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Documentation address: nothing is sent there by validate-all.
const BMC = { ip: '192.0.2.10', username: 'admin', password: 'secret', lanplus: '1' };
const BMC_ARGV = ['-a', BMC.ip, '-l', BMC.username, '-p', BMC.password, '-P'];

describe.each(['fence_kit_ipmi', 'fence_kit_ilo3', 'fence_kit_ipmilanplus', 'fence_kit_idrac'])('%s: plug_separator (fence_ipmilan)', (binary) => {
  it('is accepted as --plug-separator and as plug_separator on stdin', async () => {
    expectAccepted(await runAgentBinary(binary, { argv: [...BMC_ARGV, '--plug-separator=:', '-o', 'validate-all'] }));
    expectAccepted(await runAgentBinary(binary, { stdin: stdinOf({ ...BMC, plug_separator: ':', action: 'validate-all' }) }));
  });

  it('is listed in the metadata as an option without effect', () => {
    const p = parameters(binary).get('plug_separator');
    expect(p?.getopt.mixed).toBe('--plug-separator=[char]');
    expect(p?.shortdesc['#text']).toMatch(/no effect in fencekit/);
  });
});

describe('fence_kit_scsi: fence_scsi parameters', () => {
  const LUN = { devices: '/dev/fencekit-no-such-lun', plug: 'node1' };
  const LUN_ARGV = ['-d', LUN.devices, '-n', LUN.plug];

  it('suppress_errors: --suppress-errors, suppress_errors=1 and suppress-errors=1 are accepted', async () => {
    expectAccepted(await runAgentBinary('fence_kit_scsi', { argv: [...LUN_ARGV, '--suppress-errors', '-o', 'validate-all'] }));
    expectAccepted(await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ ...LUN, suppress_errors: '1', action: 'validate-all' }) }));
    expectAccepted(await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ ...LUN, 'suppress-errors': '1', action: 'validate-all' }) }));
  });

  it('suppress_errors: metadata lists suppress_errors obsoleting the deprecated suppress-errors, both without effect', () => {
    const params = parameters('fence_kit_scsi');
    expect(params.get('suppress_errors')).toMatchObject({ obsoletes: 'suppress-errors', getopt: { mixed: '--suppress-errors' } });
    expect(params.get('suppress-errors')).toMatchObject({ deprecated: '1' });
    expect(params.get('suppress_errors')?.shortdesc['#text']).toMatch(/no effect in fencekit/);
  });

  it('plug_separator: accepted on argv and stdin, listed without effect', async () => {
    expectAccepted(await runAgentBinary('fence_kit_scsi', { argv: [...LUN_ARGV, '--plug-separator=:', '-o', 'validate-all'] }));
    expectAccepted(await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ ...LUN, plug_separator: ':', action: 'validate-all' }) }));
    expect(parameters('fence_kit_scsi').get('plug_separator')?.shortdesc['#text']).toMatch(/no effect in fencekit/);
  });

  it('-H is delay, as in fence_scsi: a number of seconds is accepted, anything else is refused naming delay', async () => {
    expectAccepted(await runAgentBinary('fence_kit_scsi', { argv: [...LUN_ARGV, '-H', '2.5', '-o', 'validate-all'] }));
    const bad = await runAgentBinary('fence_kit_scsi', { argv: [...LUN_ARGV, '-H', 'soon', '-o', 'validate-all'] });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("Failed: option 'delay' (-H, --delay) must be a number of seconds\n");
    expect(parameters('fence_kit_scsi').get('delay')?.getopt.mixed).toBe('-H, --delay=[seconds]');
  });

  it("sg_persist_path / sg_turs_path: fence_scsi's --sg_persist-path and --sg_turs-path beside --sg-persist-path and --sg-turs-path", async () => {
    for (const spelling of ['--sg_persist-path', '--sg-persist-path', '--sg_turs-path', '--sg-turs-path']) {
      expectAccepted(await runAgentBinary('fence_kit_scsi', { argv: [...LUN_ARGV, `${spelling}=/usr/bin/true`, '-o', 'validate-all'] }));
    }
    expectAccepted(await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ ...LUN, sg_persist_path: '/usr/bin/sg_persist', sg_turs_path: '/usr/bin/sg_turs', action: 'validate-all' }) }));
  });

  it('logfile: is listed, with an effect', () => {
    const p = parameters('fence_kit_scsi').get('logfile');
    expect(p?.getopt.mixed).toBe('--logfile=[file]');
    expect(p?.shortdesc['#text']).not.toMatch(/no effect/);
  });

  it('logfile: the output goes to the file instead of stderr, appended to what it held, on argv and stdin', async () => {
    const file = join(work, 'scsi.log');
    writeFileSync(file, 'kept\n');
    const r = await runAgentBinary('fence_kit_scsi', { argv: [...LUN_ARGV, `--logfile=${file}`, '-o', 'status'] });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe('kept');
    expect(lines[1]).toMatch(/ ERROR: Failed: device "\/dev\/fencekit-no-such-lun" does not exist$/);

    const fromStdin = join(work, 'scsi-stdin.log');
    const s = await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ ...LUN, logfile: fromStdin, action: 'status' }) });
    expect(s).toMatchObject({ code: 1, stdout: '', stderr: '' });
    expect(readFileSync(fromStdin, 'utf8')).toMatch(/does not exist/);
    // The file the agent creates is its own to read: other users do not see a fence's log.
    expect(statSync(fromStdin).mode & 0o777).toBe(0o600);
  });

  it('logfile: a file that cannot be opened is one line on stderr naming the option, exit 1', async () => {
    const r = await runAgentBinary('fence_kit_scsi', { argv: [...LUN_ARGV, `--logfile=${join(work, 'no-such-dir', 'x.log')}`, '-o', 'status'] });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Failed: option 'logfile' \(--logfile\): cannot open .*no-such-dir\/x\.log: ENOENT\n$/);
  });
});

describe('fence_kit_sanlock: -n (fence_sanlock takes it and never reads it)', () => {
  it('-n NAME is accepted, listed without effect, and changes nothing', async () => {
    const leases = join(work, 'no-such-leases');
    const base = ['-p', leases, '-i', '1'];
    expectAccepted(await runAgentBinary('fence_kit_sanlock', { argv: [...base, '-n', 'node1', '-o', 'validate-all'] }));
    expect(parameters('fence_kit_sanlock').get('nodename')).toMatchObject({ getopt: { mixed: '-n, --nodename=[nodename]' } });
    expect(parameters('fence_kit_sanlock').get('nodename')?.shortdesc['#text']).toMatch(/no effect in fencekit/);
    // The same run with and without it: the same exit and the same error (the timestamps aside).
    const strip = (t: string) => t.replace(/^\S+ \S+ /gm, '');
    const without = await runAgentBinary('fence_kit_sanlock', { argv: [...base, '-o', 'status'] });
    const withIt = await runAgentBinary('fence_kit_sanlock', { argv: [...base, '-n', 'node1', '-o', 'status'] });
    expect(withIt.code).toBe(without.code);
    expect(strip(withIt.stderr)).toBe(strip(without.stderr));
    // With -v, the run says the option was given and changes nothing (by name, never by value).
    const verbose = await runAgentBinary('fence_kit_sanlock', { argv: [...base, '-n', 'node1', '-v', '-o', 'status'] });
    expect(verbose.stderr).toMatch(/DEBUG: Given, without effect in fencekit: nodename\n/);
    expect(verbose.stderr).not.toMatch(/node1/);
  });
});

// fence_apc's and fence_apc_snmp's paths to the programs they run: fencekit runs none of them.
describe.each([
  ['fence_kit_apc', { ip: '192.0.2.20', ssh: '1', username: 'apc', password: 'apc', plug: '1' }, ['-a', '192.0.2.20', '-x', '-l', 'apc', '-p', 'apc', '-n', '1'], { ssh_path: '/usr/bin/ssh', telnet_path: '/usr/bin/telnet' }],
  ['fence_kit_apc_snmp', { ip: '192.0.2.20', community: 'private', plug: '1' }, ['-a', '192.0.2.20', '-c', 'private', '-n', '1'], { snmpget_path: '/usr/bin/snmpget', snmpset_path: '/usr/bin/snmpset', snmpwalk_path: '/usr/bin/snmpwalk' }],
] as const)('%s: the peer\'s tool paths', (binary, base, baseArgv, paths) => {
  it('are accepted on stdin and on the command line', async () => {
    expectAccepted(await runAgentBinary(binary, { stdin: stdinOf({ ...base, ...paths, action: 'validate-all' }) }));
    const argv = Object.entries(paths).map(([k, v]) => `--${k.replace(/_/g, '-')}=${v}`);
    expectAccepted(await runAgentBinary(binary, { argv: [...baseArgv, ...argv, '-o', 'validate-all'] }));
  });

  it('are listed in the metadata as options without effect', () => {
    const params = parameters(binary);
    for (const name of Object.keys(paths)) expect(params.get(name)?.shortdesc['#text'], name).toMatch(/no effect in fencekit/);
  });
});
