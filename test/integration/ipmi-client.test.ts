// The native IPMI client (lib/ipmi) and the ipmitool transport against a real BMC: OpenIPMI's ipmi_sim on
// 127.0.0.1 (test/peers/ipmi-sim.ts), whose "on" is a real process and whose "off" kills it. Every power
// change is checked on the host process itself and cross-checked with ipmitool. Missing tools fail the
// suite; nothing is skipped.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceFailure } from '../support/fence-errors.js';
import { run } from '../../lib/exec.js';
import { createLogger } from '../../lib/log.js';
import { IpmiClient, type IpmiTarget } from '../../lib/ipmi/index.js';
import { IpmitoolRunner } from '../../lib/ipmi/ipmitool.js';
import { freeUdpPort, startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';

function requireTools(): void {
  for (const tool of ['ipmi_sim', 'ipmitool', 'nft']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed: this suite needs it (apt-get install openipmi ipmitool nftables)`);
    }
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let sim: IpmiSim;

beforeAll(async () => {
  requireTools();
  sim = await startIpmiSim({ hostOn: true });
});

afterAll(async () => {
  await sim?.stop();
});

const admin = (over: Partial<IpmiTarget> = {}): IpmiTarget => ({
  host: sim.host,
  port: sim.port,
  username: sim.users.admin.name,
  password: sim.users.admin.password,
  version: '2.0',
  ...over,
});

/** ipmitool's own view of the chassis, password through IPMI_PASSWORD. */
async function ipmitoolSays(): Promise<'on' | 'off'> {
  const r = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', sim.host, '-p', String(sim.port), '-U', sim.users.admin.name, '-E', 'chassis', 'power', 'status'], {
    env: { IPMI_PASSWORD: sim.users.admin.password },
    timeoutMs: 10_000,
  });
  const m = /Chassis Power is (on|off)/.exec(r.stdout);
  if (!m) throw new Error(`ipmitool: ${r.stdout} ${r.stderr}`);
  return m[1] as 'on' | 'off';
}

async function withClient<T>(target: IpmiTarget, fn: (c: IpmiClient) => Promise<T>, budgetMs = 10_000): Promise<T> {
  const c = await IpmiClient.open(target, { deadline: Date.now() + budgetMs });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** Off then on through `c`, each confirmed three ways: on the host process itself, by the client, by ipmitool. */
async function expectOffThenOn(c: IpmiClient): Promise<void> {
  await c.chassisControl('off');
  await until('host process gone', () => !sim.isHostRunning());
  expect(await c.getChassisPower()).toBe('off');
  expect(await ipmitoolSays()).toBe('off');
  await c.chassisControl('on');
  await until('host process running', () => sim.isHostRunning());
  expect(await c.getChassisPower()).toBe('on');
  expect(await ipmitoolSays()).toBe('on');
}

describe('IpmiClient against ipmi_sim: power control is real', () => {
  it('RMCP+ cipher 3: status, off, on, reset, cycle each change the real host process, and ipmitool agrees', async () => {
    await sim.powerOnHost();
    await withClient(admin({ cipherSuite: 3 }), async (c) => {
      expect(await c.getChassisPower()).toBe('on');
      expect(await ipmitoolSays()).toBe('on');

      await expectOffThenOn(c);

      const beforeReset = sim.hostPid();
      await c.chassisControl('reset');
      await until('a new host process after reset', () => sim.isHostRunning() && sim.hostPid() !== beforeReset);
      expect(await c.getChassisPower()).toBe('on');
      expect(await ipmitoolSays()).toBe('on');

      const beforeCycle = sim.hostPid();
      await c.chassisControl('cycle');
      // ipmi_sim powers off at once and back on about a second later.
      await until('a new host process after cycle', () => sim.isHostRunning() && sim.hostPid() !== beforeCycle, 8000);
      expect(await c.getChassisPower()).toBe('on');
      expect(await ipmitoolSays()).toBe('on');
    }, 30_000);
  });

  it('soft (ACPI) off stops the host process; diag is refused by ipmi_sim with device-refused (0xCC), not a crash', async () => {
    await sim.powerOnHost();
    await withClient(admin(), async (c) => {
      await c.chassisControl('soft');
      await until('host process gone after soft off', () => !sim.isHostRunning());
      expect(await c.getChassisPower()).toBe('off');
      const err = await fenceFailure(c.chassisControl('diag'));
      expect(err.kind).toBe('device-refused');
      expect(err.message).toMatch(/0xcc/);
    });
  });

  for (const cipherSuite of [1, 2, 3] as const) {
    it(`RMCP+ cipher suite ${cipherSuite}: status matches the host process, Get Device ID reads ipmi_sim's identity, off and on work and ipmitool agrees`, async () => {
      await sim.powerOnHost();
      // Suite 1 has no integrity: allowed only when asked for (allowInsecure), as suite 0.
      await withClient(admin({ cipherSuite, allowInsecure: cipherSuite === 1 }), async (c) => {
        expect(await c.getChassisPower()).toBe('on');
        expect(await c.getDeviceId()).toEqual({ deviceId: 0, firmware: '9.08', ipmiVersion: '2.0', manufacturerId: 0x1291, productId: 0xf02 });
        await expectOffThenOn(c);
      });
    });
  }

  for (const authType of ['md5', 'password'] as const) {
    it(`IPMI 1.5 auth ${authType}: status matches the host process, off and on work and ipmitool agrees`, async () => {
      await sim.powerOnHost();
      // auth type password sends the password in clear text: allowed only when asked for (allowInsecure).
      await withClient(admin({ version: '1.5', authType, allowInsecure: authType === 'password' }), async (c) => {
        expect(await c.getChassisPower()).toBe('on');
        await expectOffThenOn(c);
      });
    });
  }

  it('one full status session (open, RAKP, privilege, status, close) takes tens of ms', async () => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await withClient(admin(), (c) => c.getChassisPower());
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.info(`[timing] native RMCP+ cipher 3 status session: median ${times[5]!.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms, max ${times[9]!.toFixed(1)} ms`);
    expect(times[5]).toBeLessThan(500);
  });
});

