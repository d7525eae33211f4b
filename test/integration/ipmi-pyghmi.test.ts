// fence_kit_ipmi against a second, independent BMC implementation: Debian's python3-pyghmi server (the basis
// of virtualbmc), whose chassis powers a real process. pyghmi speaks IPMI 2.0 only, offers cipher suite 3
// only and answers Get Channel Cipher Suites with it; it writes what it saw to a log, so RAKP exchanges and
// Close Sessions are counted at the peer.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, bmcStdin, runAgentBinary } from '../support/run-agent.js';
import { startPyghmiBmc, type PyghmiBmc } from '../peers/pyghmi-bmc.js';
import { peerForFile } from '../support/scratch.js';

let bmc: PyghmiBmc;

const cfg = (extra: Record<string, string> = {}) => bmcStdin(bmc, extra);

const agent = (stdin: string) => runAgentBinary('fence_kit_ipmi', { stdin, timeoutMs: 60_000 });
const count = (word: string) => bmc.events().filter((l) => l === word || l.startsWith(`${word} `)).length;

peerForFile(() => startPyghmiBmc({ hostOn: true }), (p) => (bmc = p));
afterEach(async () => {
  if (!bmc.isHostRunning()) await bmc.powerOnHost();
  bmc.clearEvents();
});

describe('fence_kit_ipmi against the pyghmi BMC (second implementation, real powered process)', () => {
  it('status reports ON, and the session is closed at the BMC', async () => {
    const r = await agent(cfg({ action: 'status' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    expect(count('rakp1')).toBe(1);
    expect(count('close-session')).toBe(1);
  });

  it('monitor succeeds through a session', async () => {
    const r = await agent(cfg({ action: 'monitor' }));
    expect(r.code).toBe(0);
    expect(count('close-session')).toBe(1);
  });

  it('off is reported only after the host process is dead; status then exits 2; a second off is Already OFF', async () => {
    const pid = bmc.hostPid();
    expect(pid).toBeDefined();
    const r = await agent(cfg({ action: 'off' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
    expect(await agent(cfg({ action: 'status' }))).toMatchObject({ code: 2, stdout: 'Status: OFF\n' });
    expect(await agent(cfg({ action: 'off' }))).toMatchObject({ code: 0, stdout: 'Success: Already OFF\n' });
  });

  it('on starts the host and reports Powered ON', async () => {
    await bmc.powerOffHost();
    const r = await agent(cfg({ action: 'on' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered ON\n' });
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('reboot restarts the host: a new process after a confirmed off', async () => {
    const before = bmc.hostPid();
    const r = await agent(cfg({ action: 'reboot' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Rebooted\n' });
    expect(bmc.isHostRunning()).toBe(true);
    expect(bmc.hostPid()).not.toBe(before);
    expect(bmc.events()).toContain('control off');
    expect(bmc.events()).toContain('control on');
  });

  it('a wrong password fails at once, says so, and is tried exactly once', async () => {
    const r = await agent(cfg({ action: 'off', password: 'not-the-password' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wrong password for user "admin"/);
    expect(r.stderr).not.toContain('not-the-password');
    expect(r.ms).toBeLessThan(3000);
    expect(count('rakp1')).toBe(1);
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('repeated monitors with a bad password stay at one RAKP exchange each (no retry storm that locks the account)', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await agent(cfg({ action: 'monitor', password: 'not-the-password' }));
      expect(r.code).toBe(1);
    }
    expect(count('rakp1')).toBe(4);
    expect(count('rakp3')).toBe(0);
  });

  it('a user name the BMC does not know fails (pyghmi stays silent) and the error names the user', async () => {
    const r = await agent(cfg({ action: 'status', username: 'nobody', login_timeout: '2' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/RAKP 1/);
    expect(r.stderr).toMatch(/user "nobody"/);
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('operator privilege is enough to power off', async () => {
    const r = await agent(cfg({ action: 'off', username: bmc.users.operator.name, password: bmc.users.operator.password, privlvl: 'operator' }));
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' });
    expect(bmc.isHostRunning()).toBe(false);
  });

  it('user privilege reads the status but is refused an off, which never reaches the chassis', async () => {
    expect(await agent(cfg({ action: 'status', privlvl: 'user' }))).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    const r = await agent(cfg({ action: 'off', privlvl: 'user' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/operator privilege/);
    expect(bmc.isHostRunning()).toBe(true);
    expect(bmc.events().filter((l) => l.startsWith('control'))).toEqual([]);
  });

  it('IPMI 1.5 (lanplus=0) against this IPMI 2.0-only BMC: an error that says to set lanplus=1, quickly', async () => {
    const r = await agent(cfg({ action: 'status', lanplus: '0' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lanplus=1/);
    expect(r.ms).toBeLessThan(3000);
  });

  it('cipher unset: the agent asks the BMC (Get Channel Cipher Suites) and takes the suite 3 it offers', async () => {
    const r = await agent(cfg({ action: 'status', verbose: '1' }));
    expect(r.code).toBe(0);
    expect(count('get-cipher-suites')).toBeGreaterThanOrEqual(1);
    // Chosen from the list pyghmi sent (as RMCP+, whatever the request's framing), not by a timeout.
    expect(r.stderr).toMatch(/the BMC lists cipher suites 3; using 3/);
    expect(r.stderr).toMatch(/session active \(IPMI 2\.0, cipher suite 3/);
    expect(r.ms).toBeLessThan(1000);
  });

  it('cipher=17 is refused by this suite-3-only BMC with a clear error, never downgraded', async () => {
    const r = await agent(cfg({ action: 'status', cipher: '17' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cipher suite 17/);
    expect(count('get-cipher-suites')).toBe(0);
  });
});

describe('session hygiene against the pyghmi BMC (counted at the BMC)', () => {
  async function until(cond: () => boolean, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  }

  it('an agent killed with SIGTERM mid-session (as pacemaker-fenced does at its deadline) still closes its session', async () => {
    // power_wait holds the agent in its session between the off and the on of a reboot.
    const child = spawn(join(BIN, 'fence_kit_ipmi'), [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
    child.stdin.end(cfg({ action: 'reboot', power_wait: '20' }));
    await until(() => bmc.events().includes('control off'), 10_000);
    expect(bmc.events()).toContain('control off');
    expect(count('close-session')).toBe(0);
    child.kill('SIGTERM');
    const end = await exited;
    // It ends as a process killed by SIGTERM ends, and not before saying goodbye to the BMC.
    expect(end.signal ?? end.code).toBeTruthy();
    await until(() => count('close-session') > 0, 2000);
    expect(count('close-session')).toBeGreaterThanOrEqual(1);
  });

  it('two agents at once against one BMC take turns: the second opens its session after the first closed its own', async () => {
    const first = agent(cfg({ action: 'reboot', power_wait: '1' }));
    await until(() => bmc.events().includes('control off'), 10_000);
    const second = await agent(cfg({ action: 'status' }));
    expect(await first).toMatchObject({ code: 0, stdout: 'Success: Rebooted\n' });
    expect(second).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
    const ev = bmc.events().filter((l) => l === 'open-session' || l === 'close-session');
    expect(ev).toEqual(['open-session', 'close-session', 'open-session', 'close-session']);
  });
});
