// The topology's seams, each checked on both sides: values pass from the file to the agent's stdin and to
// Pacemaker's configuration as written; what cannot pass as written is refused, naming device and option;
// an agent's answer counts only if it is the one asked for; levels read an off back before believing it.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentByName } from '../../../agents/registry.js';
import { runsOn } from '../../../cli/commands.js';
import { agentEnvironment, agentStdin, judgeAgentResult } from '../../../lib/topology/device-runner.js';
import { exportCib, exportPcs } from '../../../lib/topology/export.js';
import { parseTopology, readSecret, type DeviceConfig } from '../../../lib/topology/file.js';
import { fenceThroughLevels, type DeviceAction, type LevelDevice } from '../../../lib/topology/levels.js';

const SCSI = `devices:
  lun:
    agent: fence_kit_scsi
    devices: /dev/sdb
    key: 0x7d0c0001
nodes:
  node1:
    - [lun]
`;

const parse = (text: string) => parseTopology(text, 'topo.yaml', agentByName);
const stdinOf = (device: DeviceConfig, env: NodeJS.ProcessEnv = {}) => agentStdin({ device, action: 'off', plugs: [], nodename: 'node1', deadline: 0 }, env);

describe('topology values are text, exactly as written', () => {
  it('a SCSI key 0x7d0c0001 stays 0x7d0c0001 in the agent stdin, export pcs and export cib', async () => {
    const t = await parse(SCSI);
    const lun = t.devices.get('lun')!;
    expect(lun.options.key).toBe('0x7d0c0001');
    expect(stdinOf(lun).split('\n')).toContain('key=0x7d0c0001');
    expect(exportPcs(t)).toContain('key=0x7d0c0001');
    expect(exportCib(t, false)).toContain('name="key" value="0x7d0c0001"');
  });

  it.each(['1e10', 'true', '010', '10.0', '0o17', '~', '.inf', '1_000'])('%s reaches the agent as written', async (value) => {
    const t = await parse(`devices:\n  bmc:\n    agent: fence_kit_ipmi\n    ip: 127.0.0.1\n    username: ${value}\nnodes:\n  n1: [bmc]\n`);
    expect(t.devices.get('bmc')!.options.username).toBe(value);
    expect(stdinOf(t.devices.get('bmc')!).split('\n')).toContain(`username=${value}`);
    expect(exportPcs(t)).toContain(`username=${value}`);
  });

  it('a boolean option keeps its word, and a word that is not a boolean is refused', async () => {
    const ok = await parse(`devices:\n  bmc:\n    agent: fence_kit_ipmi\n    ip: 127.0.0.1\n    lanplus: yes\nnodes:\n  n1: [bmc]\n`);
    expect(ok.devices.get('bmc')!.options.lanplus).toBe('yes');
    await expect(parse(`devices:\n  bmc:\n    agent: fence_kit_ipmi\n    ip: 127.0.0.1\n    lanplus: maybe\nnodes:\n  n1: [bmc]\n`)).rejects.toThrow(/topo.yaml:5: .*"lanplus" must be one of/);
  });

  it('a YAML tag asking for a type is refused, not applied', async () => {
    await expect(parse(SCSI.replace('key: 0x7d0c0001', 'key: !!int 0x7d0c0001'))).rejects.toThrow(/topo.yaml:5: .*tag/);
  });
});

