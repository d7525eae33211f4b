import { basename } from 'node:path';
import { runAgent } from '../../lib/agent/run.js';
import { scsiAgent } from './agent.js';

// One binary, three names, as fence_scsi: the watchdog helpers are symlinks chosen by argv[0].
const invoked = basename(process.argv[1] ?? '');
if (invoked.startsWith('fence_kit_scsi_check')) {
  void import('./check.js').then(async ({ scsiCheck }) => {
    process.exitCode = await scsiCheck({ argv: process.argv.slice(2), hardReboot: invoked === 'fence_kit_scsi_check_hardreboot' });
  });
} else {
  runAgent(scsiAgent);
}
