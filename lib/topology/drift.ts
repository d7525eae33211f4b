// `fencekit audit --live` drift: each live run records, per device, a fingerprint (latency, how the device
// was spoken to, who it says it is) in a state file, and the next live run compares. A device that answers
// at the same address but is another model, runs other firmware, speaks a weaker cipher or SNMP version, or
// has grown much slower is something that changed since the last audit without anyone reviewing it. The
// file holds no secret: addresses, versions and what the device itself reports, nothing from the
// credentials. The thresholds and their reasons are in docs/audit.md ("Drift").
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { FenceError } from '../errors.js';
import { RULES, type Finding, type RuleId, type Severity } from './audit.js';

/** How a device was spoken to on this run. */
export type ProtocolFingerprint =
  | { readonly family: 'ipmi'; readonly version: '2.0'; readonly cipherSuite: number }
  | { readonly family: 'ipmi'; readonly version: '1.5'; readonly authType: string }
  | { readonly family: 'snmp'; readonly version: '1' | '2c' }
  | { readonly family: 'snmp'; readonly version: '3'; readonly securityLevel: string; readonly authProtocol?: string; readonly privProtocol?: string };

/**
 * What the device says it is. Keys in WHO name the device (another value: another device at that address);
 * keys in FIRMWARE name its software (another value: an upgrade or downgrade).
 */
export type Identity = Readonly<Record<string, string>>;

const WHO = ['sysObjectID', 'manufacturer', 'product', 'deviceId'] as const;
const FIRMWARE = ['firmware', 'ipmiVersion', 'sysDescr'] as const;

export interface DeviceFingerprint {
  readonly agent: string;
  /** host:port as the topology gives it. */
  readonly address: string;
  /** How long `monitor` took, milliseconds (an agent process, as Pacemaker runs it). */
  readonly ms: number;
  readonly protocol?: ProtocolFingerprint;
  readonly identity?: Identity;
  /** When it was read, ISO 8601. */
  readonly at: string;
}

export interface AuditState {
  readonly version: 1;
  /** The topology file's absolute path: a state is compared only with the topology it was written for. */
  readonly topology: string;
  /** When the live audit that wrote it ran, ISO 8601. */
  readonly at: string;
  readonly devices: Readonly<Record<string, DeviceFingerprint>>;
}

/** Latency drift: at least LATENCY_FACTOR times and LATENCY_FLOOR_MS slower than last time is worth a note... */
export const LATENCY_FACTOR = 3;
export const LATENCY_FLOOR_MS = 1000;
/** ...and at least LATENCY_WARNING_FACTOR times and LATENCY_WARNING_FLOOR_MS slower, a warning. */
export const LATENCY_WARNING_FACTOR = 10;
export const LATENCY_WARNING_FLOOR_MS = 5000;

/** Where the state lives unless --state names it: one file per topology file. */
export function defaultStatePath(topologyPath: string, env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  const dir = env.XDG_STATE_HOME ? join(env.XDG_STATE_HOME, 'fencekit') : uid === 0 ? '/var/lib/fencekit' : join(env.HOME || homedir(), '.local', 'state', 'fencekit');
  // The topology's name, and a digest of its absolute path: two topology files never share a record.
  const absolute = resolve(topologyPath);
  const name = basename(absolute).replace(/\.ya?ml$/, '').replace(/[^A-Za-z0-9._-]+/g, '_');
  return join(dir, `audit-${name}-${createHash('sha256').update(absolute).digest('hex').slice(0, 12)}.json`);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isRecordOfStrings = (v: unknown): v is Record<string, string> => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isString);

function isProtocol(v: unknown): v is ProtocolFingerprint {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  if (p.family === 'ipmi') return (p.version === '2.0' && typeof p.cipherSuite === 'number') || (p.version === '1.5' && isString(p.authType));
  if (p.family === 'snmp') return p.version === '1' || p.version === '2c' || (p.version === '3' && isString(p.securityLevel));
  return false;
}

function isFingerprint(v: unknown): v is DeviceFingerprint {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Record<string, unknown>;
  return (
    isString(f.agent) &&
    isString(f.address) &&
    typeof f.ms === 'number' &&
    Number.isFinite(f.ms) &&
    f.ms >= 0 &&
    isString(f.at) &&
    (f.protocol === undefined || isProtocol(f.protocol)) &&
    (f.identity === undefined || isRecordOfStrings(f.identity))
  );
}

/**
 * The state of the last live run. Absent: undefined (the first run). Anything that is not a state this code
 * wrote (unreadable, not JSON, another version, a field of the wrong type) throws: nothing is compared with a
 * record that cannot be trusted.
 */
export function readAuditState(path: string): AuditState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FenceError('bad-input', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FenceError('bad-input', `${path} is not JSON`);
  }
  const s = parsed as Partial<AuditState> | null;
  if (typeof s !== 'object' || s === null || s.version !== 1 || !isString(s.topology) || !isString(s.at) || typeof s.devices !== 'object' || s.devices === null) {
    throw new FenceError('bad-input', `${path} is not a fencekit audit state (version 1)`);
  }
  for (const [name, f] of Object.entries(s.devices)) {
    if (!isFingerprint(f)) throw new FenceError('bad-input', `${path}: the record of device "${name}" is malformed`);
  }
  return s as AuditState;
}

/**
 * Write the state: mode 0600 (the file says which devices exist, where, and how they are reached), through a
 * new file renamed over the old one, so a reader never sees half a file and a symlink at the path is replaced,
 * not followed.
 */
export function writeAuditState(path: string, state: AuditState): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(state, null, 2) + '\n');
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(temp, path);
}