describe('IpmiClient against ipmi_sim: credentials and privilege', () => {
  it('a wrong password over RMCP+ fails with auth within a second, and the error does not contain the password', async () => {
    const lines: string[] = [];
    const logger = createLogger({ verbosity: 1, write: (l) => lines.push(l) });
    const t0 = Date.now();
    const err = await fenceFailure(IpmiClient.open(admin({ password: 'Wr0ngPassw0rd' }), { deadline: Date.now() + 10_000, logger }));
    expect(err.kind).toBe('auth');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err.message).not.toContain('Wr0ngPassw0rd');
    expect(lines.join('')).not.toContain('Wr0ngPassw0rd');
    expect(lines.some((l) => l.includes('rakp-1-2'))).toBe(true);
  });

  it('an unknown user fails with auth (RMCP+: RAKP 2 unauthorized name; IPMI 1.5: Get Session Challenge 0x81)', async () => {
    const e2 = await fenceFailure(IpmiClient.open(admin({ username: 'nobody' }), { deadline: Date.now() + 10_000 }));
    expect(e2.kind).toBe('auth');
    expect(e2.message).toMatch(/unauthorized name/);
    const e15 = await fenceFailure(IpmiClient.open(admin({ username: 'nobody', version: '1.5' }), { deadline: Date.now() + 10_000 }));
    expect(e15.kind).toBe('auth');
  });

  it('a wrong password over IPMI 1.5 MD5 fails with auth (ipmi_sim ignores the Activate Session) well before the deadline', async () => {
    const t0 = Date.now();
    const err = await fenceFailure(IpmiClient.open(admin({ version: '1.5', password: 'wrong' }), { deadline: Date.now() + 20_000 }));
    expect(err.kind).toBe('auth');
    expect(Date.now() - t0).toBeLessThan(6000);
  });

  it('cipher suites 0 and 1, and IPMI 1.5 auth types none and password, are refused without allowInsecure before a single datagram is sent', async () => {
    const listener = createSocket('udp4');
    let received = 0;
    listener.on('message', () => received++);
    await new Promise<void>((r) => listener.bind(0, '127.0.0.1', r));
    try {
      const err = await fenceFailure(IpmiClient.open(admin({ port: listener.address().port, cipherSuite: 0 }), { deadline: Date.now() + 2000 }));
      expect(err.kind).toBe('bad-input');
      const err15 = await fenceFailure(IpmiClient.open(admin({ port: listener.address().port, version: '1.5', authType: 'none' }), { deadline: Date.now() + 2000 }));
      expect(err15.kind).toBe('bad-input');
      const suite1 = await fenceFailure(IpmiClient.open(admin({ port: listener.address().port, cipherSuite: 1 }), { deadline: Date.now() + 2000 }));
      expect(suite1.message).toMatch(/no integrity/);
      const clear = await fenceFailure(IpmiClient.open(admin({ port: listener.address().port, version: '1.5', authType: 'password' }), { deadline: Date.now() + 2000 }));
      expect(clear.message).toMatch(/clear text/);
      await new Promise((r) => setTimeout(r, 100));
      expect(received).toBe(0);
    } finally {
      listener.close();
    }
  });

  it('why the guard exists: with allowInsecure, ipmi_sim opens a cipher 0 session for a WRONG password', async () => {
    await withClient(admin({ cipherSuite: 0, allowInsecure: true, password: 'not-the-password' }), async (c) => {
      expect(['on', 'off']).toContain(await c.getChassisPower());
    });
  });

  it('an operator account at operator privilege may power off and on', async () => {
    await sim.powerOnHost();
    await withClient(admin({ username: sim.users.operator.name, password: sim.users.operator.password, privilege: 'operator' }), async (c) => {
      await expectOffThenOn(c);
    });
  });

  it('a user-privilege session is refused chassis control with privilege, and the host keeps running', async () => {
    await sim.powerOnHost();
    await withClient(admin({ username: sim.users.user.name, password: sim.users.user.password, privilege: 'user' }), async (c) => {
      expect(await c.getChassisPower()).toBe('on');
      const err = await fenceFailure(c.chassisControl('off'));
      expect(err.kind).toBe('privilege');
    });
    expect(sim.isHostRunning()).toBe(true);
  });

  it('IPMI 1.5: a user-limited account asking for administrator fails with privilege (Activate Session 0x86)', async () => {
    const err = await fenceFailure(IpmiClient.open(admin({ version: '1.5', username: sim.users.user.name, password: sim.users.user.password }), { deadline: Date.now() + 10_000 }));
    expect(err.kind).toBe('privilege');
  });
});

