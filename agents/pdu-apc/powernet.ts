// APC PowerNet-MIB as far as switching an outlet needs it, and the pure decisions taken on its values:
// which family a sysObjectID names, which OID holds an outlet's state and command, what a state value
// means, which outlet a plug names. No network here, so every rule is unit-tested.
//
// Families and OIDs are fence_apc_snmp's (fence-agents agents/apc_snmp/fence_apc_snmp.py, installed as
// /usr/sbin/fence_apc_snmp: its device classes and their sysObjectID table, agents_dir), so a PDU that
// works with it works here, plus the rPDU2 outlet tables that newer rack PDUs (AP8xxx, AOS 6+) carry
// beside the rPDU ones.
import { FenceError } from '../../lib/errors.js';
import type { PowerState } from '../../lib/agent/declaration.js';
import { listedState, plugNumber, plugState, rowNamed } from '../../lib/agent/plugs.js';
import { parseSwitchOutlet, switchOption } from './outlet.js';

export { SYS_OBJECT_ID } from '../../lib/snmp/oid.js';

/** sysObjectID values (without the leading dot) that select a family. */
export const SYS_OBJECT_IDS = {
  rackPdu: '1.3.6.1.4.1.318.1.3.4.5',
  masterSwitchPlus: '1.3.6.1.4.1.318.1.3.4.4',
  masterSwitchV6: '1.3.6.1.4.1.318.1.3.4.6',
} as const;

/**
 * APC's masterSwitch product subtree (PowerNet-MIB hardware.masterSwitch): every switched PDU APC made has
 * its sysObjectID here, and those not in SYS_OBJECT_IDS (MasterSwitch v1, v2, VM) speak sPDUOutletCtl, the
 * MasterSwitch fallback's table.
 */
export const APC_MASTER_SWITCH_SUBTREE = '1.3.6.1.4.1.318.1.3.4';
/** Tripp Lite's enterprise: fence_apc_snmp (as fence_tripplite_snmp) drives its PDUs; fencekit does not yet. */
const TRIPPLITE_ENTERPRISE = '1.3.6.1.4.1.850';

export type FamilyId = 'rpdu' | 'rpdu2' | 'msp' | 'ms6' | 'ms';

export interface PduFamily {
  readonly id: FamilyId;
  readonly label: string;
  /** Column whose instance (.port, or .switch.1.port) reads the outlet's state. */
  readonly statusColumn: string;
  /** Column whose instance is written to switch the outlet. */
  readonly controlColumn: string;
  /** Column of outlet names, walked to resolve a plug given by name and for list. */
  readonly namesColumn: string;
  /** State values as read. */
  readonly read: { readonly on: number; readonly off: number };
  /** Command values as written. */
  readonly write: { readonly on: number; readonly off: number };
  /** MasterSwitch Plus: outlets are addressed as switch:outlet. */
  readonly hasSwitches: boolean;
}

const APC = '1.3.6.1.4.1.318.1.1';

