// The six defects measured in Debian's fence-agents on this lab, each with the proof that fencekit does
// not have it. Where another test already proves it against the same peer, it is named here precisely
// and not repeated:
//  (a) two plugs on a PDU: only the first switched, success reported
//      -> test/integration/apc-snmp.test.ts "two-plug off: both outlets' processes are dead before success
//         (fence_apc_snmp's run on the same PDU recorded beside it)" (snmpd + PowerNet emulator), and for
//         ssh=1 test/integration/apc-ssh.test.ts (the card fixture over the same outlets)
//  (b) a non-existent switch port reported as already off
//      -> test/integration/switch.test.ts "a port the switch does not have is an error for status and off
//         (fence_ifmib's answer recorded beside it)" (snmpd managing veths in namespaces); the fault
//         matrix's no-such-plug row measures it again (RELIABILITY.md)
//  (c) insufficient privilege ignored and the timeout waited out                      -> below (ipmi_sim)
//  (d) no action given -> a default reboot                                           -> below (ipmi_sim)
//  (e) reboot failing after a confirmed off                                          -> below (ipmi_sim);
//      NOT reproduced with Debian 12's fence_ipmilan on this lab: its fencing.py logs "Timed out waiting
//      to power ON" and still prints "Success: Rebooted" (exit 0), and method=cycle on a node already off
//      also succeeds.
//  (f) the password visible in a child process's argv                               -> below (ipmi_sim),
//      and for every agent and child: test/integration/secrets.test.ts
// What the peer does is recorded (test/support/peer-report.ts), never asserted: these tests prove
// fencekit's side, and must not turn red the day Debian fixes its agent.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runAgentBinary } from '../support/run-agent.js';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { execLog } from '../support/exec-log.js';
import { recordPeer } from '../support/peer-report.js';

const PEER = '/usr/sbin/fence_ipmilan';
let bmc: IpmiSim;

const stdin = (o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
const creds = (extra: Record<string, string | number> = {}) => ({
  ip: bmc.host, ipport: bmc.port, username: bmc.users.admin.name, password: bmc.users.admin.password, lanplus: 1, cipher: 3, ...extra,
});
const ours = (o: Record<string, string | number>) => runAgentBinary('fence_kit_ipmi', { stdin: stdin(o), timeoutMs: 60_000 });
const peer = (o: Record<string, string | number>) => runAgentBinary(PEER, { stdin: stdin(o), timeoutMs: 60_000 });

beforeAll(async () => {
  expect(existsSync(PEER), `${PEER} (Debian fence-agents) is needed`).toBe(true);
  bmc = await startIpmiSim({ hostOn: true });
});
afterAll(async () => {
  await bmc?.stop();
});
/** Until the chassis has powered its host (a delayed power-on from (e) may still be pending), at most `ms`. */
async function hostRunningWithin(ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) if (bmc.isHostRunning()) return true;
  return bmc.isHostRunning();
}

afterEach(async () => {
  // A delayed power-on still pending (test e) is cancelled, so it cannot land in the middle of the next test.
  bmc.cancelPending();
  bmc.setDelays({ powerOnDelayMs: 0, powerOffDelayMs: 0 });
  if (!bmc.isHostRunning()) await bmc.powerOnHost();
});

