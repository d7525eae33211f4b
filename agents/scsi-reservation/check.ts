// fence_kit_scsi_check: the watchdog half of SCSI fencing, a peer of fence_scsi_check. Run by watchdog(8)
// from /etc/watchdog.d: exit 0 while this node's key is still registered on a device it registered on, 2
// once every one of them has lost it (the node was fenced), so that watchdog reboots the node.
// fence_kit_scsi_check_hardreboot reboots at once instead of leaving it to watchdog.
// Settings as fence_scsi_check's: /etc/sysconfig/stonith may set retry, retry-sleep and verbose=yes.
import { readFileSync, writeFileSync } from 'node:fs';
import { createLogger, type Logger } from '../../lib/log.js';
import { SgClient } from '../../lib/scsi/sg-persist.js';
import { deadlineIn, sleep } from '../../lib/timing.js';
import { SG_PERSIST_PATH, SG_TURS_PATH } from './options.js';
import { KeyStore } from './store.js';

export const EXIT_REGISTERED = 0;
export const EXIT_PREEMPTED = 2;

export interface CheckSettings {
  retry: number;
  retrySleepMs: number;
  verbose: boolean;
}

/** `key = value` lines of /etc/sysconfig/stonith, keys lower-cased (as fence_scsi_check reads them). */
export function parseStonithSysconfig(text: string): CheckSettings {
  const values = new Map<string, string>();
  for (const m of text.matchAll(/^\s*(\S*)\s*=\s*(\S*)\s*$/gm)) values.set(m[1]!.toLowerCase(), m[2]!.toLowerCase());
  const num = (k: string, d: number) => (Number.isFinite(Number(values.get(k))) && values.has(k) ? Number(values.get(k)) : d);
  return { retry: Math.max(0, Math.trunc(num('retry', 0))), retrySleepMs: num('retry-sleep', 1) * 1000, verbose: values.get('verbose') === 'yes' };
}

function readSettings(file: string): CheckSettings {
  try {
    return parseStonithSysconfig(readFileSync(file, 'utf8'));
  } catch {
    return parseStonithSysconfig('');
  }
}

export interface CheckIo {
  argv: readonly string[];
  hardReboot: boolean;
  store?: KeyStore;
  sysconfig?: string;
  log?: Logger;
  /** Per-command bound: a hung LUN must not hang the watchdog. */
  commandTimeoutMs?: number;
}

export async function scsiCheck(io: CheckIo): Promise<number> {
  // watchdog(8) calls "repair N" after a failed "test": hand its code back, as fence_scsi_check does.
  if (io.argv[0] === 'repair' && io.argv[1] !== undefined) return Number.parseInt(io.argv[1], 10) || 0;
  const settings = readSettings(io.sysconfig ?? '/etc/sysconfig/stonith');
  const log = io.log ?? createLogger({ verbosity: settings.verbose ? 1 : 0 });
  const store = io.store ?? new KeyStore();
  const devices = store.readDevices();
  // A node that was never unfenced has nothing to lose: not a reason to reboot it.
  if (devices.length === 0) {
    log.error('No devices found');
    return EXIT_REGISTERED;
  }
  let key: string | undefined;
  try {
    key = store.readKey();
  } catch (err) {
    // Two key files naming different keys: as with no key, nothing proves this node lost its own.
    log.error((err as Error).message);
    return EXIT_REGISTERED;
  }
  if (!key) {
    log.error('Key not found');
    return EXIT_REGISTERED;
  }
  const client = new SgClient({ sgPersistPath: SG_PERSIST_PATH, sgTursPath: SG_TURS_PATH, readonly: false, logger: log });
  for (const device of devices) {
    for (let n = 0; n <= settings.retry; n++) {
      if (n > 0) log.debug(`retry: ${n} of ${settings.retry}`);
      try {
        const { keys } = await client.readKeys(device, { deadline: deadlineIn(io.commandTimeoutMs ?? 5000) });
        if (keys.includes(key)) {
          log.debug(`key ${key} registered with device ${device}`);
          return EXIT_REGISTERED;
        }
        log.debug(`key ${key} not registered with device ${device}`);
      } catch (err) {
        log.debug(`cannot read the keys of ${device}: ${(err as Error).message}`);
      }
      if (n < settings.retry) await sleep(settings.retrySleepMs);
    }
  }
  log.debug(`key ${key} is registered with no device`);
  if (io.hardReboot) {
    log.error(`key ${key} was preempted on every device: rebooting now`);
    // sysrq "b": an immediate reboot, without syncing or unmounting; works whatever kernel.sysrq says.
    writeFileSync('/proc/sysrq-trigger', 'b');
  }
  return EXIT_PREEMPTED;
}
