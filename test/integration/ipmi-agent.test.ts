// fence_kit_ipmi end to end against a real BMC: OpenIPMI's ipmi_sim on loopback, whose chassis powers a
// real process. Every state change is checked on that process and cross-checked with ipmitool.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../lib/proc.js';
import { bmcStdin, runAgentBinary } from '../support/run-agent.js';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { startSilentDevice } from '../support/silent-device.js';
import { stopThenRemove } from '../support/scratch.js';

let bmc: IpmiSim;
let work: string;

const cfg = (extra: Record<string, string> = {}) => bmcStdin(bmc, extra);

const agent = (stdin: string) => runAgentBinary('fence_kit_ipmi', { stdin, timeoutMs: 60_000 });

/** What the BMC says, asked by ipmitool (password through the environment). */
function ipmitoolPower(): string {
  const out = execFileSync('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', bmc.host, '-p', String(bmc.port), '-U', bmc.users.admin.name, '-E', 'chassis', 'power', 'status'], {
    env: { ...process.env, IPMI_PASSWORD: bmc.users.admin.password },
    timeout: 10_000,
  }).toString();
  return /Chassis Power is (on|off)/.exec(out)?.[1] ?? `unparsed: ${out}`;
}

beforeAll(async () => {
  bmc = await startIpmiSim({ hostOn: true });
  work = mkdtempSync(join(tmpdir(), 'fk-ipmi-agent-'));
});
afterAll(() => stopThenRemove(work, bmc));
afterEach(async () => {
  bmc.thaw();
  // A test that gave up before its slow chassis acted leaves a delayed off behind: it would power the host off
  // in the middle of a later test (seen: a later `on` was undone and then polled until it was killed).
  bmc.cancelPending();
  bmc.setDelays({ powerOnDelayMs: 0, powerOffDelayMs: 0 });
  if (!bmc.isHostRunning()) await bmc.powerOnHost();
});

