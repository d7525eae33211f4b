// fence_kit_scsi vs Debian's fence_scsi fencing one node on the same two LIO iSCSI LUNs, in one qemu guest
// (TCG; see test/guest/lab.ts), alternating runs, configuration on stdin, NODE_EXTRA_CA_CERTS unset. The
// guest's emulated CPU makes every process start and every JIT compile costly, for both agents alike.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, runGuests } from '../test/guest/lab.js';
import { report, type Comparison } from './harness.js';

const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const snapshot = mkdtempSync('/var/tmp/fencekit-agents-');
try {
  for (const d of ['bin', 'dist']) cpSync(join(REPO, d), join(snapshot, d), { recursive: true, verbatimSymlinks: true });
  const job = `export FK_AGENTS=${snapshot} BENCH_ROUNDS=${ROUNDS}\n. "$FK_REPO/test/guest-scsi/bench-job.sh"\n`;
  const [g] = await runGuests([{ name: 'scsi-bench', job, memoryMb: 1536 }], { timeoutMs: 600_000 });
  if (g!.exitCode !== 0) throw new Error(`bench guest failed (exit ${g!.exitCode}):\n${g!.log}\n${g!.console.slice(-2000)}`);
  const series = (name: string) => Array.from({ length: ROUNDS }, (_, i) => {
    const rc = Number(g!.file(`bench/${name}-${i + 1}.rc`));
    if (rc !== 0 && name.startsWith('ours')) throw new Error(`fence_kit_scsi ${name} run ${i + 1} exited ${rc}: ${g!.file(`bench/${name}-${i + 1}.err`)}`);
    return Number(g!.file(`bench/${name}-${i + 1}.ms`));
  });
  const rows: Comparison[] = [
    { name: 'status (victim registered)', oursMs: series('status-ours'), peerMs: series('status-theirs') },
    { name: 'off (preempt, 2 LUNs)', oursMs: series('ours'), peerMs: series('theirs'), target: 0.5 },
  ];
  console.log(report(`fence_kit_scsi vs fence_scsi, same LUNs, same TCG guest (median of ${ROUNDS})`, rows));
  console.log(`guest: stage2 at ${g!.bootSeconds} s, whole run ${(g!.wallMs / 1000).toFixed(1)} s`);
} finally {
  rmSync(snapshot, { recursive: true, force: true });
}