export const FAMILIES: Readonly<Record<FamilyId, PduFamily>> = {
  rpdu: {
    id: 'rpdu',
    label: 'APC rack PDU (rPDU)',
    statusColumn: `${APC}.12.3.5.1.1.4`, // rPDUOutletStatusOutletState: outletStatusOn(1), outletStatusOff(2)
    controlColumn: `${APC}.12.3.3.1.1.4`, // rPDUOutletControlOutletCommand: immediateOn(1), immediateOff(2)
    namesColumn: `${APC}.12.3.5.1.1.2`, // rPDUOutletStatusOutletName
    read: { on: 1, off: 2 },
    write: { on: 1, off: 2 },
    hasSwitches: false,
  },
  rpdu2: {
    id: 'rpdu2',
    label: 'APC rack PDU (rPDU2 outlet tables)',
    // rPDU2OutletSwitchedStatusState is off(1), on(2): the reverse of rPDU's numbering (PowerNet-MIB).
    statusColumn: `${APC}.26.9.2.3.1.5`,
    controlColumn: `${APC}.26.9.2.4.1.5`, // rPDU2OutletSwitchedControlCommand: immediateOn(1), immediateOff(2)
    namesColumn: `${APC}.26.9.2.3.1.3`, // rPDU2OutletSwitchedStatusName
    read: { on: 2, off: 1 },
    write: { on: 1, off: 2 },
    hasSwitches: false,
  },
  msp: {
    id: 'msp',
    label: 'APC MasterSwitch Plus',
    // fence_apc_snmp addresses MSP outlets as .switch.1.outlet (its names walk takes the switch third from
    // last); kept exactly so that a configuration that works with it addresses the same outlet here.
    statusColumn: `${APC}.6.7.1.1.5`, // sPDUOutletStatusMSPOutletState: on(1), off(2)
    controlColumn: `${APC}.6.5.1.1.5`, // sPDUOutletControlMSPOutletCommand: immediateOnMSP(1), immediateOffMSP(3)
    namesColumn: `${APC}.6.7.1.1.4`, // sPDUOutletStatusMSPOutletName
    read: { on: 1, off: 2 },
    write: { on: 1, off: 3 },
    hasSwitches: true,
  },
  ms6: {
    id: 'ms6',
    label: 'APC MasterSwitch with firmware v6.x',
    statusColumn: `${APC}.4.4.2.1.3`, // sPDUOutletCtl
    controlColumn: `${APC}.12.3.3.1.1.4`, // rPDUOutletControlOutletCommand
    namesColumn: `${APC}.4.4.2.1.4`, // sPDUOutletCtlName
    read: { on: 1, off: 2 },
    write: { on: 1, off: 2 },
    hasSwitches: false,
  },
  ms: {
    id: 'ms',
    label: 'APC MasterSwitch (fallback)',
    statusColumn: `${APC}.4.4.2.1.3`, // sPDUOutletCtl: outletOn(1), outletOff(2), ... outletUnknown(4)
    controlColumn: `${APC}.4.4.2.1.3`,
    namesColumn: `${APC}.4.4.2.1.4`,
    read: { on: 1, off: 2 },
    write: { on: 1, off: 2 },
    hasSwitches: false,
  },
};

/** Where newer rack PDUs have the rPDU2 tables: a GET of this column's instance tells (rPDU2OutletSwitchedStatusState). */
export const RPDU2_PROBE_COLUMN = FAMILIES.rpdu2.statusColumn;

/**
 * The family a sysObjectID selects, before the rPDU2 probe: fence_apc_snmp's table, and MasterSwitch for the
 * rest of APC's masterSwitch subtree. Any other sysObjectID, or none, is refused: fence_apc_snmp switches
 * such a device through MasterSwitch OIDs, which on another vendor's PDU name nothing or something else.
 */
export function familyForSysObjectId(sysObjectId: string | undefined): FamilyId {
  const id = (sysObjectId ?? '').replace(/^\./, '');
  if (id === SYS_OBJECT_IDS.rackPdu) return 'rpdu';
  if (id === SYS_OBJECT_IDS.masterSwitchPlus) return 'msp';
  if (id === SYS_OBJECT_IDS.masterSwitchV6) return 'ms6';
  if (id.startsWith(`${APC_MASTER_SWITCH_SUBTREE}.`)) return 'ms';
  const what = id === '' ? 'no sysObjectID' : `sysObjectID ${id}`;
  const tripplite = id === TRIPPLITE_ENTERPRISE || id.startsWith(`${TRIPPLITE_ENTERPRISE}.`)
    ? ', a Tripp Lite PDU (fence_tripplite_snmp drives it; fencekit does not yet)'
    : '';
  throw new FenceError(
    'unconfirmed',
    `the device reports ${what}${tripplite}, which is not an APC switched PDU (${APC_MASTER_SWITCH_SUBTREE}.*): its outlets' OIDs are unknown, so nothing was switched`,
    { final: true },
  );
}

/** An outlet as the MIB indexes it. `switchId` only for MasterSwitch Plus. */
export interface OutletAddress {
  readonly outlet: number;
  readonly switchId?: number;
}

export function instanceOf(family: PduFamily, address: OutletAddress): string {
  return family.hasSwitches ? `${address.switchId ?? 1}.1.${address.outlet}` : String(address.outlet);
}

export function describeAddress(family: PduFamily, address: OutletAddress): string {
  return family.hasSwitches ? `${address.switchId ?? 1}:${address.outlet}` : String(address.outlet);
}

/**
 * A `switch` other than 1 on a family without switches names a unit this PDU does not have. fence_apc_snmp
 * drops it and switches outlet N of the unit it talks to: the outlet of another server, reported off while
 * the node is still powered. Switch 1 is harmless: it is fence_apc_snmp's default and the one unit there is.
 */
