// fencekit's BMC simulator (lab/bmc), first proven by independent clients (ipmitool -C 17 and -C 3, FreeIPMI's
// ipmipower and ipmi-chassis), then used for what no installed BMC does: cipher suite 17 and its negotiation,
// a session limit ("insufficient resources"), an idle timeout, and firmware quirks. Its chassis powers a real
// process: "off" means that process is dead. The lab's BMCs are this simulator with the lab's power model
// (node-power.sh, shared with the PDU outlets) and its power-supply sensors: ipmitool proves both here.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PAYLOAD, encodeOpenSessionRequest, encodeRmcpPlus } from '../../lib/ipmi/codec.js';
import { BIN, runAgentBinary } from '../support/run-agent.js';
import { requirePrograms } from '../support/programs.js';
import { startBmcSim, type BmcSim, type PowerModel } from '../peers/bmc-sim.js';
import { labAsset } from '../../lab/assets.js';
import { nodePowerModel, supplySensors } from '../../lab/lab.js';
import { isAlive } from '../../lib/proc.js';
import { stopThenRemove } from '../support/scratch.js';

const execFileAsync = promisify(execFile);
let bmc: BmcSim;
let work: string;

beforeAll(async () => {
  requirePrograms(['ipmitool', 'ipmipower', 'ipmi-chassis']);
  bmc = await startBmcSim({ hostOn: true });
  work = mkdtempSync(join(tmpdir(), 'fk-bmc-sim-'));
});
afterAll(() => stopThenRemove(work, bmc));
afterEach(async () => {
  Object.assign(bmc.quirks, { ackWithoutActing: false, powerDelayMs: 0, silentCipherSuites: false });
  if (!bmc.isHostRunning()) await bmc.powerOnHost();
  bmc.resetEvents();
});

function cfgFor(sim: BmcSim, extra: Record<string, string> = {}): string {
  const base: Record<string, string> = { ip: sim.host, ipport: String(sim.port), username: 'admin', password: 'secret', lanplus: '1', ...extra };
  return Object.entries(base).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}
const cfg = (extra: Record<string, string> = {}) => cfgFor(bmc, extra);
const agent = (stdin: string) => runAgentBinary('fence_kit_ipmi', { stdin, timeoutMs: 60_000 });

