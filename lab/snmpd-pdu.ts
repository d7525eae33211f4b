// A real APC PDU peer for tests, benchmarks and `fencekit lab`: net-snmp's own snmpd on a free loopback
// port, with the PowerNet-MIB outlet tables served by powernet-emulator.py (pass_persist), where every
// outlet that is on powers a real process. "Off" can therefore be checked without SNMP, through /proc.
//
// Everything this starts is stopped by PID (snmpd, its emulator, the outlet processes, each checked
// against its recorded start time so a recycled PID is never hit) and its temp dir is removed.
import { labAsset } from './assets.js';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procStat } from '../lib/proc.js';

export const PYTHON = '/usr/bin/python3';
export const SNMPD = '/usr/sbin/snmpd';
export const EMULATOR = labAsset('powernet-emulator.py');

/** sysObjectID values that select an APC family in fence_apc_snmp (reference §4.2). */
export const APC_SYS_OBJECT_ID = {
  rackPdu: '.1.3.6.1.4.1.318.1.3.4.5', // rPDU tables (…318.1.1.12)
  masterSwitchV6: '.1.3.6.1.4.1.318.1.3.4.6', // status from sPDUOutletCtl, control via the rPDU column
  masterSwitchPlus: '.1.3.6.1.4.1.318.1.3.4.4', // MSP tables (…318.1.1.6): served with tables: ['msp']
  masterSwitch: '.1.3.6.1.4.1.318.1.3.4.2', // "anything else": sPDUOutletCtl read/write
} as const;

/** PowerNet-MIB OIDs the emulator serves (append .N for outlet N). */
export const POWERNET = {
  rPduOutletControlCommand: '1.3.6.1.4.1.318.1.1.12.3.3.1.1.4',
  rPduOutletControlName: '1.3.6.1.4.1.318.1.1.12.3.3.1.1.2',
  rPduOutletStatusState: '1.3.6.1.4.1.318.1.1.12.3.5.1.1.4',
  rPduOutletStatusName: '1.3.6.1.4.1.318.1.1.12.3.5.1.1.2',
  rPduIdentDeviceNumOutlets: '1.3.6.1.4.1.318.1.1.12.1.8.0',
  sPduOutletCtl: '1.3.6.1.4.1.318.1.1.4.4.2.1.3',
  sPduOutletCtlName: '1.3.6.1.4.1.318.1.1.4.4.2.1.4',
  sPduOutletControlTableSize: '1.3.6.1.4.1.318.1.1.4.4.1.0',
  // With tables: ['rpdu2']: rPDU2OutletSwitchedStatusState is off(1) on(2); the command column immediateOn(1) immediateOff(2).
  rPdu2OutletSwitchedStatusState: '1.3.6.1.4.1.318.1.1.26.9.2.3.1.5',
  rPdu2OutletSwitchedStatusName: '1.3.6.1.4.1.318.1.1.26.9.2.3.1.3',
  rPdu2OutletSwitchedControlCommand: '1.3.6.1.4.1.318.1.1.26.9.2.4.1.5',
  // With tables: ['msp'] (append .1.1.N, switch 1): on(1)/off(2) read, immediateOnMSP(1)/immediateOffMSP(3) written.
  sPduOutletStatusMspOutletState: '1.3.6.1.4.1.318.1.1.6.7.1.1.5',
  sPduOutletStatusMspOutletName: '1.3.6.1.4.1.318.1.1.6.7.1.1.4',
  sPduOutletControlMspOutletCommand: '1.3.6.1.4.1.318.1.1.6.5.1.1.5',
} as const;

/** Extra PowerNet tables the emulator can serve beside rPDU and sPDU. */
export type PduExtraTable = 'rpdu2' | 'msp';

export type OutletFault =
  | { kind: 'refuse' } // SET -> commitFailed (v1: genErr)
  | { kind: 'lying' } // SET acknowledged, nothing changes
  | { kind: 'slow'; seconds: number } // SET acknowledged, the change happens later
  | { kind: 'unknown-value'; value: number } // status columns read this value (e.g. 4)
  | null;

export interface PduOutletState {
  index: number;
  name: string;
  /** What the PDU believes. */
  on: boolean;
  pid: number | null;
  pidStartTime: number | null;
  fault: OutletFault;
  pending: { command: number; due: number } | null;
}

