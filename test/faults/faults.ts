// The fault catalogue of the matrix: what each fault is, and what a correct agent must do under it.
export type FaultName =
  | 'none'
  | 'loss10-to'
  | 'loss10-both'
  | 'loss30-to'
  | 'loss30-both'
  | 'loss50-to'
  | 'loss50-both'
  | 'blackhole'
  | 'frozen'
  | 'wrong-credentials'
  | 'low-privilege'
  | 'no-such-plug'
  | 'lying'
  | 'slow'
  | 'flapping';

export interface Fault {
  readonly name: FaultName;
  readonly describe: string;
  /**
   * What the run must end as: 'may-succeed' (a transient fault: success allowed, only if real),
   * 'fail' (nothing can fence through this: exit 1 within the bound), 'refuse' (the device says no
   * explicitly: exit 1 at once, with a message matching the rig's pattern), 'succeed' (a boot-looping
   * node is still fenceable: exit 0 and really off).
   */
  readonly expect: 'may-succeed' | 'fail' | 'refuse' | 'succeed';
  readonly loss?: { readonly percent: number; readonly both: boolean };
}

const loss = (percent: number, both: boolean): Fault => ({
  name: `loss${percent}-${both ? 'both' : 'to'}` as FaultName,
  describe: `${percent} % of packets dropped ${both ? 'both ways' : 'towards the device'}`,
  expect: 'may-succeed',
  loss: { percent, both },
});

export const FAULTS: readonly Fault[] = [
  { name: 'none', describe: 'no fault (baseline)', expect: 'succeed' },
  loss(10, false),
  loss(10, true),
  loss(30, false),
  loss(30, true),
  loss(50, false),
  loss(50, true),
  { name: 'blackhole', describe: 'every packet to and from the device dropped', expect: 'fail', loss: { percent: 100, both: true } },
  { name: 'frozen', describe: 'the device process SIGSTOPped (port kept, nothing answers)', expect: 'fail' },
  { name: 'wrong-credentials', describe: 'a wrong password (IPMI, SSH, SNMPv3 auth key)', expect: 'refuse' },
  { name: 'low-privilege', describe: 'an account or community that may read but not switch', expect: 'refuse' },
  { name: 'no-such-plug', describe: 'an outlet/port the device does not have', expect: 'refuse' },
  { name: 'lying', describe: 'off acknowledged, the target stays on', expect: 'fail' },
  { name: 'slow', describe: 'off acknowledged, the target goes off only after power_timeout + 3 s', expect: 'fail' },
  { name: 'flapping', describe: 'the target toggles on/off every 0.3 s on its own until a command arrives', expect: 'succeed' },
];

export const faultByName = (name: string): Fault => {
  const f = FAULTS.find((x) => x.name === name);
  if (!f) throw new Error(`no fault named ${name}`);
  return f;
};