describe('what cannot travel as one stdin line is refused, naming the device and option', () => {
  const bmc = (extra: string) => `devices:\n  bmc:\n    agent: fence_kit_ipmi\n${extra}nodes:\n  n1: [bmc]\n`;

  it.each([
    ['LF', '"127.0.0.1\\naction=on"', /topo.yaml:4: device "bmc": ip contains a control character \(LF\)/],
    ['CR', '"127.0.0.1\\raction=on"', /device "bmc": ip contains a control character \(CR\)/],
    ['NUL', '"127.0.0.1\\0"', /device "bmc": ip contains a control character \(NUL\)/],
    ['TAB', '"127.0.0.1\\t"', /device "bmc": ip contains a control character \(TAB\)/],
    ['DEL', '"127.0.0.1\\x7f"', /device "bmc": ip contains a control character \(DEL\)/],
    ['ESC', '"127.0.0.1\\e"', /device "bmc": ip contains a control character \(0x1b\)/],
    ['edge white space', '" 127.0.0.1"', /device "bmc": ip begins or ends with white space/],
    ['surrounding quotes', `'"127.0.0.1"'`, /device "bmc": ip is wrapped in double quotes/],
  ])('an option value with %s, at load time', async (_what, value, message) => {
    await expect(parse(bmc(`    ip: ${value}\n`))).rejects.toThrow(message);
  });

  it('a node name or a plug with a line break, at load time', async () => {
    const pdu = 'devices:\n  pdu:\n    agent: fence_kit_apc_snmp\n    ip: 127.0.0.1\n';
    await expect(parse(`${pdu}nodes:\n  "n1\\naction=on": ["pdu:1"]\n`)).rejects.toThrow(/node name "n1\\naction=on" contains a control character \(LF\)/);
    await expect(parse(`${pdu}nodes:\n  n1: ["pdu:1\\naction=on"]\n`)).rejects.toThrow(/node "n1" level 1: pdu: plug contains a control character \(LF\)/);
  });

  it('an env secret with a line break, when the stdin is written (and the value is not echoed)', async () => {
    const t = await parse(bmc('    ip: 127.0.0.1\n    password: { env: FK_PW }\n'));
    const device = t.devices.get('bmc')!;
    expect(stdinOf(device, { FK_PW: 'hunter2' })).toContain('password=hunter2\n');
    let message = '';
    try {
      stdinOf(device, { FK_PW: 'hunter2\naction=on' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/device "bmc": secret "password" \(\$FK_PW\) contains a control character \(LF\)/);
    expect(message).not.toContain('hunter2');
  });

  it('a secret file loses only its trailing newline; a CR or an inner line break is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fk-seam-'));
    const file = join(dir, 'pw');
    const write = (text: string) => {
      writeFileSync(file, text);
      chmodSync(file, 0o600);
    };
    write('hunter2\n');
    expect(readSecret('d', 'password', { file })).toBe('hunter2');
    write('hunter2\r\n');
    expect(() => readSecret('d', 'password', { file })).toThrow(/device "d": secret "password" \(file .*\) contains a control character \(CR\)/);
    write('hunter2\naction=on\n');
    expect(() => readSecret('d', 'password', { file })).toThrow(/contains a control character \(LF\)/);
  });

  it('agentStdin checks again what it is handed, whoever built the device', () => {
    const device = { name: 'bmc', agent: agentByName('fence_kit_ipmi')!, options: { ip: '10.0.0.1\naction=on' }, secrets: {}, line: 1 };
    expect(() => stdinOf(device)).toThrow(/device "bmc": ip contains a control character \(LF\)/);
    const plain = { ...device, options: { ip: '10.0.0.1' } };
    expect(() => agentStdin({ device: plain, action: 'off', plugs: ['1\naction=on'], deadline: 0 })).toThrow(/device "bmc": plug contains/);
    expect(() => agentStdin({ device: plain, action: 'off', plugs: [], nodename: 'n1\raction=on', deadline: 0 })).toThrow(/device "bmc": nodename contains/);
  });
});

describe('secrets stay on stdin', () => {
  it('every {env: VAR} secret of the topology is removed from the environment agents get', async () => {
    const t = await parse(`devices:
  a:
    agent: fence_kit_ipmi
    ip: 127.0.0.1
    password: { env: FK_A }
  b:
    agent: fence_kit_apc_snmp
    ip: 127.0.0.1
    community: { env: FK_B }
nodes:
  n1: [a]
`);
    const e = agentEnvironment(t.devices.values(), { FK_A: 'x', FK_B: 'y', PATH: '/usr/bin', NODE_EXTRA_CA_CERTS: '/ca' });
    expect(e.agents).toEqual({ PATH: '/usr/bin' });
    expect(e.secrets.FK_A).toBe('x');
  });
});

describe('an agent result counts only if it is the one asked for', () => {
  it.each([
    ['off', 0, 'Success: Powered OFF\n', true],
    ['off', 0, 'Success: Already OFF\n', true],
    ['off', 0, 'Success: Already ON\n', false],
    ['off', 0, 'Success: Powered ON\n', false],
    ['off', 0, '', false],
    ['off', 0, 'Success: Powered OFF\nSuccess: Powered ON\n', false],
    ['off', 1, 'Success: Powered OFF\n', false],
    ['on', 0, 'Success: Powered ON\n', true],
    ['on', 0, 'Success: Powered OFF\n', false],
    ['reboot', 0, 'Success: Rebooted\n', true],
    ['reboot', 0, 'Success: Powered ON\n', false],
    ['confirm-off', 2, 'Status: OFF\n', true],
    ['confirm-off', 0, 'Status: ON\n', false],
    ['confirm-off', 2, 'Status: ON\n', false],
    ['confirm-off', 0, 'Status: OFF\n', false],
    ['confirm-off', 1, '', false],
  ] as const)('%s exit %i stdout %j: ok=%s', (action, code, stdout, ok) => {
    expect(judgeAgentResult(action, code, stdout, '').ok).toBe(ok);
  });
});

