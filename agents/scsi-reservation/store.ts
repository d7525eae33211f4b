// This node's key and the devices it registered on, remembered by `on` for `off` (the preempting key) and
// for the watchdog check. Same files and format as Debian's fence_scsi (STORE_PATH "/var/run/cluster"
// + ".key" / ".dev"), so fence_scsi_check and fence_kit_scsi_check can watch a node unfenced by either agent.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { normaliseKey, type ReservationKey } from '../../lib/scsi/sg-output.js';

export const STORE_PREFIX = '/var/run/cluster';

export class KeyStore {
  constructor(private readonly prefix = STORE_PREFIX) {}

  get keyFile(): string {
    return `${this.prefix}.key`;
  }
  get deviceFile(): string {
    return `${this.prefix}.dev`;
  }

  readKey(): ReservationKey | undefined {
    try {
      const line = readFileSync(this.keyFile, 'utf8').split('\n')[0]!.trim();
      return line === '' ? undefined : normaliseKey(line);
    } catch {
      return undefined;
    }
  }

  writeKey(key: ReservationKey): void {
    mkdirSync(dirname(this.keyFile), { recursive: true });
    writeFileSync(this.keyFile, `${key}\n`);
  }

  readDevices(): string[] {
    try {
      return readFileSync(this.deviceFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
    } catch {
      return [];
    }
  }

  addDevice(device: string): void {
    if (this.readDevices().includes(device)) return;
    mkdirSync(dirname(this.deviceFile), { recursive: true });
    appendFileSync(this.deviceFile, `${device}\n`);
  }
}
