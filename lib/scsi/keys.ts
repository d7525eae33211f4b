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

/** `corosync-cmapctl nodelist` → this node's position in it (nodelist.local_node_pos), when corosync knows it. */
export function localNodePosition(cmapOutput: string): number | undefined {
  const m = /^nodelist\.local_node_pos \(u32\) = (\d+)$/m.exec(cmapOutput);
  return m ? Number(m[1]) : undefined;
}

export interface NodelistNode {
  readonly position: number;
  /** nodelist.node.N.name, which Pacemaker takes as the node's name. */
  readonly name?: string;
  /** nodelist.node.N.ringX_addr. */
  readonly addresses: readonly string[];
}

/** Every node of `corosync-cmapctl nodelist`, by position. */
export function nodelistNodes(cmapOutput: string): Map<number, NodelistNode> {
  const nodes = new Map<number, NodelistNode>();
  for (const m of cmapOutput.matchAll(/^nodelist\.node\.(\d+)\.(name|ring\d_addr) \(str\) = (.*)$/gm)) {
    const position = Number(m[1]);
    const node = nodes.get(position) ?? { position, addresses: [] };
    nodes.set(position, m[2] === 'name' ? { ...node, name: m[3]! } : { ...node, addresses: [...node.addresses, m[3]!] });
  }
  return nodes;
}

/**
 * The keys a node of the nodelist may register: with key_value=id the one of its position, with hash the
 * hash of each name it goes by (fence_scsi hashes whatever name it is given: the nodelist name, a ring
 * address, or, for a node without a nodelist name, the uname Pacemaker then calls it by: `uname` is passed
 * for the local node only).
 */
export function keysOfNode(clusterName: string, mode: 'id' | 'hash', node: NodelistNode, uname?: string): ReservationKey[] {
  if (mode === 'id') return [keyFromPosition(clusterName, node.position)];
  const names = [...(node.name !== undefined ? [node.name] : uname !== undefined ? [uname] : []), ...node.addresses];
  return names.map((n) => keyFromNodeName(clusterName, n));
}