describe('peer defects fencekit does not have (Debian fence_ipmilan beside fence_kit_ipmi, on ipmi_sim)', () => {
  it('(c) insufficient privilege: fencekit fails at once naming the privilege (fence_ipmilan\'s run recorded beside it)', async () => {
    const o = { ...creds({ username: bmc.users.user.name, password: bmc.users.user.password, privlvl: 'user' }), action: 'off', power_timeout: 6 };
    const p = await peer(o);
    recordPeer('(c) fence_ipmilan privlvl=user off', { exit: p.code, ms: p.ms, error: p.stderr.trim().split('\n').filter((l) => /ERROR/.test(l))[0] });
    const r = await ours(o);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Insufficient privileges/);
    expect(r.ms).toBeLessThan(2500);
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('(d) no action given: fencekit refuses and touches nothing (fence_ipmilan\'s run recorded beside it)', async () => {
    const before = bmc.hostPid();
    const p = await peer(creds());
    recordPeer('(d) fence_ipmilan without action', { exit: p.code, stdout: p.stdout.trim(), rebooted: bmc.hostPid() !== before });
    expect(await hostRunningWithin(10_000)).toBe(true);
    const pid = bmc.hostPid();
    const r = await ours(creds());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no action given/);
    expect(bmc.hostPid()).toBe(pid);
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('(e) reboot whose power-on fails after a confirmed off: fencekit reports the fence done (exit 0, a warning)', async () => {
    // The chassis powers on only 8 s after the command: longer than power_timeout.
    bmc.setDelays({ powerOnDelayMs: 8000 });
    const o = { ...creds(), action: 'reboot', power_timeout: 3, stonith_status_sleep: 1 };
    const p = await peer(o);
    recordPeer('(e) fence_ipmilan reboot with a power-on slower than power_timeout', { exit: p.code, ms: p.ms });
    // The peer's delayed power-on lands 8 s after its command: our run starts from a powered host.
    expect(await hostRunningWithin(10_000)).toBe(true);
    const r = await ours(o);
    expect(r.stdout).toBe('Success: Rebooted\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/power ON after a confirmed OFF/i);
    expect(bmc.isHostRunning()).toBe(false); // off was confirmed; the on is still pending in the chassis
  });

  it('(f) the password never in a child argv: fencekit transport=ipmitool passes it in IPMI_PASSWORD, seen in every execve (fence_ipmilan\'s argv recorded beside it)', async () => {
    const password = bmc.users.admin.password;
    // What each agent hands to the program it runs, recorded by a wrapper in ipmitool's place (ipmitool
    // overwrites its own argv once started, so /proc shows the password only for the first moment; a
    // wrapper, sudo, or execve auditing sees it whole).
    const work = mkdtempSync(join(tmpdir(), 'fk-defect-f-'));
    try {
      const log = join(work, 'argv.log');
      const wrapper = join(work, 'ipmitool');
      writeFileSync(wrapper, `#!/bin/sh\nprintf 'ARGV %s\\n' "$*" >> ${log}\nprintf 'ENV %s\\n' "\${IPMI_PASSWORD:+IPMI_PASSWORD}" >> ${log}\nexec /usr/bin/ipmitool "$@"\n`);
      chmodSync(wrapper, 0o755);
      const p = await peer({ ...creds(), ipmitool_path: wrapper, action: 'status' });
      expect(p.code, p.stderr).toBe(0);
      recordPeer('(f) fence_ipmilan hands ipmitool the password in argv', { passwordInArgv: new RegExp(`ARGV .*-P ${password}`).test(readFileSync(log, 'utf8')) });
      writeFileSync(log, '');
      const trace = execLog();
      try {
        const [tracer, ...argv] = trace.wrap([join(BIN, 'fence_kit_ipmi')]);
        const r = await runAgentBinary(tracer!, { argv, stdin: stdin({ ...creds(), transport: 'ipmitool', ipmitool_path: wrapper, action: 'status' }), timeoutMs: 60_000 });
        expect(r.code, r.stderr).toBe(0);
        const ourArgv = readFileSync(log, 'utf8');
        expect(ourArgv).toMatch(/ARGV .*chassis power status/);
        expect(ourArgv).toContain('ENV IPMI_PASSWORD');
        expect(ourArgv).not.toContain(password);
        // and every program the agent's tree exec'd, as the kernel saw it: the password in no argv
        const execs = trace.records();
        expect(execs.some((x) => x.path === '/usr/bin/ipmitool')).toBe(true);
        for (const x of execs) expect(x.argv.join(' ')).not.toContain(password);
      } finally {
        trace.remove();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
