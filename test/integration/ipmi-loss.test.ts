// fence_kit_ipmi under 30 % UDP loss in both directions (nftables on loopback, scoped to the BMC's port),
// against real ipmi_sim. The peer fence_ipmilan succeeded 0 of 6 times here; the bar is >= 95 % of `off`
// runs succeeding within the default power_timeout, and never a success while the host still runs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAgentBinary } from '../support/run-agent.js';
import { injectLoss, type NetFault } from '../support/net-faults.js';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';

// 20 runs, so that the bar of 95 % allows one failure: at 10 runs it allowed none, and an agent that succeeds
// 99 % of the time then failed the test once in ten CI runs (seen: 9/10).
const RUNS = Number(process.env.FK_LOSS_RUNS ?? 20);
let bmc: IpmiSim;
let loss: NetFault;

beforeAll(async () => {
  bmc = await startIpmiSim({ hostOn: true });
  loss = injectLoss({ ports: [bmc.port], percent: 30 });
});
afterAll(async () => {
  loss?.remove();
  await bmc?.stop();
});

it(`off succeeds in >= 95 % of ${RUNS} runs under 30 % loss each way, with no false success`, async () => {
  const stdin = (action: string) =>
    `action=${action}\nip=${bmc.host}\nipport=${bmc.port}\nusername=${bmc.users.admin.name}\npassword=${bmc.users.admin.password}\nlanplus=1\n`;
  let ok = 0;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (!bmc.isHostRunning()) await bmc.powerOnHost();
    const r = await runAgentBinary('fence_kit_ipmi', { stdin: stdin('off'), timeoutMs: 60_000 });
    times.push(r.ms);
    if (r.code === 0) {
      // Rule 1: a reported success must be real.
      expect(bmc.isHostRunning(), `run ${i} reported off while the host runs`).toBe(false);
      ok++;
    } else {
      // For a failing run's post-mortem: what the agent said and when (CI keeps only the tail).
      console.log(`run ${i} failed after ${r.ms} ms (exit ${r.code ?? r.signal}): ${r.stderr.trim().split('\n').join(' | ')}`);
    }
    expect(r.ms).toBeLessThan(5_000 + 20_000 + 3_000); // login + default power_timeout + slack
  }
  console.log(`ipmi off under 30 % loss: ${ok}/${RUNS} succeeded; median ${times.sort((a, b) => a - b)[Math.floor(times.length / 2)]} ms, max ${Math.max(...times)} ms`);
  expect(ok / RUNS).toBeGreaterThanOrEqual(0.95);
}, 600_000);
