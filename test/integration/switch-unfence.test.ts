// fence_kit_switch's unfence_after_reboot against a real switch: net-snmp's snmpd managing a Linux bridge in
// network namespaces (test/peers/netns-switch.ts), the real agent binary and the fencekit CLI, options on
// stdin. The agent runs inside the manager namespace as node2 would run it on itself: in a UTS namespace
// whose hostname is node2, and, for "node2 has just rebooted", in a time namespace whose boot-time offset
// makes /proc/uptime start near 0. Without the time namespace the host's own uptime stands for a node2 that
// has been up since before its fence. A refusal is proven on the kernel's side: the port's link stays down.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/run-agent.js';
import { startSwitchLab, type RunResult, type SwitchLab } from '../peers/netns-switch.js';

const AGENT = join(ROOT, 'bin', 'fence_kit_switch');
const FENCEKIT = join(ROOT, 'bin', 'fencekit');
const missing = process.getuid?.() !== 0 ? 'root' : !existsSync('/usr/sbin/snmpd') ? 'snmpd' : !existsSync('/usr/bin/unshare') ? 'unshare' : undefined;

const ENV: NodeJS.ProcessEnv = { ...process.env };
delete ENV.NODE_EXTRA_CA_CERTS;
delete ENV.PCMK_service;
const NO_MIBS: NodeJS.ProcessEnv = { ...ENV, MIBS: '', MIBDIRS: '/nonexistent' };

const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
const IF_LAST_CHANGE = '1.3.6.1.2.1.2.2.1.9';
const IF_OPER_STATUS = '1.3.6.1.2.1.2.2.1.8';

let lab: SwitchLab;
let work: string;

const stdinOf = (cfg: Record<string, string>) => Object.entries(cfg).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
const v2c = (extra: Record<string, string>) => ({ ip: lab.mgmtAddress, community: lab.community.rw, ...extra });

/**
 * How node2 runs: `hostname` set in a UTS namespace of its own; with `freshBoot`, also in a time namespace
 * whose CLOCK_BOOTTIME starts near 0 (/proc/uptime then says it booted just now).
 */
