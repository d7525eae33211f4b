// fencekit's own BMC simulator, for what no installed BMC implementation does: cipher suites 3 and 17 with
// their algorithm triples checked, Get Channel Cipher Suites, a session limit answered with "insufficient
// resources", a session idle timeout, and quirks of real firmware (a power command acknowledged but never
// carried out; a slow power change). It speaks IPMI 2.0 (RMCP+) only, on 127.0.0.1, and its chassis powers a
// real process: a status says "off" only once that process is dead. The chassis is one process of its own,
// or a caller's power model (the lab's node-power.sh, shared with the PDU outlets); an SDR repository and Get
// Sensor Reading serve the caller's sensors (the lab's power supplies). Independent clients (ipmitool,
// FreeIPMI) prove it in test/integration/bmc-sim.test.ts before it proves anything of ours.
//
// It runs inside the process that starts it (a test, the lab): everything is one UDP socket and timers.
import { isAlive } from '../../lib/proc.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import {
  AUTH_ALGORITHM_NUMBER,
  CIPHER_SUITES,
  CONFIDENTIALITY_ALGORITHM_NUMBER,
  INTEGRITY_ALGORITHM_NUMBER,
  type CipherSuite,
} from '../../lib/ipmi/cipher-suites.js';
import {
  AUTH_TYPE,
  CMD,
  NETFN,
  PAYLOAD,
  type IpmiRequest,
  decodeRmcpPlus,
  decodeSession15,
  encodeRmcpPlus,
  encodeSession15,
  peekAuthType,
} from '../../lib/ipmi/codec.js';
import { decodeIpmiRequest, decodeOpenSessionRequest, decodeRakp1, decodeRakp3, encodeIpmiResponse, encodeOpenSessionResponse, encodeRakp2, encodeRakp4 } from './codec.js';
import { additionalKeys, rakp2AuthCode, rakp3AuthCode, rakp4IntegrityCheck, sameBytes, sessionIntegrityKey, type RakpExchange } from '../../lib/ipmi/crypto.js';
import { Ipmi15Framing, RmcpPlusFraming, authCode15 } from '../../lib/ipmi/framing.js';

export interface SimUser {
  name: string;
  password: string;
  /** Highest privilege this user may have: 2 user, 3 operator, 4 administrator. */
  maxPrivilege: number;
}

export interface BmcSimOptions {
  /** Default: a free port. */
  port?: number;
  users?: SimUser[];
  /** Cipher suites offered (default 3 and 17). */
  suites?: Array<3 | 17>;
  /** Sessions at once, counted from Open Session as real BMCs do (default 4). */
  sessionLimit?: number;
  /** A session silent this long is dropped (default 60 s, the spec's usual figure). */
  idleTimeoutMs?: number;
  hostOn?: boolean;
  quirks?: BmcQuirks;
  /** IPMI 1.5 auth types offered (default none: the BMC speaks IPMI 2.0 only, as hardened firmware does). */
  ipmi15AuthTypes?: Array<Ipmi15AuthType>;
  /** What the chassis powers (default: one process of the simulator's own). `hostOn` then does nothing. */
  power?: PowerModel;
  /** Sensors in the SDR repository, in this order (default none). */
  sensors?: SimSensor[];
}

/**
 * The machine behind the chassis. The rule every model keeps: `isOn()` is false only once the machine is
 * really off (its process dead), and `setOn(false)` resolves only then.
 */
export interface PowerModel {
  isOn(): Promise<boolean>;
  setOn(on: boolean): Promise<void>;
  /** The machine's process, while it runs (for tests). */
  pid(): number | undefined;
}

/** A sensor: its SDR (the whole record, header included; the simulator numbers it) and its reading. */
export interface SimSensor {
  readonly record: readonly number[];
  /** The state bits now (a discrete sensor: bit n asserts offset n). */
  states(): Promise<number>;
}

export type Ipmi15AuthType = 'none' | 'password' | 'md5';

export interface BmcQuirks {
  /** Chassis Control answers success and does nothing (firmware that drops the command). */
  ackWithoutActing?: boolean;
  /** Chassis Control answers at once; the power changes this much later. */
  powerDelayMs?: number;
  /** Get Channel Cipher Suites gets no answer at all (ipmi_sim's behaviour towards ipmitool). */
  silentCipherSuites?: boolean;
}

