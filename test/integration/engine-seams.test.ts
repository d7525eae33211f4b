// The seams between the engine, the runner and the processes an agent runs, through the real binaries.
// Peers: a loopback UDP port where nothing answers (test/support/silent-device.ts), ipmitool itself,
// password scripts the tests write, and ipmi_sim (OpenIPMI's BMC simulator) with a slow chassis.
import { isAlive, signal } from '../../lib/proc.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runAgentBinary } from '../support/run-agent.js';
import { startSilentDevice, type SilentDevice } from '../support/silent-device.js';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';

let silent: SilentDevice;
beforeAll(async () => {
  silent = await startSilentDevice();
});
afterAll(async () => {
  await silent.close();
});

const stdinOf = (cfg: Record<string, string>) => Object.entries(cfg).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';

describe('reboot with method=cycle is never a success without a cycle sent and acknowledged', () => {
  // Review finding 1. With transport=ipmitool, connecting sends nothing; the status read before the cycle
  // got shell_timeout, longer here than the whole fence budget (login_timeout + power_timeout = 2 s), so
  // ipmitool was killed at the fence deadline and no time was left for a cycle: this printed
  // "Success: Rebooted" with exit 0 having sent no cycle. Two layers now stop it: the runner fails a
  // device silent for login_timeout before the engine gets that far (issue 16, below), and the engine
  // fails a plug it never cycled (test/unit/engine/cycle-needs-a-cycle.test.ts).
  it('fence_kit_ipmi transport=ipmitool against a silent BMC port: exit 1, no "Rebooted", within the budget', async () => {
    const before = silent.contacts();
    const r = await runAgentBinary('fence_kit_ipmi', {
      stdin: stdinOf({
        action: 'reboot', method: 'cycle', transport: 'ipmitool', ip: '127.0.0.1', ipport: String(silent.port),
        username: 'admin', password: 'not-used', lanplus: '1', login_timeout: '1', power_timeout: '1', shell_timeout: '5',
      }),
      timeoutMs: 30_000,
    });
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timed out|Unable to connect/i);
    expect(r.ms).toBeLessThan(4_000);
    // ipmitool did try: the status read reached the port (so the failure is the device's silence, not bad input).
    expect(silent.contacts()).toBeGreaterThan(before);
  });
});

describe("an agent's children die with it and keep their own timeout (review finding 9)", () => {
  // password_script is the child: a shell script that starts a long sleep, writes the sleeper's pid, and
  // waits for it, so the sleeper is the agent's grandchild (as ipmitool is under sudo). The agent is
  // started in a process group of its own, as pacemaker-fenced starts it.
  let dir: string;
  let started: ChildProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fk-engine-children-'));
  });
  afterEach(() => {
    for (const agent of started) if (agent.exitCode === null && agent.signalCode === null) signal(-agent.pid!, 'SIGKILL');
    started = [];
    const sleeper = readSleeper();
    if (sleeper !== undefined && isAlive(sleeper)) signal(sleeper, 'SIGKILL');
    rmSync(join(dir, 'sleeper.pid'), { force: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const readSleeper = (): number | undefined => {
    const file = join(dir, 'sleeper.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || undefined : undefined;
  };

  /** `waits`: the script waits for its sleeper; otherwise it exits at once, leaving the sleeper holding its output. */
  function startAgent(loginTimeout: string, waits = true) {
    const script = join(dir, 'password.sh');
    const end = waits ? 'wait\necho never-reached\n' : 'exit 0\n';
    writeFileSync(script, `#!/bin/sh\nsleep 300 &\necho $! > ${join(dir, 'sleeper.pid.tmp')}\nmv ${join(dir, 'sleeper.pid.tmp')} ${join(dir, 'sleeper.pid')}\n${end}`);
    chmodSync(script, 0o700);
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.PCMK_service;
    const agent = spawn(join(BIN, 'fence_kit_ipmi'), [], { detached: true, env, stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(agent);
    let stderr = '';
    agent.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    agent.stdout!.resume();
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
      const t0 = Date.now();
      agent.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - t0 }));
    });
    agent.stdin!.end(stdinOf({
      action: 'status', ip: '127.0.0.1', ipport: String(silent.port), username: 'admin', password_script: script, lanplus: '1',
      login_timeout: loginTimeout, power_timeout: '1',
    }));
    return { agent, ended, stderr: () => stderr };
  }

  async function sleeperStarted(): Promise<number> {
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const pid = readSleeper();
      if (pid !== undefined) return pid;
      await delay(20);
    }
    throw new Error('the password_script never started its sleeper');
  }

  async function gone(pid: number, withinMs: number): Promise<boolean> {
    const until = Date.now() + withinMs;
    while (Date.now() < until) {
      if (!isAlive(pid)) return true;
      await delay(20);
    }
    return !isAlive(pid);
  }

  it('SIGKILL to the agent\'s process group (pacemaker-fenced at its timeout) leaves no sleeper alive', async () => {
    const { agent, ended } = startAgent('60');
    const sleeper = await sleeperStarted();
    expect(isAlive(sleeper)).toBe(true);
    process.kill(-agent.pid!, 'SIGKILL');
    await ended;
    expect(await gone(sleeper, 2_000), `sleeper ${sleeper} outlived its agent's process group`).toBe(true);
  });

  it('SIGTERM to the agent kills its children first, and the agent still ends non-zero', async () => {
    const { agent, ended } = startAgent('60');
    const sleeper = await sleeperStarted();
    expect(isAlive(sleeper)).toBe(true);
    process.kill(agent.pid!, 'SIGTERM');
    const end = await ended;
    expect(end.code === 0, `agent ended ${JSON.stringify(end)}`).toBe(false);
    expect(await gone(sleeper, 2_000), `sleeper ${sleeper} outlived its agent`).toBe(true);
  });

  it("left alone, password_script is killed with what it started at the login deadline, and the agent fails in time", async () => {
    const { ended, stderr } = startAgent('2');
    const sleeper = await sleeperStarted();
    const end = await ended;
    expect(end.code).toBe(1);
    expect(end.ms).toBeLessThan(4_500);
    expect(stderr()).toMatch(/password_script.*timed out/);
    expect(stderr()).not.toContain('never-reached');
    expect(await gone(sleeper, 2_000), `sleeper ${sleeper} outlived the script's timeout`).toBe(true);
  });

  it('a script that exits leaving a process that holds its output is bounded too, and what it left is killed', async () => {
    // The sleeper no longer descends from the script once the script has exited; it is found by the
    // marker every child of an agent carries in its environment.
    const { ended, stderr } = startAgent('2', false);
    const sleeper = await sleeperStarted();
    const end = await ended;
    expect(end.code).toBe(1);
    expect(end.ms).toBeLessThan(4_500);
    expect(stderr()).toMatch(/password_script.*timed out/);
    expect(await gone(sleeper, 2_000), `sleeper ${sleeper} outlived the script's timeout`).toBe(true);
  });
});