export function refuseSwitchWithoutSwitches(family: PduFamily, switchId: number | undefined): void {
  if (switchId === undefined || switchId === 1 || family.hasSwitches) return;
  throw new FenceError(
    'bad-input',
    `option 'switch' (-s, --switch) is ${switchId}, but this ${family.label} has no switches (only MasterSwitch Plus has): its outlets would be those of unit 1, so nothing is switched; leave 'switch' out and name the outlet of the PDU the node is plugged into`,
  );
}

/**
 * A plug as written by the user: a number, `switch:number` (fence-agents' legacy notation, both numeric), or
 * an outlet name. `switchValue` is the `switch` option (MasterSwitch Plus), default 1.
 */
export type PlugSpec = { kind: 'number'; address: OutletAddress } | { kind: 'name'; name: string };

export function parsePlug(plug: string, family: PduFamily, switchValue?: string): PlugSpec {
  const legacy = parseSwitchOutlet(plug);
  const given = switchOption(switchValue);
  refuseSwitchWithoutSwitches(family, given);
  if (legacy) {
    const switchId = Number(legacy.switchId);
    const outlet = Number(legacy.outlet);
    if (given !== undefined && given !== switchId) {
      throw new FenceError('bad-input', `plug ${plug} names switch ${switchId}, but option 'switch' (-s, --switch) is ${given}: give the switch once`);
    }
    if (!family.hasSwitches && switchId !== 1) {
      // fence_apc_snmp drops the switch here and switches outlet N of the only switch there is: a plug
      // meant for another unit would cut the wrong server.
      throw new FenceError('no-such-plug', `plug ${plug} names switch ${switchId}, but this ${family.label} has no switches`);
    }
    return { kind: 'number', address: family.hasSwitches ? { outlet, switchId } : { outlet } };
  }
  const outlet = plugNumber(plug);
  if (outlet !== undefined) {
    return { kind: 'number', address: family.hasSwitches ? { outlet, switchId: given ?? 1 } : { outlet } };
  }
  return { kind: 'name', name: plug };
}

/** One row of the names column: its OID suffix and the name. */
export interface NameRow {
  readonly suffix: readonly number[];
  readonly name: string;
}

/** The address a names-column row stands for (MSP: switch third from last, outlet last, as fence_apc_snmp). */
export function addressOfRow(family: PduFamily, suffix: readonly number[]): OutletAddress | undefined {
  const outlet = suffix[suffix.length - 1];
  if (outlet === undefined) return undefined;
  if (!family.hasSwitches) return suffix.length === 1 ? { outlet } : undefined;
  const switchId = suffix[suffix.length - 3];
  return switchId === undefined ? undefined : { outlet, switchId };
}

/**
 * The outlet a name names: exact match (quotes stripped, as fence_apc_snmp), and only one. Two outlets with
 * the same name are an error here: fence_apc_snmp takes the last one and leaves the other powered.
 */
export function resolveName(family: PduFamily, name: string, rows: readonly NameRow[]): OutletAddress {
  const row = rowNamed(rows, name, (r) => r.name.replace(/^"|"$/g, ''), (matches) => {
    const which = matches.map((m) => addressOfRow(family, m.suffix)).filter(Boolean).map((a) => describeAddress(family, a!));
    return new FenceError('bad-input', `${matches.length} outlets are named "${name}" (${which.join(', ')}): name one by number`);
  });
  if (!row) throw new FenceError('no-such-plug', `the PDU has no outlet named "${name}"`);
  const address = addressOfRow(family, row.suffix);
  if (!address) throw new FenceError('unconfirmed', `the PDU's names table has an unexpected index for "${name}"`);
  return address;
}

/**
 * A state value as a power state. Only the family's on and off values count: fence_apc_snmp reads every
 * other value (sPDUOutletCtl outletUnknown(4), a pending reboot) as "off" and would report a node fenced
 * whose outlet may still be live.
 */
export function outletState(family: PduFamily, value: number, outlet: string): PowerState {
  const state = plugState(value, family.read.on, family.read.off);
  if (state) return state;
  throw new FenceError(
    'unconfirmed',
    `outlet ${outlet} reads ${value} on the ${family.label}: neither on (${family.read.on}) nor off (${family.read.off})`,
  );
}

/** list-status: the same rule, but an undecidable outlet is listed as UNKNOWN instead of failing the list. */
export function outletStateForList(family: PduFamily, value: number | undefined): PowerState | 'unknown' {
  return listedState(plugState(value, family.read.on, family.read.off));
}