export interface BmcSimEvents {
  openSession: number;
  /** Open Session refused for want of a free slot. */
  noSlot: number;
  rakp1: number;
  rakp3: number;
  activated: number;
  closed: number;
  idleExpired: number;
  cipherSuitesQueries: number;
  /** IPMI 1.5 handshakes begun (Get Session Challenge answered). */
  challenges: number;
  controls: string[];
}

export interface BmcSim {
  host: string;
  port: number;
  users: SimUser[];
  /** Sessions the BMC holds now (pending handshakes included). */
  sessionCount(): number;
  events: BmcSimEvents;
  resetEvents(): void;
  quirks: BmcQuirks;
  /** Stop answering (every datagram dropped) but keep the port, like firmware that hangs; thaw() undoes it. */
  freeze(): void;
  thaw(): void;
  hostPid(): number | undefined;
  isHostRunning(): boolean;
  powerOnHost(): Promise<void>;
  powerOffHost(): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_USERS: SimUser[] = [
  { name: 'admin', password: 'secret', maxPrivilege: 4 },
  { name: 'oper', password: 'opsecret', maxPrivilege: 3 },
  { name: 'viewer', password: 'usecret', maxPrivilege: 2 },
];
const GUID = Buffer.from('f3c7b15e0a5d4c4e9d7c2f6b1e8a9c01', 'hex');
const SUITE_RECORD: Record<3 | 17, Buffer> = {
  // C0h, id, then the algorithm bytes tagged 00b/01b/10b (spec Table 22-19).
  3: Buffer.from([0xc0, 0x03, 0x01, 0x41, 0x81]),
  17: Buffer.from([0xc0, 0x11, 0x03, 0x44, 0x81]),
};
const CHANNEL = 0x01;
/** IPMI v2.0 §33: storage and sensor commands (NetFn 0Ah / 04h). */
const NETFN_STORAGE = 0x0a;
const NETFN_SENSOR = 0x04;
const CMD_GET_SDR_REPOSITORY_INFO = 0x20;
const CMD_RESERVE_SDR_REPOSITORY = 0x22;
const CMD_GET_SDR = 0x23;
const CMD_GET_SENSOR_READING = 0x2d;
const SDR_LAST = 0xffff;

interface Session {
  bmcSessionId: number;
  consoleSessionId: number;
  /** undefined for an IPMI 1.5 session. */
  suite?: CipherSuite;
  requestedPrivilege: number;
  privilege: number;
  lastActivity: number;
  user?: SimUser;
  exchange?: RakpExchange;
  framing?: RmcpPlusFraming | Ipmi15Framing;
  rakp4?: Buffer;
}

/** An IPMI 1.5 handshake between Get Session Challenge and Activate Session. */
interface Challenge {
  user: SimUser;
  authType: number;
  challenge: Buffer;
  at: number;
}

const AUTH_BIT: Record<Ipmi15AuthType, number> = { none: 0x01, md5: 0x04, password: 0x10 };

/** The default machine: a real, detached process, killed and waited for on off. */
class Host implements PowerModel {
  private pidNow: number | undefined;
  pid(): number | undefined {
    return this.pidNow;
  }
  running(): boolean {
    return this.pidNow !== undefined && isAlive(this.pidNow);
  }
  async isOn(): Promise<boolean> {
    return this.running();
  }
  async setOn(on: boolean): Promise<void> {
    if (on) this.on();
    else await this.off();
  }
  on(): void {
    if (this.running()) return;
    const child = spawn('sleep', ['2147483647'], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    this.pidNow = child.pid;
  }
  async off(): Promise<void> {
    const pid = this.pidNow;
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    const until = Date.now() + 5000;
    while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }
}

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function suiteFor(auth: number, integrity: number, confidentiality: number, offered: ReadonlyArray<3 | 17>): CipherSuite | undefined {
  return offered
    .map((id) => CIPHER_SUITES[id])
    .find(
      (s) =>
        AUTH_ALGORITHM_NUMBER[s.auth] === auth &&
        INTEGRITY_ALGORITHM_NUMBER[s.integrity] === integrity &&
        CONFIDENTIALITY_ALGORITHM_NUMBER[s.confidentiality] === confidentiality,
    );
}

export async function startBmcSim(opts: BmcSimOptions = {}): Promise<BmcSim> {
  const users = opts.users ?? DEFAULT_USERS;
  const offered = opts.suites ?? [3, 17];
  const limit = opts.sessionLimit ?? 4;
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  const quirks: BmcQuirks = { ...opts.quirks };
  const sessions = new Map<number, Session>();
  const own = opts.power ? undefined : new Host();
  const power: PowerModel = opts.power ?? own!;
  const sdrs = sdrRepository(opts.sensors ?? []);
  let reservation = 0;
  let frozen = false;
  const timers = new Set<NodeJS.Timeout>();
  const freshEvents = (): BmcSimEvents => ({ openSession: 0, noSlot: 0, rakp1: 0, rakp3: 0, activated: 0, closed: 0, idleExpired: 0, cipherSuitesQueries: 0, challenges: 0, controls: [] });
  const auth15 = opts.ipmi15AuthTypes ?? [];
  const challenges = new Map<number, Challenge>();
  const events = freshEvents();
  if (own && (opts.hostOn ?? true)) own.on();

  const socket: Socket = createSocket('udp4');
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });

