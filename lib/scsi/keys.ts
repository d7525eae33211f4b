// Reservation keys the way fence_scsi derives them, so that a cluster can mix fence_scsi and fence_kit_scsi
// (or move from one to the other) without any node's key changing:
//   key = first 4 hex digits of md5(cluster name)
//       + either the node's position in corosync's nodelist as 4 decimal digits (key_value=id)
//         or the first 4 hex digits of md5(node name) (key_value=hash),
//   with leading zeros stripped. "id" is the position (nodelist.node.<N>), not the corosync nodeid, and it
//   shifts when nodes are removed without a full restart (fence-agents issue 289): prefer hash.
import { createHash } from 'node:crypto';
import { normaliseKey, type ReservationKey } from './sg-output.js';

const md5hex = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** `corosync-cmapctl totem.cluster_name` → the cluster name. */
export function parseClusterName(cmapOutput: string): string | undefined {
  return /^totem\.cluster_name \(str\) = (\S+)$/m.exec(cmapOutput)?.[1];
}

/**
 * `corosync-cmapctl nodelist` → the position of `node` (matched against nodelist.node.N.name, then the old
 * ring0_addr form, as fence_scsi does).
 */
export function nodePosition(cmapOutput: string, node: string): number | undefined {
  for (const field of ['name', 'ring\\d_addr']) {
    for (const m of cmapOutput.matchAll(new RegExp(`^nodelist\\.node\\.(\\d+)\\.${field} \\(str\\) = (.*)$`, 'gm'))) {
      if (m[2] === node) return Number(m[1]);
    }
  }
  return undefined;
}

export function keyFromPosition(clusterName: string, position: number): ReservationKey {
  return normaliseKey(md5hex(clusterName).slice(0, 4) + String(position).padStart(4, '0'));
}

export function keyFromNodeName(clusterName: string, node: string): ReservationKey {
  return normaliseKey(md5hex(clusterName).slice(0, 4) + md5hex(node).slice(0, 4));
}
