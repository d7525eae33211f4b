// The public IPMI client: one session per client, typed power operations, completion codes turned into
// FenceErrors. Knows nothing of agent options; the agent maps its options onto an IpmiTarget.
import { FenceError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { cipherSuite, type CipherSuite } from './cipher-suites.js';
import {
  CMD,
  NETFN,
  PRIVILEGE,
  type ChassisControlOp,
  type IpmiResponse,
  type PrivilegeName,
  decodeChassisStatus,
  decodeDeviceId,
  describeCompletionCode,
  encodeChassisControl,
  privilegeName,
} from './codec.js';
import { IpmiSession, type AuthType15 } from './session.js';
import { UdpTransport, type RetransmitPolicy } from './transport.js';
import { lockBmc, type BmcLock } from './bmc-lock.js';

export interface IpmiTarget {
  host: string;
  /** Default 623 (the RMCP port). */
  port?: number;
  username: string;
  password: string;
  /** BMC key for RMCP+ (hexadecimal_kg, as bytes); defaults to the password, as the spec says. */
  kg?: Buffer;
  version: '1.5' | '2.0';
  /** RMCP+ cipher suite; unset: 17 if the BMC lists it (Get Channel Cipher Suites), else 3. Suite 0 only with allowInsecure. */
  cipherSuite?: 0 | 1 | 2 | 3 | 17;
  /** Default administrator. */
  privilege?: PrivilegeName;
  /** IPMI 1.5 only; unset: md5 if the BMC offers it (password and none only with allowInsecure). */
  authType?: 'none' | 'password' | 'md5';
  /** Permit cipher suite 0 and IPMI 1.5 auth type none, which accept any password. */
  allowInsecure?: boolean;
  /** Reach the BMC over this IP version only (inet4_only / inet6_only); unset: whatever the address is. */
  family?: 4 | 6;
}

export interface IpmiOpenOptions {
  /** Absolute time (Date.now() ms) by which every operation must be over. */
  deadline: number;
  logger?: Logger;
  /** Tests shorten this; agents keep the default. */
  retransmit?: RetransmitPolicy;
  /**
   * Take turns with other processes of this host that talk to the same BMC (bmc-lock.ts), waiting at most half
   * the time to the deadline. Agents set it; a test that opens two clients at once in one process does not.
   */
  serialise?: boolean;
}

/** Clients with a session open, so that a process being ended still closes them (see closeOnExit). */
const openClients = new Set<IpmiClient>();
let exitHooksInstalled = false;

/**
 * Close every open session when the process is told to end: pacemaker-fenced sends SIGTERM at the fence's
 * deadline, and a session left open holds one of the BMC's few slots until its idle timeout (often 60 s),
 * enough for a few killed agents to lock the next fence out. Close Session leaves at once (UDP sends are
 * synchronous when the socket can take them); then, unless someone else handles SIGTERM, the signal is
 * raised again so that the process ends as it would have.
 */
function closeOnExit(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const abandonAll = () => {
    for (const c of openClients) c.abandon();
  };
  process.on('exit', abandonAll);
  const onSigterm = () => {
    abandonAll();
    if (process.listenerCount('SIGTERM') === 1) {
      process.off('SIGTERM', onSigterm);
      exitHooksInstalled = false;
      process.kill(process.pid, 'SIGTERM');
    }
  };
  process.on('SIGTERM', onSigterm);
}

export type ChassisPower = 'on' | 'off';
export type ChassisControl = ChassisControlOp;

export interface DeviceIdentity {
  deviceId: number;
  firmware: string;
  ipmiVersion: string;
  manufacturerId: number;
  productId: number;
}

/** Minimum privilege per command (spec Appendix G): asking with less would only earn 0xD4. */
const REQUIRED_PRIVILEGE = { status: PRIVILEGE.user, control: PRIVILEGE.operator } as const;

export class IpmiClient {
  private deadline: number;
  private session: IpmiSession;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** What the first session negotiated; later sessions of this client reuse it instead of asking again. */
  private negotiatedSuite: CipherSuite | undefined;
  private negotiatedAuthType: AuthType15 | undefined;
  private lock: BmcLock | undefined;

  private constructor(
    private readonly target: Target,
    private readonly transport: UdpTransport,
    private readonly logger: Logger,
    deadline: number,
  ) {
    this.deadline = deadline;
    this.session = this.newSession();
  }

  static async open(target: IpmiTarget, opts: IpmiOpenOptions): Promise<IpmiClient> {
    const logger = opts.logger ?? silentLogger;
    logger.addSecret(target.password);
    if (target.kg && target.kg.length > 0) logger.addSecret(target.kg.toString('hex'));
    const t = withDefaults(target);
    const lock = opts.serialise ? await lockBmc(t.host, t.port, Date.now() + (opts.deadline - Date.now()) / 2, logger) : undefined;
    let transport: UdpTransport;
    try {
      transport = await UdpTransport.connect(t.host, t.port, { logger, deadline: opts.deadline, family: t.family, ...(opts.retransmit ? { policy: opts.retransmit } : {}) });
    } catch (err) {
      lock?.release();
      throw err;
    }
    const client = new IpmiClient(t, transport, logger, opts.deadline);
    client.lock = lock;
    closeOnExit();
    openClients.add(client);
    try {
      await client.session.establish(client.deadline);
    } catch (err) {
      client.abandon();
      throw err;
    }
    client.negotiatedSuite = client.session.cipherSuite;
    client.negotiatedAuthType = client.session.authType;
    logger.debug(`IPMI ${t.host}:${t.port}: session active (IPMI ${t.version}${t.version === '2.0' ? `, cipher suite ${client.session.cipherSuite?.id}` : `, ${client.session.authType}`}, ${privilegeName(client.session.privilege)})`);
    return client;
  }

  /**
   * Replace the deadline for the operations still to come: each operation brings its own budget, which
   * may end earlier or later than the one before.
   */
  setDeadline(deadline: number): void {
    this.deadline = deadline;
  }

  async getChassisPower(): Promise<ChassisPower> {
    const res = await this.call('Get Chassis Status', NETFN.chassis, CMD.getChassisStatus, Buffer.alloc(0), REQUIRED_PRIVILEGE.status);
    return decodeChassisStatus(res.data).powerOn ? 'on' : 'off';
  }

  /** Chassis Control; the BMC acknowledges the request, the caller confirms the state by polling. */
  async chassisControl(op: ChassisControl): Promise<void> {
    await this.call(`Chassis Control (${op})`, NETFN.chassis, CMD.chassisControl, encodeChassisControl(op), REQUIRED_PRIVILEGE.control);
  }

  async getDeviceId(): Promise<DeviceIdentity> {
    const res = await this.call('Get Device ID', NETFN.app, CMD.getDeviceId, Buffer.alloc(0), REQUIRED_PRIVILEGE.status);
    const d = decodeDeviceId(res.data);
    return { deviceId: d.deviceId, firmware: d.firmware, ipmiVersion: d.ipmiVersion, manufacturerId: d.manufacturerId, productId: d.productId };
  }

  /** How the session open now was set up: IPMI version and the cipher suite (2.0) or auth type (1.5) the BMC agreed to. */
  negotiated(): { version: '1.5' | '2.0'; cipherSuite?: number; authType?: AuthType15 } {
    if (this.target.version === '2.0') return { version: '2.0', ...(this.session.cipherSuite ? { cipherSuite: this.session.cipherSuite.id } : {}) };
    return { version: '1.5', ...(this.session.authType ? { authType: this.session.authType } : {}) };
  }

  /** Any read-only command at user privilege, its response data back (lib/ipmi/sensors.ts decodes). */
  async readCommand(what: string, netFn: number, cmd: number, data: Buffer): Promise<Buffer> {
    return (await this.call(what, netFn, cmd, data, REQUIRED_PRIVILEGE.status)).data;
  }

  /** Close Session, then the socket. Never throws; waits at most until the deadline (or not at all past it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.session.close(this.deadline);
    this.transport.close();
    this.lock?.release();
    openClients.delete(this);
  }

  /** Close Session without waiting, then the socket: for a process that is ending. Never throws. */
  abandon(): void {
    this.closed = true;
    this.session.abandon();
    this.transport.close();
    this.lock?.release();
    openClients.delete(this);
  }

  private call(what: string, netFn: number, cmd: number, data: Buffer, needed: number): Promise<IpmiResponse> {
    const run = this.queue.then(
      () => this.callNow(what, netFn, cmd, data, needed),
      () => this.callNow(what, netFn, cmd, data, needed),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async callNow(what: string, netFn: number, cmd: number, data: Buffer, needed: number): Promise<IpmiResponse> {
    if (this.closed) throw new FenceError('internal', `IPMI ${what}: client already closed`);
    if (this.session.state !== 'active') {
      // An earlier call lost the session and could not get a new one in its time; this call has its own.
      this.session = this.newSession();
      await this.session.establish(this.deadline);
    }
    if (this.session.privilege < needed) {
      throw new FenceError('privilege', `${what} needs ${privilegeName(needed)} privilege; the session has ${privilegeName(this.session.privilege)}`);
    }
    let res: IpmiResponse;
    try {
      // Leave room to re-establish: a BMC that dropped our session (reset, session timeout, slot reclaimed)
      // answers nothing at all to packets of the old session.
      const remaining = this.deadline - Date.now();
      res = await this.session.command(netFn, cmd, data, Date.now() + Math.min(remaining, Math.max(5000, remaining / 2)), what);
    } catch (err) {
      if (!(err instanceof FenceError) || err.kind !== 'timeout' || Date.now() >= this.deadline) throw err;
      this.logger.debug(`IPMI ${this.target.host}: no answer to ${what} in the session; opening a new session`);
      this.session = this.newSession();
      await this.session.establish(this.deadline);
      res = await this.session.command(netFn, cmd, data, this.deadline, what);
    }
    return checkCompletion(what, res);
  }

  private newSession(): IpmiSession {
    const t = this.target;
    const suite = t.cipherSuite === undefined ? this.negotiatedSuite : cipherSuite(t.cipherSuite);
    return new IpmiSession(
      this.transport,
      {
        version: t.version,
        username: t.username,
        password: t.password,
        ...(t.kg && t.kg.length > 0 ? { kg: t.kg } : {}),
        cipherSuite: suite,
        privilege: t.privilege,
        authType: t.authType ?? this.negotiatedAuthType,
        allowInsecure: t.allowInsecure,
      },
      this.logger,
    );
  }
}

/** Completion code to error kind; exported for the unit tests. */
export function checkCompletion(what: string, res: IpmiResponse): IpmiResponse {
  if (res.completionCode === 0) return res;
  if (res.completionCode === 0xd4) throw new FenceError('privilege', `${what}: ${describeCompletionCode(0xd4)}`);
  throw new FenceError('device-refused', `${what}: ${describeCompletionCode(res.completionCode)}`);
}

type Target = Required<Omit<IpmiTarget, 'kg' | 'cipherSuite' | 'authType' | 'family'>> & Pick<IpmiTarget, 'kg' | 'cipherSuite' | 'authType' | 'family'>;

function withDefaults(t: IpmiTarget): Target {
  const bad = (msg: string) => new FenceError('bad-input', msg);
  if (!t.host) throw bad('IPMI: no BMC address given');
  const port = t.port ?? 623;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`IPMI: port ${port} is not a UDP port`);
  if (t.version !== '1.5' && t.version !== '2.0') throw bad(`IPMI: version ${String(t.version)} is neither 1.5 nor 2.0`);
  const suiteId = t.cipherSuite;
  if (suiteId !== undefined && !cipherSuite(suiteId)) throw bad(`IPMI: cipher suite ${suiteId} is not supported (0, 1, 2, 3 and 17 are)`);
  const privilege = t.privilege ?? 'administrator';
  if (!(privilege in PRIVILEGE)) throw bad(`IPMI: privilege ${String(privilege)} is not callback, user, operator or administrator`);
  const authType = t.authType;
  if (authType !== undefined && !['none', 'password', 'md5'].includes(authType)) throw bad(`IPMI: auth type ${String(authType)} is not none, password or md5`);
  if (Buffer.byteLength(t.username, 'utf8') > 16) throw bad('IPMI: user name longer than 16 bytes');
  const maxPassword = t.version === '2.0' ? 20 : 16;
  if (Buffer.byteLength(t.password, 'utf8') > maxPassword) throw bad(`IPMI ${t.version}: password longer than ${maxPassword} bytes`);
  if (t.kg && t.kg.length > 20) throw bad('IPMI: Kg longer than 20 bytes');
  if (t.family !== undefined && t.family !== 4 && t.family !== 6) throw bad(`IPMI: address family ${String(t.family)} is neither 4 nor 6`);
  return {
    host: t.host,
    port,
    username: t.username,
    password: t.password,
    ...(t.kg ? { kg: t.kg } : {}),
    version: t.version,
    ...(suiteId !== undefined ? { cipherSuite: suiteId } : {}),
    privilege,
    ...(authType !== undefined ? { authType } : {}),
    allowInsecure: t.allowInsecure ?? false,
    ...(t.family !== undefined ? { family: t.family } : {}),
  };
}
