// A client for SCSI-3 persistent reservations through sg3_utils (sg_persist, sg_turs), run without a shell.
// It knows devices, keys and commands, nothing of options or power states.
//
// Every non-zero exit is an error, even where the target changed its state anyway: LIO answers a
// REGISTER with NOT READY when it cannot store its PR state (/etc/target/pr missing when target_core_mod
// loaded: docs/guest-lab.md), after having registered the key.
// The one exception is UNIT ATTENTION, which means the command was not executed because something happened
// before it (a reset, "registrations preempted"): the command is sent again, a few times, as fence_scsi gets
// the same effect by running sg_turs before every command.
import { FenceError, type FenceErrorKind } from '../errors.js';
import { run } from '../exec.js';
import type { Logger } from '../log.js';
import { remaining } from '../timing.js';
import {
  classifyExit,
  parseReadFullStatus,
  parseReadKeys,
  parseReadReservation,
  senseSummary,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY,
  type PrState,
  type ReservationKey,
  type SgFailure,
} from './sg-output.js';

export interface SgClientSettings {
  readonly sgPersistPath: string;
  readonly sgTursPath: string;
  /** Open the device read-only for PR IN (sg_persist -y). */
  readonly readonly: boolean;
  readonly logger: Logger;
}

export interface Deadline {
  readonly deadline: number;
}

const FAILURE_KIND: Partial<Record<SgFailure, FenceErrorKind>> = {
  timeout: 'timeout',
  busy: 'timeout',
  'cannot-open': 'bad-input',
  syntax: 'internal',
};

/** A command the device (or sg3_utils) answered with a failure. */
export class SgCommandError extends FenceError {
  constructor(
    readonly device: string,
    readonly command: string,
    readonly failure: SgFailure,
    readonly exitCode: number,
    readonly sense: string | undefined,
  ) {
    super(FAILURE_KIND[failure] ?? 'device-refused', `${command} on ${device}: ${sense ?? failure} (sg3_utils exit ${exitCode})`);
  }
}

const UNIT_ATTENTION_RETRIES = 3;
const GENERATION_RETRIES = 3;

export class SgClient {
  /** READ FULL STATUS is optional in SPC-3 (tgtd lacks it): after one refusal, use READ KEYS + READ RESERVATION. */
  private fullStatus = true;

  constructor(private readonly settings: SgClientSettings) {}

