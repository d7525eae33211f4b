// fencekit plan: the steps are the topology runner's own, per level; plugs resolve by the agents' rule.
import { describe, expect, it } from 'vitest';
import { agentByName } from '../../../agents/registry.js';
import { parseTopology } from '../../../lib/topology/file.js';
import { planFence, resolvePlug } from '../../../lib/topology/plan.js';

const TOPOLOGY = `devices:
  node1-bmc: { agent: fence_kit_ipmi, ip: 10.1.0.11, username: admin, password: { file: /p }, lanplus: 1, cipher: 17 }
  pdu-a: { agent: fence_kit_apc_snmp, ip: 10.1.0.50, snmp_version: 2c, community: { env: C }, power_timeout: 10 }
  pdu-b: { agent: fence_kit_apc_snmp, ip: 10.1.0.51, snmp_version: 2c, community: { env: C } }
nodes:
  node1: [[node1-bmc], [pdu-a:node1-psu-a, pdu-b:3]]
`;
const dev = (device: string, plugs: string[], reboot = true) => ({ device, plugs, reboot, skipOnPhase: false });

describe('fencekit plan', () => {
  it('lists every level with the runner\'s own steps: a plain reboot of one device, off-confirm-on across two', async () => {
    const t = await parseTopology(TOPOLOGY, 't.yaml', agentByName);
    const levels = [{ index: 1, devices: [dev('node1-bmc', [])] }, { index: 2, devices: [dev('pdu-a', ['node1-psu-a']), dev('pdu-b', ['3'])] }];
    const plan = await planFence('node1', levels, 'reboot', { devices: t.devices, listPlugs: async () => [{ id: '1', alias: 'node1-psu-a' }, { id: '3', alias: 'Outlet 3' }] });
    expect(plan.levels.map((l) => l.steps.map((s) => `${s.action} ${s.device}${s.plugs.length ? `:${s.plugs.join(',')}` : ''}`))).toEqual([
      ['reboot node1-bmc'],
      ['off pdu-a:node1-psu-a', 'off pdu-b:3', 'confirm-off pdu-a:node1-psu-a', 'confirm-off pdu-b:3', 'on pdu-a:node1-psu-a', 'on pdu-b:3'],
    ]);
    expect(plan.levels[0]!.devices[0]!.protocol).toBe('IPMI 2.0 RMCP+ cipher suite 17, privilege administrator');
    expect(plan.levels[1]!.devices.map((d) => d.plugs)).toEqual([[{ plug: 'node1-psu-a', id: '1', alias: 'node1-psu-a' }], [{ plug: '3', id: '3', alias: 'Outlet 3' }]]);
    expect(plan.levels[1]!.devices.map((d) => d.timeouts.power_timeout)).toEqual([10, 20]);
    const off = await planFence('node1', levels, 'off', { devices: t.devices });
    expect(off.levels[1]!.steps.map((s) => s.action)).toEqual(['off', 'off', 'confirm-off', 'confirm-off']);
  });

  it('resolves a plug as the agents do: a number is an id, else one exact name; a name carried twice is refused', () => {
    const listed = [{ id: '1', alias: 'web' }, { id: '2', alias: 'db' }, { id: '3', alias: 'db' }, { id: '4', alias: '1' }];
    expect(resolvePlug('1', listed)).toEqual({ plug: '1', id: '1', alias: 'web' });
    expect(resolvePlug('web', listed)).toEqual({ plug: 'web', id: '1', alias: 'web' });
    expect(resolvePlug('db', listed).problem).toContain('carried by 2 and 3');
    expect(resolvePlug('nope', listed).problem).toContain('no such plug');
  });
});
