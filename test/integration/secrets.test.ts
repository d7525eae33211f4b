// Secret hygiene, measured: every network agent runs off and on at maximum verbosity (verbose=1,
// verbose_level=9) with debug_file and its secrets from password_script (and snmp_priv_passwd_script),
// against its real peer. Captured: stdout, stderr, the debug file, and the argv and environment of every
// program the agent's process tree execs, recorded by strace (test/support/exec-log.ts: every execve, however
// short-lived the child, and the agent's own). The secret
// may appear in exactly one place: the IPMI_PASSWORD environment variable of ipmitool with
// transport=ipmitool (ipmitool -E reads it there; it is never in argv). The agents log nothing to syslog.
// fence_kit_scsi and fence_kit_sanlock take no secret (local devices): nothing to leak.
// Peers: ipmi_sim; snmpd + PowerNet emulator; the ssh2 APC card fixture; snmpd in a switch namespace.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runAgentBinary, type AgentRun } from '../support/run-agent.js';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { startPdu, type PduPeer } from '../peers/snmpd-pdu.js';
import { pduOutlets, startApcSsh, type ApcSshPeer } from '../peers/apc-ssh.js';
import { startSwitchLab, type SwitchLab } from '../peers/netns-switch.js';
import { execLog, type ExecRecord } from '../support/exec-log.js';

let work: string;
let bmc: IpmiSim;
let pdu: PduPeer;
let card: ApcSshPeer;
let lab: SwitchLab;
const SSH_PASSWORD = 'apc-Hyg13ne-pw';

