// bin/fence_kit_scsi where no LUN is needed to prove the point: what it refuses before touching a device,
// where it keeps this node's key, and what it makes of sg_persist answers that disagree. Each run is in a
// private mount namespace whose /run is a directory of the test's (so /var/run/cluster.key and friends are
// the test's to read, as on a machine of its own). sg_persist and corosync-cmapctl are stand-in scripts:
// a recorder that logs every call and fails, or one that prints constructed answers; the device is a block
// device of this machine (/dev/loop0) that nothing but those scripts is ever pointed at. Real LUNs: the
// guest tier (test/integration/scsi-guest.test.ts).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyFromNodeName, keyFromPosition } from '../../lib/scsi/keys.js';
import { BIN, runAgentBinary } from '../support/run-agent.js';

const DEVICE = '/dev/loop0';
const CLUSTER = 'fkcluster';
const NODE1_KEY = keyFromPosition(CLUSTER, 0);
const NODE2_KEY = keyFromPosition(CLUSTER, 1);

let work: string;
let run: string; // this "machine's" /run
let calls: string; // every sg_persist call the recorder saw

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'fk-scsi-agent-'));
  run = join(work, 'run');
  mkdirSync(run);
  calls = join(work, 'sg_persist.calls');
  writeFileSync(calls, '');
  script('sg_persist-recorder', `echo "$*" >> ${calls}\nexit 1\n`);
  // corosync as on node1 of a two-node cluster: local_node_pos 0
  script('cmap-node1', cmap(0));
  script('cmap-none', 'echo "Failed to initialize the cmap API. Error CS_ERR_LIBRARY" >&2\nexit 1\n');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(work, name);
  writeFileSync(path, `#!/bin/sh\n${body}`);
  chmodSync(path, 0o755);
  return path;
}

function cmap(localPos: number): string {
  const nodelist = [
    `nodelist.local_node_pos (u32) = ${localPos}`,
    'nodelist.node.0.name (str) = node1', 'nodelist.node.0.nodeid (u32) = 1', 'nodelist.node.0.ring0_addr (str) = 10.0.0.1',
    'nodelist.node.1.name (str) = node2', 'nodelist.node.1.nodeid (u32) = 2', 'nodelist.node.1.ring0_addr (str) = 10.0.0.2',
  ].join('\\n');
  return `case "$1" in\n totem.cluster_name) echo "totem.cluster_name (str) = ${CLUSTER}" ;;\n nodelist) printf '${nodelist}\\n' ;;\n *) exit 1 ;;\nesac\n`;
}

/** fence_kit_scsi in its own mount namespace with the test's directory as /run, options on stdin. */
function agent(options: Record<string, string>) {
  const stdin = Object.entries(options).map(([k, v]) => `${k}=${v}\n`).join('');
  return runAgentBinary('/usr/bin/unshare', {
    argv: ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$0" /run && exec "$@"', run, join(BIN, 'fence_kit_scsi')],
    stdin,
  });
}

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile()).sort();

