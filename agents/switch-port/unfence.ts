// unfence_after_reboot: whether an unfence (`on`) may switch a fenced node's ports back on. After a fabric
// fence the node may still run what it ran before (a guest that writes to the shared disk); only once it has
// rebooted is re-enabling its ports safe, and only the node itself knows when it booted. So the agent must run
// on that node, and every port it is to switch on must have gone down before this host booted: the switch
// says how long a port has been down (sysUpTime - ifLastChange), this host how long it has been up
// (/proc/uptime). Pure decisions here; the reads are in device.ts. Facts and limits: docs/switch-port.md.
import type { PowerState } from '../../lib/agent/declaration.js';
import { FenceError } from '../../lib/errors.js';
import { namesThisHost } from '../../lib/host-name.js';
import { operLinkDown, operName } from './if-mib.js';

/** What the switch says of one port of the invocation; the last three read in one GET (one moment of the switch). */
export interface PortDownTime {
  /** The plug as the user wrote it, for messages. */
  readonly plug: string;
  readonly admin: PowerState;
  /**
   * IF-MIB ifOperStatus: ifLastChange dates the port's current *operational* state, so it dates the fence
   * only once this reads the link down. Undefined when missing or not an INTEGER.
   */
  readonly oper: number | undefined;
  /** SNMPv2-MIB sysUpTime.0 in TimeTicks (1/100 s); undefined when missing or not TimeTicks. */
  readonly sysUpTime: number | undefined;
  /** IF-MIB ifLastChange.<ifIndex> in TimeTicks; undefined when missing or not TimeTicks. */
  readonly ifLastChange: number | undefined;
}

export interface UnfenceFacts {
  /** nodename as given (Pacemaker's target); undefined or '' when not given. */
  readonly nodename: string | undefined;
  /** This host's name (os.hostname()). */
  readonly hostname: string;
  /** This host's uptime in seconds (parseProcUptime). */
  readonly hostUptimeS: number;
  readonly ports: readonly PortDownTime[];
}

const refusal = (message: string) => new FenceError('bad-input', `unfence_after_reboot: ${message}`);

/**
 * The host half of the rule, decidable before the switch is contacted: the unfence runs on the node it
 * unfences. Undefined when it does.
 */
export function hostRefusal(nodename: string | undefined, hostname: string): FenceError | undefined {
  if (nodename === undefined || nodename === '') return new FenceError('bad-input', 'unfence_after_reboot needs nodename (the node being unfenced)');
  if (!namesThisHost(nodename, hostname)) {
    return refusal(`the unfence of ${nodename} must run on ${nodename} itself, after its reboot (this host is ${hostname})`);
  }
  return undefined;
}

/** Seconds, for messages: whole seconds rounded down (a fraction says nothing to an admin here). */
const wholeS = (s: number) => String(Math.floor(s));

/**
 * The whole rule. Undefined: every port this `on` would switch went down before this host booted, so the
 * node has rebooted since its fence. Otherwise the refusal, for the first port that does not show it. Ports
 * already up are not looked at: an `on` sends them nothing.
 */
export function unfenceRefusal(facts: UnfenceFacts): FenceError | undefined {
  const host = hostRefusal(facts.nodename, facts.hostname);
  if (host) return host;
  const node = facts.nodename!;
  if (!Number.isFinite(facts.hostUptimeS) || facts.hostUptimeS < 0) return refusal(`cannot tell how long ${node} has been up`);
  for (const port of facts.ports) {
    if (port.admin === 'on') continue;
    const { sysUpTime, ifLastChange, oper } = port;
    // net-snmp shows a SET's ifAdminStatus at once but ifOperStatus and ifLastChange only after its next
    // interface cache reload (up to 3 s): until then ifLastChange is the stamp of the change before.
    if (oper === undefined || !operLinkDown(oper)) {
      const shown = oper === undefined ? 'no ifOperStatus' : `ifOperStatus ${operName(oper)}`;
      return refusal(`the switch does not show port ${port.plug}'s link down yet (${shown}), so its ifLastChange does not date the fence: try again in a few seconds`);
    }
    if (!isTimeTicks(sysUpTime)) return refusal(`the switch gave no sysUpTime with port ${port.plug}, so how long it has been down is unknown`);
    if (!isTimeTicks(ifLastChange)) return refusal(`the switch gave no ifLastChange for port ${port.plug}, so how long it has been down is unknown`);
    if (ifLastChange > sysUpTime) {
      return refusal(`the switch's ifLastChange of port ${port.plug} (${ifLastChange}) is later than its sysUpTime (${sysUpTime}), so how long the port has been down is unknown`);
    }
    const downForS = (sysUpTime - ifLastChange) / 100;
    if (!(facts.hostUptimeS < downForS)) {
      return refusal(`${node} has been up ${wholeS(facts.hostUptimeS)} s, since before port ${port.plug} went down ${wholeS(downForS)} s ago: reboot it, then unfence`);
    }
  }
  return undefined;
}

/** TimeTicks are an unsigned 32-bit count (RFC 2578). */
function isTimeTicks(v: number | undefined): v is number {
  return v !== undefined && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/**
 * The first field of /proc/uptime: seconds since boot (of this time namespace), as the kernel prints it,
 * "12345.67 23456.78\n". Anything else is not an uptime to decide on.
 */
export function parseProcUptime(text: string): number {
  const m = /^(\d{1,12})\.(\d{2}) \d{1,15}\.\d{2}\n$/.exec(text);
  if (!m) throw refusal(`cannot read this host's uptime: /proc/uptime says ${JSON.stringify(text.slice(0, 40))}`);
  return Number(`${m[1]}.${m[2]}`);
}
