// stonith_status_sleep=0 made the confirmation poll a busy loop against a device that answers at once
// (review, "Other observations"). The runner puts a floor under it. Driven through runAgentWith, the
// core of every agent binary, with an in-memory device that counts its status reads: sequencing only.
import { describe, expect, it } from 'vitest';
import type { AgentDeclaration, PowerDevice, PowerState } from '../../../lib/agent/declaration.js';
import { MIN_STATUS_SLEEP_MS, runAgentWith } from '../../../lib/agent/run.js';
import { CONNECTION_OPTIONS, CORE_OPTIONS, PLUG_OPTIONS } from '../../../lib/options/common.js';

/** An outlet that answers every read at once and goes off `offAfterMs` after it is told to. */
function slowOutlet(offAfterMs: number) {
  let offAt = Number.POSITIVE_INFINITY;
  const counts = { reads: 0 };
  const device: PowerDevice = {
    getPower: async (): Promise<PowerState> => {
      counts.reads++;
      return Date.now() >= offAt ? 'off' : 'on';
    },
    setPower: async (_plug, state) => {
      if (state === 'off') offAt = Date.now() + offAfterMs;
    },
    close: async () => undefined,
  };
  const agent: AgentDeclaration = {
    name: 'fence_kit_poll', shortdesc: 'poll', longdesc: 'poll', vendorUrl: '',
    options: [...CORE_OPTIONS, ...CONNECTION_OPTIONS, ...PLUG_OPTIONS],
    target: 'plugs',
    connect: async () => device,
  };
  return { agent, counts };
}

async function off(agent: AgentDeclaration, statusSleep: string) {
  let out = '';
  const code = await runAgentWith(agent, {
    argv: [], invokedName: agent.name, env: {},
    readStdin: async () => `action=off\nip=127.0.0.1\nusername=u\npassword=p\nplug=1\npower_timeout=5\nstonith_status_sleep=${statusSleep}\n`,
    out: (t) => (out += t), err: () => undefined,
  });
  return { code, out };
}

describe('stonith_status_sleep', () => {
  it('0 does not poll in a busy loop: at most one read per floor interval while the outlet turns off', async () => {
    const { agent, counts } = slowOutlet(600);
    const r = await off(agent, '0');
    expect(r).toEqual({ code: 0, out: 'Success: Powered OFF\n' });
    // 600 ms of waiting at one read per 100 ms, plus the read before and a margin for timer jitter.
    expect(counts.reads).toBeLessThanOrEqual(600 / MIN_STATUS_SLEEP_MS + 3);
    expect(counts.reads).toBeGreaterThanOrEqual(3);
  });

  it('a value above the floor is kept', async () => {
    const { agent, counts } = slowOutlet(600);
    expect(await off(agent, '0.3')).toEqual({ code: 0, out: 'Success: Powered OFF\n' });
    expect(counts.reads).toBeLessThanOrEqual(600 / 300 + 3);
  });
});
