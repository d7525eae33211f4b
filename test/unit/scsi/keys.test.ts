// Keys must be fence_scsi's, bit for bit: a cluster may run both agents, and a node's key is its identity
// on the LUNs. Expected values computed with fence_scsi's own expressions in Python.
import { describe, expect, it } from 'vitest';
import { keyFromNodeName, keyFromPosition, keysOfNode, localNodePosition, nodelistNodes, nodePosition, parseClusterName } from '../../../lib/scsi/keys.js';

const NODELIST = `nodelist.local_node_pos (u32) = 1
nodelist.node.0.name (str) = node-a
nodelist.node.0.nodeid (u32) = 1
nodelist.node.0.ring0_addr (str) = 192.168.122.11
nodelist.node.1.name (str) = node-b
nodelist.node.1.nodeid (u32) = 2
nodelist.node.1.ring0_addr (str) = 192.168.122.12
nodelist.node.3.ring0_addr (str) = node-old
`;

describe('fence_scsi keys', () => {
  it('reads the cluster name from corosync-cmapctl', () => {
    expect(parseClusterName('totem.cluster_name (str) = mycluster\n')).toBe('mycluster');
    expect(parseClusterName('Can\'t get key totem.cluster_name. Error CS_ERR_NOT_EXIST\n')).toBeUndefined();
  });
  it('uses the position in the nodelist (not the nodeid), falling back to ring0_addr', () => {
    expect(nodePosition(NODELIST, 'node-b')).toBe(1);
    expect(nodePosition(NODELIST, 'node-old')).toBe(3);
    expect(nodePosition(NODELIST, '192.168.122.11')).toBe(0);
    expect(nodePosition(NODELIST, 'node-c')).toBeUndefined();
  });
  it('id mode: "%.4s%.4d" % (md5(cluster), position)', () => {
    expect(keyFromPosition('mycluster', 3)).toBe('6c9d0003');
  });
  it('hash mode: "%.4s%.4s" % (md5(cluster), md5(node))', () => {
    expect(keyFromNodeName('mycluster', 'node-b')).toBe('6c9d26f7');
  });
  it('strips leading zeros as fence_scsi does (md5("c3") starts with 0)', () => {
    expect(keyFromPosition('c3', 12)).toBe('a3d0012');
  });
});

describe('which node this is, from corosync', () => {
  it('reads nodelist.local_node_pos and every node\'s names', () => {
    expect(localNodePosition(NODELIST)).toBe(1);
    expect(localNodePosition('nodelist.node.0.name (str) = a\n')).toBeUndefined();
    const nodes = nodelistNodes(NODELIST);
    expect(nodes.get(1)).toEqual({ position: 1, name: 'node-b', addresses: ['192.168.122.12'] });
    expect(nodes.get(3)).toEqual({ position: 3, addresses: ['node-old'] });
  });
  it('gives a node the keys of its position (id) or of each name it goes by (hash); uname only without a nodelist name', () => {
    const nodes = nodelistNodes(NODELIST);
    expect(keysOfNode('mycluster', 'id', nodes.get(3)!)).toEqual([keyFromPosition('mycluster', 3)]);
    expect(keysOfNode('mycluster', 'hash', nodes.get(1)!, 'uname-b')).toEqual([keyFromNodeName('mycluster', 'node-b'), keyFromNodeName('mycluster', '192.168.122.12')]);
    expect(keysOfNode('mycluster', 'hash', nodes.get(3)!, 'uname-old')).toEqual([keyFromNodeName('mycluster', 'uname-old'), keyFromNodeName('mycluster', 'node-old')]);
  });
});