export interface PduState {
  version: 1;
  outlets: PduOutletState[];
  emulatorPid: number | null;
  /** SETs of an outlet command column that reached the emulator. */
  setCount: number;
}

export interface PduV3User {
  username: string;
  securityLevel: 'authPriv';
  authProtocol: 'SHA' | 'SHA256';
  authPassword: string;
  privProtocol: 'AES' | 'DES';
  privPassword: string;
}

export interface PduOptions {
  outlets?: number; // default 8
  sysObjectID?: string; // default APC_SYS_OBJECT_ID.rackPdu
  names?: string[]; // default "Outlet N"
  initiallyOn?: boolean | boolean[]; // default true
  tables?: PduExtraTable[]; // default none
  /** Per outlet: a command that outlet powers instead of a process of its own; called with 1 / 0. */
  outletHooks?: (readonly string[] | null)[];
  /** Fixed UDP port (a PDU replaced at the same address); default: a free one. */
  port?: number;
}

export interface PduPeer {
  host: string;
  port: number;
  communities: { ro: string; rw: string };
  /** rwDes: DES privacy, net-snmp's default for authPriv and the other choice fence_apc_snmp offers. */
  v3: { rw: PduV3User; ro: PduV3User; rwSha256: PduV3User; rwDes: PduV3User };
  sysObjectID: string;
  outletCount: number;
  snmpdPid: number;
  stateFile: string;
  readState(): PduState;
  /** Index n-1 holds outlet n's recorded process, undefined when the PDU has it off. */
  outletPids(): (number | undefined)[];
  /** Whether outlet n's process really runs (/proc/PID/stat exists, is not a zombie, same start time). */
  isOutletPowered(n: number): boolean;
  setFault(n: number, fault: OutletFault): void;
  /** Switch an outlet behind SNMP's back, synchronously (someone at the rack). */
  setOutletState(n: number, on: boolean): void;
  /**
   * A power command through another management path (the card's CLI), with the outlet's fault applied as
   * to an SNMP SET. Returns the emulator's answer: DONE, commit-failed, or no-such-outlet.
   */
  commandOutlet(n: number, command: 'on' | 'off' | 'reboot'): string;
  /** SIGSTOP snmpd: it then drops nothing but answers nothing, like a hung management card. */
  freeze(): void;
  thaw(): void;
  /** Environment for snmpget/snmpset/snmpwalk cross-checks: no MIBs, no writes under /var/lib/snmp. */
  cliEnv(): NodeJS.ProcessEnv;
  /** snmpd's and the emulator's output so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

const V3_USERS = {
  rw: { username: 'fkadmin', authProtocol: 'SHA', authPassword: 'fk-auth-admin', privPassword: 'fk-priv-admin' },
  ro: { username: 'fkreader', authProtocol: 'SHA', authPassword: 'fk-auth-reader', privPassword: 'fk-priv-reader' },
  rwSha256: { username: 'fkadmin256', authProtocol: 'SHA256', authPassword: 'fk-auth-256', privPassword: 'fk-priv-256' },
  rwDes: { username: 'fkadmindes', authProtocol: 'SHA', authPassword: 'fk-auth-des', privPassword: 'fk-priv-des', privProtocol: 'DES' },
} as const;

function v3User(u: (typeof V3_USERS)[keyof typeof V3_USERS]): PduV3User {
  return { securityLevel: 'authPriv', privProtocol: 'AES', ...u };
}

const LOG_LIMIT = 64 * 1024;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;

function requireTool(path: string, pkg: string): void {
  // A missing peer must fail the test that needs it, never skip it.
  if (!existsSync(path)) throw new Error(`${path} not found: apt-get install -y --no-install-recommends ${pkg}`);
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

// ---- a minimal SNMPv2c GET, hand-encoded, so readiness is checked without the client under test.
function tlv(tag: number, body: Buffer): Buffer {
  if (body.length > 127) throw new Error('probe too long for short-form BER length');
  return Buffer.concat([Buffer.from([tag, body.length]), body]);
}
function berInt(n: number): Buffer {
  return tlv(0x02, Buffer.from([(n >> 24) & 0x7f, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]));
}
function berOid(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const bytes = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}
function v2cGet(community: string, oid: string, requestId: number): Buffer {
  const varbind = tlv(0x30, Buffer.concat([berOid(oid), Buffer.from([0x05, 0x00])]));
  const pdu = tlv(0xa0, Buffer.concat([berInt(requestId), berInt(0), berInt(0), tlv(0x30, varbind)]));
  return tlv(0x30, Buffer.concat([berInt(1), tlv(0x04, Buffer.from(community)), pdu]));
}

/** Resolves once snmpd answers a GET that only the emulator can answer (so pass_persist is up too). */
async function waitUntilAnswering(port: number, community: string, child: ChildProcess, log: () => string): Promise<void> {
  const socket = createSocket('udp4');
  const limit = Date.now() + START_TIMEOUT_MS;
  try {
    let answered = false;
    socket.on('message', () => {
      answered = true;
    });
    for (let id = 1; !answered; id++) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`snmpd exited during start:\n${log()}`);
      if (Date.now() > limit) throw new Error(`snmpd on port ${port} did not answer within ${START_TIMEOUT_MS} ms:\n${log()}`);
      socket.send(v2cGet(community, POWERNET.rPduIdentDeviceNumOutlets, id), port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    socket.close();
  }
}

// ---- processes, by PID and start time only.
function isRunning(pid: number, startTime: number | null): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z' && (startTime === null || s.startTime === startTime);
}