const stdinOf = (o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';

/** A script that prints `secret`: the secret is in the script's output only, never in its argv. */
function scriptFor(name: string, secret: string): string {
  const file = join(work, `${name}.sh`);
  writeFileSync(file, `#!/bin/sh\ncat ${join(work, `${name}.value`)}\n`);
  writeFileSync(join(work, `${name}.value`), `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o755);
  return file;
}

/**
 * The same secret read by a command in shell syntax (fence-agents runs these with os.popen, /bin/sh -c): a
 * pipe for one, a redirection and $VAR for the other. The secret is in no argv, not even the shell's.
 */
function shellScriptFor(name: string, secret: string, form: 'pipe' | 'redirect'): string {
  const value = join(work, `${name}.value`);
  writeFileSync(value, `${secret}\n`, { mode: 0o600 });
  return form === 'pipe' ? `cat '${value}' | head -n 1` : `read -r pw < '${value}' && printf '%s\\n' "$pw"`;
}

/** The processes that ran one of this test's scripts through /bin/sh -c (the agent runs other sh -c of its own). */
const shells = (a: Audit) => a.processes.filter((p) => p.argv[0] === '/bin/sh' && p.argv[1] === '-c' && p.argv[2]?.includes(work));

interface Audit {
  run: AgentRun;
  debug: string;
  /** Every program the agent's tree exec'd, the agent first among them. */
  processes: ExecRecord[];
}

type TracedRunner = (traced: (argv: readonly string[]) => string[], stdin: string) => Promise<AgentRun>;

async function audited(name: string, agent: string | TracedRunner, options: Record<string, string | number>): Promise<Audit> {
  const debugFile = join(work, `${name}-${options.action}.debug`);
  const stdin = stdinOf({ ...options, verbose: 1, verbose_level: 9, debug_file: debugFile });
  const runner: TracedRunner =
    typeof agent === 'string'
      ? (traced, s) => {
          const [tracer, ...argv] = traced([join(BIN, agent)]);
          return runAgentBinary(tracer!, { argv, stdin: s, timeoutMs: 60_000 });
        }
      : agent;
  const log = execLog();
  try {
    const run = await runner(log.wrap, stdin);
    const processes = log.records();
    // The agent itself is in the log: proof that the trace followed it.
    expect(processes.some((p) => p.argv.some((a) => a.endsWith(typeof agent === 'string' ? agent : 'fence_kit_switch')))).toBe(true);
    return { run, debug: existsSync(debugFile) ? readFileSync(debugFile, 'utf8') : '', processes };
  } finally {
    log.remove();
  }
}

/** Every place the secret is found, as "where: what". */
function leaks(a: Audit, secret: string): string[] {
  const found: string[] = [];
  if (a.run.stdout.includes(secret)) found.push('stdout');
  if (a.run.stderr.includes(secret)) found.push('stderr');
  if (a.debug.includes(secret)) found.push('debug_file');
  for (const p of a.processes) {
    if (p.argv.some((x) => x.includes(secret))) found.push(`argv of ${p.argv.slice(0, 2).join(' ')}`);
    for (const e of p.env) if (e.includes(secret)) found.push(`env ${e.split("=")[0]} of ${p.path}`);
  }
  return [...new Set(found)];
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fk-secrets-'));
  bmc = await startIpmiSim({ hostOn: true });
  pdu = await startPdu({ outlets: 4 });
  card = await startApcSsh({ outlets: pduOutlets(pdu), users: [{ username: 'apc', password: SSH_PASSWORD }] });
  lab = await startSwitchLab();
});
afterAll(async () => {
  await card?.stop();
  await pdu?.stop();
  await bmc?.stop();
  await lab?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('no secret anywhere but where it must be (every agent, maximum verbosity, debug_file, password_script)', () => {
  it.each(['off', 'on'])('fence_kit_ipmi native, %s: the password is in no output, file, argv or environment', async (action) => {
    const secret = bmc.users.operator.password;
    const a = await audited('ipmi-native', 'fence_kit_ipmi', {
      action, ip: bmc.host, ipport: bmc.port, lanplus: 1, username: bmc.users.operator.name,
      privlvl: 'operator', password_script: scriptFor('ipmi', secret),
    });
    expect(a.run.code, a.run.stderr).toBe(0);
    expect(a.debug).toMatch(/DEBUG/); // the debug file was written at full verbosity
    expect(a.processes.some((p) => p.argv.some((x) => x.endsWith('ipmi.sh')))).toBe(true); // the script was seen
    expect(shells(a)).toEqual([]); // a plain path runs by itself
    expect(leaks(a, secret)).toEqual([]);
  });

  it.each(['off', 'on'])('fence_kit_ipmi, password_script with a pipe, %s: run by /bin/sh -c, the password leaks nowhere', async (action) => {
    const secret = bmc.users.operator.password;
    const a = await audited('ipmi-shell', 'fence_kit_ipmi', {
      action, ip: bmc.host, ipport: bmc.port, lanplus: 1, username: bmc.users.operator.name,
      privlvl: 'operator', password_script: shellScriptFor('ipmi-shell', secret, 'pipe'),
    });
    expect(a.run.code, a.run.stderr).toBe(0);
    expect(shells(a)).toHaveLength(1);
    expect(leaks(a, secret)).toEqual([]);
  });

  it.each(['off', 'on'])('fence_kit_ipmi transport=ipmitool, %s: the password only in ipmitool\'s IPMI_PASSWORD', async (action) => {
    const secret = bmc.users.operator.password;
    const a = await audited('ipmi-ipmitool', 'fence_kit_ipmi', {
      action, transport: 'ipmitool', ip: bmc.host, ipport: bmc.port, lanplus: 1, cipher: 3,
      username: bmc.users.operator.name, privlvl: 'operator', password_script: scriptFor('ipmi', secret),
    });
    expect(a.run.code, a.run.stderr).toBe(0);
    const ipmitool = a.processes.filter((p) => p.argv[0]?.endsWith('ipmitool'));
    expect(ipmitool.length).toBeGreaterThan(0);
    expect(ipmitool.every((p) => p.env.includes(`IPMI_PASSWORD=${secret}`))).toBe(true);
    expect(leaks(a, secret)).toEqual(['env IPMI_PASSWORD of /usr/bin/ipmitool']);
  });

  it.each(['off', 'on'])('fence_kit_apc_snmp SNMPv3, %s: neither the auth nor the privacy passphrase leaks', async (action) => {
    const u = pdu.v3.rw;
    const a = await audited('apc-v3', 'fence_kit_apc_snmp', {
      action, ip: pdu.host, ipport: pdu.port, plug: 2, snmp_version: 3, username: u.username,
      snmp_sec_level: 'authPriv', snmp_auth_prot: u.authProtocol, snmp_priv_prot: u.privProtocol,
      password_script: scriptFor('auth', u.authPassword), snmp_priv_passwd_script: scriptFor('priv', u.privPassword),
    });
    expect(a.run.code, a.run.stderr).toBe(0);
    expect(pdu.isOutletPowered(2)).toBe(action === 'on');
    expect(leaks(a, u.authPassword)).toEqual([]);
    expect(leaks(a, u.privPassword)).toEqual([]);
  });

  it.each(['off', 'on'])('fence_kit_apc_snmp SNMPv3, both scripts in shell syntax, %s: neither passphrase leaks, not even to the other script', async (action) => {
    const u = pdu.v3.rw;
    const a = await audited('apc-v3-shell', 'fence_kit_apc_snmp', {
      action, ip: pdu.host, ipport: pdu.port, plug: 2, snmp_version: 3, username: u.username,
      snmp_sec_level: 'authPriv', snmp_auth_prot: u.authProtocol, snmp_priv_prot: u.privProtocol,
      password_script: shellScriptFor('auth-shell', u.authPassword, 'pipe'),
      snmp_priv_passwd_script: shellScriptFor('priv-shell', u.privPassword, 'redirect'),
    });
    expect(a.run.code, a.run.stderr).toBe(0);
    expect(pdu.isOutletPowered(2)).toBe(action === 'on');
    expect(shells(a)).toHaveLength(2);
    expect(leaks(a, u.authPassword)).toEqual([]);
    expect(leaks(a, u.privPassword)).toEqual([]);
  });

  it.each(['off', 'on'])('fence_kit_apc_snmp SNMPv1, %s: the community leaks nowhere', async (action) => {
    const community = pdu.communities.rw;
    const a = await audited('apc-v1', 'fence_kit_apc_snmp', {
 action, ip: pdu.host, ipport: pdu.port, plug: 3, community });
    expect(a.run.code, a.run.stderr).toBe(0);
    expect(leaks(a, community)).toEqual([]);
  });

  it.each(['off', 'on'])('fence_kit_apc ssh=1, %s: the password leaks nowhere', async (action) => {
    const a = await audited('apc-ssh', 'fence_kit_apc', {
      action, ssh: 1, ip: card.host, ipport: card.port, ssh_host_key_fingerprint: card.hostKey.fingerprint,
      username: 'apc', plug: 4, password_script: scriptFor('ssh', SSH_PASSWORD),
    });
    expect(a.run.code, a.run.stderr).toBe(0);
    expect(leaks(a, SSH_PASSWORD)).toEqual([]);
  });

  it.each(['off', 'on'])('fence_kit_switch SNMPv3 and v2c, %s: passphrases and community leak nowhere', async (action) => {
    const inManager: TracedRunner = (traced, stdin) => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      return lab.inManager(traced([join(BIN, 'fence_kit_switch')]), { input: stdin, timeoutMs: 60_000, env });
    };
    const v3 = await audited('switch-v3', inManager, {
      action, ip: lab.mgmtAddress, plug: lab.ports.node2.ifIndex, snmp_version: 3, username: lab.v3.username,
      snmp_sec_level: 'authPriv', snmp_auth_prot: lab.v3.authProtocol, snmp_priv_prot: lab.v3.privProtocol,
      password_script: scriptFor('sw-auth', lab.v3.authPassword), snmp_priv_passwd_script: scriptFor('sw-priv', lab.v3.privPassword),
    });
    expect(v3.run.code, v3.run.stderr).toBe(0);
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(action === 'on');
    expect(leaks(v3, lab.v3.authPassword)).toEqual([]);
    expect(leaks(v3, lab.v3.privPassword)).toEqual([]);
    const v2 = await audited('switch-v2c', inManager, { action, ip: lab.mgmtAddress, plug: lab.ports.node2.ifIndex, snmp_version: '2c', community: lab.community.rw });
    expect(v2.run.code, v2.run.stderr).toBe(0);
    expect(leaks(v2, lab.community.rw)).toEqual([]);
  });

  it('a failing login (wrong password from password_script) does not echo the password either', async () => {
    const wrong = 'Wr0ng-still-secr3t'; // IPMI 2.0 passwords are at most 20 bytes
    const a = await audited('ipmi-wrong', 'fence_kit_ipmi', {
      action: 'off', ip: bmc.host, ipport: bmc.port, lanplus: 1, username: bmc.users.admin.name, password_script: scriptFor('wrong', wrong),
    });
    expect(a.run.code).toBe(1);
    expect(a.run.stderr).toMatch(/Unable to login/);
    expect(leaks(a, wrong)).toEqual([]);
  });
});

describe('IPMI cipher suite 0 (no authentication at all) is refused unless allow_insecure is set', () => {
  it.each(['native', 'ipmitool'])('transport=%s: cipher=0 fails before contacting the BMC; with allow_insecure=1 it runs', async (transport) => {
    const base = { action: 'status', ip: bmc.host, ipport: bmc.port, lanplus: 1, username: bmc.users.admin.name, password: 'any-pw-at-all', transport };
    const callsBefore = readFileSync(join(bmc.dir, 'calls.log'), 'utf8').length;
    const refused = await runAgentBinary('fence_kit_ipmi', { stdin: stdinOf({ ...base, cipher: 0 }), timeoutMs: 30_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cipher.*allow_insecure|allow_insecure.*cipher|cipher suite 0/i);
    expect(readFileSync(join(bmc.dir, 'calls.log'), 'utf8').length).toBe(callsBefore); // the chassis was never asked
    // ipmi_sim itself (OpenIPMI 2.0.33) accepts cipher 0 with any password, as this run shows: the guard is ours alone.
    const allowed = await runAgentBinary('fence_kit_ipmi', { stdin: stdinOf({ ...base, cipher: 0, allow_insecure: 1 }), timeoutMs: 30_000 });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toBe('Status: ON\n');
  });
});