describe('fence_kit_scsi on runs only for the node it runs on (corosync names this node node1)', () => {
  it('has a block device to name and Debian\'s fence_scsi to compare with', () => {
    expect(statSync(DEVICE).isBlockDevice()).toBe(true);
    expect(existsSync('/usr/sbin/fence_scsi')).toBe(true);
  });

  it.each([
    ['nodename of another node', { nodename: 'node2' }],
    ['plug of another node, hash keys', { plug: 'node2', key_value: 'hash' }],
    ['ring address of another node', { nodename: '10.0.0.2' }],
    ['key of another node', { key: NODE2_KEY }],
    ['hash key of another node given as key', { key: keyFromNodeName(CLUSTER, 'node2') }],
  ])('refuses %s: exit 1, no sg_persist run, no key file written', async (_what, target) => {
    const r = await agent({ action: 'on', devices: DEVICE, corosync_cmap_path: join(work, 'cmap-node1'), sg_persist_path: join(work, 'sg_persist-recorder'), ...target });
    expect(r.stderr).toMatch(/is node node2's, not this node's \(node1\): on \(unfencing\) must run on the node it unfences/);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    expect(readFileSync(calls, 'utf8')).toBe('');
    expect(files(run)).toEqual([]);
  });

  it('refuses a hand-chosen key that this node\'s key file does not record, and leaves the file as it was', async () => {
    writeFileSync(join(run, 'cluster.key'), `${NODE1_KEY}\n`);
    const r = await agent({ action: 'on', key: '5a110002', devices: DEVICE, corosync_cmap_path: join(work, 'cmap-node1'), sg_persist_path: join(work, 'sg_persist-recorder') });
    expect(r.stderr).toMatch(/key 5a110002 is not this node's: corosync gives this node \(node1\) another key, and this node's key file records /);
    expect(r.code).toBe(1);
    expect(readFileSync(calls, 'utf8')).toBe('');
    expect(files(run)).toEqual(['cluster.key']);
    expect(readFileSync(join(run, 'cluster.key'), 'utf8')).toBe(`${NODE1_KEY}\n`);
  });

  it('without corosync, refuses any key this node\'s key file does not record (none, or another)', async () => {
    const noFile = await agent({ action: 'on', key: NODE2_KEY, devices: DEVICE, corosync_cmap_path: join(work, 'cmap-none'), sg_persist_path: join(work, 'sg_persist-recorder') });
    expect(noFile.stderr).toMatch(/cannot tell whether key \w+ is this node's: corosync does not name this node and this node's key file \(\/var\/run\/cluster.key\) records no key/);
    expect(noFile.code).toBe(1);
    expect(files(run)).toEqual([]);
    writeFileSync(join(run, 'cluster.key'), '5a110001\n');
    const other = await agent({ action: 'enable', key: '5a110002', devices: DEVICE, corosync_cmap_path: join(work, 'cmap-none'), sg_persist_path: join(work, 'sg_persist-recorder') });
    expect(other.stderr).toMatch(/records 5a110001/);
    expect(other.code).toBe(1);
    expect(readFileSync(calls, 'utf8')).toBe('');
    expect(readFileSync(join(run, 'cluster.key'), 'utf8')).toBe('5a110001\n');
  });

  it('goes on to the devices for this node\'s own name, key or recorded key (the recorder then fails the on)', async () => {
    const cases: Record<string, string>[] = [
      { nodename: 'node1', corosync_cmap_path: join(work, 'cmap-node1') },
      { plug: 'node1', key_value: 'hash', corosync_cmap_path: join(work, 'cmap-node1') },
      { key: NODE1_KEY, corosync_cmap_path: join(work, 'cmap-node1') },
      { key: '5a110001', corosync_cmap_path: join(work, 'cmap-none') }, // recorded below
    ];
    for (const c of cases) {
      writeFileSync(calls, '');
      rmSync(run, { recursive: true, force: true });
      mkdirSync(run);
      if (c.key === '5a110001') writeFileSync(join(run, 'cluster.key'), '5a110001\n');
      const r = await agent({ action: 'on', devices: DEVICE, sg_persist_path: join(work, 'sg_persist-recorder'), ...c });
      expect(r.stderr, JSON.stringify(c)).not.toMatch(/not this node's|cannot tell/);
      expect(r.code).toBe(1); // the recorder answers every command with a failure
      expect(readFileSync(calls, 'utf8'), JSON.stringify(c)).toMatch(new RegExp(`-d ${DEVICE}`));
    }
  });
});

describe('fence_kit_scsi keeps this node\'s key where fence_scsi_check reads it', () => {
  it('writes the key file at the installed fence_scsi\'s STORE_PATH and at the later upstream one', async () => {
    // Debian 12's fence-agents 4.12: STORE_PATH = "/var/run/cluster"; upstream since: "/var/run/cluster/fence_scsi"
    const storePath = /^STORE_PATH = "([^"]+)"$/m.exec(readFileSync('/usr/sbin/fence_scsi', 'utf8'))?.[1];
    expect(storePath).toMatch(/^\/var\/run\//);
    const r = await agent({ action: 'on', nodename: 'node1', devices: DEVICE, corosync_cmap_path: join(work, 'cmap-node1'), sg_persist_path: join(work, 'sg_persist-recorder') });
    expect(r.code).toBe(1); // the recorder fails the registration; the key is recorded before it
    const inRun = (p: string) => join(run, p.replace(/^\/var\/run\//, ''));
    expect(readFileSync(inRun(`${storePath}.key`), 'utf8')).toBe(`${NODE1_KEY}\n`);
    expect(readFileSync(inRun('/var/run/cluster/fence_scsi.key'), 'utf8')).toBe(`${NODE1_KEY}\n`);
    expect(readFileSync(inRun('/var/run/cluster.key'), 'utf8')).toBe(`${NODE1_KEY}\n`);
  });

  it('Debian\'s fence_scsi_check finds the key and devices in those files (stand-in READ KEYS, reached only through them)', async () => {
    // Our files as `on` leaves them; fence_scsi_check reads them and asks sg_persist (here a stand-in that logs
    // the device it was asked about) for the key: it must ask about our device, and find our key.
    writeFileSync(join(run, 'cluster.key'), `${NODE1_KEY}\n`);
    writeFileSync(join(run, 'cluster.dev'), `${DEVICE}\n`);
    mkdirSync(join(run, 'cluster'));
    writeFileSync(join(run, 'cluster', 'fence_scsi.key'), `${NODE1_KEY}\n`);
    writeFileSync(join(run, 'cluster', 'fence_scsi.dev'), `${DEVICE}\n`);
    // fence_scsi_check has its sg_persist path built in: a bind mount over /usr/bin/sg_persist in the namespace
    const fake = script('sg_persist-keys', `echo "$*" >> ${calls}\nprintf '  PR generation=0x1, 1 registered reservation key follows:\\n    0x${NODE1_KEY}\\n'\n`);
    const fakeTurs = script('sg_turs-ok', 'exit 0\n');
    const sh = 'mount --bind "$0" /run && mount --bind "$1" /usr/bin/sg_persist && mount --bind "$2" /usr/bin/sg_turs && exec /usr/share/cluster/fence_scsi_check';
    const checked = execFileSync('/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', sh, run, fake, fakeTurs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(checked).toBe('');
    expect(readFileSync(calls, 'utf8')).toMatch(new RegExp(`-k -d ${DEVICE}$`, 'm'));
  });
});

describe('fence_kit_scsi off believes a victim gone only when READ FULL STATUS and READ KEYS agree', () => {
  // node1 fences node2. The stand-in accepts every PR OUT and answers PR IN with constructed output in
  // sg_persist 1.46's format (test/fixtures/scsi has the real captures these follow).
  const fullWithoutVictim = [
    '  PR generation=0x3',
    '    Key=0x' + NODE1_KEY,
    '      All target ports bit clear',
    '      Relative port address: 0x1',
    '      << Reservation holder >>',
    '      scope: LU_SCOPE,  type: Write Exclusive, registrants only',
    '      Transport Id of initiator:',
    '        iSCSI world wide unique port id: iqn.2026-11.org.fencekit:node1,i,0x00023d000001',
  ].join('\\n');
  const standIn = (keysAnswer: string) =>
    script('sg_persist-answers', `echo "$*" >> ${calls}\ncase "$*" in\n  *" -o "*) exit 0 ;;\n  *" -s "*) printf '${fullWithoutVictim}\\n' ;;\n  *" -k "*) printf '${keysAnswer}\\n' ;;\n  *) exit 99 ;;\nesac\n`);

  it.each([
    ['READ KEYS still lists the victim', `  PR generation=0x3, 2 registered reservation keys follow:\\n    0x${NODE1_KEY}\\n    0x${NODE2_KEY}`, /disagree at PR generation 0x3: registrations \[\w+\], keys \[\w+, \w+\]/],
    ['READ KEYS declares more keys than it lists', `  PR generation=0x3, 2 registered reservation keys follow:\\n    0x${NODE1_KEY}`, /declares 2 keys but lists 1/],
    ['READ KEYS declares more keys than sg_persist can hold', `  PR generation=0x3, 1100 registered reservation keys follow:\\n    0x${NODE1_KEY}`, /truncated/],
    ['the registrations keep changing', `  PR generation=0x4, 1 registered reservation key follows:\\n    0x${NODE1_KEY}`, /kept changing while being read/],
  ])('fails when %s', async (_what, keysAnswer, message) => {
    writeFileSync(join(run, 'cluster.key'), `${NODE1_KEY}\n`);
    const r = await agent({ action: 'off', key: NODE2_KEY, devices: DEVICE, sg_persist_path: standIn(keysAnswer) });
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    expect(readFileSync(calls, 'utf8')).toMatch(/-n -o -A -T 5 -K \w+ -S \w+ -d \/dev\/loop0/);
  });

  it('succeeds when both answers agree the victim is gone (the stand-in is believable)', async () => {
    writeFileSync(join(run, 'cluster.key'), `${NODE1_KEY}\n`);
    const r = await agent({ action: 'off', key: NODE2_KEY, devices: DEVICE, sg_persist_path: standIn(`  PR generation=0x3, 1 registered reservation key follows:\\n    0x${NODE1_KEY}`) });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'Success: Powered OFF\n', '']);
  });
});
