// One rig per real peer: it starts the peer once, puts the target back on before each run, applies a
// fault and takes it away, builds an agent's stdin for that fault, runs the agent where it must run (the
// switch's manager namespace), and reads the target's real state from the peer side: the process the
// BMC or outlet powers, the veth's kernel link flags. Everything started here is stopped by PID or by
// the namespaces the lab created; nftables tables are our own and deleted after each run.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { startPdu, type PduPeer } from '../peers/snmpd-pdu.js';
import { pduOutlets, startApcSsh, type ApcSshPeer } from '../peers/apc-ssh.js';
import { startSwitchLab, type SwitchLab } from '../peers/netns-switch.js';
import { injectLoss } from '../support/net-faults.js';
import { BIN, runAgentBinary, type AgentRun } from '../support/run-agent.js';
import type { Fault, FaultName } from './faults.js';

export type RigName = 'ipmi' | 'apc-snmp' | 'apc-ssh' | 'switch';

/** The timing options every run gets; the bound of a failed off is login_timeout + power_timeout. */
export interface Timing {
  readonly loginTimeoutS: number;
  readonly powerTimeoutS: number;
  readonly shellTimeoutS: number;
  readonly statusSleepS: number;
}

export const boundMs = (t: Timing): number => (t.loginTimeoutS + t.powerTimeoutS) * 1000;

export interface Rig {
  readonly name: RigName;
  /** Faults this peer cannot show, with the reason (reported in RELIABILITY.md). */
  readonly notApplicable: Partial<Record<FaultName, string>>;
  /** What an explicit refusal must say, per refusal fault. */
  readonly refusalMessage: Partial<Record<FaultName, RegExp>>;
  /** Put the target back on, every fault off. */
  reset(): Promise<void>;
  /** Apply a fault; returns its undo. */
  apply(fault: Fault): Promise<() => Promise<void>>;
  /** stdin (key=value lines) for an off of the target under `fault`. */
  stdin(fault: Fault, timing: Timing, extra?: Record<string, string>): string;
  run(binary: string, stdin: string, hardLimitMs: number): Promise<AgentRun>;
  /** The real state, read on the peer side. */
  targetOn(): boolean;
  stop(): Promise<void>;
}

const lines = (o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const timingOptions = (t: Timing) => ({
  login_timeout: t.loginTimeoutS,
  power_timeout: t.powerTimeoutS,
  shell_timeout: t.shellTimeoutS,
  stonith_status_sleep: t.statusSleepS,
  power_wait: 0,
});

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) return false;
    await sleep(20);
  }
  return true;
}

function lossOn(ports: number[], fault: Fault, proto: 'udp' | 'tcp' = 'udp') {
  const l = fault.loss!;
  return injectLoss({ ports, percent: l.percent, toPeer: true, fromPeer: l.both, proto });
}

// ---------------------------------------------------------------- IPMI: ipmi_sim

