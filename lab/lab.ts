// The built-in lab: a few simulated cluster nodes on loopback, each a real process powered the way a
// server is: its chassis through a BMC (fencekit's BMC simulator, lab/bmc: IPMI 2.0 with cipher suites 3
// and 17, and a power-supply sensor per supply) and its two power supplies through two switched PDUs (real
// snmpd serving the APC PowerNet-MIB). Fencing through either path is observable on
// the same process. The lab also writes the topology that fences each node: level 1 its BMC, level 2
// both PDU outlets.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from '../lib/proc.js';
import { labAsset } from './assets.js';
import { startBmcSim, type BmcSim, type PowerModel, type SimSensor, type SimUser } from './bmc/simulator.js';
import { startPdu, type PduPeer } from './snmpd-pdu.js';

const execFileAsync = promisify(execFile);

/** A lab BMC's accounts (the lab's topology uses admin). */
export const LAB_USERS: { readonly admin: SimUser; readonly operator: SimUser; readonly user: SimUser } = {
  admin: { name: 'admin', password: 'secret', maxPrivilege: 4 },
  operator: { name: 'oper', password: 'opsecret', maxPrivilege: 3 },
  user: { name: 'viewer', password: 'usecret', maxPrivilege: 2 },
};

/** A node's BMC as the lab's users see it. */
export interface LabBmc {
  readonly host: string;
  readonly port: number;
  readonly users: typeof LAB_USERS;
  readonly sim: BmcSim;
  /** The BMC hangs: it answers nothing but keeps its port. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export interface LabNode {
  readonly name: string;
  readonly dir: string;
  readonly bmc: LabBmc;
  readonly outlet: number;
  isRunning(): boolean;
  /** The node's process, while it runs. */
  pid(): number | undefined;
  /** Power-supply and chassis changes, one line each, as the power model saw them. */
  events(): string;
}

export interface Lab {
  readonly dir: string;
  readonly topologyPath: string;
  readonly nodes: readonly LabNode[];
  readonly pdus: readonly [PduPeer, PduPeer];
  /** The BMC of `node` dies (its simulator stops): nothing answers at its port any more. */
  killBmc(node: string): Promise<void>;
  stop(): Promise<void>;
}

export interface LabOptions {
  nodes?: number;
  dir: string;
  /**
   * Cable node1's and node2's pdu-b outlets the other way round from the topology the lab writes (and the
   * outlet names): the mistake `fencekit verify-wiring` exists to catch.
   */
  miswire?: boolean;
}

/** The BMC's power-supply sensors: sensor number, entity instance, SDR name, the supply it reports. */
export const LAB_SUPPLIES = [
  { sensor: 0x50, instance: 1, name: 'PS1 (psu-a)', supply: 'psu-a' },
  { sensor: 0x51, instance: 2, name: 'PS2 (psu-b)', supply: 'psu-b' },
] as const;

/**
 * A compact sensor record (IPMI v2.0 §43.2) for a power-supply sensor (type 08h, sensor-specific 6Fh) of
 * entity 0Ah (power supply): the layout ipmitool reads as "PS1 | 50h | ok | 10.1 | Presence detected".
 */
export function powerSupplySdr(sensor: number, instance: number, name: string): number[] {
  const id = [...Buffer.from(name, 'latin1')].slice(0, 16);
  const states = [0x5b, 0x00]; // presence, failure, input lost, input lost/out of range, config error
  const body = [
    0x20, 0x00, sensor, // owner BMC, LUN 0, sensor number
    0x0a, instance, // entity: power supply, instance
    0x67, 0x68, // initialization: scanning + events enabled; capabilities
    0x08, 0x6f, // sensor type Power Supply, sensor-specific reading type
    ...states, ...states, ...states, // assertion, deassertion, reading masks
    0xc0, 0x00, 0x00, // no analog reading, no units
    0x01, 0x00, // no record sharing
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // hysteresis, reserved, OEM
    0xc0 | id.length, ...id,
  ];
  return [0x00, 0x00, 0x51, 0x02, body.length, ...body];
}

/**
 * A node's power-supply sensors: each reads the state bits node-power.sh writes for its supply (1 presence
 * detected, 9 presence + input lost). A missing or unreadable file reads as no state at all, never as healthy.
 */
export function supplySensors(nodeDir: string): SimSensor[] {
  return LAB_SUPPLIES.map(({ sensor, instance, name, supply }) => ({
    record: powerSupplySdr(sensor, instance, name),
    states: async () => {
      try {
        const n = Number(readFileSync(join(nodeDir, `${supply}.sensor`), 'utf8').trim());
        return Number.isInteger(n) && n >= 0 && n <= 0x7fff ? n : 0;
      } catch {
        return 0;
      }
    },
  }));
}

/**
 * A node's chassis as its BMC drives it, through the power model it shares with the PDU outlets
 * (node-power.sh). The chassis reads on exactly while the node's process runs: off only once it is dead.
 * "On" is read from the pid file and /proc, as cheap as a status poll must be with many agents polling at
 * once; "off" is asked of node-power.sh, under its lock, so a pid file being rewritten never reads as off.
 */