describe('levels read every off back', () => {
  const dev = (device: string, over: Partial<LevelDevice> = {}): LevelDevice => ({ device, plugs: [], reboot: true, skipOnPhase: false, ...over });
  const scripted = (fails: Set<string>) => {
    const journal: string[] = [];
    const run = async (d: { device: string }, action: DeviceAction) => {
      journal.push(`${action} ${d.device}`);
      const ok = !fails.has(`${action} ${d.device}`);
      return { ok, message: ok ? 'Success' : 'Failed', ms: 1 };
    };
    return { journal, run };
  };

  it('an off whose read-back does not say OFF fails the level, and the next level is tried', async () => {
    const s = scripted(new Set(['confirm-off bmc']));
    const r = await fenceThroughLevels([{ index: 1, devices: [dev('bmc')] }, { index: 2, devices: [dev('pdu')] }], 'off', s.run, Date.now() + 5000);
    expect(r).toMatchObject({ ok: true, level: 2 });
    expect(s.journal).toEqual(['off bmc', 'confirm-off bmc', 'off pdu', 'confirm-off pdu']);
  });

  it('a split reboot powers nothing on until every device reads OFF', async () => {
    const s = scripted(new Set(['confirm-off pdu-b']));
    const r = await fenceThroughLevels([{ index: 1, devices: [dev('pdu-a'), dev('pdu-b')] }], 'reboot', s.run, Date.now() + 5000);
    expect(r.ok).toBe(false);
    expect(s.journal).toEqual(['off pdu-a', 'off pdu-b', 'confirm-off pdu-a', 'confirm-off pdu-b']);
  });

  it('a reboot through a single device without reboot (fabric) is off, read back, and no on (as pacemaker-fenced)', async () => {
    const s = scripted(new Set());
    const r = await fenceThroughLevels([{ index: 1, devices: [dev('switch', { reboot: false, skipOnPhase: true })] }], 'reboot', s.run, Date.now() + 5000);
    expect(r).toMatchObject({ ok: true, level: 1 });
    expect(s.journal).toEqual(['off switch', 'confirm-off switch']);
  });

  it('on skips a device whose on must run on the node itself, says so, and fails a level with nothing else', async () => {
    const s = scripted(new Set());
    const elsewhere = 'must run on node1 itself';
    const levels = [
      { index: 1, devices: [dev('lun', { reboot: false, skipOnPhase: true, onNotHere: elsewhere })] },
      { index: 2, devices: [dev('pdu'), dev('lun2', { reboot: false, skipOnPhase: true, onNotHere: elsewhere })] },
    ];
    const r = await fenceThroughLevels(levels, 'on', s.run, Date.now() + 5000);
    expect(r).toMatchObject({ ok: true, level: 2 });
    expect(s.journal).toEqual(['on pdu']);
    expect(r.warnings).toEqual([`lun2: on skipped: ${elsewhere}`]);
    expect(r.events.filter((e) => e.type === 'device-skipped').map((e) => (e as { device: string }).device)).toEqual(['lun', 'lun2']);
  });

  it('a reboot never runs an on-target on elsewhere (sanlock and SCSI are skipped in the on phase)', async () => {
    const s = scripted(new Set());
    await fenceThroughLevels([{ index: 1, devices: [dev('pdu'), dev('lease', { reboot: false, skipOnPhase: true, onNotHere: 'x' })] }], 'reboot', s.run, Date.now() + 5000);
    expect(s.journal).toEqual(['off pdu', 'off lease', 'confirm-off pdu', 'confirm-off lease', 'on pdu']);
  });
});

describe('where an on-target on may run', () => {
  it('on the node itself: the host name up to the first dot, without case', () => {
    expect(runsOn('node1', 'node1')).toBe(true);
    expect(runsOn('node1', 'NODE1.example.com')).toBe(true);
    expect(runsOn('node1.example.com', 'node1')).toBe(true);
    expect(runsOn('node1', 'node10')).toBe(false);
    expect(runsOn('node1', 'admin')).toBe(false);
  });

  it('the registry marks SCSI and sanlock on-target, and both lack reboot', () => {
    for (const name of ['fence_kit_scsi', 'fence_kit_sanlock']) {
      const a = agentByName(name)!;
      expect(a.onTarget).toBe(true);
      expect(a.fabric).toBe(true);
    }
  });
});

// Issue 14 item 1: a PDU written as fence_kit_apc with SNMP options used to be fenced over SNMP. fence_kit_apc is
// the card's command line now, and SNMP is fence_kit_apc_snmp: the topology says which, and never both.
describe('an APC device speaks the protocol its agent names', () => {
  const pdu = (agent: string, options: string) => `devices:\n  pdu:\n    agent: ${agent}\n    ip: 127.0.0.1\n${options}nodes:\n  n1: ["pdu:1"]\n`;

  it('fence_kit_apc with a community is refused at load, naming the device and the option', async () => {
    await expect(parse(pdu('fence_kit_apc', '    community: { env: FK_C }\n'))).rejects.toThrow(/device "pdu": fence_kit_apc has no option "community"/);
  });

  it('fence_kit_apc_snmp takes the community; ssh is not its option', async () => {
    const t = await parse(pdu('fence_kit_apc_snmp', '    community: { env: FK_C }\n'));
    expect(stdinOf(t.devices.get('pdu')!, { FK_C: 'c1' })).toContain('community=c1\n');
    await expect(parse(pdu('fence_kit_apc_snmp', '    ssh: 1\n'))).rejects.toThrow(/device "pdu": fence_kit_apc_snmp has no option "ssh"/);
  });
});
