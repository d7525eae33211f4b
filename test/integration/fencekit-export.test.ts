// `fencekit export` and `fencekit check --cib` through bin/fencekit: the timeout budget and the fence-race
// line reach the user, and check reads a CIB file back and names the level a short timeout cannot cover.
// No device is contacted (the addresses are never used). The arithmetic itself is test/unit/topology's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFencekit, type BinaryRun } from '../support/run-agent.js';

const work = mkdtempSync(join(tmpdir(), 'fk-export-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function fencekit(args: string[], env: Record<string, string> = {}): Promise<BinaryRun> {
  return runFencekit(args, { env });
}

const TOPOLOGY = `devices:
  node1-bmc: { agent: fence_kit_ipmi, ip: 192.0.2.11, username: admin, password: { env: FK_PW } }
  node2-bmc: { agent: fence_kit_ipmi, ip: 192.0.2.12, username: admin, password: { env: FK_PW } }
  pdu-a: { agent: fence_kit_apc_snmp, ip: 192.0.2.50, community: { env: FK_PW } }
  pdu-b: { agent: fence_kit_apc_snmp, ip: 192.0.2.51, community: { env: FK_PW } }
nodes:
  node1:
    - [node1-bmc]
    - [pdu-a:1, pdu-b:1]
  node2:
    - [node2-bmc]
    - [pdu-a:2, pdu-b:2]
`;

describe('fencekit export and check --cib', () => {
  const topo = join(work, 'topology.yaml');
  writeFileSync(topo, TOPOLOGY);

  it('export cib writes timeouts, stonith-timeout and the race delay, and says which protection it chose on stderr', async () => {
    const r = await fencekit(['-t', topo, 'export', 'cib', '--with-secrets'], { FK_PW: 'pw' });
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe('fencekit export: two-node cluster: pcmk_delay_base=5s on the devices that fence node1, so node1 fences node2 first and wins a fence race (the default for two nodes; set cluster.fence_race to change)');
    // node2-bmc: 0 + 5 + 2 x (20 + power_wait 2) = 49; node1-bmc also waits its 5 s delay: 54; each PDU shares node1's delay.
    expect(r.stdout).toContain('<nvpair id="node2-bmc-instance_attributes-pcmk_reboot_timeout" name="pcmk_reboot_timeout" value="49s"/>');
    expect(r.stdout).toContain('<nvpair id="node1-bmc-instance_attributes-pcmk_reboot_timeout" name="pcmk_reboot_timeout" value="54s"/>');
    expect(r.stdout).toContain('name="pcmk_delay_base" value="node1:5s"');
    // node1: 54 + (50 + 50) = 154; node2: 49 + 100 = 149.
    expect(r.stdout).toContain('name="stonith-timeout" value="154s"');
    expect(r.stdout).toContain('<!--   node1: level 1 node1-bmc 54; level 2 pdu-a 50 + pdu-b 50 = 100; total 154 s -->');
    writeFileSync(join(work, 'exported.xml'), r.stdout);
  });

  it('check --cib: the exported CIB covers every level (exit 0); a 20 s stonith-timeout without device timeouts does not (exit 1, one line per device)', async () => {
    const ok = await fencekit(['-t', topo, 'check', '--cib', join(work, 'exported.xml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ok: the timeouts in .*exported.xml cover every level of every node \(stonith-timeout 154 s/);
    const bare = join(work, 'bare.xml');
    writeFileSync(
      bare,
      '<cib><configuration><crm_config><cluster_property_set id="cib-bootstrap-options"><nvpair id="st" name="stonith-timeout" value="20s"/></cluster_property_set></crm_config><resources>' +
        ['node1-bmc', 'node2-bmc', 'pdu-a', 'pdu-b'].map((d) => `<primitive id="${d}" class="stonith" type="x"><instance_attributes id="${d}-ia"/></primitive>`).join('') +
        '</resources></configuration></cib>',
    );
    const short = await fencekit(['-t', topo, 'check', '--cib', bare]);
    expect(short.code).toBe(1);
    const warnings = short.stdout.trim().split('\n');
    expect(warnings).toHaveLength(6);
    expect(warnings[0]).toBe('warning: node1 level 1: node1-bmc: no pcmk_reboot_timeout, so stonith-timeout 20 s cannot cover its reboot: delay 0 + login_timeout 5 + 2 x (power_timeout + power_wait) 44 = 49 s');
    expect(warnings[1]).toBe('warning: node1 level 2: pdu-a: no pcmk_off_timeout, so stonith-timeout 20 s cannot cover its off: delay 0 + login_timeout 5 + power_timeout 20 + power_wait 0 = 25 s');
  });

  it('check --cib with an unreadable file is one line naming the option, exit 1', async () => {
    const r = await fencekit(['-t', topo, 'check', '--cib', join(work, 'missing.xml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fencekit: --cib: cannot read .*missing.xml: ENOENT\n$/);
  });
});