function asNode(argv: readonly string[], opts: { hostname: string; freshBoot: boolean; input?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  const boot = opts.freshBoot ? ['--time', '--boottime', `-${readFileSync('/proc/uptime', 'utf8').split('.')[0]}`] : [];
  return lab.inManager(['unshare', '--uts', ...boot, 'sh', '-c', `hostname ${opts.hostname} && exec "$@"`, 'sh', ...argv], {
    input: opts.input ?? '',
    env: opts.env ?? ENV,
    timeoutMs: 30_000,
  });
}

/** The switch's sysUpTime.0 and port 12's (node2's) ifLastChange, in TimeTicks (1/100 s), from one GET. */
async function port12Ticks(): Promise<{ sysUpTime: number; lastChange: number }> {
  const r = await lab.inManager(['snmpget', '-On', '-v2c', '-c', lab.community.rw, lab.mgmtAddress, SYS_UPTIME, `${IF_LAST_CHANGE}.12`], { env: NO_MIBS, timeoutMs: 5000 });
  const ticks = [...r.stdout.matchAll(/= Timeticks: \((\d+)\)/g)].map((m) => Number(m[1]));
  expect(ticks, r.stdout + r.stderr).toHaveLength(2);
  return { sysUpTime: ticks[0]!, lastChange: ticks[1]! };
}

/** Poll until `done` or a time limit; `what` says what did not happen. */
async function until(done: () => Promise<boolean>, what: () => string, limitS: number): Promise<void> {
  const by = Date.now() + limitS * 1000;
  while (!(await done())) {
    if (Date.now() > by) throw new Error(what());
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Fence node2 (port 12) with the agent, then wait until the switch's ifLastChange is the stamp of this very
 * change and shows the port down for at least `seconds`. net-snmp reads the kernel's link states into a
 * cache every few seconds and stamps ifLastChange when a reload finds ifOperStatus changed
 * (docs/switch-port.md): until then it holds the previous change, and a port brought up by the last test's
 * restorePorts() and downed again before a reload would never have been seen up at all. So first wait for
 * snmpd to show the port up.
 */
async function fenceNode2(seconds: number): Promise<void> {
  let oper = '';
  await until(
    async () => {
      const r = await lab.inManager(['snmpget', '-On', '-Oqv', '-v2c', '-c', lab.community.rw, lab.mgmtAddress, `${IF_OPER_STATUS}.12`], { env: NO_MIBS, timeoutMs: 5000 });
      oper = r.stdout.trim();
      return oper === '1';
    },
    () => `snmpd does not show port 12 up (ifOperStatus ${oper})`,
    20,
  );
  const { sysUpTime: beforeOff } = await port12Ticks();
  const off = await lab.inManager([AGENT], { input: stdinOf(v2c({ action: 'off', plug: '12' })), env: ENV });
  expect([off.code, off.stdout, off.stderr]).toEqual([0, 'Success: Powered OFF\n', '']);
  expect(lab.kernelAdminUp(lab.ports.node2)).toBe(false);
  let now = { sysUpTime: 0, lastChange: 0 };
  await until(
    async () => {
      now = await port12Ticks();
      return now.lastChange >= beforeOff && now.sysUpTime - now.lastChange >= seconds * 100;
    },
    () => `the switch's ifLastChange of port 12 did not move past the off: ${JSON.stringify({ beforeOff, ...now })}`,
    seconds + 20,
  );
}

describe('fence_kit_switch unfence_after_reboot against snmpd managing a namespace bridge', () => {
  it('has what the namespace switch and a node in namespaces need (root, snmpd, unshare)', () => {
    expect(missing).toBeUndefined();
  });

  beforeAll(async () => {
    lab = await startSwitchLab();
    work = mkdtempSync(join(tmpdir(), 'fk-switch-unfence-'));
  });
  afterEach(async () => {
    await lab?.restorePorts();
  });
  afterAll(async () => {
    await lab?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('node2 not rebooted since its fence: on is refused naming node and port, and the port stays down', async () => {
    await fenceNode2(1);
    // Without a time namespace, node2's uptime is this host's: it was up long before the lab's switch started.
    const r = await asNode([AGENT], { hostname: 'node2', freshBoot: false, input: stdinOf(v2c({ action: 'on', plug: '12', nodename: 'node2', unfence_after_reboot: '1' })) });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    // One line, as every failure after the options are read: the logger's time stamp, then the refusal.
    expect(r.stderr).toMatch(/^[^\n]* ERROR: Failed: unfence_after_reboot: node2 has been up \d+ s, since before port 12 went down \d+ s ago: reboot it, then unfence\n$/);
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(false);
    expect(await lab.nodesTalk()).toBe(false);
  });

  it('nodename naming another host is refused before the switch is asked anything (stdin and argv); the port stays down', async () => {
    await fenceNode2(0);
    const want = 'Failed: unfence_after_reboot: the unfence of node2 must run on node2 itself, after its reboot (this host is node1)\n';
    // With snmpd stopped, an agent that asked the switch anything would wait out login_timeout and say so.
    lab.freezeSnmpd(true);
    try {
      const stdin = await asNode([AGENT], { hostname: 'node1', freshBoot: true, input: stdinOf(v2c({ action: 'on', plug: '12', nodename: 'node2', unfence_after_reboot: '1' })) });
      expect([stdin.code, stdin.stdout, stdin.stderr]).toEqual([1, '', want]);
      const argv = await asNode([AGENT, '-a', lab.mgmtAddress, '-c', lab.community.rw, '-n', '12', '-o', 'on', '--nodename', 'node2', '--unfence-after-reboot'], { hostname: 'node1', freshBoot: true });
      expect([argv.code, argv.stdout, argv.stderr]).toEqual([1, '', want]);
    } finally {
      lab.freezeSnmpd(false);
    }
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(false);
  });

  it('no nodename is refused, before the switch is asked anything; the port stays down', async () => {
    await fenceNode2(0);
    lab.freezeSnmpd(true);
    try {
      const r = await asNode([AGENT], { hostname: 'node2', freshBoot: true, input: stdinOf(v2c({ action: 'on', plug: '12', unfence_after_reboot: '1' })) });
      expect([r.code, r.stdout, r.stderr]).toEqual([1, '', 'Failed: unfence_after_reboot needs nodename (the node being unfenced)\n']);
    } finally {
      lab.freezeSnmpd(false);
    }
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(false);
  });

  it('node2 freshly booted after its port went down: on switches the port up and traffic returns', async () => {
    await fenceNode2(4);
    const r = await asNode([AGENT], { hostname: 'node2', freshBoot: true, input: stdinOf(v2c({ action: 'on', plug: '12', nodename: 'node2', unfence_after_reboot: '1' })) });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'Success: Powered ON\n', '']);
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(true);
    expect(await lab.nodesTalk({ withinS: 5 })).toBe(true);
  });

  it('without the option, on switches the port up as before, on any host and however long it has been up', async () => {
    await fenceNode2(0);
    const r = await asNode([AGENT], { hostname: 'node1', freshBoot: false, input: stdinOf(v2c({ action: 'on', plug: '12', nodename: 'node2' })) });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'Success: Powered ON\n', '']);
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(true);
  });

  it('the option leaves off as it was: a fence from node1 needs no reboot proof', async () => {
    const r = await asNode([AGENT], { hostname: 'node1', freshBoot: false, input: stdinOf(v2c({ action: 'off', plug: '12', nodename: 'node2', unfence_after_reboot: '1' })) });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'Success: Powered OFF\n', '']);
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(false);
  });

  it('through fencekit and a topology with unfence_after_reboot: 1: on from node2 not rebooted is refused, after a fresh boot it unfences', async () => {
    const topology = join(work, 'topology.yaml');
    writeFileSync(
      topology,
      [
        'devices:',
        `  sw: { agent: fence_kit_switch, ip: ${lab.mgmtAddress}, community: { env: FK_SW_COMMUNITY }, unfence_after_reboot: 1 }`,
        'nodes:',
        '  node1: [ "sw:11" ]',
        '  node2: [ "sw:12" ]',
        '',
      ].join('\n'),
    );
    const env = { ...ENV, FK_SW_COMMUNITY: lab.community.rw, FENCEKIT_LOCK_DIR: join(work, 'locks') };
    await fenceNode2(4);
    const stale = await asNode([FENCEKIT, '--topology', topology, 'fence', '--action', 'on', 'node2'], { hostname: 'node2', freshBoot: false, env });
    expect(stale.code).toBe(1);
    expect(stale.stdout + stale.stderr).toMatch(/unfence_after_reboot: node2 has been up \d+ s, since before port 12 went down \d+ s ago/);
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(false);
    const fresh = await asNode([FENCEKIT, '--topology', topology, 'fence', '--action', 'on', 'node2'], { hostname: 'node2', freshBoot: true, env });
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    expect(lab.kernelAdminUp(lab.ports.node2)).toBe(true);
  });
});
