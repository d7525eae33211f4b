// unfence_after_reboot in fencekit's topology: a fence_kit_switch device takes it like any option of its agent,
// and `fencekit export` hands it to Pacemaker as written, so pacemaker-fenced passes it to the agent on stdin.
// The agent's behaviour with it, through the CLI, is in test/integration/switch-unfence.test.ts.
import { describe, expect, it } from 'vitest';
import { agentByName } from '../../../agents/registry.js';
import { exportCib, exportPcs } from '../../../lib/topology/export.js';
import { parseTopology } from '../../../lib/topology/file.js';

const TOPOLOGY = `devices:
  sw: { agent: fence_kit_switch, ip: 192.0.2.60, community: { env: FK_SW_COMMUNITY }, unfence_after_reboot: 1 }
nodes:
  node1: [ "sw:11" ]
  node2: [ "sw:12" ]
`;

describe('unfence_after_reboot in a topology', () => {
  it('is accepted on a fence_kit_switch device and kept as written', async () => {
    const t = await parseTopology(TOPOLOGY, 'topo.yaml', agentByName);
    expect(t.devices.get('sw')?.options.unfence_after_reboot).toBe('1');
  });

  it('is carried by export cib and export pcs', async () => {
    const t = await parseTopology(TOPOLOGY, 'topo.yaml', agentByName);
    expect(exportCib(t, true, { FK_SW_COMMUNITY: 'c' })).toMatch(/<nvpair id="[^"]*" name="unfence_after_reboot" value="1"\/>/);
    expect(exportPcs(t)).toMatch(/pcs stonith create sw fence_kit_switch \\\n(    \S+ \\\n)*    unfence_after_reboot=1 \\\n/);
  });

  it('is refused when it is not a boolean, naming the device and option', async () => {
    await expect(parseTopology(TOPOLOGY.replace('unfence_after_reboot: 1', 'unfence_after_reboot: maybe'), 'topo.yaml', agentByName)).rejects.toThrow(
      'topo.yaml:2: device "sw": option "unfence_after_reboot" must be one of 1/yes/on/true or 0/no/off/false',
    );
  });
});

// Pacemaker unfences a node when it joins only for devices with provides=unfencing; the agents' metadata
// (on automatic="1") is not enough for its scheduler. fence_ifmib users add it by hand; export writes it.
describe('export writes provides=unfencing for devices whose on is automatic unfencing', () => {
  const MIXED = `devices:
  sw: { agent: fence_kit_switch, ip: 192.0.2.60, community: { env: FK_SW_COMMUNITY } }
  bmc: { agent: fence_kit_ipmi, ip: 192.0.2.61, username: admin, password: { env: FK_PW } }
nodes:
  node1: [ [bmc], [ "sw:11" ] ]
`;
  it('as a meta attribute of the switch primitive in the CIB, and not of a power device', async () => {
    const cib = exportCib(await parseTopology(MIXED, 'topo.yaml', agentByName), true, { FK_SW_COMMUNITY: 'c', FK_PW: 'p' });
    const primitive = (id: string) => new RegExp(`<primitive id="${id}"[\\s\\S]*?</primitive>`).exec(cib)?.[0] ?? '';
    expect(primitive('sw')).toContain('<meta_attributes id="sw-meta_attributes">\n        <nvpair id="sw-meta_attributes-provides" name="provides" value="unfencing"/>\n      </meta_attributes>');
    expect(primitive('bmc')).not.toContain('meta_attributes');
  });

  it('as `meta provides=unfencing` of the switch in the pcs commands', async () => {
    const pcs = exportPcs(await parseTopology(MIXED, 'topo.yaml', agentByName));
    expect(pcs).toMatch(/pcs stonith create sw fence_kit_switch \\\n(    \S+ \\\n)*    meta provides=unfencing\n/);
    expect(/pcs stonith create bmc [^]*?\n(?!    )/.exec(pcs)?.[0]).not.toContain('provides');
  });
});
