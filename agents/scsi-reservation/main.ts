import { basename } from 'node:path';
import { runAgent } from '../../lib/agent/run.js';
import { scsiAgent } from './agent.js';

// One binary, three names, as fence_scsi: the watchdog helpers are symlinks chosen by argv[0].
const invoked = basename(process.argv[1] ?? '');
const args = process.argv.slice(2).join(' ');
// The helpers still describe themselves when asked the fence-agents way (tools list every fence_* binary's metadata).
const wantsMetadata = /(^|\s)(-o\s*|--action[= ])(metadata|meta-data|manpage)\b/.test(args);
if (invoked.startsWith('fence_kit_scsi_check') && !wantsMetadata) {
  void import('./check.js').then(async ({ scsiCheck }) => {
    process.exitCode = await scsiCheck({ argv: process.argv.slice(2), hardReboot: invoked === 'fence_kit_scsi_check_hardreboot' });
  });
} else {
  runAgent(scsiAgent);
}
