// An APC PDU as a fencing device, each plug an outlet, on either transport: over SNMP (SnmpPdu, for
// fence_kit_apc_snmp: read from the family's status column and switched through its control column) or over
// the card's SSH command line (SshPdu, for fence_kit_apc). Loaded only by connect(); net-snmp and ssh2 load
// only when a transport's client opens.
import type { OperationContext, PlugInfo, PowerDevice, PowerState } from '../../lib/agent/declaration.js';
import { plugNumber } from '../../lib/agent/plugs.js';
import { FenceError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { SnmpNoSuchObjectError, type SnmpClient, type SnmpTarget } from '../../lib/snmp/index.js';
import { onPlugRow, openDeviceClient, rowsBelow, within } from '../../lib/snmp/table-device.js';
import { CliSession, type CliSessionOptions } from '../../lib/ssh/index.js';
import { checkCommandResult, cliState, cliStateForList, findOutlet, parseOlStatus, type CliOutlet } from './apc-cli.js';
import {
  FAMILIES,
  RPDU2_PROBE_COLUMN,
  SYS_OBJECT_ID,
  addressOfRow,
  describeAddress,
  familyForSysObjectId,
  instanceOf,
  outletState,
  outletStateForList,
  parsePlug,
  refuseSwitchWithoutSwitches,
  resolveName,
  type NameRow,
  type OutletAddress,
  type PduFamily,
} from './powernet.js';
import { switchOption } from './outlet.js';

/** What the device needs of the SNMP client (a fake MIB in unit tests, SnmpClient otherwise). */
export type PduSnmpClient = Pick<SnmpClient, 'get' | 'getInt' | 'set' | 'subtree' | 'close'>;

export interface SnmpPduSettings {
  readonly target: SnmpTarget;
  /** fence-agents' `switch` option (MasterSwitch Plus), default 1. */
  readonly switchId?: string;
}

/**
 * APC cards answer in tens of milliseconds; a lost datagram is better retried after 400 ms than after
 * the client's default second, so that a status read within shell_timeout (3 s) gets up to seven
 * attempts instead of three. Under 30 % loss each way that takes one read's failure rate from ~13 % to
 * ~1 %. Commands are idempotent (immediateOn/immediateOff), so a retransmitted SET is harmless.
 */
const PER_REQUEST_TIMEOUT_MS = 400;
const RETRIES = 6;
/** Varbinds per GET when reading states for list: 24 outlets' worth fits one datagram well under 1 500 bytes. */
const STATES_PER_GET = 24;

export class SnmpPdu implements PowerDevice {
  readonly #client: PduSnmpClient;
  readonly #family: PduFamily;
  readonly #switchId: string | undefined;
  readonly #logger: Logger;
  /** plug → outlet, resolved once per invocation. */
  readonly #addresses = new Map<string, OutletAddress>();
  #names: NameRow[] | undefined;

  constructor(client: PduSnmpClient, family: PduFamily, switchId: string | undefined, logger: Logger) {
    this.#client = client;
    this.#family = family;
    this.#switchId = switchId;
    this.#logger = logger;
  }

  get family(): PduFamily {
    return this.#family;
  }

  /**
   * Open the client and learn the family: sysObjectID, then for rack PDUs whether the rPDU2 outlet tables
   * are there. This is the first packet, so a PDU that does not answer (wrong community, wrong address)
   * fails here, inside the login budget.
   */
  static async open(settings: SnmpPduSettings, ctx: OperationContext): Promise<SnmpPdu> {
    const client = await openDeviceClient(settings.target, ctx.logger, { perRequestTimeoutMs: PER_REQUEST_TIMEOUT_MS, retries: RETRIES });
    try {
      const family = await SnmpPdu.detectFamily(client, ctx);
      ctx.logger.debug(`PDU family: ${family.label}`);
      // Before any outlet is read or switched, and for list too: the option would otherwise be ignored.
      refuseSwitchWithoutSwitches(family, switchOption(settings.switchId));
      return new SnmpPdu(client, family, settings.switchId, ctx.logger);
    } catch (err) {
      client.close();
      throw err;
    }
  }

  static async detectFamily(client: PduSnmpClient, ctx: OperationContext): Promise<PduFamily> {
    let sysObjectId: string | undefined;
    try {
      const [value] = await client.get([SYS_OBJECT_ID], within(ctx));
      sysObjectId = typeof value?.value === 'string' ? value.value : undefined;
    } catch (err) {
      if (!(err instanceof SnmpNoSuchObjectError)) throw err;
    }
    const id = familyForSysObjectId(sysObjectId);
    if (id !== 'rpdu') return FAMILIES[id];
    // Newer rack PDUs keep both table sets; the rPDU2 one is the maintained one. Its index starts at 1.
    try {
      await client.get([`${RPDU2_PROBE_COLUMN}.1`], within(ctx));
      return FAMILIES.rpdu2;
    } catch (err) {
      if (err instanceof SnmpNoSuchObjectError) return FAMILIES.rpdu;
      throw err;
    }
  }

  async #nameRows(ctx: OperationContext): Promise<NameRow[]> {
    if (this.#names) return this.#names;
    const values = await this.#client.subtree(this.#family.namesColumn, within(ctx));
    this.#names = rowsBelow(this.#family.namesColumn, values)
      .filter((r) => typeof r.value.value === 'string')
      .map((r) => ({ suffix: r.index, name: r.value.value as string }));
    return this.#names;
  }

  async #resolve(plug: string | undefined, ctx: OperationContext): Promise<OutletAddress> {
    if (plug === undefined) throw new FenceError('bad-input', 'an outlet must be named with plug');
    const known = this.#addresses.get(plug);
    if (known) return known;
    const spec = parsePlug(plug, this.#family, this.#switchId);
    const address = spec.kind === 'number' ? spec.address : resolveName(this.#family, spec.name, await this.#nameRows(ctx));
    if (spec.kind === 'name') this.#logger.debug(`outlet "${plug}" is ${describeAddress(this.#family, address)}`);
    this.#addresses.set(plug, address);
    return address;
  }

  async getPower(plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    const address = await this.#resolve(plug, ctx);
    const oid = `${this.#family.statusColumn}.${instanceOf(this.#family, address)}`;
    const value = await onPlugRow(this.#client.getInt(oid, { ...within(ctx), enumerated: true }), this.#noOutlet(address));
    return outletState(this.#family, value, plug!);
  }

  async setPower(plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    const address = await this.#resolve(plug, ctx);
    const oid = `${this.#family.controlColumn}.${instanceOf(this.#family, address)}`;
    const value = state === 'on' ? this.#family.write.on : this.#family.write.off;
    await onPlugRow(this.#client.set([{ oid, type: 'integer', value }], within(ctx)), this.#noOutlet(address));
  }

  #noOutlet(address: OutletAddress): string {
    return `the PDU has no outlet ${describeAddress(this.#family, address)}`;
  }

  /**
   * The states of the listed outlets: one GET of all of them (SNMP v1 has no GETBULK, and a walk costs a
   * round trip per outlet), or a walk of the column if the PDU lacks one of them.
   */
  async #states(names: readonly NameRow[], ctx: OperationContext): Promise<Map<string, number>> {
    const states = new Map<string, number>();
    const column = this.#family.statusColumn;
    try {
      for (let i = 0; i < names.length; i += STATES_PER_GET) {
        const oids = names.slice(i, i + STATES_PER_GET).map((r) => `${column}.${r.suffix.join('.')}`);
        for (const v of await this.#client.get(oids, within(ctx))) {
          if (typeof v.value === 'number') states.set(v.oid.slice(column.length + 1), v.value);
        }
      }
      return states;
    } catch (err) {
      if (!(err instanceof SnmpNoSuchObjectError)) throw err;
      this.#logger.debug(`not every listed outlet has a state (${err.message}): reading the state column`);
    }
    states.clear();
    for (const row of rowsBelow(column, await this.#client.subtree(column, within(ctx)))) {
      if (typeof row.value.value === 'number') states.set(row.index.join('.'), row.value.value);
    }
    return states;
  }

  /** Names from the names column (GETBULK from v2c on), states read for those outlets, joined on the index. */
  async list(ctx: OperationContext): Promise<PlugInfo[]> {
    const names = await this.#nameRows(ctx);
    const states = await this.#states(names, ctx);
    const plugs: PlugInfo[] = [];
    for (const row of names) {
      const address = addressOfRow(this.#family, row.suffix);
      if (!address) continue;
      plugs.push({
        id: describeAddress(this.#family, address),
        alias: row.name,
        state: outletStateForList(this.#family, states.get(row.suffix.join('.'))),
      });
    }
    return plugs;
  }

  /** Pacemaker's monitor: the PDU answers with these credentials (the family read at open proved it). */
  async monitor(ctx: OperationContext): Promise<void> {
    await this.#client.get([SYS_OBJECT_ID], within(ctx));
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

/** What the device needs of a session (a scripted dialogue in unit tests, CliSession otherwise). */
export type ApcCliSession = Pick<CliSession, 'command' | 'close'> & { readonly banner: string };

export class SshPdu implements PowerDevice {
  readonly #session: ApcCliSession;

  constructor(session: ApcCliSession) {
    this.#session = session;
  }

  static async open(options: CliSessionOptions): Promise<SshPdu> {
    const session = await CliSession.open(options);
    // fence_apc reads the AOS major version from the banner; before v5 the card only has menus.
    const version = /\bv(\d+)\.\d+/.exec(session.banner);
    if (version && Number(version[1]) < 5) {
      await session.close('exit');
      throw new FenceError('device-refused', `the card runs AOS v${version[1]}, which has menus only; fence_kit_apc speaks the AOS 5+ command line (or use fence_kit_apc_snmp)`);
    }
    return new SshPdu(session);
  }

  async #outlets(ctx: OperationContext): Promise<CliOutlet[]> {
    const text = await this.#session.command('olStatus all', ctx.deadline);
    const outlets = parseOlStatus(text);
    if (outlets.length === 0) {
      checkCommandResult('olStatus all', text);
      throw new FenceError('unconfirmed', `"olStatus all" listed no outlet: ${JSON.stringify(text.slice(0, 200))}`);
    }
    return outlets;
  }

  async getPower(plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    if (plug === undefined) throw new FenceError('bad-input', 'an outlet must be named with plug');
    return cliState(findOutlet(await this.#outlets(ctx), plug));
  }

  async setPower(plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    if (plug === undefined) throw new FenceError('bad-input', 'an outlet must be named with plug');
    // By number, always: a name is resolved against the card's own listing first, so a name with spaces
    // or one that looks like a number is never handed to the card's parser.
    const outlet = plugNumber(plug) !== undefined ? plug : String(findOutlet(await this.#outlets(ctx), plug).number);
    const command = `${state === 'on' ? 'olOn' : 'olOff'} ${outlet.replace(/^1:/, '')}`;
    checkCommandResult(command, await this.#session.command(command, ctx.deadline));
  }

  async list(ctx: OperationContext): Promise<PlugInfo[]> {
    return (await this.#outlets(ctx)).map((o) => ({ id: String(o.number), alias: o.name, state: cliStateForList(o) }));
  }

  async monitor(ctx: OperationContext): Promise<void> {
    await this.#outlets(ctx);
  }

  async close(): Promise<void> {
    await this.#session.close('exit');
  }
}