export function nodePowerModel(nodeDir: string, nodePower = labAsset('node-power.sh')): PowerModel {
  const pid = () => {
    try {
      const n = Number(readFileSync(join(nodeDir, 'pid'), 'utf8').trim());
      return n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    isOn: async () => {
      const p = pid();
      if (p !== undefined && isAlive(p)) return true;
      try {
        await execFileAsync(nodePower, [nodeDir, 'running'], { timeout: 10_000 });
        return true;
      } catch {
        return false;
      }
    },
    // node-power.sh kills the node and waits for it before it returns from "set chassis 0".
    setOn: async (on) => {
      await execFileAsync(nodePower, [nodeDir, 'set', 'chassis', on ? '1' : '0'], { timeout: 10_000 });
    },
    pid: () => {
      const p = pid();
      return p !== undefined && isAlive(p) ? p : undefined;
    },
  };
}


export async function startLab(opts: LabOptions): Promise<Lab> {
  const count = opts.nodes ?? 3;
  const nodePower = labAsset('node-power.sh');
  rmSync(opts.dir, { recursive: true, force: true });
  mkdirSync(join(opts.dir, 'secrets'), { recursive: true, mode: 0o700 });
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    const names = Array.from({ length: count }, (_, i) => `node${i + 1}`);
    const nodeDirs = names.map((n) => {
      const d = join(opts.dir, 'nodes', n);
      mkdirSync(d, { recursive: true });
      for (const f of ['chassis', 'psu-a', 'psu-b', 'psu-a.sensor', 'psu-b.sensor']) writeFileSync(join(d, f), '1\n');
      return d;
    });
    // Both PDUs first (they power the supplies), then the BMCs switch each chassis on.
    const cabling = (psu: 'psu-a' | 'psu-b') => {
      const dirs = [...nodeDirs];
      if (opts.miswire && psu === 'psu-b' && dirs.length >= 2) [dirs[0], dirs[1]] = [dirs[1]!, dirs[0]!];
      return dirs.map((d) => [nodePower, d, 'set', psu]);
    };
    // Outlet names follow the topology (the labels), not the cables: a miswired lab is labelled wrong.
    const pduFor = (psu: 'psu-a' | 'psu-b') => startPdu({ outlets: Math.max(8, count), names: names.map((n) => `${n}-${psu}`), outletHooks: cabling(psu) });
    const pduA = await pduFor('psu-a');
    started.push(pduA);
    const pduB = await pduFor('psu-b');
    started.push(pduB);
    const nodes: LabNode[] = [];
    for (const [i, name] of names.entries()) {
      const dir = nodeDirs[i]!;
      const sim = await startBmcSim({ users: Object.values(LAB_USERS), power: nodePowerModel(dir, nodePower), sensors: supplySensors(dir) });
      const bmc: LabBmc = { host: sim.host, port: sim.port, users: LAB_USERS, sim, freeze: sim.freeze, thaw: sim.thaw, stop: sim.stop };
      started.push({
        stop: async () => {
          await bmc.stop();
          execFileSync(nodePower, [dir, 'stop']);
        },
      });
      await sim.powerOnHost();
      const running = () => {
        try {
          execFileSync(nodePower, [dir, 'running']);
          return true;
        } catch {
          return false;
        }
      };
      nodes.push({
        name,
        dir,
        bmc,
        outlet: i + 1,
        isRunning: running,
        pid: () => (running() ? Number(readFileSync(join(dir, 'pid'), 'utf8').trim()) : undefined),
        events: () => (existsSync(join(dir, 'events.log')) ? readFileSync(join(dir, 'events.log'), 'utf8') : ''),
      });
    }
    const passwordFile = join(opts.dir, 'secrets', 'bmc.pw');
    writeFileSync(passwordFile, `${nodes[0]!.bmc.users.admin.password}\n`, { mode: 0o600 });
    chmodSync(passwordFile, 0o600);
    const topologyPath = join(opts.dir, 'topology.yaml');
    const communityFile = join(opts.dir, 'secrets', 'pdu.community');
    writeFileSync(communityFile, `${pduA.communities.rw}\n`, { mode: 0o600 });
    writeFileSync(topologyPath, labTopology(nodes, [pduA, pduB], passwordFile, communityFile));
    return {
      dir: opts.dir,
      topologyPath,
      nodes,
      pdus: [pduA, pduB],
      killBmc: async (node) => {
        const n = nodes.find((x) => x.name === node);
        if (!n) throw new Error(`no lab node ${node}`);
        // Stop only the simulator; the node's own process keeps running on PDU power.
        await n.bmc.stop().catch(() => undefined);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function labTopology(nodes: readonly LabNode[], pdus: readonly PduPeer[], passwordFile: string, communityFile: string): string {
  const lines = [
    '# Written by fencekit lab: level 1 is each node\'s BMC, level 2 both of its PDU outlets (one per power supply).',
    'devices:',
  ];
  for (const n of nodes) {
    lines.push(
      `  ${n.name}-bmc:`,
      '    agent: fence_kit_ipmi',
      `    ip: ${n.bmc.host}`,
      `    ipport: ${n.bmc.port}`,
      `    username: ${n.bmc.users.admin.name}`,
      `    password: { file: ${passwordFile} }`,
      '    lanplus: 1',
      // A dead BMC should cost the fence seconds, not the default 25.
      '    login_timeout: 2',
      '    power_timeout: 10',
    );
  }
  for (const [i, p] of pdus.entries()) {
    lines.push(`  pdu-${'ab'[i]}:`, '    agent: fence_kit_apc_snmp', `    ip: ${p.host}`, `    ipport: ${p.port}`, '    snmp_version: 2c', `    community: { file: ${communityFile} }`, '    power_timeout: 10');
  }
  lines.push('nodes:');
  for (const n of nodes) lines.push(`  ${n.name}:`, `    - [${n.name}-bmc]`, `    - [pdu-a:${n.outlet}, pdu-b:${n.outlet}]`);
  return lines.join('\n') + '\n';
}
