// audit --live drift (lib/topology/drift.ts): the comparison, the strength order of ciphers and SNMP versions,
// and the state file (fail closed on what this code did not write, mode 0600, no secret). Pure, plus files in
// a temp dir; the live reads are tested against real peers in test/integration/fencekit-audit.test.ts.
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditExitCode, sortFindings } from '../../../lib/topology/audit.js';
import {
  defaultStatePath,
  driftFindings,
  isDowngrade,
  nextAuditState,
  readAuditState,
  writeAuditState,
  type AuditState,
  type DeviceFingerprint,
  type ProtocolFingerprint,
} from '../../../lib/topology/drift.js';

const work = mkdtempSync(join(tmpdir(), 'fk-drift-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const AT = '2026-01-01T00:00:00.000Z';
const bmc = (over: Partial<DeviceFingerprint> = {}): DeviceFingerprint => ({
  agent: 'fence_kit_ipmi',
  address: '10.0.0.5:623',
  ms: 200,
  protocol: { family: 'ipmi', version: '2.0', cipherSuite: 17 },
  identity: { manufacturer: '674', product: '256', deviceId: '32', firmware: '2.80', ipmiVersion: '2.0' },
  at: AT,
  ...over,
});
const pdu = (over: Partial<DeviceFingerprint> = {}): DeviceFingerprint => ({
  agent: 'fence_kit_apc_snmp',
  address: '10.0.0.9:161',
  ms: 150,
  protocol: { family: 'snmp', version: '3', securityLevel: 'authPriv', authProtocol: 'SHA', privProtocol: 'AES' },
  identity: { sysObjectID: '1.3.6.1.4.1.318.1.3.4.5', sysDescr: 'APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.4.6)' },
  at: AT,
  ...over,
});
const state = (devices: Record<string, DeviceFingerprint>): AuditState => ({ version: 1, topology: '/etc/fencekit/topology.yaml', at: AT, devices });
const now = (devices: Record<string, DeviceFingerprint>) => new Map(Object.entries(devices));

describe('drift findings', () => {
  it('first run: nothing to compare, nothing found', () => {
    expect(driftFindings(undefined, now({ b: bmc(), p: pdu() }))).toEqual([]);
  });

  it('nothing changed: nothing found', () => {
    expect(driftFindings(state({ b: bmc(), p: pdu() }), now({ b: bmc({ ms: 250 }), p: pdu() }))).toEqual([]);
  });

  it('another device at the address (manufacturer/product, sysObjectID): a warning naming every difference', () => {
    const found = driftFindings(
      state({ b: bmc(), p: pdu() }),
      now({ b: bmc({ identity: { manufacturer: '343', product: '256', deviceId: '32', firmware: '1.00', ipmiVersion: '2.0' } }), p: pdu({ identity: { sysObjectID: '1.3.6.1.4.1.9.1.1', sysDescr: 'Cisco IOS' } }) }),
    );
    expect(found).toEqual([
      { rule: 'device-identity', severity: 'warning', subject: 'device b', message: 'the device at 10.0.0.5:623 is not the one audited before: manufacturer "674" → "343", firmware "2.80" → "1.00"' },
      { rule: 'device-identity', severity: 'warning', subject: 'device p', message: 'the device at 10.0.0.9:161 is not the one audited before: sysObjectID "1.3.6.1.4.1.318.1.3.4.5" → "1.3.6.1.4.1.9.1.1", sysDescr "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.4.6)" → "Cisco IOS"' },
    ]);
  });

  it('the same device with new firmware (IPMI firmware revision, SNMP sysDescr): "firmware changed"', () => {
    const found = driftFindings(
      state({ b: bmc(), p: pdu() }),
      now({ b: bmc({ identity: { ...bmc().identity, firmware: '2.81' } }), p: pdu({ identity: { ...pdu().identity, sysDescr: 'APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6)' } }) }),
    );
    expect(found.map((f) => [f.rule, f.severity, f.subject, f.message])).toEqual([
      ['device-identity', 'warning', 'device b', `firmware changed since the live audit of ${AT}: firmware "2.80" → "2.81"`],
      ['device-identity', 'warning', 'device p', `firmware changed since the live audit of ${AT}: sysDescr "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.4.6)" → "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6)"`],
    ]);
  });

  it('a device that moved is named with its old address', () => {
    const [f] = driftFindings(state({ b: bmc() }), now({ b: bmc({ address: '10.0.0.6:623', identity: { ...bmc().identity, product: '999' } }) }));
    expect(f!.message).toBe('the device at 10.0.0.6:623 (it was at 10.0.0.5:623) is not the one audited before: product "256" → "999"');
  });

  it('a weaker cipher suite or SNMP version is a downgrade warning; a stronger one is not a finding', () => {
    const found = driftFindings(
      state({ b: bmc(), p: pdu() }),
      now({ b: bmc({ protocol: { family: 'ipmi', version: '2.0', cipherSuite: 3 } }), p: pdu({ protocol: { family: 'snmp', version: '2c' } }) }),
    );
    expect(found).toEqual([
      { rule: 'protocol-downgrade', severity: 'warning', subject: 'device b', message: `now IPMI 2.0 cipher suite 3, IPMI 2.0 cipher suite 17 since the live audit of ${AT}` },
      { rule: 'protocol-downgrade', severity: 'warning', subject: 'device p', message: `now SNMP v2c, SNMPv3 authPriv SHA/AES since the live audit of ${AT}` },
    ]);
    const weak = bmc({ protocol: { family: 'ipmi', version: '2.0', cipherSuite: 3 } });
    expect(driftFindings(state({ b: weak }), now({ b: bmc() }))).toEqual([]);
  });

  it.each<[string, ProtocolFingerprint, ProtocolFingerprint, boolean]>([
    ['17 → 3', { family: 'ipmi', version: '2.0', cipherSuite: 17 }, { family: 'ipmi', version: '2.0', cipherSuite: 3 }, true],
    ['3 → 17', { family: 'ipmi', version: '2.0', cipherSuite: 3 }, { family: 'ipmi', version: '2.0', cipherSuite: 17 }, false],
    ['2.0 suite 3 → 1.5 md5', { family: 'ipmi', version: '2.0', cipherSuite: 3 }, { family: 'ipmi', version: '1.5', authType: 'md5' }, true],
    ['1.5 md5 → 1.5 password', { family: 'ipmi', version: '1.5', authType: 'md5' }, { family: 'ipmi', version: '1.5', authType: 'password' }, true],
    ['v2c → v1', { family: 'snmp', version: '2c' }, { family: 'snmp', version: '1' }, true],
    ['v1 → v2c', { family: 'snmp', version: '1' }, { family: 'snmp', version: '2c' }, false],
    ['v3 authPriv → authNoPriv', { family: 'snmp', version: '3', securityLevel: 'authPriv', authProtocol: 'SHA', privProtocol: 'AES' }, { family: 'snmp', version: '3', securityLevel: 'authNoPriv', authProtocol: 'SHA' }, true],
    ['v3 SHA → MD5, same level', { family: 'snmp', version: '3', securityLevel: 'authPriv', authProtocol: 'SHA', privProtocol: 'AES' }, { family: 'snmp', version: '3', securityLevel: 'authPriv', authProtocol: 'MD5', privProtocol: 'AES' }, true],
    ['v3 AES → DES, same level', { family: 'snmp', version: '3', securityLevel: 'authPriv', authProtocol: 'SHA', privProtocol: 'AES' }, { family: 'snmp', version: '3', securityLevel: 'authPriv', authProtocol: 'SHA', privProtocol: 'DES' }, true],
    ['v3 noAuthNoPriv → v2c', { family: 'snmp', version: '3', securityLevel: 'noAuthNoPriv' }, { family: 'snmp', version: '2c' }, true],
    ['ipmi → snmp (another kind of device: identity says so)', { family: 'ipmi', version: '2.0', cipherSuite: 17 }, { family: 'snmp', version: '1' }, false],
  ])('downgrade %s: %s', (_name, before, after, expected) => {
    expect(isDowngrade(before, after)).toBe(expected);
  });

  it(`latency: ${'3x'} and 1 s slower is info, 10x and 5 s a warning; noise below either floor is nothing`, () => {
    const run = (before: number, after: number) => driftFindings(state({ b: bmc({ ms: before }) }), now({ b: bmc({ ms: after }) }));
    expect(run(200, 900)).toEqual([]); // 4.5x, but only 700 ms: a slow Node start, not the device
    expect(run(2000, 5000)).toEqual([]); // 3 s more, but only 2.5x
    expect(run(200, 1200)).toEqual([{ rule: 'latency-drift', severity: 'info', subject: 'device b', message: `monitor took 1200 ms, 6.0 times the 200 ms since the live audit of ${AT}` }]);
    expect(run(200, 4000).map((f) => f.severity)).toEqual(['info']); // 20x, but 3.8 s
    expect(run(500, 6000).map((f) => f.severity)).toEqual(['warning']);
  });

  it('info changes no exit code and sorts after warnings', () => {
    const info = { rule: 'latency-drift' as const, severity: 'info' as const, subject: 'device a', message: 'm' };
    const warning = { rule: 'single-level' as const, severity: 'warning' as const, subject: 'node z', message: 'm' };
    expect(auditExitCode([info])).toBe(0);
    expect(auditExitCode([info, warning])).toBe(2);
    expect(sortFindings([info, warning])).toEqual([warning, info]);
  });
});

describe('the state file', () => {
  it('next state: this run over the last; a device that did not answer, or whose identity was not read, keeps its record', () => {
    const previous = state({ b: bmc(), p: pdu(), gone: pdu() });
    const next = nextAuditState('/t.yaml', ['b', 'p', 'new'], previous, now({ b: bmc({ ms: 300, identity: undefined, at: 'T2' }), new: pdu({ at: 'T2' }) }), 'T2');
    expect(next).toEqual({ version: 1, topology: '/t.yaml', at: 'T2', devices: { b: { ...bmc(), ms: 300, at: 'T2' }, p: pdu(), new: pdu({ at: 'T2' }) } });
    // Another device at another address: what this run could not read is not carried over from the old one.
    const moved = nextAuditState('/t.yaml', ['b'], previous, now({ b: bmc({ address: '10.0.0.7:623', identity: undefined }) }), 'T2');
    expect(moved.devices.b!.identity).toBeUndefined();
  });

  it('written with mode 0600 through a rename (a symlink at the path is replaced, not followed), read back the same', () => {
    const path = join(work, 'sub', 'dir', 'audit.json');
    const s = state({ b: bmc(), p: pdu() });
    writeAuditState(path, s);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readAuditState(path)).toEqual(s);
    const victim = join(work, 'victim');
    writeFileSync(victim, 'keep');
    const link = join(work, 'link.json');
    symlinkSync(victim, link);
    writeAuditState(link, s);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
  });

  it('absent: undefined (the first run); anything this code did not write: refused, never half-read', () => {
    expect(readAuditState(join(work, 'none.json'))).toBeUndefined();
    const bad = (text: string) => {
      const p = join(work, 'bad.json');
      writeFileSync(p, text);
      return () => readAuditState(p);
    };
    expect(bad('not json')).toThrow(/is not JSON/);
    expect(bad('{"version":2,"topology":"/t","at":"x","devices":{}}')).toThrow(/not a fencekit audit state \(version 1\)/);
    expect(bad(JSON.stringify({ ...state({}), devices: { b: { ...bmc(), ms: 'fast' } } }))).toThrow(/the record of device "b" is malformed/);
    expect(bad(JSON.stringify({ ...state({}), devices: { b: { ...bmc(), protocol: { family: 'ipmi', version: '2.0' } } } }))).toThrow(/"b" is malformed/);
    expect(bad(JSON.stringify({ ...state({}), devices: { b: { ...bmc(), identity: { firmware: 2 } } } }))).toThrow(/"b" is malformed/);
  });

  it('default location: $XDG_STATE_HOME/fencekit, else /var/lib/fencekit for root, else ~/.local/state/fencekit; one file per topology', () => {
    expect(defaultStatePath('/etc/fencekit/topology.yaml', { XDG_STATE_HOME: '/s' }, 0)).toMatch(/^\/s\/fencekit\/audit-topology-[0-9a-f]{12}\.json$/);
    expect(defaultStatePath('/etc/fencekit/topology.yaml', {}, 0)).toMatch(/^\/var\/lib\/fencekit\/audit-topology-[0-9a-f]{12}\.json$/);
    expect(defaultStatePath('/home/a/t.yml', { HOME: '/home/a' }, 1000)).toMatch(/^\/home\/a\/\.local\/state\/fencekit\/audit-t-[0-9a-f]{12}\.json$/);
    // Same name, another directory: another file.
    expect(defaultStatePath('/a/t.yaml', {}, 0)).not.toBe(defaultStatePath('/b/t.yaml', {}, 0));
    expect(defaultStatePath('t.yaml', {}, 0)).toBe(defaultStatePath(join(process.cwd(), 't.yaml'), {}, 0));
  });
});
