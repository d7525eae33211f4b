// This node's key and the devices it registered on, remembered by `on` for `off` (the preempting key) and
// for the watchdog check. Same files and format as fence_scsi's, in both places fence_scsi has kept them:
// Debian 12's fence-agents 4.12 uses STORE_PATH "/var/run/cluster" (cluster.key, cluster.dev), later
// upstream releases "/var/run/cluster/fence_scsi" (fence_scsi.key, fence_scsi.dev). `on` writes both, so
// that whichever fence_scsi_check the node has installed as its watchdog script (or fence_kit_scsi_check)
// finds the key and devices; readers take either, and two files that name different keys are an error.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FenceError } from '../../lib/errors.js';
import { normaliseKey, type ReservationKey } from '../../lib/scsi/sg-output.js';

/** fence-agents 4.12 (Debian 12) first, then later upstream releases. */
export const STORE_PREFIXES = ['/var/run/cluster', '/var/run/cluster/fence_scsi'] as const;

export class KeyStore {
  constructor(private readonly prefixes: readonly string[] = STORE_PREFIXES) {}

  get keyFiles(): string[] {
    return this.prefixes.map((p) => `${p}.key`);
  }
  get deviceFiles(): string[] {
    return this.prefixes.map((p) => `${p}.dev`);
  }

  /** The key recorded by this node's last `on` (by this agent or fence_scsi); undefined when none is. */
  readKey(): ReservationKey | undefined {
    const found = new Map<string, ReservationKey>();
    for (const file of this.keyFiles) {
      const line = readOptional(file)?.split('\n')[0]!.trim();
      if (line) found.set(file, normaliseKey(line));
    }
    const keys = new Set(found.values());
    if (keys.size > 1) {
      throw new FenceError('bad-input', `this node's key files disagree: ${[...found].map(([f, k]) => `${f} holds ${k}`).join(', ')}`);
    }
    return [...keys][0];
  }

  writeKey(key: ReservationKey): void {
    for (const file of this.keyFiles) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${key}\n`);
    }
  }

  readDevices(): string[] {
    const devices = this.deviceFiles.flatMap((f) => (readOptional(f) ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== ''));
    return [...new Set(devices)];
  }

  addDevice(device: string): void {
    for (const file of this.deviceFiles) {
      const listed = (readOptional(file) ?? '').split('\n').map((l) => l.trim());
      if (listed.includes(device)) continue;
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, `${device}\n`);
    }
  }
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
