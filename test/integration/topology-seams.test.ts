// The topology's seams, through bin/fencekit against real peers: the built-in lab (BMC simulators, snmpd
// PDUs powering real node processes) and, for a fabric-only node, net-snmp's snmpd managing a namespace
// switch (test/peers/netns-switch.ts). Every fence is judged on the peer side: the node's process, the
// power model's log, the kernel's link flags.
import { isAlive } from '../../lib/proc.js';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAsset } from '../../lab/assets.js';
import type { Lab, LabNode } from '../../lab/lab.js';
import { startSwitchLab, type SwitchLab } from '../peers/netns-switch.js';
import { BIN, runFencekit, type BinaryRun, type RunAgentOptions } from '../support/run-agent.js';
import { labForFile } from '../support/scratch.js';

let lab: Lab;
let work: string;

/** bin/fencekit as an admin runs it from the work directory, its PID known while it runs (RunAgentOptions.onStdout). */
function fencekit(args: string[], opts: Omit<RunAgentOptions, 'argv'> = {}): Promise<BinaryRun> {
  return runFencekit(args, { cwd: work, timeoutMs: 120_000, ...opts, lockDir: join(work, 'locks') });
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return !isAlive(pid);
}

/** Every descendant of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

const eventCount = (node: LabNode) => node.events().trim().split('\n').length;

/** A topology with one lab node's BMC (extra lines go into the BMC device), for seams the lab's own file cannot show. */
function bmcTopology(node: LabNode, extra: string[] = [], levels = `    - [bmc]\n`): string {
  return [
    'devices:',
    '  bmc:',
    '    agent: fence_kit_ipmi',
    `    ip: ${node.bmc.host}`,
    `    ipport: ${node.bmc.port}`,
    `    username: ${node.bmc.users.admin.name}`,
    '    lanplus: 1',
    '    login_timeout: 2',
    '    power_timeout: 10',
    ...extra.map((l) => `    ${l}`),
    'nodes:',
    `  ${node.name}:`,
    levels,
  ].join('\n');
}

