// A small typed SNMP v1/v2c/v3 client over net-snmp for the APC PDU and switch-port (IF-MIB) agents. It
// knows nothing of options or the CLI: callers hand it a target, credentials and an absolute deadline and
// get values or a FenceError whose kind says what went wrong.
//
// net-snmp is loaded inside SnmpClient.open() and nowhere else, so an agent's metadata / validate-all path
// never pays for it (tens of milliseconds to load: docs/dependencies.md).
import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import type NetSnmp from 'net-snmp';
import { FenceError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { planAttempts, type AttemptPlan } from './attempts.js';
import { installDesPrivacy } from './des.js';
import { classifySnmpFailure, SnmpNoSuchObjectError, type RequestContext, type SnmpOperation } from './failures.js';
import { normalizeOid } from './oid.js';
import {
  describeValue,
  isNumericType,
  isSnmpException,
  toSnmpValue,
  type SnmpSetVarbind,
  type SnmpValue,
} from './values.js';

type Api = NetSnmp.Api;
type Session = NetSnmp.Session;
type Varbind = NetSnmp.Varbind;

export type SnmpAuthProtocol = 'MD5' | 'SHA' | 'SHA256' | 'SHA384' | 'SHA512';
export type SnmpPrivProtocol = 'DES' | 'AES' | 'AES256B' | 'AES256R';
export type SnmpSecurityLevel = 'noAuthNoPriv' | 'authNoPriv' | 'authPriv';

export type SnmpAuth =
  | { version: '1' | '2c'; community: string }
  | {
      version: '3';
      username: string;
      securityLevel: SnmpSecurityLevel;
      authProtocol?: SnmpAuthProtocol;
      authPassword?: string;
      privProtocol?: SnmpPrivProtocol;
      privPassword?: string;
    };

export interface SnmpTarget {
  host: string;
  /** UDP port; 161 when not given. */
  port?: number;
  auth: SnmpAuth;
  /** udp4 when not given. */
  transport?: 'udp4' | 'udp6';
}

export interface SnmpOpenOptions {
  /** Absolute time (ms since the epoch, as Date.now()) by which every call must have settled. */
  deadline: number;
  logger?: Logger;
  /** How long one attempt waits for an answer; shortened when the deadline is nearer. Default 1000. */
  perRequestTimeoutMs?: number;
  /** Attempts after the first; fewer when the deadline leaves no room. Default 2. */
  retries?: number;
}

export interface SnmpCallOptions {
  /** An earlier deadline for this call only (e.g. one status poll); the client's own deadline still holds. */
  deadline?: number;
  /**
   * getInt: accept only an ASN.1 INTEGER, as an enumerated status column (ifAdminStatus, an outlet state)
   * is. A Counter32 or Gauge32 that happens to hold 2 is a confused device, not "off".
   */
  enumerated?: boolean;
}

export const DEFAULT_PER_REQUEST_TIMEOUT_MS = 1000;
export const DEFAULT_RETRIES = 2;
/** GETBULK max-repetitions for subtree reads: a 24-outlet column in two round trips, replies well under 1 500 bytes. */
const SUBTREE_MAX_REPETITIONS = 20;
/** setTimeout fires at once for longer delays; a deadline beyond it is only guarded up to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** RFC 3414 §11.2: USM passwords shorter than this are refused by net-snmp's agent and tools. */
const MIN_USM_PASSWORD_LENGTH = 8;

const AUTH_PROTOCOL: Record<SnmpAuthProtocol, keyof Api['AuthProtocols']> = {
  MD5: 'md5',
  SHA: 'sha',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
};
const PRIV_PROTOCOL: Record<SnmpPrivProtocol, keyof Api['PrivProtocols']> = {
  DES: 'des',
  AES: 'aes',
  AES256B: 'aes256b',
  AES256R: 'aes256r',
};

let netSnmpLoading: Promise<Api> | undefined;

/**
 * net-snmp is CommonJS: load it with require(), not import(). Node's ESM loader would first run
 * cjs-module-lexer over its 200 KB source to find named exports, ~20 ms of every fencing run (measured
 * with --cpu-prof on fence_kit_switch); require() gives module.exports directly, in tsc output and bundle
 * alike (a createRequire()d require is left alone by esbuild and resolves from the file's own location).
 */
function loadNetSnmp(): Promise<Api> {
  netSnmpLoading ??= new Promise<Api>((resolve) => {
    const api = createRequire(import.meta.url)('net-snmp') as Partial<Api>;
    if (typeof api.createSession !== 'function') throw new Error('net-snmp has no createSession export');
    resolve(api as Api);
  }).catch((err: unknown) => {
    netSnmpLoading = undefined;
    throw new FenceError('internal', `cannot load net-snmp: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  });
  return netSnmpLoading;
}

function badInput(message: string): FenceError {
  return new FenceError('bad-input', message);
}

function requireUsmPassword(what: string, value: string | undefined): string {
  if (value === undefined || value === '') throw badInput(`SNMPv3 ${what} is required for this security level`);
  if (value.length < MIN_USM_PASSWORD_LENGTH) {
    throw badInput(`SNMPv3 ${what} must be at least ${MIN_USM_PASSWORD_LENGTH} characters (RFC 3414 §11.2)`);
  }
  return value;
}

/** A v3 user as net-snmp wants it; every check a device would otherwise answer with silence or a report. */
function usmUser(api: Api, auth: Extract<SnmpAuth, { version: '3' }>): NetSnmp.User {
  if (!auth.username) throw badInput('SNMPv3 username is required');
  const level = api.SecurityLevel[auth.securityLevel];
  if (level === undefined) throw badInput(`unknown SNMPv3 security level "${auth.securityLevel}"`);
  const user: NetSnmp.User = { name: auth.username, level };
  if (auth.securityLevel === 'noAuthNoPriv') return user;

  const authProtocol = auth.authProtocol && AUTH_PROTOCOL[auth.authProtocol];
  if (!authProtocol) throw badInput(`SNMPv3 ${auth.securityLevel} needs an auth protocol (MD5, SHA, SHA256, SHA384, SHA512)`);
  user.authProtocol = api.AuthProtocols[authProtocol];
  user.authKey = requireUsmPassword('auth password', auth.authPassword);
  if (auth.securityLevel === 'authNoPriv') return user;

  const privProtocol = auth.privProtocol && PRIV_PROTOCOL[auth.privProtocol];
  if (!privProtocol) throw badInput('SNMPv3 authPriv needs a privacy protocol (DES, AES, AES256B, AES256R)');
  // OpenSSL 3 keeps single DES in its legacy provider: des.ts runs it as DES-EDE3 with the key K|K|K.
  if (privProtocol === 'des' && !installDesPrivacy(api)) {
    throw badInput('SNMPv3 DES privacy is not available: this Node.js has no DES-EDE3 cipher; use AES if the device supports it');
  }
  user.privProtocol = api.PrivProtocols[privProtocol];
  user.privKey = requireUsmPassword('privacy password', auth.privPassword);
  return user;
}

function checkEndpoint(target: SnmpTarget): { port: number; transport: 'udp4' | 'udp6'; peer: string } {
  const host = target.host;
  if (typeof host !== 'string' || host === '' || /\s/.test(host)) throw badInput(`invalid SNMP host "${host}"`);
  const port = target.port ?? 161;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badInput(`invalid SNMP port ${port}`);
  const transport = target.transport ?? 'udp4';
  if (transport === 'udp4' && isIPv6(host)) throw badInput(`${host} is an IPv6 address: use the udp6 transport`);
  if (transport === 'udp6' && isIPv4(host)) throw badInput(`${host} is an IPv4 address: use the udp4 transport`);
  const peer = transport === 'udp6' ? `udp6:[${host}]:${port}` : `udp:${host}:${port}`;
  return { port, transport, peer };
}

function describeAuth(auth: SnmpAuth): string {
  if (auth.version !== '3') return `SNMP v${auth.version}`;
  const protocols = [auth.authProtocol, auth.privProtocol].filter(Boolean).join('/');
  return `SNMP v3 ${auth.securityLevel} user "${auth.username}"${protocols ? ` ${protocols}` : ''}`;
}

function registerSecrets(auth: SnmpAuth, logger: Logger): void {
  if (auth.version === '3') {
    logger.addSecret(auth.authPassword);
    logger.addSecret(auth.privPassword);
  } else {
    logger.addSecret(auth.community);
  }
}

export class SnmpClient {
  /** Where requests go, as "udp:HOST:PORT" / "udp6:[HOST]:PORT"; used in every message. */
  readonly peer: string;
  readonly version: '1' | '2c' | '3';
  readonly deadline: number;
  readonly #api: Api;
  readonly #session: Session;
  readonly #logger: Logger;
  readonly #perRequestTimeoutMs: number;
  readonly #retries: number;
  /** Set once the peer answered anything: a later silence is then a 'timeout', not 'unreachable'. */
  #answered = false;
  #closed = false;
  readonly #pending = new Set<(err: FenceError) => void>();

  private constructor(api: Api, session: Session, peer: string, version: '1' | '2c' | '3', options: SnmpOpenOptions) {
    this.#api = api;
    this.#session = session;
    this.peer = peer;
    this.version = version;
    this.deadline = options.deadline;
    this.#logger = options.logger ?? silentLogger;
    this.#perRequestTimeoutMs = options.perRequestTimeoutMs ?? DEFAULT_PER_REQUEST_TIMEOUT_MS;
    this.#retries = options.retries ?? DEFAULT_RETRIES;
  }

  /**
   * Check the target and credentials, load net-snmp and create the session. Sends nothing: the first
   * call is the first packet (for v3, engine discovery happens then, inside the same deadline).
   */
  static async open(target: SnmpTarget, options: SnmpOpenOptions): Promise<SnmpClient> {
    const logger = options.logger ?? silentLogger;
    registerSecrets(target.auth, logger);
    const { port, transport, peer } = checkEndpoint(target);
    if (!Number.isFinite(options.deadline)) throw badInput('an SNMP client needs a finite deadline');
    if (options.perRequestTimeoutMs !== undefined && !(options.perRequestTimeoutMs > 0)) {
      throw badInput(`invalid SNMP request timeout ${options.perRequestTimeoutMs}`);
    }
    if (options.retries !== undefined && !(Number.isInteger(options.retries) && options.retries >= 0)) {
      throw badInput(`invalid SNMP retries ${options.retries}`);
    }
    const auth = target.auth;
    if (!['1', '2c', '3'].includes(auth.version)) throw badInput(`unknown SNMP version "${auth.version}"`);
    if (auth.version !== '3' && !auth.community) throw badInput(`SNMP v${auth.version} needs a community`);

    const api = await loadNetSnmp();
    const sessionOptions: NetSnmp.SessionOptions = {
      port,
      transport,
      // Paced per call by #run(); these are only the values before the first call.
      timeout: options.perRequestTimeoutMs ?? DEFAULT_PER_REQUEST_TIMEOUT_MS,
      retries: options.retries ?? DEFAULT_RETRIES,
      // A reply naming other OIDs than asked is a confused device: fail rather than read the wrong row.
      reportOidMismatchErrors: true,
    };
    const session =
      auth.version === '3'
        ? api.createV3Session(target.host, usmUser(api, auth), { ...sessionOptions, version: api.Version3 })
        : api.createSession(target.host, auth.community, {
            ...sessionOptions,
            version: auth.version === '1' ? api.Version1 : api.Version2c,
          });
    // net-snmp emits 'error' for undecodable datagrams; without a listener EventEmitter would throw and
    // take the agent down for one stray packet.
    session.on('error', (err) => logger.debug(`${peer}: ignored undecodable SNMP packet: ${err.message}`));
    logger.debug(`${describeAuth(auth)} at ${peer}`);
    return new SnmpClient(api, session, peer, auth.version, options);
  }

  /**
   * GET. Values come back in the order asked. A missing object (v1 noSuchName, v2c/v3 noSuchObject or
   * noSuchInstance) throws SnmpNoSuchObjectError, the same way in every version.
   */
  async get(oids: readonly string[], options?: SnmpCallOptions): Promise<SnmpValue[]> {
    if (oids.length === 0) throw badInput('SNMP get needs at least one OID');
    const normalized = oids.map(normalizeOid);
    const varbinds = await this.#run<Varbind[]>('get', normalized, options, (session, settle) => {
      session.get(normalized, settle);
    });
    const values = varbinds.map(toSnmpValue);
    this.#logger.debug(`${this.peer} get: ${values.map((v) => `${v.oid} = ${describeValue(v)}`).join(', ')}`);
    const missing = values.find((v) => isSnmpException(v.type));
    if (missing) throw new SnmpNoSuchObjectError(missing.oid, this.peer, missing.type);
    return values;
  }

  /** GET of one integer-valued object (INTEGER, Gauge, Counter, TimeTicks). Anything else is 'unconfirmed'. */
  async getInt(oid: string, options?: SnmpCallOptions): Promise<number> {
    const [value] = await this.get([oid], options);
    const typeOk = value && (options?.enumerated ? value.type === 'integer' : isNumericType(value.type));
    if (value && typeOk && typeof value.value === 'number') return value.value;
    throw new FenceError(
      'unconfirmed',
      `${this.peer} answered ${value ? describeValue(value) : 'nothing'} at ${normalizeOid(oid)}, expected an integer`,
    );
  }

  /**
   * SET, all varbinds in one PDU (the agent applies all or none). A write refused for access reasons is
   * 'privilege', unless a GET shows the object does not exist at all: then SnmpNoSuchObjectError. That check
   * is what makes v1 usable here, since v1 reports both cases as noSuchName (RFC 3584 §4.4).
   */
  async set(varbinds: readonly SnmpSetVarbind[], options?: SnmpCallOptions): Promise<void> {
    if (varbinds.length === 0) throw badInput('SNMP set needs at least one varbind');
    const prepared = varbinds.map((vb) => this.#toNetSnmpVarbind(vb));
    const oids = prepared.map((vb) => vb.oid);
    try {
      await this.#run<Varbind[]>('set', oids, options, (session, settle) => {
        session.set(prepared, settle);
      });
    } catch (err) {
      if (err instanceof FenceError && err.kind === 'privilege') throw (await this.#findMissing(oids, options)) ?? err;
      throw err;
    }
  }

  /**
   * Every object below oidPrefix, in the agent's order (GETNEXT for v1, GETBULK otherwise). Stops at the
   * end of the subtree, unlike net-snmp's walk(), which runs on to the end of the MIB. An empty or absent
   * subtree gives [].
   */
  async subtree(oidPrefix: string, options?: SnmpCallOptions): Promise<SnmpValue[]> {
    const prefix = normalizeOid(oidPrefix);
    const collected: SnmpValue[] = [];
    const seen = new Set<string>();
    await this.#run<void>('subtree', [prefix], options, (session, settle, settled) => {
      session.subtree(
        prefix,
        SUBTREE_MAX_REPETITIONS,
        (varbinds) => {
          if (settled()) return true; // the deadline already answered the caller: stop asking
          this.#answered = true;
          for (const vb of varbinds) {
            // net-snmp tolerates OIDs that go backwards (some devices do); a repeat would loop forever.
            if (seen.has(vb.oid)) {
              settle(new FenceError('unconfirmed', `${this.peer} returned ${vb.oid} twice while reading ${prefix}: the agent loops`));
              return true;
            }
            seen.add(vb.oid);
            const value = toSnmpValue(vb);
            if (!isSnmpException(value.type)) collected.push(value);
          }
          return false;
        },
        (error) => settle(error),
      );
    });
    return collected;
  }

  /** Release the socket. Calls still waiting fail with 'internal' (closing under them is a caller bug). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new FenceError('internal', `SNMP client for ${this.peer} closed while a request was pending`);
    for (const reject of [...this.#pending]) reject(err);
    try {
      this.#session.close();
    } catch {
      // Already closed by net-snmp after a socket error: nothing left to release.
    }
  }

  #toNetSnmpVarbind(vb: SnmpSetVarbind): Varbind {
    const oid = normalizeOid(vb.oid);
    if (vb.type === 'integer') {
      // INTEGER is signed 32-bit (RFC 2578 §7.1.1); net-snmp would throw a bare RangeError.
      if (!Number.isInteger(vb.value) || vb.value < -0x8000_0000 || vb.value > 0x7fff_ffff) {
        throw badInput(`SNMP integer value ${vb.value} for ${oid} is not a 32-bit integer`);
      }
      return { oid, type: this.#api.ObjectType.Integer, value: vb.value };
    }
    if (vb.type === 'octetString') {
      if (typeof vb.value !== 'string') throw badInput(`SNMP octet string value for ${oid} is not a string`);
      return { oid, type: this.#api.ObjectType.OctetString, value: vb.value };
    }
    throw badInput(`unsupported SNMP set type "${(vb as { type: unknown }).type}" for ${oid}`);
  }

  /** After a refused SET: the first of oids that a GET says does not exist, if any. */
  async #findMissing(oids: string[], options?: SnmpCallOptions): Promise<SnmpNoSuchObjectError | undefined> {
    try {
      await this.get(oids, options);
      return undefined;
    } catch (err) {
      if (err instanceof SnmpNoSuchObjectError) {
        return new SnmpNoSuchObjectError(err.oid, this.peer, 'the device refused the SET and a GET does not find it');
      }
      return undefined; // cannot tell: the refusal stands as 'privilege'
    }
  }

  /**
   * One SNMP operation inside the deadline. net-snmp's timer and retries are paced so its own attempts end
   * before the deadline, and a guard timer settles the call at the deadline in any case: a v3 discovery
   * plus request, or a many-request subtree, is more than one net-snmp request.
   */
  #run<T>(
    operation: SnmpOperation,
    oids: readonly string[],
    options: SnmpCallOptions | undefined,
    start: (session: Session, settle: (error: unknown, result?: T) => void, settled: () => boolean) => void,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new FenceError('internal', `SNMP client for ${this.peer} used after close()`));
    const deadline = Math.min(this.deadline, options?.deadline ?? Infinity);
    const startedAt = Date.now();
    const remaining = deadline - startedAt;
    const plan: AttemptPlan = planAttempts(remaining, this.#perRequestTimeoutMs, this.#retries);
    const context = (): RequestContext => ({
      operation,
      oids,
      peer: this.peer,
      version: this.version,
      answeredBefore: this.#answered,
      // Read from net-snmp's session state: the only sign that discovery (inside this call) was answered.
      engineDiscovered: this.version === '3' && this.#session.msgSecurityParameters !== undefined,
      plan,
    });
    if (remaining <= 0) {
      return Promise.reject(
        new FenceError('timeout', `SNMP ${operation} ${oids.join(', ')} to ${this.peer} not sent: the deadline has passed (timed out)`),
      );
    }
    this.#session.timeout = plan.timeoutMs;
    this.#session.retries = plan.retries;

    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (error: FenceError | undefined, result?: T) => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        this.#pending.delete(abort);
        const ms = Date.now() - startedAt;
        if (error) {
          this.#logger.debug(`${this.peer} ${operation} ${oids.join(', ')} failed after ${ms} ms: ${error.kind}: ${error.message}`);
          reject(error);
        } else {
          this.#logger.debug(`${this.peer} ${operation} ${oids.join(', ')} ok (${ms} ms)`);
          resolve(result as T);
        }
      };
      const abort = (err: FenceError) => finish(err);
      const settle = (error: unknown, result?: T) => {
        if (done) return;
        const failure = error ? classifySnmpFailure(error, context()) : undefined;
        // Any decoded reply (success, error-status, USM report) proves the peer is there.
        if (!error || isReplyError(error)) this.#answered = true;
        finish(failure, result);
      };
      const guard = setTimeout(
        () => finish(classifySnmpFailure(deadlineError(remaining), context())),
        Math.min(remaining, MAX_TIMER_MS),
      );
      this.#pending.add(abort);
      try {
        start(this.#session, settle, () => done);
      } catch (err) {
        // net-snmp validates some input synchronously (e.g. OID syntax) and throws.
        settle(err);
      }
    });
  }
}

/** Errors that can only come from a packet the peer sent back. */
function isReplyError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'RequestFailedError' || name === 'ResponseInvalidError';
}

/** Shaped like net-snmp's timeout so it is classified the same way ('unreachable' or 'timeout'). */
function deadlineError(remainingMs: number): Error {
  const err = new Error(`deadline reached after ${remainingMs} ms`);
  err.name = 'RequestTimedOutError';
  return err;
}