async function waitGone(pid: number, startTime: number | null, ms: number): Promise<boolean> {
  const limit = Date.now() + ms;
  while (isRunning(pid, startTime)) {
    if (Date.now() > limit) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

function signalIfSame(pid: number, startTime: number | null, signal: NodeJS.Signals, group = false): void {
  if (!isRunning(pid, startTime)) return;
  try {
    process.kill(group ? -pid : pid, signal);
  } catch {
    // Gone between the check and the signal: nothing to stop.
  }
}

function snmpdConf(port: number, sysObjectID: string, stateFile: string): string {
  const u = V3_USERS;
  const createUser = (x: (typeof V3_USERS)[keyof typeof V3_USERS]) =>
    `createUser ${x.username} ${x.authProtocol === 'SHA256' ? 'SHA-256' : 'SHA'} "${x.authPassword}" ${v3User(x).privProtocol} "${x.privPassword}"`;
  return [
    `agentaddress udp:127.0.0.1:${port}`,
    'rocommunity public 127.0.0.1',
    'rwcommunity private 127.0.0.1',
    createUser(u.rw),
    createUser(u.ro),
    createUser(u.rwSha256),
    createUser(u.rwDes),
    `rwuser ${u.rw.username} priv`,
    `rouser ${u.ro.username} priv`,
    `rwuser ${u.rwSha256.username} priv`,
    `rwuser ${u.rwDes.username} priv`,
    `sysObjectID ${sysObjectID}`,
    'sysDescr fencekit test PDU (net-snmp snmpd + powernet-emulator.py)',
    'dontLogTCPWrappersConnects yes',
    `pass_persist .1.3.6.1.4.1.318 ${PYTHON} ${EMULATOR} ${stateFile}`,
    '',
  ].join('\n');
}

export async function startPdu(options: PduOptions = {}): Promise<PduPeer> {
  requireTool(SNMPD, 'snmpd');
  requireTool(PYTHON, 'python3');
  const outletCount = options.outlets ?? 8;
  const sysObjectID = options.sysObjectID ?? APC_SYS_OBJECT_ID.rackPdu;
  const dir = mkdtempSync(join(tmpdir(), 'fencekit-pdu-'));
  const stateFile = join(dir, 'state.json');
  const persistDir = join(dir, 'persist');
  const cliDir = join(dir, 'cli');
  mkdirSync(persistDir);
  mkdirSync(cliDir);

  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-LOG_LIMIT);
  };
  const emulator = (...args: string[]) =>
    execFileSync(PYTHON, [EMULATOR, stateFile, ...args], { timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const readState = (): PduState => JSON.parse(readFileSync(stateFile, 'utf8')) as PduState;

  let snmpd: ChildProcess | undefined;
  let stopped = false;
  let exitHook: (() => void) | undefined;

  const killOutlets = () => {
    if (!existsSync(stateFile)) return [];
    const outlets = readState().outlets.filter((o) => o.pid !== null);
    for (const o of outlets) signalIfSame(o.pid!, o.pidStartTime, 'SIGKILL', true);
    return outlets;
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exitHook) process.off('exit', exitHook);
    const emulatorPid = existsSync(stateFile) ? readState().emulatorPid : null;
    const emulatorStart = emulatorPid ? (procStat(emulatorPid)?.startTime ?? null) : null;
    if (snmpd?.pid && snmpd.exitCode === null && snmpd.signalCode === null) {
      const exited = new Promise((r) => snmpd!.once('exit', r));
      signalIfSame(snmpd.pid, null, 'SIGCONT'); // a frozen snmpd only acts on SIGTERM once continued
      signalIfSame(snmpd.pid, null, 'SIGTERM');
      const timer = setTimeout(() => signalIfSame(snmpd!.pid!, null, 'SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    // The emulator ends on EOF from snmpd; make sure, by its own PID.
    if (emulatorPid && !(await waitGone(emulatorPid, emulatorStart, STOP_TIMEOUT_MS))) {
      signalIfSame(emulatorPid, emulatorStart, 'SIGKILL');
    }
    for (const o of killOutlets()) await waitGone(o.pid!, o.pidStartTime, STOP_TIMEOUT_MS);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    emulator(
      'init',
      JSON.stringify({ outlets: outletCount, names: options.names ?? [], initiallyOn: options.initiallyOn ?? true, tables: options.tables ?? [], hooks: options.outletHooks ?? [] }),
    );
    // The port is free when picked, not necessarily when snmpd binds it: retry on a lost race.
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freeUdpPort());
      const confFile = join(dir, 'snmpd.conf');
      writeFileSync(confFile, snmpdConf(port, sysObjectID, stateFile));
      const child = spawn(
        SNMPD,
        ['-f', '-Lo', '-C', '-c', confFile, '-I', '-smux', `--persistentDir=${persistDir}`, '-p', join(dir, 'snmpd.pid')],
        { env: { ...process.env, MIBS: '' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
      );
      child.stdout!.on('data', append);
      child.stderr!.on('data', append);
      snmpd = child;
      exitHook = () => {
        // The test process is going away without stop(): leave nothing running behind it.
        if (child.pid) signalIfSame(child.pid, null, 'SIGKILL');
        killOutlets();
      };
      process.once('exit', exitHook);
      try {
        await waitUntilAnswering(port, 'public', child, () => output);
      } catch (err) {
        if (child.exitCode !== null && attempt < 3 && options.port === undefined && /Address already in use|Error opening specified endpoint/.test(output)) {
          process.off('exit', exitHook);
          continue;
        }
        throw err;
      }
      const pid = child.pid!;
      const peer: PduPeer = {
        host: '127.0.0.1',
        port,
        communities: { ro: 'public', rw: 'private' },
        v3: { rw: v3User(V3_USERS.rw), ro: v3User(V3_USERS.ro), rwSha256: v3User(V3_USERS.rwSha256), rwDes: v3User(V3_USERS.rwDes) },
        sysObjectID,
        outletCount,
        snmpdPid: pid,
        stateFile,
        readState,
        outletPids: () => readState().outlets.map((o) => o.pid ?? undefined),
        isOutletPowered: (n) => {
          const o = readState().outlets.find((x) => x.index === n);
          if (!o) throw new Error(`the PDU has no outlet ${n}`);
          return o.pid !== null && isRunning(o.pid, o.pidStartTime);
        },
        setFault: (n, fault) => {
          emulator('fault', String(n), JSON.stringify(fault));
        },
        setOutletState: (n, on) => {
          emulator('power', String(n), on ? 'on' : 'off');
        },
        commandOutlet: (n, command) => emulator('command', String(n), command).toString().trim(),
        freeze: () => process.kill(pid, 'SIGSTOP'),
        thaw: () => process.kill(pid, 'SIGCONT'),
        cliEnv: () => ({ ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: cliDir, SNMPCONFPATH: cliDir }),
        log: () => output,
        stop,
      };
      return peer;
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