function writeTopology(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

function passwordFile(): string {
  return join(lab.dir, 'secrets', 'bmc.pw');
}

/** Power a lab node back on through its BMC and both PDU outlets, whatever a test left. */
function powerOn(node: LabNode): void {
  const power = labAsset('node-power.sh');
  for (const what of ['psu-a', 'psu-b', 'chassis']) execFileSync(power, [node.dir, 'set', what, '1']);
  lab.pdus[0].setOutletState(node.outlet, true);
  lab.pdus[1].setOutletState(node.outlet, true);
}

labForFile('fk-seams-', { nodes: 3 }, (started) => ({ work, lab } = started));

describe('topology values reach the agent as written (lab BMCs: the BMC simulator)', () => {
  it('ip "127.0.0.1\\naction=on" is refused: exit 1, one line naming the device and option, the node untouched', async () => {
    const node = lab.nodes[2]!;
    const before = eventCount(node);
    const path = writeTopology('inject.yaml', bmcTopology(node, [`password: { file: ${passwordFile()} }`]).replace(`ip: ${node.bmc.host}`, 'ip: "127.0.0.1\\naction=on"'));
    const r = await fencekit(['-t', path, 'fence', node.name, '--action', 'off']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/inject\.yaml:\d+: device "bmc": ip contains a control character \(LF\)/);
    expect(r.stdout).toBe('');
    expect(node.isRunning()).toBe(true);
    expect(eventCount(node)).toBe(before);
  });

  it('a value that looks like a number (debug_file: 0x7d0c0001) reaches the agent as those characters', async () => {
    const node = lab.nodes[2]!;
    const cwd = mkdtempSync(join(work, 'cwd-'));
    const path = writeTopology('numeric.yaml', bmcTopology(node, [`password: { file: ${passwordFile()} }`, 'debug_file: 0x7d0c0001']));
    const r = await fencekit(['-t', path, 'status', node.name], { cwd });
    expect(r.code).toBe(0);
    // The agent wrote its debug log to the file it was given: the name as written, not 2097938433.
    expect(readdirSync(cwd)).toEqual(['0x7d0c0001']);
  });

  it('export pcs writes a SCSI key 0x7d0c0001 as written', async () => {
    const path = writeTopology('scsi.yaml', 'devices:\n  lun:\n    agent: fence_kit_scsi\n    devices: /dev/sdb\n    key: 0x7d0c0001\nnodes:\n  node1:\n    - [lun]\n');
    const r = await fencekit(['-t', path, 'export', 'pcs']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('key=0x7d0c0001');
    expect(r.stdout).not.toContain('2097938433');
  });
});

describe('CLI numbers', () => {
  it.each(['30s', '-1', 'abc', '0', '', '1e3'])('--timeout %j is refused by name, exit 1, nothing contacted', async (value) => {
    const node = lab.nodes[2]!;
    const before = eventCount(node);
    const r = await fencekit(['-t', lab.topologyPath, 'fence', node.name, '--action', 'off', '--timeout', value]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^fencekit: --timeout must be/);
    expect(r.stdout).toBe('');
    expect(node.isRunning()).toBe(true);
    expect(eventCount(node)).toBe(before);
  });

  it('--concurrency and --nodes too', async () => {
    const check = await fencekit(['-t', lab.topologyPath, 'check', '--concurrency', 'lots']);
    expect([check.code, check.stderr]).toEqual([1, 'fencekit: --concurrency must be a whole number from 1 to 256 (got "lots")\n']);
    const up = await fencekit(['lab', 'up', '--nodes', '-3'], { env: { FENCEKIT_LAB_DIR: join(work, 'never') } });
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/^fencekit: --nodes must be a whole number/);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});

describe('an off is read back before it counts (lab: simulated BMC, snmpd PDUs)', () => {
  it('a node that is on again after its BMC said off fails level 1, and level 2 (both PDU outlets) fences it', async () => {
    const node = lab.nodes[0]!;
    let restored = false;
    // Between the BMC agent's "Success: Powered OFF" and the read-back, power comes back (a power-restore
    // policy, another admin): the device's word was true a moment ago and is not any more.
    const r = await fencekit(['-t', lab.topologyPath, 'fence', node.name, '--action', 'off'], {
      onStdout: (text) => {
        if (!restored && /ok\s+\S+-bmc off: Success: Powered OFF/.test(text)) {
          restored = true;
          execFileSync(labAsset('node-power.sh'), [node.dir, 'set', 'chassis', '1']);
        }
      },
    });
    try {
      expect(restored).toBe(true);
      expect(r.stdout).toMatch(/FAILED\s+node1-bmc confirm-off: Failed: it still reads ON after the off/);
      expect(r.stdout).toMatch(/level 1 failed; trying the next level/);
      expect(r.stdout).toMatch(/ok\s+pdu-b confirm-off: Status: OFF/);
      expect(r.stdout).toMatch(/off succeeded at level 2/);
      expect(r.code).toBe(0);
      expect(node.isRunning()).toBe(false);
    } finally {
      powerOn(node);
    }
  });
});

describe('on-target devices run their on only on their node', () => {
  const lun = (node: LabNode, name: string) =>
    bmcTopology(node, [`password: { file: ${passwordFile()} }`], '    - [lun]\n    - [bmc]\n')
      .replace('devices:\n', 'devices:\n  lun:\n    agent: fence_kit_scsi\n    devices: /dev/fk-test-no-such-lun\n    key: 0x7d0c0001\n')
      .replace(`  ${node.name}:`, `  ${name}:`);

  it('fence -a on NODE from another host skips fence_kit_scsi, says so, and powers on through the next level', async () => {
    const node = lab.nodes[1]!;
    expect(runsHere(node.name)).toBe(false);
    const path = writeTopology('lun.yaml', lun(node, node.name));
    const r = await fencekit(['-t', path, '--json', 'fence', node.name, '--action', 'on']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { level: number; steps: { type: string; device: string; action: string; reason?: string }[] };
    expect(out.level).toBe(2);
    expect(out.steps.filter((s) => s.device === 'lun')).toEqual([
      expect.objectContaining({ type: 'device-skipped', action: 'on', reason: expect.stringContaining(`must run on ${node.name} itself`) }),
    ]);
    expect(node.isRunning()).toBe(true);
  });

  it('on the node itself (its host name) the on-target device is run', async () => {
    const node = lab.nodes[1]!;
    const here = hostname().split('.')[0]!;
    const path = writeTopology('lun-here.yaml', lun(node, here).replace('    - [bmc]\n', ''));
    const r = await fencekit(['-t', path, '--json', 'fence', here, '--action', 'on']);
    // The LUN does not exist, so the agent fails, before it registers or records anything.
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { steps: { type: string; device: string; outcome?: { message: string } }[] };
    expect(out.steps).toEqual([expect.objectContaining({ type: 'device-end', device: 'lun', outcome: expect.objectContaining({ message: expect.stringMatching(/fk-test-no-such-lun" does not exist/) }) })]);
  });
});

function runsHere(node: string): boolean {
  return hostname().split('.')[0]!.toLowerCase() === node.split('.')[0]!.toLowerCase();
}

describe('agents are bounded as process groups, and keep no secrets in their environment (lab BMC)', () => {
  it('an agent whose password script hangs is killed at the deadline with everything it started', async () => {
    const node = lab.nodes[2]!;
    const dir = mkdtempSync(join(work, 'pw-'));
    const script = join(dir, 'pw.sh');
    writeFileSync(script, `#!/bin/sh\nsleep 1000 &\necho $! > ${dir}/sleeper.pid\nwait\n`);
    chmodSync(script, 0o700);
    const path = writeTopology('hang.yaml', bmcTopology(node, [`password_script: ${script}`]));
    const r = await fencekit(['-t', path, 'fence', node.name, '--action', 'off', '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/timed out \(the topology deadline passed\)/);
    const sleeper = Number(readFileSync(join(dir, 'sleeper.pid'), 'utf8'));
    try {
      // lib/exec.ts runs the script in the agent's process group, so the group kill reaches its children.
      expect(await goneWithin(sleeper, 2000), `the password script's child ${sleeper} outlived the agent`).toBe(true);
      expect(node.isRunning()).toBe(true);
    } finally {
      if (isAlive(sleeper)) process.kill(sleeper, 'SIGKILL');
    }
  });

  it('a CLI stopped by SIGTERM kills its running agents and exits non-zero', async () => {
    const node = lab.nodes[2]!;
    node.bmc.freeze();
    let agents: number[] = [];
    try {
      const path = writeTopology('frozen.yaml', bmcTopology(node, [`password: { file: ${passwordFile()} }`]));
      const r = await fencekit(['-t', path, 'fence', node.name, '--action', 'off', '--timeout', '60'], {
        onStdout: (text, pid) => {
          if (agents.length === 0 && /off\s+bmc …/.test(text)) {
            setTimeout(() => {
              agents = descendants(pid);
              process.kill(pid, 'SIGTERM');
            }, 500);
          }
        },
      });
      expect(agents.length).toBeGreaterThan(0);
      expect(r.code).toBe(143);
      expect(r.stderr).toMatch(/stopped by SIGTERM; killed 1 running agent/);
      for (const pid of agents) expect(await goneWithin(pid, 1000), `agent process ${pid} outlived the CLI`).toBe(true);
    } finally {
      node.bmc.thaw();
    }
  });

  it('no agent, nor what it runs, sees a topology {env: VAR} secret in its environment', async () => {
    const node = lab.nodes[2]!;
    const dir = mkdtempSync(join(work, 'env-'));
    const script = join(dir, 'pw.sh');
    writeFileSync(script, `#!/bin/sh\nenv > ${dir}/env.txt\ncat ${passwordFile()}\n`);
    chmodSync(script, 0o700);
    const text = bmcTopology(node, [`password_script: ${script}`]).replace('nodes:\n', `  other:\n    agent: fence_kit_apc_snmp\n    ip: 127.0.0.1\n    community: { env: FK_SEAMS_COMMUNITY }\nnodes:\n`);
    const r = await fencekit(['-t', writeTopology('env.yaml', text), 'status', node.name], { env: { FK_SEAMS_COMMUNITY: 'pdu-secret-41' } });
    expect(r.code).toBe(0);
    const env = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(env).toMatch(/^PATH=/m); // the script did see an environment
    expect(env).not.toContain('FK_SEAMS_COMMUNITY');
    expect(env).not.toContain('pdu-secret-41');
  });
});

describe('a reboot through a fabric-only level (fence_kit_switch: snmpd managing a namespace switch)', () => {
  let sw: SwitchLab;
  beforeAll(async () => {
    sw = await startSwitchLab();
  }, 60_000);
  afterAll(async () => {
    await sw?.stop();
  });

  it('fence NODE (reboot) cuts the port, reads it back OFF, and leaves it cut: fabric has no power-on', async () => {
    const path = writeTopology(
      'fabric.yaml',
      `devices:\n  sw:\n    agent: fence_kit_switch\n    ip: ${sw.mgmtAddress}\n    community: { env: FK_SW_COMMUNITY }\nnodes:\n  node1:\n    - [sw:${sw.ports.node1.ifIndex}]\n`,
    );
    try {
      expect(await sw.nodesTalk({ withinS: 5 })).toBe(true);
      const r = await sw.inManager([join(BIN, 'fencekit'), '-t', path, 'fence', 'node1'], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: '', FENCEKIT_LOCK_DIR: join(work, 'locks'), FK_SW_COMMUNITY: sw.community.rw },
        timeoutMs: 60_000,
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/ok\s+sw off: Success: Powered OFF/);
      expect(r.stdout).toMatch(/ok\s+sw confirm-off: Status: OFF/);
      expect(r.stdout).not.toMatch(/\bon\s+sw/);
      expect(r.stdout).toMatch(/node1: reboot succeeded at level 1/);
      expect(r.code).toBe(0);
      expect(sw.kernelAdminUp(sw.ports.node1)).toBe(false);
      expect(await sw.nodesTalk()).toBe(false);
    } finally {
      await sw.restorePorts();
    }
  });
});