describe('fence_kit_ipmi against ipmi_sim (real BMC, real powered process)', () => {
  it('status reports ON with exit 0 while the host process runs', async () => {
    const r = await agent(cfg({ action: 'status' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    expect(ipmitoolPower()).toBe('on');
  });

  it('off is reported only after the host process is dead; status then exits 2; a second off is Already OFF', async () => {
    const pid = bmc.hostPid();
    const r = await agent(cfg({ action: 'off' }));
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
    // The process that ran before the off is itself gone (or a zombie), not merely forgotten by the pid file.
    expect(pid).toBeDefined();
    expect(isAlive(pid!), `host process ${pid} still runs`).toBe(false);
    expect(ipmitoolPower()).toBe('off');
    expect(await agent(cfg({ action: 'status' }))).toMatchObject({ code: 2, stdout: 'Status: OFF\n' });
    expect(await agent(cfg({ action: 'off' }))).toMatchObject({ code: 0, stdout: 'Success: Already OFF\n' });
  });

  it('on starts the host and reports Powered ON', async () => {
    await bmc.powerOffHost();
    const r = await agent(cfg({ action: 'on' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered ON\n' });
    expect(bmc.isHostRunning()).toBe(true);
    expect(ipmitoolPower()).toBe('on');
  });

  it('reboot really restarts the host: a new process after a confirmed off', async () => {
    const before = bmc.hostPid();
    const r = await agent(cfg({ action: 'reboot' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Rebooted\n' });
    expect(bmc.isHostRunning()).toBe(true);
    expect(bmc.hostPid()).not.toBe(before);
    const calls = readFileSync(join(bmc.dir, 'calls.log'), 'utf8');
    expect(calls).toMatch(/set power 0[\s\S]*get power[\s\S]*set power 1/);
  });

  it('method=cycle on a node that is already off powers it on without sending a cycle (fence-agents #596)', async () => {
    await bmc.powerOffHost();
    const callsBefore = readFileSync(join(bmc.dir, 'calls.log'), 'utf8').length;
    const r = await agent(cfg({ action: 'reboot', method: 'cycle' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Rebooted\n' });
    expect(bmc.isHostRunning()).toBe(true);
    const newCalls = readFileSync(join(bmc.dir, 'calls.log'), 'utf8').slice(callsBefore);
    expect(newCalls).not.toMatch(/set reset/);
    expect(newCalls).toMatch(/set power 1/);
  });

  it('monitor answers through Get Device ID, exit 0, nothing on stdout', async () => {
    expect(await agent(cfg({ action: 'monitor' }))).toMatchObject({ code: 0, stdout: '' });
  });

  it.each([
    ['IPMI 1.5 with MD5', { lanplus: '0', auth: 'md5' }],
    ['IPMI 1.5 with a straight password (allow_insecure=1)', { lanplus: '0', auth: 'password', allow_insecure: '1' }],
    ['IPMI 2.0 cipher suite 1 (allow_insecure=1)', { cipher: '1', allow_insecure: '1' }],
    ['IPMI 2.0 cipher suite 2', { cipher: '2' }],
    ['IPMI 2.0 cipher suite 3', { cipher: '3' }],
  ])('fences over %s', async (_name, extra) => {
    const off = await agent(cfg({ ...extra, action: 'off' }));
    expect(off).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
    expect(await agent(cfg({ ...extra, action: 'on' }))).toMatchObject({ code: 0 });
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('a wrong password fails at once with a login error and leaves the host running', async () => {
    const r = await agent(cfg({ password: 'not-the-password', action: 'off', power_timeout: '20' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unable to login/);
    expect(r.stderr).not.toContain('not-the-password');
    expect(r.ms).toBeLessThan(3000);
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('an unknown user fails with a login error', async () => {
    const r = await agent(cfg({ username: 'nobody', action: 'status' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unable to login/);
  });

  it('a USER-privilege session may read status but off fails at once with a privilege error', async () => {
    const base = { username: bmc.users.user.name, password: bmc.users.user.password, privlvl: 'user' };
    expect(await agent(cfg({ ...base, action: 'status' }))).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    const r = await agent(cfg({ ...base, action: 'off', power_timeout: '20' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/[Pp]rivilege/);
    expect(r.ms).toBeLessThan(3000);
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('cipher suite 0 is refused before any packet is sent unless allow_insecure is set', async () => {
    // A UDP/TCP listener stands in for the BMC and counts what reaches it.
    const silent = await startSilentDevice();
    try {
      const at = { ip: '127.0.0.1', ipport: String(silent.port), login_timeout: '1', power_timeout: '1' };
      for (const transport of ['native', 'ipmitool']) {
        for (const action of ['status', 'off', 'validate-all']) {
          const r = await agent(cfg({ ...at, cipher: '0', transport, action }));
          expect(r.code, `${transport} ${action}`).toBe(1);
          expect(r.stderr).toMatch(/'cipher'.*allow_insecure/);
        }
      }
      expect(silent.contacts()).toBe(0);
      // The counter sees an agent that does send: with allow_insecure the same status goes out (and, with
      // nothing answering, fails).
      const allowed = await agent(cfg({ ...at, cipher: '0', allow_insecure: '1', action: 'status' }));
      expect(allowed.code).toBe(1);
      expect(allowed.stderr).not.toMatch(/'cipher'.*allow_insecure/);
      expect(silent.contacts()).toBeGreaterThan(0);
    } finally {
      await silent.close();
    }
  });

  it('cipher suite 1 (no integrity) and IPMI 1.5 auth=password (clear text) are refused before any packet unless allow_insecure is set, on both transports', async () => {
    const silent = await startSilentDevice();
    try {
      const cases: [Record<string, string>, RegExp][] = [
        [{ cipher: '1' }, /'cipher'.*suite 1 has no integrity.*allow_insecure/],
        [{ lanplus: '0', auth: 'password' }, /'auth'.*clear text.*allow_insecure/],
      ];
      for (const [extra, message] of cases) {
        for (const transport of ['native', 'ipmitool']) {
          for (const action of ['off', 'validate-all']) {
            const r = await agent(cfg({ ...extra, transport, action, ip: '127.0.0.1', ipport: String(silent.port), login_timeout: '1', power_timeout: '1' }));
            expect(r.code, `${JSON.stringify(extra)} ${transport} ${action}`).toBe(1);
            expect(r.stderr).toMatch(message);
            expect(r.stderr.trim().split('\n')).toHaveLength(1);
          }
        }
      }
      expect(silent.contacts()).toBe(0);
    } finally {
      await silent.close();
    }
  });

  describe('transport=ipmitool with a Kg: through IPMI_KGKEY, never argv (a wrapper records ipmitool\'s argv and the names of its IPMI_ variables)', () => {
    const wrapperFor = (name: string) => {
      const log = join(work, `${name}.log`);
      const wrapper = join(work, name);
      writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "ARGV $*" "ENV $(env | grep '^IPMI_' | cut -d= -f1 | sort | tr '\\n' ' ')" >> ${log}\nexec /usr/bin/ipmitool "$@"\n`);
      chmodSync(wrapper, 0o755);
      return { wrapper, log };
    };

    it('an unprintable Kg (once -y <hex> in argv) goes in IPMI_KGKEY with -K; ipmitool keys the session with it (ipmi_sim has none, so RAKP 4 fails)', async () => {
      const { wrapper, log } = wrapperFor('ipmitool-kg');
      const kgHex = '0102030405060708090a';
      const r = await agent(cfg({ transport: 'ipmitool', ipmitool_path: wrapper, hexadecimal_kg: kgHex, action: 'off', login_timeout: '3', power_timeout: '3' }));
      expect(r.code).toBe(1);
      // ipmitool -v says only "Unable to establish IPMI v2 / RMCP+ session" here (its RAKP 4 detail needs -vv).
      expect(r.stderr).toMatch(/RMCP\+ session/);
      expect(bmc.isHostRunning()).toBe(true);
      const recorded = readFileSync(log, 'utf8');
      expect(recorded).toMatch(/^ARGV .* -K /m);
      expect(recorded).not.toMatch(/ -y | -k /);
      expect(recorded.toLowerCase()).not.toContain(kgHex);
      expect(recorded).toMatch(/^ENV IPMI_KGKEY IPMI_PASSWORD $/m);
      for (const text of [r.stdout, r.stderr]) expect(text.toLowerCase()).not.toContain(kgHex);
      // The same run without a Kg logs in: the failure above is the Kg, which ipmitool therefore received.
      const plain = await agent(cfg({ transport: 'ipmitool', ipmitool_path: wrapper, action: 'status' }));
      expect(plain).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    });

    it.each([
      ['a zero byte inside', '41004200', /zero byte before its end/],
      ['bytes that are not UTF-8', 'ff41', /not UTF-8/],
    ])('a Kg with %s, which only -y could carry, is refused before ipmitool runs and before any packet, validate-all too', async (_what, kgHex, why) => {
      const { wrapper, log } = wrapperFor(`ipmitool-kg-${kgHex}`);
      const silent = await startSilentDevice();
      try {
        for (const action of ['off', 'validate-all']) {
          const r = await agent(cfg({ transport: 'ipmitool', ipmitool_path: wrapper, hexadecimal_kg: kgHex, action, ip: '127.0.0.1', ipport: String(silent.port) }));
          expect(r.code).toBe(1);
          expect(r.stderr).toMatch(why);
          expect(r.stderr).toMatch(/'hexadecimal_kg'.*transport=native/);
        }
        expect(existsSync(log)).toBe(false);
        expect(silent.contacts()).toBe(0);
      } finally {
        await silent.close();
      }
    });
  });

  it('a frozen BMC (SIGSTOP) fails off within its bounds and the host keeps running', async () => {
    bmc.freeze();
    const r = await agent(cfg({ action: 'off', login_timeout: '2', power_timeout: '3' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/timed out|Unable to connect/i);
    expect(r.ms).toBeLessThan(6000);
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('a slow chassis is waited for: off succeeds only once the host is really gone', async () => {
    bmc.setDelays({ powerOffDelayMs: 2500 });
    const r = await agent(cfg({ action: 'off', power_timeout: '10', stonith_status_sleep: '0.2' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
    expect(r.ms).toBeGreaterThan(2000);
  });

  it('a chassis slower than power_timeout fails with "timed out" and never reports success', async () => {
    bmc.setDelays({ powerOffDelayMs: 4000 });
    const r = await agent(cfg({ action: 'off', power_timeout: '1.5', stonith_status_sleep: '0.2' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Timed out waiting to power OFF/);
    expect(r.ms).toBeLessThan(4000);
  });

  it('nothing listening: fails as unreachable within login_timeout', async () => {
    const r = await runAgentBinary('fence_kit_ipmi', { stdin: cfg({ ipport: '9', action: 'off', login_timeout: '2' }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unable to connect/);
    expect(r.ms).toBeLessThan(4000);
  });

  it('a BMC that has not answered yet is asked again at least every 0.5 s: 10 tries in login_timeout=5 (under 30 % loss each way, 7 tries left a 0.9 % chance of hearing nothing)', async () => {
    const silent = await startSilentDevice();
    try {
      const r = await agent(cfg({ ip: '127.0.0.1', ipport: String(silent.port), login_timeout: '5', action: 'off' }));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/nothing answered within login_timeout \(5 s\)/);
      expect(r.ms).toBeLessThan(7000);
      expect(silent.contacts()).toBeGreaterThanOrEqual(10);
    } finally {
      await silent.close();
    }
  });

  it('transport=ipmitool fences too, and ipmitool never sees the password in its argv', async () => {
    const log = join(work, 'ipmitool-argv.log');
    const wrapper = join(work, 'ipmitool-wrapper');
    // Records argv and whether the password came through the environment, then runs the real ipmitool.
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "ARGV $*" "ENV_HAS_PASSWORD \${IPMI_PASSWORD:+yes}" >> ${log}\nexec /usr/bin/ipmitool "$@"\n`);
    chmodSync(wrapper, 0o755);
    const extra = { transport: 'ipmitool', ipmitool_path: wrapper };
    expect(await agent(cfg({ ...extra, action: 'off' }))).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
    expect(await agent(cfg({ ...extra, action: 'on' }))).toMatchObject({ code: 0, stdout: 'Success: Powered ON\n' });
    expect(bmc.isHostRunning()).toBe(true);
    const recorded = readFileSync(log, 'utf8');
    expect(recorded).toContain('ARGV ');
    expect(recorded).toContain('ENV_HAS_PASSWORD yes');
    expect(recorded).not.toContain(bmc.users.admin.password);
  });

  it('under pacemaker-fenced (timeouts disabled by default) off and on still work and are confirmed', async () => {
    const env = { PCMK_service: 'pacemaker-fenced' };
    const off = await runAgentBinary('fence_kit_ipmi', { stdin: cfg({ action: 'off' }), env, timeoutMs: 60_000 });
    expect(off.stderr).toBe('');
    expect(off).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
    const on = await runAgentBinary('fence_kit_ipmi', { stdin: cfg({ action: 'on' }), env, timeoutMs: 60_000 });
    expect(on).toMatchObject({ code: 0, stdout: 'Success: Powered ON\n' });
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('port_as_ip takes the BMC address from plug, as pcmk_host_map configurations do', async () => {
    const r = await agent(cfg({ ip: '', port_as_ip: '1', plug: bmc.host, action: 'status' }).replace('ip=\n', ''));
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
  });
});
