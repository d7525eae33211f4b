// The same power operations as IpmiClient, done by running ipmitool (fence_ipmilan's way). One process per
// operation; the password travels in IPMI_PASSWORD (-E) and the Kg in IPMI_KGKEY (-K), never in argv, because
// argv is world-readable in /proc (a Kg the environment cannot carry is refused: ipmitool-kg.ts). ipmitool's
// diagnostics are mapped onto the same error kinds as the native client's.
import { isIP } from 'node:net';
import { FenceError } from '../errors.js';
import { run, type RunResult } from '../exec.js';
import { silentLogger, type Logger } from '../log.js';
import type { ChassisControl, ChassisPower, IpmiTarget } from './client.js';
import { kgForIpmitoolEnvironment } from './ipmitool-kg.js';

export interface IpmitoolOptions {
  target: IpmiTarget;
  /** Default /usr/bin/ipmitool. */
  ipmitoolPath?: string;
  /** Run through sudo (fence_ipmilan's use_sudo); the secret environment is preserved explicitly. */
  sudoPath?: string;
  /** ipmitool -N: seconds per retransmission (fence_ipmilan's ipmitool_timeout, default 2). */
  retransmitSeconds?: number;
  /** ipmitool -t: bridge the request to this IPMB address. */
  bridgeTarget?: string;
  logger?: Logger;
}

const PRIVILEGE_ARG = { callback: 'CALLBACK', user: 'USER', operator: 'OPERATOR', administrator: 'ADMINISTRATOR' } as const;
const AUTH_ARG = { none: 'NONE', password: 'PASSWORD', md5: 'MD5' } as const;

export class IpmitoolRunner {
  private readonly logger: Logger;
  constructor(private readonly opts: IpmitoolOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.logger.addSecret(opts.target.password);
    if (opts.target.kg && opts.target.kg.length > 0) {
      this.logger.addSecret(opts.target.kg.toString('hex'));
      this.logger.addSecret(opts.target.kg.toString('latin1'));
      this.logger.addSecret(opts.target.kg.toString('utf8'));
    }
  }

  async getChassisPower(deadline: number): Promise<ChassisPower> {
    const result = await this.ipmitool(['chassis', 'power', 'status'], deadline);
    const m = /Chassis Power is (on|off)/i.exec(result.stdout);
    if (!m) throw new FenceError('unconfirmed', `ipmitool printed no "Chassis Power is on|off": ${lastLine(result)}`);
    return m[1]!.toLowerCase() as ChassisPower;
  }

  async chassisControl(op: ChassisControl, deadline: number): Promise<void> {
    const result = await this.ipmitool(['chassis', 'power', op], deadline);
    if (!/Chassis Power Control:/i.test(result.stdout)) {
      throw new FenceError('unconfirmed', `ipmitool did not acknowledge chassis power ${op}: ${lastLine(result)}`);
    }
  }

  /** argv and environment for one ipmitool run; exported through the class for tests (no secret in argv). */
  command(action: readonly string[], deadline: number): { file: string; args: string[]; env: Record<string, string> } {
    const t = this.opts.target;
    const lanplus = t.version === '2.0';
    const cipher = t.cipherSuite ?? 3;
    if (lanplus && cipher === 0 && !t.allowInsecure) {
      throw new FenceError('bad-input', 'cipher suite 0 authenticates nothing (any password is accepted); pass allowInsecure to use it');
    }
    if (lanplus && cipher === 1 && !t.allowInsecure) {
      throw new FenceError('bad-input', 'cipher suite 1 protects no answer (no integrity): a forged "power is off" would be believed; pass allowInsecure to use it');
    }
    if (!lanplus && (t.authType ?? 'md5') === 'none' && !t.allowInsecure) {
      throw new FenceError('bad-input', 'IPMI 1.5 auth type none sends no credentials; pass allowInsecure to use it');
    }
    if (!lanplus && t.authType === 'password' && !t.allowInsecure) {
      throw new FenceError('bad-input', 'IPMI 1.5 auth type password sends the password in clear text in every packet; pass allowInsecure to use it');
    }
    const remainingSeconds = Math.max(1, (deadline - Date.now()) / 1000);
    // At least one retransmission must fit in the time this call has (a status poll gets shell_timeout):
    // with -N 2 and 2 s left, one lost datagram of the ~6 exchanges of a lanplus session killed the whole
    // call, and under 10 % loss no off was ever confirmed (test/faults, RELIABILITY.md).
    const retransmit = Math.max(1, Math.min(Math.round(this.opts.retransmitSeconds ?? 2), Math.floor(remainingSeconds / 2)));
    const retries = Math.min(10, Math.max(1, Math.floor(remainingSeconds / retransmit) - 1));
    const env: Record<string, string> = { IPMI_PASSWORD: t.password };
    const args = ['-I', lanplus ? 'lanplus' : 'lan', '-H', t.host, '-p', String(t.port ?? 623), '-U', t.username, '-E'];
    if (lanplus) {
      // Always name the suite: without -C, ipmitool asks Get Channel Cipher Suites, which some BMCs (and
      // ipmi_sim) never answer, costing every call 10 s.
      args.push('-C', String(cipher));
      if (t.kg && t.kg.length > 0) {
        env.IPMI_KGKEY = kgForIpmitoolEnvironment(t.kg);
        args.push('-K');
      }
    } else {
      args.push('-A', AUTH_ARG[t.authType ?? 'md5']);
    }
    args.push('-L', PRIVILEGE_ARG[t.privilege ?? 'administrator'], '-N', String(retransmit), '-R', String(retries));
    if (t.family !== undefined) {
      // ipmitool -4/-6 keep a name's lookup to one family; an address of the other is refused here, not sent.
      const literal = isIP(t.host.replace(/^\[(.*)\]$/, '$1'));
      if (literal !== 0 && literal !== t.family) throw new FenceError('bad-input', `BMC address ${t.host} is IPv${literal}, and only IPv${t.family} may be used`);
      args.push(`-${t.family}`);
    }
    if (this.opts.bridgeTarget) args.push('-t', this.opts.bridgeTarget);
    args.push('-v', ...action);
    const ipmitool = this.opts.ipmitoolPath ?? '/usr/bin/ipmitool';
    if (this.opts.sudoPath) {
      const keep = Object.keys(env).join(',');
      return { file: this.opts.sudoPath, args: [`--preserve-env=${keep}`, ipmitool, ...args], env };
    }
    return { file: ipmitool, args, env };
  }