  const send = (datagram: Buffer, to: RemoteInfo) => socket.send(datagram, to.port, to.address);

  const expire = () => {
    const now = Date.now();
    for (const [id, s] of sessions) {
      if (now - s.lastActivity > idleMs) {
        sessions.delete(id);
        events.idleExpired++;
      }
    }
  };
  const sweep = setInterval(expire, Math.max(50, Math.min(1000, idleMs / 4)));
  sweep.unref();

  const records = Buffer.concat(offered.map((id) => SUITE_RECORD[id]));

  /** Commands that need no session, and their in-session twins. Returns [completion code, data] or undefined to stay silent. */
  const sessionless = (req: IpmiRequest): [number, Buffer] | undefined => {
    if (req.netFn === NETFN.app && req.cmd === CMD.getChannelAuthCapabilities) {
      // Extended data; the IPMI 1.5 auth types offered; "IPMI 2.0 supported", and 1.5 when it has auth types.
      const types = auth15.reduce((bits, t) => bits | AUTH_BIT[t], 0x80);
      return [0, Buffer.from([CHANNEL, types, 0x04, auth15.length > 0 ? 0x03 : 0x02, 0, 0, 0, 0])];
    }
    if (req.netFn === NETFN.app && req.cmd === CMD.getChannelCipherSuites) {
      events.cipherSuitesQueries++;
      if (quirks.silentCipherSuites) return undefined;
      if (req.data.length < 3) return [0xc7, Buffer.alloc(0)];
      const index = req.data[2]! & 0x3f;
      return [0, Buffer.concat([Buffer.from([CHANNEL]), records.subarray(index * 16, index * 16 + 16)])];
    }
    return undefined;
  };