export async function ipmiRig(): Promise<Rig> {
  // ipmi_sim's chassis script, made faulty through its mode file (test/peers/ipmi-sim.ts).
  const bmc: IpmiSim = await startIpmiSim({ hostOn: true });
  const chassis = (...args: string[]) => execFileSync(`${bmc.dir}/chassis.sh`, args, { timeout: 10_000, stdio: 'ignore' });
  const setMode = (m: 'normal' | 'lying' | 'flapping') => writeFileSync(`${bmc.dir}/mode`, m);
  return {
    name: 'ipmi',
    notApplicable: { 'no-such-plug': 'a BMC has one chassis: there is no plug to get wrong' },
    refusalMessage: {
      'wrong-credentials': /Unable to login|password|authenticat/i,
      'low-privilege': /privilege/i,
    },
    async reset() {
      bmc.thaw();
      chassis('flap-stop');
      setMode('normal');
      bmc.cancelPending();
      bmc.setDelays({ powerOnDelayMs: 0, powerOffDelayMs: 0 });
      if (!bmc.isHostRunning()) chassis('now-on');
      if (!(await waitUntil(() => bmc.isHostRunning(), 5000))) throw new Error('ipmi rig: the host does not come back on');
    },
    async apply(fault) {
      if (fault.loss) {
        const l = lossOn([bmc.port], fault);
        return async () => l.remove();
      }
      switch (fault.name) {
        case 'frozen':
          bmc.freeze();
          return async () => bmc.thaw();
        case 'lying':
          setMode('lying');
          break;
        case 'flapping':
          setMode('flapping');
          chassis('flap-start');
          break;
        default:
          break;
      }
      return async () => undefined;
    },
    stdin(fault, timing, extra = {}) {
      const creds: Record<string, string> =
        fault.name === 'wrong-credentials'
          ? { username: bmc.users.admin.name, password: 'not-the-password' }
          : fault.name === 'low-privilege'
            ? { username: bmc.users.user.name, password: bmc.users.user.password, privlvl: 'user' }
            : { username: bmc.users.admin.name, password: bmc.users.admin.password };
      if (fault.name === 'slow') bmc.setDelays({ powerOffDelayMs: (timing.powerTimeoutS + 3) * 1000 });
      return lines({ action: 'off', ip: bmc.host, ipport: bmc.port, lanplus: 1, cipher: 3, ...creds, ...timingOptions(timing), ...extra });
    },
    run: (binary, stdin, hardLimitMs) => runAgentBinary(binary, { stdin, timeoutMs: hardLimitMs }),
    targetOn: () => bmc.isHostRunning(),
    async stop() {
      try {
        chassis('flap-stop');
      } catch {
        // the BMC dir may be gone
      }
      bmc.cancelPending();
      await bmc.stop();
    },
  };
}

// ---------------------------------------------------------------- APC: snmpd + PowerNet emulator (and its SSH card)

const OUTLET = 3;

/**
 * A flapping outlet: toggled from outside every 0.3 s until a command (SNMP SET or CLI) reached the
 * emulator. A command that lands between our read and our flip is honoured: the flip is undone.
 */