  private async ipmitool(action: readonly string[], deadline: number): Promise<RunResult> {
    const { file, args, env } = this.command(action, deadline);
    const timeoutMs = deadline - Date.now();
    if (timeoutMs <= 0) throw new FenceError('timeout', `no time left to run ipmitool ${action.join(' ')}`);
    const result = await run(file, args, { env, timeoutMs, logger: this.logger });
    if (result.code !== 0) throw classifyIpmitoolFailure(result, action.join(' '));
    return result;
  }
}

/** ipmitool's error text to an error kind; exported for the unit tests, which feed it captured output. */
export function classifyIpmitoolFailure(result: Pick<RunResult, 'stdout' | 'stderr' | 'code'>, action: string): FenceError {
  const text = `${result.stderr}\n${result.stdout}`;
  const last = lastLine(result);
  if (/Insufficient privilege level|privilege level exceeds limit|Requested privilege level/i.test(text)) {
    return new FenceError('privilege', `ipmitool ${action}: ${matchLine(text, /privilege/i) ?? last}`);
  }
  const auth = matchLine(
    text,
    /RAKP \d (HMAC is invalid|message indicates an error)|Activate Session command failed|Invalid user name|NULL user name is not enabled|Invalid session ID|unauthorized name/i,
  );
  if (auth) return new FenceError('auth', `ipmitool ${action}: ${auth}`);
  if (/Unable to establish (IPMI v2 \/ RMCP\+|IPMI v1\.5 \/ RMCP|LAN) session/i.test(text)) {
    return new FenceError('unreachable', `ipmitool ${action}: ${last}`);
  }
  if (/Unable to (open|connect)|No route to host|Address family|Name or service not known/i.test(text)) {
    return new FenceError('unreachable', `ipmitool ${action}: ${last}`);
  }
  if (/not found|No such file/i.test(text) && result.code === 127) return new FenceError('bad-input', `ipmitool ${action}: ${last}`);
  // ipmitool prints "Unable to set/get Chassis ..." when no answer came (sendrecv returned nothing), and
  // "... failed: <completion code>" when the BMC said no. Only the latter is a refusal: under 10 % loss the
  // former ended fences at once as "Device refused the command" (test/faults, RELIABILITY.md).
  if (/Unable to (set|get) Chassis|Unable to (send|receive)|No response from remote controller/i.test(text)) {
    return new FenceError('timeout', `ipmitool ${action}: no answer: ${last}`);
  }
  return new FenceError('device-refused', `ipmitool ${action} exited ${result.code}: ${last}`);
}

function matchLine(text: string, re: RegExp): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => re.test(l));
}

function lastLine(result: Pick<RunResult, 'stdout' | 'stderr'>): string {
  const lines = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Loading IANA PEN Registry/.test(l) && !/HPM\.x Capabilities/.test(l));
  return lines[lines.length - 1] ?? '(no output)';
}