  /** The power action being carried out: a retransmitted copy of the same command waits for it, not a second run. */
  let acting: { op: number; done: Promise<void> } | undefined;
  const control = async (op: number): Promise<void> => {
    const name = ['off', 'on', 'cycle', 'reset', 'diag', 'soft'][op] ?? `0x${op.toString(16)}`;
    events.controls.push(name);
    if (quirks.ackWithoutActing) return;
    if (acting?.op === op) return acting.done;
    const act = async () => {
      if (op === 0 || op === 5) await power.setOn(false);
      else if (op === 1) await power.setOn(true);
      else if ((op === 2 || op === 3) && (await power.isOn())) {
        await power.setOn(false);
        await power.setOn(true);
      }
    };
    if (quirks.powerDelayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        void act();
      }, quirks.powerDelayMs);
      timers.add(t);
      return;
    }
    const done = act().finally(() => {
      if (acting?.done === done) acting = undefined;
    });
    acting = { op, done };
    await done;
  };

  /** Get SDR (§33.12): any part of a record; a partial read (offset > 0) needs the current reservation. */
  const getSdr = (data: Buffer): [number, Buffer] => {
    if (data.length < 6) return [0xc7, Buffer.alloc(0)];
    const id = data.readUInt16LE(2);
    const offset = data[4]!;
    const length = data[5]!;
    if (offset > 0 && data.readUInt16LE(0) !== reservation) return [0xc5, Buffer.alloc(0)];
    const index = id === 0 ? 0 : sdrs.findIndex((r) => r.readUInt16LE(0) === id);
    const record = sdrs[index];
    if (!record) return [0xcb, Buffer.alloc(0)];
    if (offset > record.length) return [0xc9, Buffer.alloc(0)];
    const next = Buffer.alloc(2);
    next.writeUInt16LE(index + 1 < sdrs.length ? sdrs[index + 1]!.readUInt16LE(0) : SDR_LAST);
    return [0, Buffer.concat([next, record.subarray(offset, length === 0xff ? undefined : offset + length)])];
  };

  const inSession = async (s: Session, req: IpmiRequest): Promise<[number, Buffer] | undefined> => {
    const plain = sessionless(req);
    if (plain) return plain;
    if (req.netFn === NETFN.app && req.cmd === CMD.setSessionPrivilegeLevel) {
      const wanted = (req.data[0] ?? 0) & 0x0f;
      if (wanted === 0) return [0, Buffer.from([s.privilege])];
      if (wanted > s.requestedPrivilege || wanted > s.user!.maxPrivilege) return [0x81, Buffer.alloc(0)];
      s.privilege = wanted;
      return [0, Buffer.from([wanted])];
    }
    if (req.netFn === NETFN.app && req.cmd === CMD.closeSession) {
      const id = req.data.length >= 4 ? req.data.readUInt32LE(0) : 0;
      if (id !== s.bmcSessionId && !sessions.has(id)) return [0x87, Buffer.alloc(0)];
      sessions.delete(id);
      events.closed++;
      return [0, Buffer.alloc(0)];
    }
    if (req.netFn === NETFN.app && req.cmd === CMD.getDeviceId) {
      // Additional device support (byte 6): sensor device and SDR repository device when it has sensors.
      return [0, Buffer.from([0x20, 0x01, 0x01, 0x00, 0x02, sdrs.length > 0 ? 0x03 : 0x00, 0x57, 0x01, 0x00, 0x34, 0x12])];
    }
    if (req.netFn === NETFN.chassis && req.cmd === CMD.getChassisStatus) {
      return [0, Buffer.from([(await power.isOn()) ? 0x01 : 0x00, 0x00, 0x00, 0x00])];
    }
    if (req.netFn === NETFN_STORAGE && req.cmd === CMD_GET_SDR_REPOSITORY_INFO) {
      // Version 51h, record count, free space 0, no timestamps, operations: none but Reserve (§33.9).
      const info = Buffer.alloc(14);
      info[0] = 0x51;
      info.writeUInt16LE(sdrs.length, 1);
      info[13] = 0x02;
      return [0, info];
    }
    if (req.netFn === NETFN_STORAGE && req.cmd === CMD_RESERVE_SDR_REPOSITORY) {
      reservation = (reservation % 0xffff) + 1;
      const r = Buffer.alloc(2);
      r.writeUInt16LE(reservation);
      return [0, r];
    }
    if (req.netFn === NETFN_STORAGE && req.cmd === CMD_GET_SDR) return getSdr(req.data);
    if (req.netFn === NETFN_SENSOR && req.cmd === CMD_GET_SENSOR_READING) {
      const sensor = opts.sensors?.find((x) => x.record[7] === req.data[0]);
      if (!sensor) return [0xcb, Buffer.alloc(0)]; // requested sensor not present
      const states = await sensor.states();
      // No analog reading; scanning enabled, events enabled; state bits 0-7 and 8-14.
      return [0, Buffer.from([0x00, 0xc0, states & 0xff, (states >> 8) & 0x7f])];
    }
    if (req.netFn === NETFN.chassis && req.cmd === CMD.chassisControl) {
      if (s.privilege < 3) return [0xd4, Buffer.alloc(0)];
      const op = req.data[0];
      if (op === undefined || op > 5) return [0xcc, Buffer.alloc(0)];
      await control(op);
      return [0, Buffer.alloc(0)];
    }
    return [0xc1, Buffer.alloc(0)];
  };

  const reply = (req: IpmiRequest, code: number, data: Buffer): Buffer =>
    encodeIpmiResponse({ netFn: req.netFn + 1, cmd: req.cmd, rqSeq: req.rqSeq, completionCode: code, data }, req.rqAddr, req.rsAddr);

  const preSessionReply = (payloadType: number, payload: Buffer): Buffer =>
    encodeRmcpPlus({ payloadType, encrypted: false, authenticated: false, sessionId: 0, sequence: 0 }, payload);

  const onOpenSession = (payload: Buffer, from: RemoteInfo) => {
    const m = decodeOpenSessionRequest(payload);
    events.openSession++;
    const refuse = (status: number) =>
      send(preSessionReply(PAYLOAD.openSessionResponse, encodeOpenSessionResponse({ messageTag: m.messageTag, statusCode: status, maxPrivilege: 0, consoleSessionId: m.consoleSessionId })), from);
    const suite = suiteFor(m.authAlgorithm, m.integrityAlgorithm, m.confidentialityAlgorithm, offered);
    if (!suite) return refuse(0x11);
    expire();
    if (sessions.size >= limit) {
      events.noSlot++;
      return refuse(0x01);
    }
    let bmcSessionId = 0;
    while (bmcSessionId === 0 || sessions.has(bmcSessionId)) bmcSessionId = randomBytes(4).readUInt32LE(0);
    const requested = m.maxPrivilege === 0 ? 4 : m.maxPrivilege;
    sessions.set(bmcSessionId, { bmcSessionId, consoleSessionId: m.consoleSessionId, suite, requestedPrivilege: requested, privilege: 2, lastActivity: Date.now() });
    send(
      preSessionReply(
        PAYLOAD.openSessionResponse,
        encodeOpenSessionResponse({
          messageTag: m.messageTag,
          statusCode: 0,
          maxPrivilege: requested,
          consoleSessionId: m.consoleSessionId,
          bmcSessionId,
          authAlgorithm: m.authAlgorithm,
          integrityAlgorithm: m.integrityAlgorithm,
          confidentialityAlgorithm: m.confidentialityAlgorithm,
        }),
      ),
      from,
    );
  };

  const onRakp1 = (payload: Buffer, from: RemoteInfo) => {
    const m = decodeRakp1(payload);
    const s = sessions.get(m.bmcSessionId);
    if (!s || s.framing) return;
    events.rakp1++;
    s.lastActivity = Date.now();
    const fail = (status: number) => {
      sessions.delete(s.bmcSessionId);
      send(preSessionReply(PAYLOAD.rakp2, encodeRakp2({ messageTag: m.messageTag, statusCode: status, consoleSessionId: s.consoleSessionId })), from);
    };
    const user = users.find((u) => Buffer.from(u.name, 'utf8').equals(m.username));
    if (!user) return fail(0x0d);
    const privilege = m.role & 0x0f;
    if (privilege > user.maxPrivilege) return fail(0x0a);
    s.user = user;
    s.requestedPrivilege = Math.min(Math.max(privilege, 1), user.maxPrivilege);
    s.exchange = {
      consoleSessionId: s.consoleSessionId,
      bmcSessionId: s.bmcSessionId,
      consoleRandom: m.consoleRandom,
      bmcRandom: randomBytes(16),
      bmcGuid: GUID,
      role: m.role,
      username: m.username,
    };
    const authCode = rakp2AuthCode(s.suite!.auth, Buffer.from(user.password, 'utf8'), s.exchange);
    send(
      preSessionReply(PAYLOAD.rakp2, encodeRakp2({ messageTag: m.messageTag, statusCode: 0, consoleSessionId: s.consoleSessionId, bmcRandom: s.exchange.bmcRandom, bmcGuid: GUID, authCode })),
      from,
    );
  };

  const onRakp3 = (payload: Buffer, from: RemoteInfo) => {
    const m = decodeRakp3(payload);
    const s = sessions.get(m.bmcSessionId);
    if (!s || !s.exchange || !s.user || !s.suite) return;
    const suite = s.suite;
    events.rakp3++;
    s.lastActivity = Date.now();
    if (s.rakp4) return send(s.rakp4, from); // our RAKP 4 was lost: the same answer again
    const kuid = Buffer.from(s.user.password, 'utf8');
    if (m.statusCode !== 0 || !sameBytes(rakp3AuthCode(suite.auth, kuid, s.exchange), m.authCode)) {
      sessions.delete(s.bmcSessionId);
      send(preSessionReply(PAYLOAD.rakp4, encodeRakp4({ messageTag: m.messageTag, statusCode: 0x0f, consoleSessionId: s.consoleSessionId, integrityCheck: Buffer.alloc(0) })), from);
      return;
    }
    const sik = sessionIntegrityKey(suite.auth, kuid, s.exchange);
    const { k1, k2 } = additionalKeys(suite.auth, sik);
    // The console's framing with the ids swapped: what it sends to is us, what it expects on replies is its own.
    s.framing = new RmcpPlusFraming({ suite, k1, k2, bmcSessionId: s.consoleSessionId, consoleSessionId: s.bmcSessionId });
    s.rakp4 = preSessionReply(
      PAYLOAD.rakp4,
      encodeRakp4({ messageTag: m.messageTag, statusCode: 0, consoleSessionId: s.consoleSessionId, integrityCheck: rakp4IntegrityCheck(suite.auth, sik, s.exchange) }),
    );
    events.activated++;
    send(s.rakp4, from);
  };

  /** Get Session Challenge (spec §22.16): the user and auth type, a temporary session id and a challenge. */
  const getSessionChallenge = (req: IpmiRequest): [number, Buffer] => {
    const authType = req.data[0] ?? -1;
    const offered = auth15.some((t) => AUTH_TYPE[t] === authType);
    if (!offered) return [0xcc, Buffer.alloc(0)];
    const name = req.data.subarray(1, 17);
    const end = name.indexOf(0);
    const user = users.find((u) => Buffer.from(u.name, 'utf8').equals(end < 0 ? name : name.subarray(0, end)));
    if (!user) return [0x81, Buffer.alloc(0)];
    let temporaryId = 0;
    while (temporaryId === 0 || challenges.has(temporaryId)) temporaryId = randomBytes(4).readUInt32LE(0);
    const challenge = randomBytes(16);
    challenges.set(temporaryId, { user, authType, challenge, at: Date.now() });
    events.challenges++;
    const id = Buffer.alloc(4);
    id.writeUInt32LE(temporaryId);
    return [0, Buffer.concat([id, challenge])];
  };

  /** Activate Session (spec §22.17), signed with the temporary session id; a wrong auth code gets silence. */
  const activateSession = (datagram: Buffer, from: RemoteInfo) => {
    const packet = decodeSession15(datagram);
    const pending = challenges.get(packet.sessionId);
    if (!pending || packet.authType !== pending.authType) return;
    const password = Buffer.from(pending.user.password, 'utf8');
    const expected = authCode15(packet.authType, password, packet.sessionId, packet.message, packet.sequence);
    if (expected && (!packet.authCode || !sameBytes(expected, packet.authCode))) return;
    const req = decodeIpmiRequest(packet.message);
    if (req.netFn !== NETFN.app || req.cmd !== CMD.activateSession || req.data.length < 22) return;
    const answer = (code: number, data: Buffer) => {
      const message = reply(req, code, data);
      const authCode = authCode15(packet.authType, password, packet.sessionId, message, 0);
      send(encodeSession15(authCode ? { authType: packet.authType, sequence: 0, sessionId: packet.sessionId, authCode, message } : { authType: packet.authType, sequence: 0, sessionId: packet.sessionId, message }), from);
    };
    const maxPrivilege = req.data[1]! & 0x0f;
    if (maxPrivilege > pending.user.maxPrivilege) return answer(0x86, Buffer.alloc(0));
    if (!req.data.subarray(2, 18).equals(pending.challenge)) return;
    challenges.delete(packet.sessionId);
    expire();
    if (sessions.size >= limit) {
      events.noSlot++;
      return answer(0x81, Buffer.alloc(0));
    }
    let sessionId = 0;
    while (sessionId === 0 || sessions.has(sessionId)) sessionId = randomBytes(4).readUInt32LE(0);
    const consoleStart = req.data.readUInt32LE(18);
    const bmcStart = randomBytes(4).readUInt32LE(0) || 1;
    sessions.set(sessionId, {
      bmcSessionId: sessionId,
      consoleSessionId: sessionId,
      requestedPrivilege: maxPrivilege,
      privilege: 2,
      lastActivity: Date.now(),
      user: pending.user,
      // Our replies count up from where the console asked the BMC to start (its initial outbound sequence).
      framing: new Ipmi15Framing({ authType: packet.authType, password, sessionId, initialOutboundSequence: consoleStart }),
    });
    events.activated++;
    const data = Buffer.alloc(10);
    data[0] = packet.authType;
    data.writeUInt32LE(sessionId, 1);
    data.writeUInt32LE(bmcStart, 5);
    data[9] = maxPrivilege;
    answer(0, data);
  };

  const onDatagram = async (datagram: Buffer, from: RemoteInfo) => {
    const authType = peekAuthType(datagram);
    if (authType !== AUTH_TYPE.rmcpPlus) {
      const s15 = decodeSession15(datagram);
      if (s15.sessionId === 0) {
        const req = decodeIpmiRequest(s15.message);
        const answer = auth15.length > 0 && req.netFn === NETFN.app && req.cmd === CMD.getSessionChallenge ? getSessionChallenge(req) : sessionless(req);
        if (answer) send(encodeSession15({ authType: AUTH_TYPE.none, sequence: 0, sessionId: 0, message: reply(req, answer[0], answer[1]) }), from);
        return;
      }
      if (challenges.has(s15.sessionId)) return activateSession(datagram, from);
      const s = sessions.get(s15.sessionId);
      if (!s || !(s.framing instanceof Ipmi15Framing)) return;
      const req = decodeIpmiRequest(s.framing.unwrap(datagram));
      s.lastActivity = Date.now();
      const answer = await inSession(s, req);
      if (answer) send(s.framing.wrap(reply(req, answer[0], answer[1])), from);
      return;
    }
    const sessionId = datagram.length >= 10 ? datagram.readUInt32LE(6) : 0;
    if (sessionId === 0) {
      const packet = decodeRmcpPlus(datagram, 0);
      const type = packet.header.payloadType;
      if (type === PAYLOAD.openSessionRequest) return onOpenSession(packet.payload, from);
      if (type === PAYLOAD.rakp1) return onRakp1(packet.payload, from);
      if (type === PAYLOAD.rakp3) return onRakp3(packet.payload, from);
      if (type === PAYLOAD.ipmi) {
        const req = decodeIpmiRequest(packet.payload);
        const answer = sessionless(req);
        if (answer) send(preSessionReply(PAYLOAD.ipmi, reply(req, answer[0], answer[1])), from);
      }
      return;
    }
    const s = sessions.get(sessionId);
    if (!s || !(s.framing instanceof RmcpPlusFraming)) return; // unknown or expired session: silence, as real BMCs
    const message = s.framing.unwrap(datagram);
    s.lastActivity = Date.now();
    const req = decodeIpmiRequest(message);
    const answer = await inSession(s, req);
    if (answer) send(s.framing.wrap(reply(req, answer[0], answer[1])), from);
  };

  socket.on('message', (datagram, from) => {
    if (frozen) return;
    // A malformed datagram is dropped, as a BMC does.
    onDatagram(datagram, from).catch((err: unknown) => {
      if (process.env.FENCEKIT_BMC_SIM_DEBUG) process.stderr.write(`bmc-sim: dropped a datagram: ${(err as Error).message}\n`);
    });
  });

  let stopped = false;
  const killHost = () => {
    const pid = own?.pid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.on('exit', killHost);

  return {
    host: '127.0.0.1',
    port,
    users,
    sessionCount: () => {
      expire();
      return sessions.size;
    },
    events,
    resetEvents: () => Object.assign(events, freshEvents()),
    quirks,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
    },
    hostPid: () => power.pid(),
    isHostRunning: () => {
      const pid = power.pid();
      return pid !== undefined && isAlive(pid);
    },
    powerOnHost: () => power.setOn(true),
    powerOffHost: () => power.setOn(false),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(sweep);
      for (const t of timers) clearTimeout(t);
      process.off('exit', killHost);
      await own?.off();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** The sensors' records as the repository holds them: record ids 1, 2, ... in the given order. */
function sdrRepository(sensors: readonly SimSensor[]): Buffer[] {
  return sensors.map((sensor, i) => {
    const record = Buffer.from(sensor.record);
    if (record.length < 8 || record.length !== 5 + record[4]!) throw new Error(`sensor ${i}: an SDR is a 5-byte header and the length its byte 4 gives`);
    record.writeUInt16LE(i + 1, 0);
    return record;
  });
}
