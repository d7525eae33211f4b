// A managed switch as a fencing device: each plug is a port, fenced by ifAdminStatus down(2) and unfenced by
// up(1). Loaded only by connect(): it pulls in the SNMP client and with it net-snmp.
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { hostname } from 'node:os';
import type { OperationContext, PlugInfo, PowerDevice, PowerState } from '../../lib/agent/declaration.js';
import { FenceError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { SnmpNoSuchObjectError, type SnmpClient, type SnmpTarget, type SnmpValue } from '../../lib/snmp/index.js';
import { onPlugRow, openDeviceClient, rowsBelow, within } from '../../lib/snmp/table-device.js';
import {
  ADMIN,
  OID,
  adminState,
  adminStateForList,
  ipAdEntIfIndexOid,
  managementPortRefusal,
  operLinkDown,
  operName,
  NAME_COLUMNS,
  noSuchPortName,
  plugAsIfIndex,
  resolvePortName,
} from './if-mib.js';
import { parseProcUptime, unfenceRefusal, type PortDownTime } from './unfence.js';

/** What unfence_after_reboot asks of the host the agent runs on. */
export interface HostFacts {
  hostname(): string;
  /** Seconds since this host (its time namespace) booted. */
  uptimeS(): Promise<number>;
}

const THIS_HOST: HostFacts = {
  hostname,
  async uptimeS() {
    let text: string;
    try {
      text = await readFile('/proc/uptime', 'utf8');
    } catch (err) {
      throw new FenceError('bad-input', `unfence_after_reboot: cannot read this host's uptime: /proc/uptime: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    return parseProcUptime(text);
  },
};

export interface SwitchSettings {
  readonly target: SnmpTarget;
  /** Every plug of this invocation, so the self-port guard can refuse before the first port goes down. */
  readonly plugs: readonly string[];
  /** Report OFF only once ifOperStatus says the link is down too. */
  readonly confirmOperStatus: boolean;
  /**
   * unfence_after_reboot, for an `on`: the node being unfenced (nodename, '' when not given). No port is
   * switched on unless this host is that node and booted after every port to switch on went down.
   */
  readonly unfenceNode?: string;
  /** The host's name and uptime; this machine's unless a test gives others. */
  readonly host?: HostFacts;
}

/** What the device needs of the SNMP client (a fake table in unit tests, SnmpClient otherwise). */
export type IfMibClient = Pick<SnmpClient, 'get' | 'getInt' | 'set' | 'subtree' | 'close'>;

/** IF-MIB's columns are indexed by ifIndex alone. */
function byIndex(column: string, values: readonly SnmpValue[]): Map<number, SnmpValue> {
  return new Map(rowsBelow(column, values).filter((r) => r.index.length === 1).map((r) => [r.index[0]!, r.value]));
}

const text = (v: SnmpValue | undefined) => (v && typeof v.value === 'string' ? v.value : undefined);
const int = (v: SnmpValue | undefined) => (v && typeof v.value === 'number' ? v.value : undefined);
const timeticks = (v: SnmpValue | undefined) => (v?.type === 'timeticks' ? int(v) : undefined);

export class SwitchPorts implements PowerDevice {
  readonly #client: IfMibClient;
  readonly #settings: SwitchSettings;
  readonly #logger: Logger;
  /** plug → ifIndex, resolved once per invocation. */
  readonly #ifIndex = new Map<string, number>();
  readonly #columns = new Map<string, Map<number, string>>();
  #guardChecked = false;
  #unfenceChecked = false;

  constructor(client: IfMibClient, settings: SwitchSettings, logger: Logger) {
    this.#client = client;
    this.#settings = settings;
    this.#logger = logger;
  }

  static async open(settings: SwitchSettings, ctx: OperationContext): Promise<SwitchPorts> {
    const client = await openDeviceClient(settings.target, ctx.logger);
    return new SwitchPorts(client, settings, ctx.logger);
  }

  /** One name column, read once per invocation (a walk of the interface table). */
  async #column(oid: string, ctx: OperationContext): Promise<Map<number, string>> {
    let values = this.#columns.get(oid);
    if (!values) {
      values = new Map();
      for (const [i, v] of byIndex(oid, await this.#client.subtree(oid, within(ctx)))) {
        const s = text(v);
        if (s !== undefined) values.set(i, s);
      }
      this.#columns.set(oid, values);
    }
    return values;
  }

  async #resolve(plug: string | undefined, ctx: OperationContext): Promise<number> {
    if (plug === undefined) throw new FenceError('bad-input', 'a switch port must be named with plug');
    const known = this.#ifIndex.get(plug);
    if (known !== undefined) return known;
    let index = plugAsIfIndex(plug);
    if (index === undefined) {
      // Every column, even after an ifDescr match: a name that is also another port's ifAlias is ambiguous.
      const columns = [];
      for (const { column, oid } of NAME_COLUMNS) columns.push({ column, values: await this.#column(oid, ctx) });
      const found = resolvePortName(plug, columns);
      if (found === undefined) throw noSuchPortName(plug, Math.max(...columns.map((c) => c.values.size)));
      this.#logger.debug(`port "${plug}" is the ${found.column} of ifIndex ${found.ifIndex}`);
      index = found.ifIndex;
    }
    this.#ifIndex.set(plug, index);
    return index;
  }

  #get(oid: string, plug: string, ctx: OperationContext): Promise<number> {
    return onPlugRow(this.#client.getInt(oid, { ...within(ctx), enumerated: true }), `the switch has no interface for port ${plug}`);
  }

  async getPower(plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    const ifIndex = await this.#resolve(plug, ctx);
    const admin = adminState(await this.#get(`${OID.ifAdminStatus}.${ifIndex}`, plug!, ctx), plug!);
    if (admin === 'off' && this.#settings.confirmOperStatus) {
      const oper = await this.#get(`${OID.ifOperStatus}.${ifIndex}`, plug!, ctx);
      if (!operLinkDown(oper)) {
        this.#logger.debug(`port ${plug}: ifAdminStatus down, ifOperStatus still ${operName(oper)}: not off yet`);
        return 'on';
      }
    }
    return admin;
  }

  async setPower(plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    const ifIndex = await this.#resolve(plug, ctx);
    if (state === 'off') await this.#guardManagementPort(ctx);
    if (state === 'on') await this.#guardUnfence(ctx);
    await this.#client.set([{ oid: `${OID.ifAdminStatus}.${ifIndex}`, type: 'integer', value: state === 'on' ? ADMIN.up : ADMIN.down }], within(ctx));
  }

  /**
   * Before the first port goes down: is the address we talk to configured on any port of this invocation?
   * Checked for all plugs at once, so a refusal leaves every port as it was.
   */
  async #guardManagementPort(ctx: OperationContext): Promise<void> {
    if (this.#guardChecked) return;
    const address = await this.#peerAddress();
    const oid = ipAdEntIfIndexOid(address);
    let mgmtIfIndex: number | undefined;
    if (oid === undefined) {
      this.#logger.debug(`self-port guard: ${address} is not an IPv4 address, ipAddrTable cannot place it`);
    } else {
      try {
        mgmtIfIndex = await this.#client.getInt(oid, within(ctx));
        this.#logger.debug(`self-port guard: management address ${address} is on ifIndex ${mgmtIfIndex}`);
      } catch (err) {
        if (!(err instanceof SnmpNoSuchObjectError)) throw err;
        this.#logger.debug(`self-port guard: the switch does not list ${address} in ipAddrTable; cannot tell its port`);
      }
    }
    for (const plug of this.#settings.plugs) {
      const refusal = managementPortRefusal(plug, await this.#resolve(plug, ctx), address, mgmtIfIndex);
      if (refusal) throw refusal;
    }
    this.#guardChecked = true;
  }

  /**
   * unfence_after_reboot: before the first port goes up, every port of this invocation that is down must have
   * gone down before this host booted (unfence.ts). Checked for all plugs at once, so a refusal switches
   * nothing on. The host's uptime is read after the switch's answers: the longer the reads take, the longer
   * this host looks up, which can only refuse more.
   */
  async #guardUnfence(ctx: OperationContext): Promise<void> {
    const node = this.#settings.unfenceNode;
    if (node === undefined || this.#unfenceChecked) return;
    const ports: PortDownTime[] = [];
    for (const plug of this.#settings.plugs) {
      const ifIndex = await this.#resolve(plug, ctx);
      const admin = adminState(await this.#get(`${OID.ifAdminStatus}.${ifIndex}`, plug, ctx), plug);
      if (admin === 'on') {
        ports.push({ plug, admin, oper: undefined, sysUpTime: undefined, ifLastChange: undefined });
        continue;
      }
      const [sysUpTime, oper, ifLastChange] = await this.#getPresent([OID.sysUpTime, `${OID.ifOperStatus}.${ifIndex}`, `${OID.ifLastChange}.${ifIndex}`], ctx);
      this.#logger.debug(`unfence_after_reboot: port ${plug}: sysUpTime ${sysUpTime?.value ?? '-'}, ifOperStatus ${oper?.value ?? '-'}, ifLastChange ${ifLastChange?.value ?? '-'}`);
      ports.push({ plug, admin, oper: oper?.type === 'integer' ? int(oper) : undefined, sysUpTime: timeticks(sysUpTime), ifLastChange: timeticks(ifLastChange) });
    }
    const host = this.#settings.host ?? THIS_HOST;
    const facts = { nodename: node, hostname: host.hostname(), hostUptimeS: await host.uptimeS(), ports };
    this.#logger.debug(`unfence_after_reboot: ${facts.hostname} has been up ${facts.hostUptimeS} s`);
    const refusal = unfenceRefusal(facts);
    if (refusal) throw refusal;
    this.#unfenceChecked = true;
  }

  /**
   * GET in one request, so that the values are of one moment of the switch's clock; a missing object is
   * undefined. One missing fails the whole GET: then each is asked alone, to tell which one the switch lacks.
   */
  async #getPresent(oids: readonly string[], ctx: OperationContext): Promise<(SnmpValue | undefined)[]> {
    try {
      return await this.#client.get(oids, within(ctx));
    } catch (err) {
      if (!(err instanceof SnmpNoSuchObjectError)) throw err;
    }
    const values: (SnmpValue | undefined)[] = [];
    for (const oid of oids) {
      try {
        values.push((await this.#client.get([oid], within(ctx)))[0]);
      } catch (err) {
        if (!(err instanceof SnmpNoSuchObjectError)) throw err;
        this.#logger.debug(`unfence_after_reboot: ${err.message}`);
        values.push(undefined);
      }
    }
    return values;
  }

  /** The IPv4 address requests go to: a host name is resolved as the UDP socket resolves it (dns.lookup). */
  async #peerAddress(): Promise<string> {
    const { host, transport } = this.#settings.target;
    if (transport === 'udp6' || isIPv4(host)) return host;
    try {
      return (await lookup(host, { family: 4 })).address;
    } catch {
      return host;
    }
  }

  async list(ctx: OperationContext): Promise<PlugInfo[]> {
    // fence_ifmib's listing: ifDescr as the plug, ifAlias beside it; and the state it never shows.
    const descr = await this.#column(OID.ifDescr, ctx);
    const alias = await this.#column(OID.ifAlias, ctx);
    const admin = byIndex(OID.ifAdminStatus, await this.#client.subtree(OID.ifAdminStatus, within(ctx)));
    return [...descr].map(([ifIndex, name]) => ({
      id: name,
      alias: alias.get(ifIndex) ?? '',
      state: adminStateForList(int(admin.get(ifIndex))),
    }));
  }

  /** Pacemaker's monitor: the switch answers IF-MIB with these credentials. */
  async monitor(ctx: OperationContext): Promise<void> {
    await this.#client.getInt(OID.ifNumber, within(ctx));
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}