function flapOutlet(pdu: PduPeer, n: number): () => void {
  const base = pdu.readState().setCount;
  let stopped = false;
  const tick = () => {
    if (stopped || pdu.readState().setCount !== base) return;
    const on = pdu.isOutletPowered(n);
    pdu.setOutletState(n, !on);
    if (pdu.readState().setCount !== base && !on) pdu.setOutletState(n, false);
    timer = setTimeout(tick, 300);
  };
  let timer = setTimeout(tick, 50);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function apcCommon(pdu: PduPeer) {
  return {
    async reset() {
      try {
        pdu.thaw();
      } catch {
        // not frozen
      }
      for (let n = 1; n <= pdu.outletCount; n++) pdu.setFault(n, null);
      if (!pdu.isOutletPowered(OUTLET)) pdu.setOutletState(OUTLET, true);
      if (!(await waitUntil(() => pdu.isOutletPowered(OUTLET), 5000))) throw new Error('apc rig: the outlet does not come back on');
    },
    async applyDeviceFault(fault: Fault, timing: { powerTimeoutS: number }): Promise<(() => Promise<void>) | undefined> {
      switch (fault.name) {
        case 'lying':
          pdu.setFault(OUTLET, { kind: 'lying' });
          return async () => undefined;
        case 'slow':
          pdu.setFault(OUTLET, { kind: 'slow', seconds: timing.powerTimeoutS + 3 });
          return async () => {
            // the pending change would land during a later run: drop it with the fault, then restore
            pdu.setFault(OUTLET, null);
            const s = pdu.readState();
            const o = s.outlets.find((x) => x.index === OUTLET)!;
            if (o.pending) pdu.setOutletState(OUTLET, true);
          };
        case 'flapping': {
          const stop = flapOutlet(pdu, OUTLET);
          return async () => stop();
        }
        default:
          return undefined;
      }
    },
  };
}

export async function apcSnmpRig(timing: Timing): Promise<Rig> {
  const pdu = await startPdu({ outlets: 8, initiallyOn: true });
  const common = apcCommon(pdu);
  const v3 = pdu.v3.rw;
  return {
    name: 'apc-snmp',
    notApplicable: {},
    refusalMessage: {
      'wrong-credentials': /auth|digest|login|credential/i,
      'low-privilege': /not writ|noAccess|denied|read-only|readOnly|write access|may not/i,
      'no-such-plug': /no such|not found|no outlet|has no|does not have|unknown outlet/i,
    },
    reset: common.reset,
    async apply(fault) {
      if (fault.loss) {
        const l = lossOn([pdu.port], fault);
        return async () => l.remove();
      }
      if (fault.name === 'frozen') {
        pdu.freeze();
        return async () => pdu.thaw();
      }
      return (await common.applyDeviceFault(fault, timing)) ?? (async () => undefined);
    },
    stdin(fault, t, extra = {}) {
      const base = { action: 'off', ip: pdu.host, ipport: pdu.port, plug: fault.name === 'no-such-plug' ? 42 : OUTLET, ...timingOptions(t) };
      if (fault.name === 'wrong-credentials') {
        return lines({
          ...base, snmp_version: 3, username: v3.username, password: 'not-the-auth-key', snmp_sec_level: 'authPriv',
          snmp_auth_prot: v3.authProtocol, snmp_priv_prot: v3.privProtocol, snmp_priv_passwd: v3.privPassword, ...extra,
        });
      }
      const community = fault.name === 'low-privilege' ? pdu.communities.ro : pdu.communities.rw;
      return lines({ ...base, snmp_version: 1, community, ...extra });
    },
    run: (binary, stdin, hardLimitMs) => runAgentBinary(binary, { stdin, timeoutMs: hardLimitMs, env: { MIBS: '' } }),
    targetOn: () => pdu.isOutletPowered(OUTLET),
    stop: () => pdu.stop(),
  };
}

export async function apcSshRig(timing: Timing): Promise<Rig> {
  const pdu = await startPdu({ outlets: 8, initiallyOn: true });
  const password = 'apc-matrix-pw';
  let card: ApcSshPeer;
  try {
    card = await startApcSsh({
      outlets: pduOutlets(pdu),
      users: [
        { username: 'apc', password },
        { username: 'viewer', password, readOnly: true },
      ],
    });
  } catch (err) {
    await pdu.stop();
    throw err;
  }
  const common = apcCommon(pdu);
  return {
    name: 'apc-ssh',
    notApplicable: { frozen: 'the SSH card is served in the test process itself: SIGSTOP would stop the runner' },
    refusalMessage: {
      'wrong-credentials': /auth|login|password|credential/i,
      'low-privilege': /E104|denial|denied|privilege/i,
      'no-such-plug': /E102|no such|not found|no outlet|has no|unknown outlet/i,
    },
    reset: common.reset,
    async apply(fault) {
      if (fault.loss) {
        const l = lossOn([card.port], fault, 'tcp');
        return async () => l.remove();
      }
      return (await common.applyDeviceFault(fault, timing)) ?? (async () => undefined);
    },
    stdin(fault, t, extra = {}) {
      return lines({
        action: 'off', ssh: 1, ip: card.host, ipport: card.port, ssh_host_key_fingerprint: card.hostKey.fingerprint,
        username: fault.name === 'low-privilege' ? 'viewer' : 'apc',
        password: fault.name === 'wrong-credentials' ? 'not-the-password' : password,
        plug: fault.name === 'no-such-plug' ? 42 : OUTLET, ...timingOptions(t), ...extra,
      });
    },
    run: (binary, stdin, hardLimitMs) => runAgentBinary(binary, { stdin, timeoutMs: hardLimitMs }),
    targetOn: () => pdu.isOutletPowered(OUTLET),
    async stop() {
      await card.stop();
      await pdu.stop();
    },
  };
}

// ---------------------------------------------------------------- switch: snmpd in a namespace, real veths

/**
 * Loss on the management link at the switch's end (its namespace, its management port, SNMP's port only):
 * the agent's own sends never fail locally, as on a real network; "to" drops requests, "both" replies too.
 */
function managementLoss(lab: SwitchLab, fault: Fault): () => void {
  const l = fault.loss!;
  const drop = l.percent >= 100 ? 'drop' : `numgen random mod 100 < ${l.percent} drop`;
  const table = `fk_fault_${process.pid}`;
  const rules = [
    `add table inet ${table}`,
    `add chain inet ${table} in { type filter hook input priority -10; policy accept; }`,
    `add rule inet ${table} in iifname "sw-mgmt" udp dport 161 ${drop}`,
  ];
  if (l.both) {
    rules.push(`add chain inet ${table} out { type filter hook output priority -10; policy accept; }`);
    rules.push(`add rule inet ${table} out oifname "sw-mgmt" udp sport 161 ${drop}`);
  }
  execFileSync('ip', ['netns', 'exec', lab.ns.switch, 'nft', '-f', '-'], { input: rules.join('\n') });
  return () => {
    try {
      execFileSync('ip', ['netns', 'exec', lab.ns.switch, 'nft', 'delete', 'table', 'inet', table], { stdio: 'ignore' });
    } catch {
      // gone with the namespace
    }
  };
}

export async function switchRig(): Promise<Rig> {
  const lab = await startSwitchLab();
  const port = lab.ports.node1;
  let frozen = false;
  return {
    name: 'switch',
    notApplicable: {
      lying: "net-snmp's IF-MIB SET really changes the link and its reads are cached ~3 s: a lying switch cannot be built on it",
      slow: "net-snmp's ifAdminStatus SET is synchronous: no slow switch without a fake one",
      flapping: 'changes made outside SNMP show in ifTable only after ~3 s: a flapping port would read stale',
    },
    refusalMessage: {
      'wrong-credentials': /auth|digest|login|credential/i,
      'low-privilege': /not writ|noAccess|denied|read-only|readOnly|write access|may not/i,
      'no-such-plug': /no such|not found|no port|has no|does not have|unknown port/i,
    },
    async reset() {
      if (frozen) {
        lab.freezeSnmpd(false);
        frozen = false;
      }
      if (!lab.kernelAdminUp(port) || !lab.kernelAdminUp(lab.ports.mgmt)) await lab.restorePorts();
      if (!(await waitUntil(() => lab.kernelAdminUp(port), 5000))) throw new Error('switch rig: the port does not come back up');
    },
    async apply(fault) {
      if (fault.loss) {
        const remove = managementLoss(lab, fault);
        return async () => remove();
      }
      if (fault.name === 'frozen') {
        lab.freezeSnmpd(true);
        frozen = true;
        return async () => {
          lab.freezeSnmpd(false);
          frozen = false;
        };
      }
      return async () => undefined;
    },
    stdin(fault, t, extra = {}) {
      const base = { action: 'off', ip: lab.mgmtAddress, plug: fault.name === 'no-such-plug' ? 99 : port.ifIndex, ...timingOptions(t) };
      if (fault.name === 'wrong-credentials') {
        return lines({
          ...base, snmp_version: 3, username: lab.v3.username, password: 'not-the-auth-key', snmp_sec_level: 'authPriv',
          snmp_auth_prot: lab.v3.authProtocol, snmp_priv_prot: lab.v3.privProtocol, snmp_priv_passwd: lab.v3.privPassword, ...extra,
        });
      }
      return lines({ ...base, snmp_version: '2c', community: fault.name === 'low-privilege' ? lab.community.ro : lab.community.rw, ...extra });
    },
    async run(binary, stdin, hardLimitMs) {
      const env: NodeJS.ProcessEnv = { ...process.env, MIBS: '' };
      delete env.NODE_EXTRA_CA_CERTS;
      delete env.PCMK_service;
      const r = await lab.inManager([binary.includes('/') ? binary : `${BIN}/${binary}`], { input: stdin, timeoutMs: hardLimitMs, env });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr, ms: r.ms };
    },
    targetOn: () => lab.kernelAdminUp(port),
    stop: () => lab.stop(),
  };
}
