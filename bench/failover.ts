// Failover in a real two-node Pacemaker cluster (namespaces; test/pacemaker/failover.ts), configured only by
// `fencekit export cib` (timeouts and fence-race delay included). Same CIB for both toolkits, agent types
// swapped (fence_kit_ipmi/fence_kit_apc_snmp vs fence_ipmilan/fence_apc_snmp), same machine, same run:
//   (a) the BMC answers: SIGKILL of node2's corosync → node1's `stonith_admin --history node2` shows the fence;
//   (b) the BMC is frozen (SIGSTOP), and separately powered off with its node (nftables drop: no answer, no
//       ICMP): level 1 fails, both PDU outlets fence node2. Target: fencekit ≤ 0.5× fence-agents (medians);
//   (c) split brain (ring cut, both alive), fencekit devices: with the exported delay exactly one survivor
//       every round; the control (cluster.fence_race: none) shows whether both can be fenced.
// `npm run bench -- failover` (root, Pacemaker and corosync installed). FK_FAILOVER_RUNS=N (default 3) kills
// per BMC state and toolkit; FK_SPLIT_ROUNDS=N (default 10) split-brain rounds for each of (c)'s two configs.
import { median } from './harness.js';
import { killAndMeasure, splitBrainRound, startFailoverLab, waitNode2Back, type BmcState, type DeviceFamily, type FailoverResult, type RaceOption, type SplitBrainResult } from '../test/pacemaker/failover.js';

const RUNS = Number(process.env.FK_FAILOVER_RUNS ?? 3);
const SPLIT_ROUNDS = Number(process.env.FK_SPLIT_ROUNDS ?? 10);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const path = (r: FailoverResult) => r.steps.map((x) => `${x.action}@${x.device}${x.ok ? '' : '(failed)'}${x.ms !== undefined ? `[${s(x.ms)}]` : ''}`).join(' ');
const STATES: readonly BmcState[] = ['answering', 'frozen', 'powered-off'];

type Sample = Record<BmcState, FailoverResult[]>;

/** One cluster per toolkit; each kill of node2 is followed by its return, then the next. */
async function measure(devices: DeviceFamily): Promise<{ sample: Sample; stonithTimeoutS: number }> {
  const sample: Sample = { answering: [], frozen: [], 'powered-off': [] };
  const lab = await startFailoverLab(devices);
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const state of STATES) {
        lab.setBmc(state);
        const r = await killAndMeasure(lab, 300_000);
        console.log(`  ${devices} run ${run} BMC ${state}: ${s(r.killToRecordedMs)}  ${path(r)}`);
        sample[state].push(r);
        lab.setBmc('answering');
        await waitNode2Back(lab, r, 150_000);
      }
    }
    return { sample, stonithTimeoutS: lab.stonithTimeoutS };
  } finally {
    lab.setBmc('answering');
    await lab.stop();
  }
}

async function splitBrain(race: RaceOption): Promise<SplitBrainResult[]> {
  const out: SplitBrainResult[] = [];
  const lab = await startFailoverLab('fencekit', race);
  console.log(`  export said: ${lab.exportNotice}`);
  try {
    for (let round = 1; round <= SPLIT_ROUNDS; round++) {
      const r = await splitBrainRound(lab);
      console.log(`  split brain (${race === 'none' ? 'fence_race: none' : 'exported delay'}) round ${round}: fenced ${r.fenced.join(' then ') || 'nobody'}, survivors ${r.survivors.join(', ') || 'none'}`);
      out.push(r);
    }
    return out;
  } finally {
    await lab.stop();
  }
}

const ours = await measure('fencekit');
const peer = await measure('fence-agents');
const withDelay = await splitBrain('default');
const control = await splitBrain('none');

const med = (rs: FailoverResult[]) => median(rs.map((r) => r.killToRecordedMs));
console.log(`\nkill node2's corosync → fence recorded on node1 (median of ${RUNS}; exported stonith-timeout ${ours.stonithTimeoutS}s)`);
console.log(`${'BMC'.padEnd(40)} ${'fencekit'.padStart(9)} ${'peer'.padStart(9)} ${'ratio'.padStart(7)}`);
for (const state of STATES) {
  const o = med(ours.sample[state]);
  const p = med(peer.sample[state]);
  const target = state === 'answering' ? '' : `  (target ≤ 0.5×: ${o <= 0.5 * p ? 'met' : 'MISSED'})`;
  console.log(`${state.padEnd(40)} ${s(o).padStart(9)} ${s(p).padStart(9)} ${`${(o / p).toFixed(2)}×`.padStart(7)}${target}`);
}
for (const [who, x] of [['fencekit', ours.sample], ['fence-agents', peer.sample]] as const) {
  for (const state of STATES) {
    const l1 = x[state].map((r) => r.steps.find((st) => st.device === 'node2-bmc')?.ms).filter((v): v is number => v !== undefined);
    if (l1.length > 0) console.log(`  ${who} BMC ${state}: level 1 (node2-bmc) took ${l1.map(s).join(' / ')}`);
  }
}
const tally = (rs: SplitBrainResult[]) => {
  const one = rs.filter((r) => r.fenced.length === 1).length;
  const both = rs.filter((r) => r.fenced.length === 2).length;
  const node1Survived = rs.filter((r) => r.survivors.includes('node1') && r.fenced.length === 1).length;
  return `exactly one survivor ${one}/${rs.length} (node1 ${node1Survived}), both fenced ${both}/${rs.length}, none fenced ${rs.filter((r) => r.fenced.length === 0).length}/${rs.length}`;
};
console.log(`\nsplit brain (cluster link cut, both alive), ${SPLIT_ROUNDS} rounds each, fencekit devices`);
console.log(`  exported delay (default: pcmk_delay_base 5 s on node1's devices): ${tally(withDelay)}`);
console.log(`  control (cluster.fence_race: none):                            ${tally(control)}`);