/**
 * The state after this run: this run's fingerprints, each over the last one of its device, keeping what
 * this run could not read (a device that did not answer, an identity that could not be read) so the next
 * run still compares with it. Devices no longer in the topology are dropped.
 */
export function nextAuditState(topology: string, devices: readonly string[], previous: AuditState | undefined, current: ReadonlyMap<string, DeviceFingerprint>, at = new Date().toISOString()): AuditState {
  const out: Record<string, DeviceFingerprint> = {};
  for (const name of devices) {
    const before = previous?.devices[name];
    const now = current.get(name);
    if (!now) {
      if (before) out[name] = before;
      continue;
    }
    const sameDevice = before !== undefined && before.address === now.address && before.agent === now.agent;
    out[name] = {
      ...now,
      ...(now.protocol === undefined && sameDevice && before.protocol ? { protocol: before.protocol } : {}),
      ...(now.identity === undefined && sameDevice && before.identity ? { identity: before.identity } : {}),
    };
  }
  return { version: 1, topology, at, devices: out };
}

/** A protocol in words, as the findings print it. */
export function describeProtocol(p: ProtocolFingerprint): string {
  if (p.family === 'ipmi') return p.version === '2.0' ? `IPMI 2.0 cipher suite ${p.cipherSuite}` : `IPMI 1.5 auth ${p.authType}`;
  if (p.version !== '3') return `SNMP v${p.version}`;
  const algorithms = [p.authProtocol, p.privProtocol].filter(Boolean).join('/');
  return `SNMPv3 ${p.securityLevel}${algorithms ? ` ${algorithms}` : ''}`;
}

// Strength, weakest first. IPMI 2.0 suites: 0 authenticates nothing, 1 protects no answer, 2 no
// confidentiality, 3 SHA-1 + AES, 17 SHA-256 + AES. IPMI 1.5 is weaker than any 2.0 suite that authenticates.
const IPMI_SUITES = [0, 1, 2, 3, 17];
const IPMI15_AUTH = ['none', 'password', 'md2', 'md5'];
const SNMP_LEVELS = ['1', '2c', '3 noAuthNoPriv', '3 authNoPriv', '3 authPriv'];
const SNMP_AUTH = ['MD5', 'SHA', 'SHA224', 'SHA256', 'SHA384', 'SHA512'];
const SNMP_PRIV = ['DES', 'AES', 'AES256B', 'AES256R'];

/** Strength as a tuple compared left to right; undefined where two protocols cannot be ranked. */
function strength(p: ProtocolFingerprint): number[] {
  if (p.family === 'ipmi') return p.version === '2.0' ? [1, IPMI_SUITES.indexOf(p.cipherSuite)] : [0, IPMI15_AUTH.indexOf(p.authType)];
  if (p.version !== '3') return [SNMP_LEVELS.indexOf(p.version), 0, 0];
  return [SNMP_LEVELS.indexOf(`3 ${p.securityLevel}`), SNMP_AUTH.indexOf(p.authProtocol ?? ''), SNMP_PRIV.indexOf(p.privProtocol ?? '')];
}

/** Whether `now` is weaker than `before`: a lower rank, or the same rank with any algorithm weaker. */
export function isDowngrade(before: ProtocolFingerprint, now: ProtocolFingerprint): boolean {
  if (before.family !== now.family) return false;
  const [b, n] = [strength(before), strength(now)];
  if (n[0]! !== b[0]!) return n[0]! < b[0]!;
  return n.slice(1).some((x, i) => x < b[i + 1]!);
}

function finding(rule: RuleId, subject: string, message: string, severity: Severity = RULES[rule].severity): Finding {
  return { rule, severity, subject, message };
}

const differing = (keys: readonly string[], before: Identity, now: Identity) => keys.filter((k) => before[k] !== undefined && now[k] !== undefined && before[k] !== now[k]);

/** What changed since the last live run, device by device. The first run (no previous state) finds nothing. */
export function driftFindings(previous: AuditState | undefined, current: ReadonlyMap<string, DeviceFingerprint>): Finding[] {
  if (!previous) return [];
  const out: Finding[] = [];
  for (const [name, now] of current) {
    const before = previous.devices[name];
    if (!before) continue;
    const subject = `device ${name}`;
    const since = `since the live audit of ${before.at}`;
    const moved = before.address !== now.address ? ` (it was at ${before.address})` : '';
    if (before.identity && now.identity) {
      const who = differing(WHO, before.identity, now.identity);
      const firmware = differing(FIRMWARE, before.identity, now.identity);
      const change = (k: string) => `${k} ${JSON.stringify(before.identity![k])} → ${JSON.stringify(now.identity![k])}`;
      if (who.length > 0) {
        out.push(finding('device-identity', subject, `the device at ${now.address}${moved} is not the one audited before: ${[...who, ...firmware].map(change).join(', ')}`));
      } else if (firmware.length > 0) {
        out.push(finding('device-identity', subject, `firmware changed ${since}: ${firmware.map(change).join(', ')}`));
      }
    }
    if (before.protocol && now.protocol && isDowngrade(before.protocol, now.protocol)) {
      out.push(finding('protocol-downgrade', subject, `now ${describeProtocol(now.protocol)}, ${describeProtocol(before.protocol)} ${since}`));
    }
    const grown = now.ms - before.ms;
    if (before.ms > 0 && now.ms >= LATENCY_FACTOR * before.ms && grown >= LATENCY_FLOOR_MS) {
      const warn = now.ms >= LATENCY_WARNING_FACTOR * before.ms && grown >= LATENCY_WARNING_FLOOR_MS;
      out.push(finding('latency-drift', subject, `monitor took ${now.ms} ms, ${(now.ms / before.ms).toFixed(1)} times the ${before.ms} ms ${since}`, warn ? 'warning' : 'info'));
    }
  }
  return out;
}
