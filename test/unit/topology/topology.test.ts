// Topology semantics, the file format and the export, with scripted device outcomes. That the levels
// really fence nodes is proven against the lab's real BMCs and PDUs in test/integration.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentByName } from '../../../agents/registry.js';
import { exportCib, exportPcs } from '../../../lib/topology/export.js';
import { parseTopology, readSecret } from '../../../lib/topology/file.js';
import { fenceThroughLevels, type DeviceAction, type Level } from '../../../lib/topology/levels.js';

const dev = (device: string, skipOnPhase = false) => ({ device, plugs: [], reboot: !skipOnPhase, skipOnPhase });

function scripted(fails: Set<string>) {
  const journal: string[] = [];
  const run = async (d: { device: string }, action: DeviceAction) => {
    journal.push(`${action} ${d.device}`);
    const ok = !fails.has(`${action} ${d.device}`) && !fails.has(d.device);
    return { ok, message: ok ? 'Success' : 'Failed', ms: 1 };
  };
  return { journal, run };
}

describe('levels (Pacemaker topology semantics)', () => {
  const levels: Level[] = [
    { index: 1, devices: [dev('bmc')] },
    { index: 2, devices: [dev('pdu-a'), dev('pdu-b')] },
  ];

  it('stops at the first level whose devices all succeed', async () => {
    const s = scripted(new Set());
    const r = await fenceThroughLevels(levels, 'off', s.run, Date.now() + 5000);
    expect(r).toMatchObject({ ok: true, level: 1 });
    expect(s.journal).toEqual(['off bmc', 'confirm-off bmc']);
  });

  it('falls back to the next level when a device fails, and a single-device level gets a plain reboot', async () => {
    const s = scripted(new Set(['bmc']));
    const r = await fenceThroughLevels(levels, 'reboot', s.run, Date.now() + 5000);
    expect(r).toMatchObject({ ok: true, level: 2 });
    expect(s.journal).toEqual(['reboot bmc', 'off pdu-a', 'off pdu-b', 'confirm-off pdu-a', 'confirm-off pdu-b', 'on pdu-a', 'on pdu-b']);
  });

  it('abandons a level at its first failing device', async () => {
    const s = scripted(new Set(['bmc', 'off pdu-a']));
    const r = await fenceThroughLevels(levels, 'reboot', s.run, Date.now() + 5000);
    expect(r.ok).toBe(false);
    expect(s.journal).toEqual(['reboot bmc', 'off pdu-a']);
  });

  it('reports an on-phase failure after confirmed offs without failing the fence', async () => {
    const s = scripted(new Set(['bmc', 'on pdu-b']));
    const r = await fenceThroughLevels(levels, 'reboot', s.run, Date.now() + 5000);
    expect(r.ok).toBe(true);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('pdu-b');
  });

  it('skips automatic-unfencing devices in the on phase', async () => {
    const s = scripted(new Set());
    await fenceThroughLevels([{ index: 1, devices: [dev('pdu'), dev('switch', true)] }], 'reboot', s.run, Date.now() + 5000);
    expect(s.journal).toEqual(['off pdu', 'off switch', 'confirm-off pdu', 'confirm-off switch', 'on pdu']);
  });

  it('runs nothing once the deadline has passed', async () => {
    const s = scripted(new Set());
    const r = await fenceThroughLevels(levels, 'off', s.run, Date.now() - 1);
    expect(r.ok).toBe(false);
    expect(s.journal).toEqual([]);
  });
});

const GOOD = `devices:
  node1-bmc:
    agent: fence_kit_ipmi
    ip: 127.0.0.1
    ipport: 6230
    username: admin
    lanplus: true
    password: { env: FK_TEST_PW }
  node2-bmc:
    agent: fence_kit_ipmi
    ip: 127.0.0.1
    ipport: 6231
    username: admin
    password_script: /usr/local/bin/pw node2
nodes:
  node1:
    - [node1-bmc]
  node2:
    - node2-bmc
`;

describe('topology file', () => {
  it('loads devices and levels, with typed checks from the agent declarations', async () => {
    const t = await parseTopology(GOOD, 'topo.yaml', agentByName);
    expect([...t.devices.keys()]).toEqual(['node1-bmc', 'node2-bmc']);
    expect(t.devices.get('node1-bmc')!.options).toMatchObject({ ip: '127.0.0.1', ipport: '6230', lanplus: 'true' });
    expect(t.nodes.get('node2')!.levels).toEqual([{ index: 1, devices: [{ device: 'node2-bmc', plugs: [] }] }]);
  });

  it.each([
    ['an inline secret', GOOD.replace('password: { env: FK_TEST_PW }', 'password: hunter2'), /topo.yaml:8: .*secret "password" must be given by reference/],
    ['an unknown option', GOOD.replace('ipport: 6231', 'ipprot: 6231'), /topo.yaml:12: .*has no option "ipprot"/],
    ['a malformed value', GOOD.replace('ipport: 6231', 'ipport: sixty'), /topo.yaml:12: .*'ipport'.*integer/],
    ['an unknown device in a level', GOOD.replace('- node2-bmc', '- node3-bmc'), /topo.yaml:19: .*unknown device "node3-bmc"/],
    ['an unknown agent', GOOD.replace('agent: fence_kit_ipmi\n    ip: 127.0.0.1\n    ipport: 6231', 'agent: fence_nope\n    ip: 127.0.0.1\n    ipport: 6231'), /topo.yaml:10: .*unknown agent "fence_nope"/],
    ['a plug on a BMC', GOOD.replace('- [node1-bmc]', '- [node1-bmc:3]'), /topo.yaml:17: .*takes no plug/],
    ['a YAML syntax error', GOOD.replace('nodes:', 'nodes: [\n'), /topo.yaml:\d+: /],
  ])('rejects %s with the line', async (_what, text, message) => {
    await expect(parseTopology(text, 'topo.yaml', agentByName)).rejects.toThrow(message);
  });

  it('refuses a secret file that others can read, and reads a 0600 one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fk-secret-'));
    const file = join(dir, 'pw');
    writeFileSync(file, 'hunter2\n');
    chmodSync(file, 0o644);
    expect(() => readSecret('d', 'password', { file })).toThrow(/readable by others \(mode 644\)/);
    chmodSync(file, 0o600);
    expect(readSecret('d', 'password', { file })).toBe('hunter2');
  });
});

describe('export', () => {
  it('writes pcs commands with secrets kept as references and levels in order', async () => {
    const t = await parseTopology(GOOD, 'topo.yaml', agentByName);
    const pcs = exportPcs(t);
    expect(pcs).toContain('pcs stonith create node1-bmc fence_kit_ipmi');
    expect(pcs).toContain('password="$FK_TEST_PW"');
    expect(pcs).toContain("'password_script=/usr/local/bin/pw node2'");
    expect(pcs).toContain('pcmk_host_list=node1');
    expect(pcs).toContain('pcs stonith level add 1 node1 node1-bmc');
  });

  it('refuses to put an env secret into CIB XML unless asked', async () => {
    const t = await parseTopology(GOOD, 'topo.yaml', agentByName);
    expect(() => exportCib(t, false)).toThrow(/--with-secrets/);
    const xml = exportCib(t, true, { FK_TEST_PW: 'pw1' });
    expect(xml).toContain('<fencing-level id="fl-node1-1" index="1" target="node1" devices="node1-bmc"/>');
    expect(xml).toContain('name="password" value="pw1"');
  });
});