describe('IpmiClient: deadlines and a BMC that goes away', () => {
  it('nothing listening on the port: unreachable at once (ICMP port unreachable, marked final), well within the deadline', async () => {
    const port = await freeUdpPort();
    const t0 = Date.now();
    const err = await fenceFailure(IpmiClient.open(admin({ port }), { deadline: t0 + 5000 }));
    expect(err.kind).toBe('unreachable');
    expect(err.final).toBe(true);
    expect(err.message).toMatch(/port unreachable/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a frozen BMC (SIGSTOP) mid-session: the command fails with timeout within the deadline', async () => {
    const c = await IpmiClient.open(admin(), { deadline: Date.now() + 10_000 });
    sim.freeze();
    try {
      const t0 = Date.now();
      c.setDeadline(t0 + 2500);
      const err = await fenceFailure(c.getChassisPower());
      expect(err.kind).toBe('timeout');
      expect(err.message).toMatch(/timed out/);
      expect(Date.now() - t0).toBeLessThan(2500 + 200);
    } finally {
      sim.thaw();
      await c.close();
    }
  });

  it('a BMC frozen before we connect: nothing ever answered, so unreachable, within the deadline', async () => {
    sim.freeze();
    try {
      const t0 = Date.now();
      const err = await fenceFailure(IpmiClient.open(admin(), { deadline: t0 + 1500 }));
      expect(err.kind).toBe('unreachable');
      expect(err.final).toBe(false);
      expect(Date.now() - t0).toBeLessThan(1500 + 200);
    } finally {
      sim.thaw();
    }
  });

  it('a BMC restarted mid-session (our session is gone): the client opens a new session and the command succeeds', async () => {
    const first = await startIpmiSim({ hostOn: true });
    let second: IpmiSim | undefined;
    try {
      const c = await IpmiClient.open(admin({ port: first.port }), { deadline: Date.now() + 20_000 });
      expect(await c.getChassisPower()).toBe('on');
      await first.stop();
      second = await startIpmiSim({ hostOn: false, port: first.port });
      expect(await c.getChassisPower()).toBe('off');
      await c.close();
    } finally {
      await first.stop();
      await second?.stop();
    }
  });
});

describe('IpmitoolRunner (ipmitool transport) against ipmi_sim', () => {
  const runner = (over: Partial<IpmiTarget> = {}) => new IpmitoolRunner({ target: admin({ cipherSuite: 3, ...over }), retransmitSeconds: 1 });

  it('status, off and on through ipmitool change the real host process', async () => {
    await sim.powerOnHost();
    const r = runner();
    expect(await r.getChassisPower(Date.now() + 10_000)).toBe('on');
    await r.chassisControl('off', Date.now() + 10_000);
    await until('host process gone', () => !sim.isHostRunning());
    expect(await r.getChassisPower(Date.now() + 10_000)).toBe('off');
    await r.chassisControl('on', Date.now() + 10_000);
    await until('host process running', () => sim.isHostRunning());
    expect(await r.getChassisPower(Date.now() + 10_000)).toBe('on');
  });

  it('ipmitool with a wrong password or an unknown user: auth', async () => {
    expect((await fenceFailure(runner({ password: 'wrong' }).getChassisPower(Date.now() + 10_000))).kind).toBe('auth');
    expect((await fenceFailure(runner({ username: 'nobody' }).getChassisPower(Date.now() + 10_000))).kind).toBe('auth');
  });

  it('ipmitool IPMI 1.5 MD5 status works and a user-limited account asking for administrator is privilege', async () => {
    expect(['on', 'off']).toContain(await runner({ version: '1.5' }).getChassisPower(Date.now() + 10_000));
    const err = await fenceFailure(runner({ version: '1.5', username: sim.users.user.name, password: sim.users.user.password }).getChassisPower(Date.now() + 10_000));
    expect(err.kind).toBe('privilege');
  });
});

describe('IpmiClient under 30 % UDP loss in each direction (nftables on lo, scoped to this BMC port)', () => {
  it('20 sequential off+confirm / on+confirm runs all succeed, each within a 20 s deadline', async () => {
    const lossy = await startIpmiSim({ hostOn: true });
    const table = `fk_test_${process.pid}`;
    const nft = (...args: string[]) => execFileSync('nft', args, { stdio: 'pipe' });
    nft('add', 'table', 'inet', table);
    try {
      nft('add', 'chain', 'inet', table, 'input', '{ type filter hook input priority 0; policy accept; }');
      nft('add', 'rule', 'inet', table, 'input', 'iifname', 'lo', 'udp', 'dport', String(lossy.port), 'numgen', 'random', 'mod', '10', '<', '3', 'counter', 'drop');
      nft('add', 'rule', 'inet', table, 'input', 'iifname', 'lo', 'udp', 'sport', String(lossy.port), 'numgen', 'random', 'mod', '10', '<', '3', 'counter', 'drop');
      const durations: number[] = [];
      for (let run = 0; run < 20; run++) {
        const t0 = Date.now();
        const deadline = t0 + 20_000;
        const c = await IpmiClient.open(admin({ port: lossy.port }), { deadline });
        try {
          await c.chassisControl('off');
          while ((await c.getChassisPower()) !== 'off') await new Promise((r) => setTimeout(r, 50));
          expect(lossy.isHostRunning()).toBe(false);
          await c.chassisControl('on');
          while ((await c.getChassisPower()) !== 'on') await new Promise((r) => setTimeout(r, 50));
          expect(lossy.isHostRunning()).toBe(true);
        } finally {
          await c.close();
        }
        durations.push(Date.now() - t0);
        expect(Date.now()).toBeLessThanOrEqual(deadline);
      }
      const counters = execFileSync('nft', ['list', 'table', 'inet', table]).toString();
      const dropped = [...counters.matchAll(/packets (\d+)/g)].map((m) => Number(m[1]));
      console.info(`[timing] 30 % loss: 20 off/on runs, per run min ${Math.min(...durations)} ms, max ${Math.max(...durations)} ms; dropped ${dropped.join(' + ')} packets`);
      expect(dropped.every((n) => n > 0)).toBe(true);
    } finally {
      try {
        nft('delete', 'table', 'inet', table);
      } finally {
        await lossy.stop();
      }
    }
  }, 600_000);
});
