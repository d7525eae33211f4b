// The seams between the engine, the runner and the processes an agent runs, through the real binaries.
// Peers: a loopback UDP port where nothing answers (test/support/silent-device.ts) and ipmitool itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgentBinary } from '../support/run-agent.js';
import { startSilentDevice, type SilentDevice } from '../support/silent-device.js';

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
  // gets shell_timeout, longer here than the whole fence budget (login_timeout + power_timeout = 2 s), so
  // ipmitool is killed at the fence deadline and no time is left for a cycle. This printed
  // "Success: Rebooted" with exit 0 having sent no cycle.
  it('fence_kit_ipmi transport=ipmitool against a silent BMC port: timed out, exit 1, within the budget', async () => {
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
    expect(r.stderr).toMatch(/timed out/i);
    expect(r.stderr).toMatch(/power cycle/);
    expect(r.ms).toBeLessThan(4_000);
    // ipmitool did try: the status read reached the port (so the failure is the device's silence, not bad input).
    expect(silent.contacts()).toBeGreaterThan(before);
  });
});