/** ipmitool, the password through its environment. */
async function ipmitool(sim: BmcSim, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await execFileAsync('ipmitool', ['-I', 'lanplus', '-H', sim.host, '-p', String(sim.port), '-U', 'admin', '-E', '-N', '1', '-R', '2', ...args], {
      env: { ...process.env, IPMI_PASSWORD: 'secret' },
      timeout: 20_000,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/** FreeIPMI, the password in a config file rather than its argv. */
async function freeipmi(program: 'ipmipower' | 'ipmi-chassis', suite: number, args: string[]): Promise<string> {
  const conf = join(work, `freeipmi-${suite}.conf`);
  writeFileSync(conf, `driver-type LAN_2_0\nusername admin\npassword secret\ncipher-suite-id ${suite}\n`, { mode: 0o600 });
  const r = await execFileAsync(program, [`--config-file=${conf}`, '-h', `${bmc.host}:${bmc.port}`, ...args], { timeout: 20_000 });
  return r.stdout;
}

describe('the simulator, proven by independent clients', () => {
  it('ipmitool -C 17: status, off (the host process dies), status, on (a host process runs)', async () => {
    expect((await ipmitool(bmc, ['-C', '17', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is on/);
    expect((await ipmitool(bmc, ['-C', '17', 'chassis', 'power', 'off'])).out).toMatch(/Down\/Off/);
    expect(bmc.isHostRunning()).toBe(false);
    expect((await ipmitool(bmc, ['-C', '17', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is off/);
    expect((await ipmitool(bmc, ['-C', '17', 'chassis', 'power', 'on'])).out).toMatch(/Up\/On/);
    expect(bmc.isHostRunning()).toBe(true);
    expect(bmc.events.closed).toBe(bmc.events.activated);
  });

  it('ipmitool -C 3 opens a session too; without -C it reads Get Channel Cipher Suites and picks 17', async () => {
    expect((await ipmitool(bmc, ['-C', '3', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is on/);
    const r = await ipmitool(bmc, ['-v', 'chassis', 'power', 'status']);
    expect(r.out).toMatch(/best available cipher suite 17/);
    expect(r.out).toMatch(/Chassis Power is on/);
    expect(bmc.events.cipherSuitesQueries).toBeGreaterThan(0);
  });

  it('FreeIPMI ipmipower and ipmi-chassis (suite 17 and 3): status, off, on', async () => {
    expect(await freeipmi('ipmipower', 17, ['--stat'])).toMatch(/: on$/m);
    expect(await freeipmi('ipmipower', 17, ['--off'])).toMatch(/: ok$/m);
    expect(bmc.isHostRunning()).toBe(false);
    expect(await freeipmi('ipmi-chassis', 17, ['--get-chassis-status'])).toMatch(/System Power\s*: off/);
    expect(await freeipmi('ipmipower', 3, ['--on'])).toMatch(/: ok$/m);
    expect(bmc.isHostRunning()).toBe(true);
    expect(await freeipmi('ipmi-chassis', 3, ['--get-chassis-status'])).toMatch(/System Power\s*: on/);
  });

  it('a BMC that offers suite 17 only refuses suite 3 (ipmitool -C 3 fails), and ipmitool without -C still gets in', async () => {
    const only17 = await startBmcSim({ suites: [17] });
    try {
      expect((await ipmitool(only17, ['-C', '3', 'chassis', 'power', 'status'])).code).not.toBe(0);
      expect((await ipmitool(only17, ['chassis', 'power', 'status'])).out).toMatch(/Chassis Power is on/);
    } finally {
      await only17.stop();
    }
  });
});

describe("the lab's BMC: the simulator with node-power.sh as its chassis and the supplies as sensors, proven by ipmitool -C 17", () => {
  let node: string;
  let labBmc: BmcSim;
  const nodePower = (...args: string[]) => execFileSync(labAsset('node-power.sh'), [node, ...args]);
  beforeAll(async () => {
    node = join(work, 'node');
    mkdirSync(node);
    for (const f of ['chassis', 'psu-a', 'psu-b', 'psu-a.sensor', 'psu-b.sensor']) writeFileSync(join(node, f), '1\n');
    labBmc = await startBmcSim({ power: nodePowerModel(node), sensors: supplySensors(node) });
    await labBmc.powerOnHost();
  });
  afterAll(async () => {
    await labBmc?.stop();
    if (node) nodePower('stop');
  });

  it('sdr lists both power-supply sensors with their state; sensor reads input lost when a PDU outlet feeding one goes off', async () => {
    const sdr = await ipmitool(labBmc, ['-C', '17', 'sdr', 'elist']);
    expect(sdr.code).toBe(0);
    expect(sdr.out).toMatch(/^PS1 \(psu-a\)\s+\| 50h \| ok\s+\| 10\.1 \| Presence detected$/m);
    expect(sdr.out).toMatch(/^PS2 \(psu-b\)\s+\| 51h \| ok\s+\| 10\.2 \| Presence detected$/m);
    nodePower('set', 'psu-a', '0'); // what pdu-a's outlet hook does when the outlet goes off
    try {
      const lost = await ipmitool(labBmc, ['-C', '17', 'sdr', 'elist']);
      expect(lost.out).toMatch(/^PS1 \(psu-a\)\s+\|.*Presence detected, Power Supply AC lost$/m);
      expect(lost.out).toMatch(/^PS2 \(psu-b\)\s+\|.*\| Presence detected$/m);
      const sensor = await ipmitool(labBmc, ['-C', '17', 'sensor']);
      expect(sensor.code).toBe(0);
      expect(sensor.out).toMatch(/^PS1 \(psu-a\)\s+\| 0x9\s+\| discrete\s+\| 0x0900\|/m);
      expect(sensor.out).toMatch(/^PS2 \(psu-b\)\s+\| 0x1\s+\| discrete\s+\| 0x0100\|/m);
      // One supply still has power: the node runs and its BMC says so.
      expect(labBmc.isHostRunning()).toBe(true);
      expect((await ipmitool(labBmc, ['-C', '17', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is on/);
    } finally {
      nodePower('set', 'psu-a', '1');
    }
  });

  it('chassis power off kills the node process before the BMC reads off; both supplies cut reads off too; on brings a new process', async () => {
    const before = labBmc.hostPid();
    expect(before).toBeGreaterThan(0);
    expect((await ipmitool(labBmc, ['-C', '17', 'chassis', 'power', 'off'])).out).toMatch(/Down\/Off/);
    expect(isAlive(before!)).toBe(false);
    expect((await ipmitool(labBmc, ['-C', '17', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is off/);
    expect((await ipmitool(labBmc, ['-C', '17', 'chassis', 'power', 'on'])).out).toMatch(/Up\/On/);
    const after = labBmc.hostPid();
    expect(after).toBeGreaterThan(0);
    expect(after).not.toBe(before);
    // The PDUs power the same node: with both supplies cut the BMC reads off, its chassis still switched on.
    nodePower('set', 'psu-a', '0');
    nodePower('set', 'psu-b', '0');
    try {
      expect(isAlive(after!)).toBe(false);
      expect((await ipmitool(labBmc, ['-C', '17', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is off/);
    } finally {
      nodePower('set', 'psu-a', '1');
      nodePower('set', 'psu-b', '1');
    }
    expect((await ipmitool(labBmc, ['-C', '17', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is on/);
  });
});

describe("a caller's power model", () => {
  it('a power action still under way when the console retransmits its Chassis Control runs once, and off reads only once it is done', async () => {
    let calls = 0;
    let on = true;
    const slow: PowerModel = {
      isOn: async () => on,
      setOn: async (want) => {
        calls++;
        await new Promise((r) => setTimeout(r, 2500)); // longer than ipmitool's 1 s retransmit timer (-N 1)
        on = want;
      },
      pid: () => undefined,
    };
    const sim = await startBmcSim({ power: slow });
    try {
      const off = await ipmitool(sim, ['-C', '17', 'chassis', 'power', 'off']);
      expect(off.out).toMatch(/Down\/Off/);
      expect(sim.events.controls.filter((c) => c === 'off').length).toBeGreaterThan(1); // ipmitool did retransmit
      expect(calls).toBe(1);
      expect((await ipmitool(sim, ['-C', '17', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is off/);
    } finally {
      await sim.stop();
    }
  });
});

describe('fence_kit_ipmi against the simulator', () => {
  it('cipher=17: status, off (the host process is dead), on, every session closed', async () => {
    expect(await agent(cfg({ action: 'status', cipher: '17' }))).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    expect(await agent(cfg({ action: 'off', cipher: '17' }))).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
    expect(await agent(cfg({ action: 'on', cipher: '17' }))).toMatchObject({ code: 0, stdout: 'Success: Powered ON\n' });
    expect(bmc.isHostRunning()).toBe(true);
    expect(bmc.events.closed).toBe(3);
    expect(bmc.sessionCount()).toBe(0);
  });

  it('cipher unset: the agent asks the BMC and takes suite 17, as ipmitool does', async () => {
    const r = await agent(cfg({ action: 'status', verbose: '1' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    expect(r.stderr).toMatch(/cipher suite 17/);
    expect(bmc.events.cipherSuitesQueries).toBeGreaterThan(0);
  });

  it('cipher unset against a BMC offering only suite 17: suite 17', async () => {
    const only17 = await startBmcSim({ suites: [17] });
    try {
      const r = await agent(cfgFor(only17, { action: 'off', verbose: '1' }));
      expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
      expect(only17.isHostRunning()).toBe(false);
      expect(r.stderr).toMatch(/cipher suite 17/);
    } finally {
      await only17.stop();
    }
  });

  it('cipher unset, Get Channel Cipher Suites unanswered: suite 3 within a second, not after a 10 s wait', async () => {
    bmc.quirks.silentCipherSuites = true;
    const r = await agent(cfg({ action: 'status', verbose: '1' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    expect(r.stderr).toMatch(/session active \(IPMI 2\.0, cipher suite 3/);
    expect(r.ms).toBeLessThan(1500);
  });

  it('cipher unset, the list unanswered and suite 3 refused: suite 17 next', async () => {
    const only17 = await startBmcSim({ suites: [17], quirks: { silentCipherSuites: true } });
    try {
      const r = await agent(cfgFor(only17, { action: 'status', verbose: '1' }));
      expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
      expect(r.stderr).toMatch(/refuses cipher suite 3; trying 17/);
      expect(r.stderr).toMatch(/session active \(IPMI 2\.0, cipher suite 17/);
    } finally {
      await only17.stop();
    }
  });

  it('a wrong password: one RAKP exchange per attempt, never retried, even over repeated monitors', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await agent(cfg({ action: 'monitor', password: 'not-the-password' }));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/wrong password/);
    }
    expect(bmc.events.rakp1).toBe(3);
    expect(bmc.events.rakp3).toBe(0);
  });

  it('a BMC that acknowledges an off but never acts: the agent fails, the host still runs', async () => {
    bmc.quirks.ackWithoutActing = true;
    const r = await agent(cfg({ action: 'off', power_timeout: '3' }));
    expect(r.code).toBe(1);
    expect(bmc.isHostRunning()).toBe(true);
    expect(bmc.events.controls).toContain('off');
  });

  it('a slow power change: off is reported only once the host process is dead', async () => {
    bmc.quirks.powerDelayMs = 1500;
    const r = await agent(cfg({ action: 'off' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
    expect(r.ms).toBeGreaterThan(1400);
  });
});

describe('IPMI 1.5 and the auth type when none is set', () => {
  it('ipmitool -I lan proves the simulator speaks IPMI 1.5 with MD5 and with straight password', async () => {
    const sim = await startBmcSim({ ipmi15AuthTypes: ['md5', 'password'] });
    try {
      const lan = (a: string[]) => ipmitool(sim, ['-I', 'lan', ...a]);
      expect((await lan(['-A', 'MD5', 'chassis', 'power', 'status'])).out).toMatch(/Chassis Power is on/);
      expect((await lan(['-A', 'PASSWORD', 'chassis', 'power', 'off'])).out).toMatch(/Down\/Off/);
      expect(sim.isHostRunning()).toBe(false);
      expect(sim.events.closed).toBe(sim.events.activated);
    } finally {
      await sim.stop();
    }
  });

  it('auth unset: MD5 when the BMC offers it beside straight password', async () => {
    const sim = await startBmcSim({ ipmi15AuthTypes: ['password', 'md5'] });
    try {
      const r = await agent(cfgFor(sim, { action: 'off', lanplus: '0', verbose: '1' }));
      expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
      expect(r.stderr).toMatch(/session active \(IPMI 1\.5, md5/);
      expect(sim.isHostRunning()).toBe(false);
    } finally {
      await sim.stop();
    }
  });

  it('auth unset, a BMC offering only straight password: refused without allow_insecure (no login tried), used with it', async () => {
    const sim = await startBmcSim({ ipmi15AuthTypes: ['password'] });
    try {
      const refused = await agent(cfgFor(sim, { action: 'status', lanplus: '0' }));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/offers password/);
      expect(refused.stderr).toMatch(/allow_insecure/);
      expect(sim.events.challenges).toBe(0);
      const allowed = await agent(cfgFor(sim, { action: 'status', lanplus: '0', allow_insecure: '1', verbose: '1' }));
      expect(allowed).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
      expect(allowed.stderr).toMatch(/session active \(IPMI 1\.5, password/);
    } finally {
      await sim.stop();
    }
  });

  it('lanplus=0 against this IPMI 2.0-only simulator: the error says to set lanplus=1', async () => {
    const r = await agent(cfg({ action: 'status', lanplus: '0' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lanplus=1/);
    expect(bmc.events.challenges).toBe(0);
  });
});

describe('session limits', () => {
  /** An Open Session nobody follows up: it holds a slot until the BMC's idle timeout. */
  async function strandSession(sim: BmcSim): Promise<void> {
    const s = createSocket('udp4');
    const request = encodeOpenSessionRequest({ messageTag: 1, maxPrivilege: 4, consoleSessionId: 0x1234, authAlgorithm: 1, integrityAlgorithm: 1, confidentialityAlgorithm: 1 });
    await new Promise<void>((resolve) => {
      s.on('message', () => resolve());
      s.send(encodeRmcpPlus({ payloadType: PAYLOAD.openSessionRequest, encrypted: false, authenticated: false, sessionId: 0, sequence: 0 }, request), sim.port, sim.host);
    });
    s.close();
  }

  it('"insufficient resources" is waited out with back-off within the deadline, not a failure', async () => {
    const sim = await startBmcSim({ sessionLimit: 1, idleTimeoutMs: 1500 });
    try {
      await strandSession(sim);
      expect(sim.sessionCount()).toBe(1);
      const r = await agent(cfgFor(sim, { action: 'status' }));
      expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
      expect(sim.events.noSlot).toBeGreaterThan(0);
      expect(sim.events.idleExpired).toBe(1);
    } finally {
      await sim.stop();
    }
  });

  it('limit 2 sessions, 20 agents killed with SIGTERM mid-session in a row: an off still succeeds at once', async () => {
    const sim = await startBmcSim({ sessionLimit: 2, idleTimeoutMs: 120_000, quirks: { powerDelayMs: 600_000 } });
    try {
      for (let i = 0; i < 20; i++) {
        const activated = sim.events.activated;
        const controls = sim.events.controls.length;
        const child = spawn(join(BIN, 'fence_kit_ipmi'), [], { stdio: ['pipe', 'ignore', 'ignore'] });
        const exited = new Promise<void>((r) => child.on('close', () => r()));
        child.stdin.end(cfgFor(sim, { action: 'off', power_timeout: '60' }));
        // Mid-session: the off was acknowledged and the agent is polling for the host to die.
        const until = Date.now() + 10_000;
        while ((sim.events.activated === activated || sim.events.controls.length === controls) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        expect(sim.events.controls.length, `agent ${i + 1} reached its off`).toBeGreaterThan(controls);
        child.kill('SIGTERM');
        await exited;
      }
      expect(sim.events.noSlot).toBe(0);
      sim.quirks.powerDelayMs = 0;
      const r = await agent(cfgFor(sim, { action: 'off' }));
      expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
      expect(r.ms).toBeLessThan(2000);
      expect(sim.isHostRunning()).toBe(false);
      expect(sim.events.idleExpired).toBe(0);
    } finally {
      await sim.stop();
    }
  });
});