  private async exec(file: string, args: string[], device: string, what: string, at: Deadline): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const left = remaining(at.deadline);
      if (left <= 0) throw new FenceError('timeout', `${what} on ${device} timed out`);
      const r = await run(file, args, { timeoutMs: Number.isFinite(left) ? left : 0, logger: this.settings.logger });
      if (r.code === 0) return r.stdout;
      if (r.code === null) throw new FenceError('timeout', `${what} on ${device} timed out (killed by ${r.signal})`);
      const failure = classifyExit(r.code);
      if (failure === 'unit-attention' && attempt <= UNIT_ATTENTION_RETRIES) {
        this.settings.logger.debug(`${what} on ${device}: unit attention (${senseSummary(r.stderr) ?? ''}); sending it again`);
        continue;
      }
      throw new SgCommandError(device, what, failure, r.code, senseSummary(r.stderr));
    }
  }

  private prIn(device: string, flag: string, what: string, at: Deadline): Promise<string> {
    const args = ['-n', '-i', ...(this.settings.readonly ? ['-y'] : []), flag, '-d', device];
    return this.exec(this.settings.sgPersistPath, args, device, what, at);
  }

  private async prOut(device: string, args: string[], what: string, at: Deadline): Promise<void> {
    await this.exec(this.settings.sgPersistPath, ['-n', '-o', ...args, '-d', device], device, what, at);
  }

  /** TEST UNIT READY: the device answers and is ready (a pending unit attention is consumed and retried). */
  async testUnitReady(device: string, at: Deadline): Promise<void> {
    await this.exec(this.settings.sgTursPath, [device], device, 'TEST UNIT READY', at);
  }

  async readKeys(device: string, at: Deadline): Promise<Pick<PrState, 'generation' | 'keys'>> {
    return parseReadKeys(await this.prIn(device, '-k', 'READ KEYS', at));
  }

  async readReservation(device: string, at: Deadline): Promise<Pick<PrState, 'generation' | 'reservation'>> {
    return parseReadReservation(await this.prIn(device, '-r', 'READ RESERVATION', at));
  }

  /**
   * Keys and reservation holder: READ FULL STATUS where supported, else READ KEYS + READ RESERVATION.
   * A full status is confirmed by a READ KEYS of the same PR generation listing the same registrations, as
   * fence_scsi reads keys: a descriptor missing from one answer (truncated, garbled) must not read as a
   * fenced victim. A generation that moves between the two reads is read again, a few times.
   */
  async readState(device: string, at: Deadline): Promise<PrState> {
    for (let attempt = 1; this.fullStatus; attempt++) {
      let full: PrState;
      try {
        full = parseReadFullStatus(await this.prIn(device, '-s', 'READ FULL STATUS', at));
      } catch (err) {
        if (!(err instanceof SgCommandError && (err.failure === 'illegal-request' || err.failure === 'unsupported'))) throw err;
        this.settings.logger.debug(`${device} does not support READ FULL STATUS; reading keys and reservation`);
        this.fullStatus = false;
        break;
      }
      const keys = await this.readKeys(device, at);
      if (keys.generation === full.generation) {
        const registered = (full.registrations ?? []).map((r) => r.key).sort();
        const listed = [...keys.keys].sort();
        if (registered.join(',') !== listed.join(',')) {
          throw new FenceError('unconfirmed', `READ FULL STATUS and READ KEYS of ${device} disagree at PR generation 0x${full.generation.toString(16)}: registrations [${registered.join(', ')}], keys [${listed.join(', ')}]`);
        }
        return full;
      }
      if (attempt >= GENERATION_RETRIES) {
        throw new FenceError('unconfirmed', `the registrations of ${device} kept changing while being read (PR generation 0x${full.generation.toString(16)}, then 0x${keys.generation.toString(16)})`);
      }
    }
    const keys = await this.readKeys(device, at);
    const res = await this.readReservation(device, at);
    return { ...keys, ...(res.reservation ? { reservation: res.reservation } : {}) };
  }

  /** REGISTER AND IGNORE EXISTING KEY: (re)register this I_T nexus with `key`, whatever it had before. */
  registerAndIgnore(device: string, key: ReservationKey, opts: { aptpl: boolean }, at: Deadline): Promise<void> {
    return this.prOut(device, ['-I', '-S', key, ...(opts.aptpl ? ['-Z'] : [])], 'REGISTER AND IGNORE EXISTING KEY', at);
  }

  reserve(device: string, key: ReservationKey, at: Deadline): Promise<void> {
    return this.prOut(device, ['-R', '-T', String(WRITE_EXCLUSIVE_REGISTRANTS_ONLY), '-K', key], 'RESERVE', at);
  }

  /** PREEMPT: remove `victim`'s registrations (with own == victim: the stale I_T nexuses of one's own key). */
  preempt(device: string, own: ReservationKey, victim: ReservationKey, at: Deadline): Promise<void> {
    return this.prOut(device, ['-P', '-T', String(WRITE_EXCLUSIVE_REGISTRANTS_ONLY), '-K', own, '-S', victim], 'PREEMPT', at);
  }

  /** PREEMPT AND ABORT: remove `victim`'s registrations and abort its queued commands; the fence itself. */
  preemptAndAbort(device: string, own: ReservationKey, victim: ReservationKey, at: Deadline): Promise<void> {
    return this.prOut(device, ['-A', '-T', String(WRITE_EXCLUSIVE_REGISTRANTS_ONLY), '-K', own, '-S', victim], 'PREEMPT AND ABORT', at);
  }
}