describe('silence fails fast, even under Pacemaker (issue 16)', () => {
  // Under pacemaker-fenced every internal bound is lifted (disable_timeout): a device that never answers was
  // retried until Pacemaker killed the agent. Now nothing at all within login_timeout is "Unable to connect".
  const pacemaker = { PCMK_service: 'pacemaker-fenced' };
  const base = () => ({ ip: '127.0.0.1', ipport: String(silent.port), username: 'admin', password: 'not-used', lanplus: '1', login_timeout: '2' });

  it.each([
    ['off, native IPMI', { action: 'off' }],
    ['reboot, native IPMI', { action: 'reboot' }],
    ['status, native IPMI', { action: 'status' }],
    ['off, transport=ipmitool (connecting sends nothing: the first status read is the first contact)', { action: 'off', transport: 'ipmitool' }],
  ])('fence_kit_ipmi %s against a silent port: Unable to connect within login_timeout + 1 s', async (_what, extra) => {
    const before = silent.contacts();
    const r = await runAgentBinary('fence_kit_ipmi', { stdin: stdinOf({ ...base(), ...extra }), env: pacemaker, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Unable to connect to fencing device: nothing answered within login_timeout \(2 s\)/);
    expect(r.ms).toBeLessThan(3_000);
    expect(silent.contacts()).toBeGreaterThan(before); // it did try
  });

  it('fence_kit_apc_snmp (SNMP) and fence_kit_switch against a silent port: the same, from the same place', async () => {
    for (const [agent, cfg] of [
      ['fence_kit_apc_snmp', { action: 'off', ip: '127.0.0.1', ipport: String(silent.port), plug: '1', snmp_version: '2c', community: 'private', login_timeout: '2' }],
      ['fence_kit_switch', { action: 'off', ip: '127.0.0.1', ipport: String(silent.port), plug: '1', community: 'private', login_timeout: '2' }],
    ] as const) {
      const r = await runAgentBinary(agent, { stdin: stdinOf(cfg), env: pacemaker, timeoutMs: 30_000 });
      expect(r.code, agent).toBe(1);
      expect(r.stderr, agent).toMatch(/Unable to connect to fencing device: nothing answered within login_timeout/);
      expect(r.ms, agent).toBeLessThan(3_000);
    }
  });
});

describe('snmp_priv_passwd_script runs within the login deadline, once per agent run', () => {
  it('fence_kit_switch with a script that never ends: fails at login_timeout, not after a fixed 30 s, and ran it once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fk-priv-script-'));
    try {
      const script = join(dir, 'priv.sh');
      const runs = join(dir, 'runs');
      writeFileSync(script, `#!/bin/sh\necho run >> ${runs}\nexec sleep 300\n`);
      chmodSync(script, 0o755);
      const r = await runAgentBinary('fence_kit_switch', {
        stdin: stdinOf({ action: 'off', ip: '127.0.0.1', ipport: String(silent.port), plug: '1', snmp_version: '3', username: 'u',
          password: 'authpass1', snmp_sec_level: 'authPriv', snmp_priv_passwd_script: script, login_timeout: '2', power_timeout: '3' }),
        timeoutMs: 40_000,
      });
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(6_000);
      expect(readFileSync(runs, 'utf8')).toBe('run\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a device that answers keeps the bound Pacemaker gives it', () => {
  // Peer: ipmi_sim with a chassis that takes 4 s to power off, longer than login_timeout (2 s). The BMC
  // answers at once, so the off goes on until the chassis is really off, as before.
  let bmc: IpmiSim;
  beforeAll(async () => {
    bmc = await startIpmiSim({ hostOn: true, powerOffDelayMs: 4_000 });
  });
  afterAll(async () => {
    await bmc?.stop();
  });

  it('fence_kit_ipmi off under pacemaker-fenced against a slow chassis succeeds after login_timeout has passed', async () => {
    const r = await runAgentBinary('fence_kit_ipmi', {
      stdin: stdinOf({ action: 'off', ip: bmc.host, ipport: String(bmc.port), username: bmc.users.admin.name, password: bmc.users.admin.password, lanplus: '1', login_timeout: '2', stonith_status_sleep: '0.5' }),
      env: { PCMK_service: 'pacemaker-fenced' },
      timeoutMs: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(r.ms).toBeGreaterThan(3_500);
    expect(bmc.isHostRunning()).toBe(false);
  });
});
