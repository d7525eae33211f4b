// fence_kit_scsi's keys are fence_scsi's: the same cluster and node names give the same key in both id and
// hash modes, leading zeros stripped alike. The peer is Debian's /usr/sbin/fence_scsi itself, loaded as a
// Python module so that its own generate_key() runs, reading a stand-in corosync-cmapctl.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFromNodeName, keyFromPosition, nodePosition } from '../../lib/scsi/keys.js';

const FENCE_SCSI = '/usr/sbin/fence_scsi';
const PYTHON = '/usr/bin/python3';
// "c3" hashes to 0a3d...: its keys lose a leading zero
const CLUSTERS = ['mycluster', 'c3', 'prod-east', 'hacluster'];
const NODES = Array.from({ length: 12 }, (_, i) => `node-${i}.example.com`);

const DRIVER = `
import sys, importlib.machinery, importlib.util
loader = importlib.machinery.SourceFileLoader('fence_scsi_mod', sys.argv[1])
spec = importlib.util.spec_from_loader('fence_scsi_mod', loader)
m = importlib.util.module_from_spec(spec)
loader.exec_module(m)
for line in sys.stdin:
    mode, node = line.split()
    opts = {"--key-value": mode, "--plug": node, "--corosync-cmap-path": sys.argv[2], "--power-timeout": "20"}
    print(m.generate_key(opts).lstrip('0'))  # fence_scsi's main() strips the zeros after generate_key()
`;

let work: string;
const nodelist = NODES.map((n, i) => `nodelist.node.${i}.name (str) = ${n}\nnodelist.node.${i}.nodeid (u32) = ${i + 1}`).join('\n');

describe('keys as fence_scsi derives them', () => {
  it('has fence_scsi (fence-agents) and python3 to compare with', () => {
    expect(existsSync(FENCE_SCSI)).toBe(true);
    expect(existsSync(PYTHON)).toBe(true);
  });

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'fk-scsi-keys-'));
    writeFileSync(join(work, 'driver.py'), DRIVER);
    writeFileSync(join(work, 'nodelist'), `${nodelist}\n`);
    const cmap = join(work, 'corosync-cmapctl');
    writeFileSync(cmap, `#!/bin/sh\ncase "$1" in\n totem.cluster_name) echo "totem.cluster_name (str) = $FK_CLUSTER" ;;\n nodelist) cat ${join(work, 'nodelist')} ;;\nesac\n`);
    chmodSync(cmap, 0o755);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(CLUSTERS)('cluster %s: every node, id and hash mode', (cluster) => {
    const queries = NODES.flatMap((n) => [`id ${n}`, `hash ${n}`]);
    const out = execFileSync(PYTHON, [join(work, 'driver.py'), FENCE_SCSI, join(work, 'corosync-cmapctl')], {
      input: queries.join('\n') + '\n',
      env: { ...process.env, FK_CLUSTER: cluster },
    }).toString();
    const theirs = out.trim().split('\n');
    const ours = NODES.flatMap((n) => [keyFromPosition(cluster, nodePosition(`${nodelist}\n`, n)!), keyFromNodeName(cluster, n)]);
    expect(ours).toEqual(theirs);
  });
});
