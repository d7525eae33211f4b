// fence_kit_sanlock with a real watchdog: two qemu guests (Debian kernel 6.1, TCG) sharing one raw disk
// image, each running softdog + wdmd + `sanlock daemon` with io_timeout 2 (the practical minimum with
// wdmd: at 1 both guests reset, docs/guest-lab.md), both unfenced with `fence_kit_sanlock -o on`. Peer: sanlock 3.8 and wdmd themselves.
// Two boots of the pair (test/guest/jobs/sanlock-pair.sh), ~2 min each:
//   frozen  the victim's sanlock daemon hangs (SIGSTOP): its watchdog resets it (qemu exits, seen by the
//           host) before the survivor's off reports success, which comes at sanlock's lease-expiry floor
//           (8 x io_timeout + 60 s) after the victim's last renewal;
//   live    an off against a victim still renewing fails at power_timeout while the victim runs; the
//           request it leaves makes the victim's holder stop its sanlock, so the victim is reset by its
//           watchdog, again before a second off reports success.
// They cannot share a boot: the request of the failed off fences the live victim.
// Every time below is on the host's clock: qemu's exit as the host saw it, the guests' marks as the mtime
// the host gave their files on the shared 9p folder, the victim's renewals as the host read their log lines
// (a last renewal that never got its line is dated from the lease timestamp the survivor saw: lastRenewal).
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHostStatus } from '../../lib/sanlock/output.js';
import { guestLabUnavailable, REPO, runGuests, type GuestResult } from '../guest/lab.js';

const IO_TIMEOUT = 2;
const FLOOR_S = 8 * IO_TIMEOUT + 60; // sanlock's host_dead_seconds: renewal failure (8 x io) + watchdog fire (60 s)
const RENEWAL_S = 2 * IO_TIMEOUT; // how often the survivor's daemon reads the victim's delta lease
const LIVE_TIMEOUT_S = 12;
const OFF_TIMEOUT_S = 120;

const unavailable = guestLabUnavailable() ?? (existsSync('/usr/sbin/wdmd') ? undefined : 'wdmd (sanlock) is missing');

it('has what the guest pair needs (qemu, a guest kernel, wdmd)', () => {
  expect(unavailable).toBeUndefined();
});

interface PairRun {
  readonly survivor: GuestResult;
  readonly victim: GuestResult;
  /** Each renewal line the victim's sanlock logged: when the host read it, and the lease timestamp it wrote. */
  readonly renewals: Renewal[];
  /** Host ms (mtime) and the guest's uptime (s) of each mark, e.g. "victim.frozen". */
  readonly marks: Map<string, { at: number; uptime: number }>;
  result(g: GuestResult, f: string): string;
  rc(g: GuestResult, step: string): number;
  at(mark: string): number;
  cleanup(): void;
}

/** A renewal of the victim's delta lease: host ms when its log line arrived; the timestamp it wrote (victim's monotonic s). */
interface Renewal {
  readonly at: number;
  readonly timestamp: number;
}

/** Follow the victim's sanlock log while the guests run: stamp each `renewed` line as it arrives. */
function followRenewals(log: string, renewals: Renewal[]): () => void {
  const timer = setInterval(() => {
    if (!existsSync(log)) return;
    const written = [...readFileSync(log, 'utf8').matchAll(/ s\d+ renewed (\d+) /g)].map((m) => Number(m[1]));
    const now = Date.now();
    for (const timestamp of written.slice(renewals.length)) renewals.push({ at: now, timestamp });
  }, 25);
  return () => clearInterval(timer);
}

/**
 * The victim's last renewal on the host's clock. sanlock logs a renewal only after its write landed, and a
 * write in flight completes even when the daemon is stopped (SIGSTOP) or killed: then the last write has no
 * line. The survivor's daemon saw it all the same (its host_status has the victim's lease timestamp), so such
 * a write is dated from the last logged one by the difference of their timestamps (whole seconds of the
 * victim's monotonic clock: within 1 s). Dating it by the logged one instead put success 4 s (one renewal)
 * later than it was.
 */
function lastRenewal(renewals: readonly Renewal[], writtenTimestamp: number): { at: number; unlogged: boolean } {
  const logged = renewals[renewals.length - 1]!;
  if (writtenTimestamp === logged.timestamp) return { at: logged.at, unlogged: false };
  return { at: logged.at + (writtenTimestamp - logged.timestamp) * 1000, unlogged: true };
}

async function runPair(scenario: 'frozen' | 'live'): Promise<PairRun> {
  // The guests run the agent and the job from a snapshot outside /tmp (a tmpfs in the guest), so that a build
  // running meanwhile in this tree cannot pull the bundle from under them; the disk image is on ext4
  // (cache=none opens it O_DIRECT).
  const work = mkdtempSync(`/var/tmp/fencekit-sanlock-guest-${scenario}-`);
  for (const d of ['bin', 'dist']) cpSync(join(REPO, d), join(work, 'agents', d), { recursive: true, verbatimSymlinks: true });
  cpSync(join(REPO, 'test', 'guest', 'jobs'), join(work, 'jobs'), { recursive: true });
  const disk = join(work, 'leases.img');
  writeFileSync(disk, Buffer.alloc(4 * 1024 * 1024));
  const shared = join(work, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777); // the guests' sanlock daemons log here
  const job = (role: string) =>
    `export FK_ROLE=${role} FK_SCENARIO=${scenario} FK_AGENTS=${join(work, 'agents')} FK_IO_TIMEOUT=${IO_TIMEOUT} ` +
    `FK_LIVE_TIMEOUT=${LIVE_TIMEOUT_S} FK_OFF_TIMEOUT=${OFF_TIMEOUT_S}\n. ${join(work, 'jobs', 'sanlock-pair.sh')}\n`;
  const renewals: Renewal[] = [];
  const stop = followRenewals(join(shared, 'victim-sanlock.log'), renewals);
  let survivor: GuestResult;
  let victim: GuestResult;
  try {
    [survivor, victim] = (await runGuests(
      [
        { name: 'survivor', job: job('survivor'), disk, shared },
        { name: 'victim', job: job('victim'), disk, shared },
      ],
      {
        timeoutMs: 330_000,
        onConsole: process.env.FENCEKIT_GUEST_CONSOLE ? (name, text) => process.stdout.write(`[${name}] ${text}`) : undefined,
      },
    )) as [GuestResult, GuestResult];
  } finally {
    stop();
  }
  const marks = new Map<string, { at: number; uptime: number }>();
  for (const f of readdirSync(shared)) {
    if (!/^(survivor|victim)\.[\w-]+$/.test(f)) continue;
    const uptime = Number(readFileSync(join(shared, f), 'utf8').trim().split(/\s+/)[1]);
    marks.set(f, { at: statSync(join(shared, f)).mtimeMs, uptime });
  }
  for (const g of [survivor, victim]) {
    console.log(`--- ${scenario}/${g.name}: exit ${g.exitCode}, ${(g.wallMs / 1000).toFixed(1)} s, stage2 at ${g.bootSeconds} s\n${g.log}`);
  }
  const result = (g: GuestResult, f: string) => g.file(`results/${f}`) ?? '';
  return {
    survivor,
    victim,
    renewals,
    marks,
    result,
    rc: (g, step) => Number(result(g, `${step}.rc`).trim() || Number.NaN),
    at: (name) => {
      const m = marks.get(name);
      if (!m) throw new Error(`no mark ${name}`);
      return m.at;
    },
    cleanup: () => {
      if (!process.env.FENCEKIT_GUEST_KEEP) rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The enclosing describe's guest pair: run for `scenario` before its tests (handed to `use`), cleaned up after them. */
function pairAround(scenario: 'frozen' | 'live', use: (run: PairRun) => void): void {
  let run: PairRun | undefined;
  beforeAll(async () => {
    run = await runPair(scenario);
    use(run);
  }, 360_000);
  afterAll(() => run?.cleanup());
}

/** Each step of an agent run: its debug file without the commands' output. */
function steps(debugFile: string): string {
  return debugFile.split('\n').filter((l) => /^\d{4}-/.test(l)).map((l) => l.slice(0, 200)).join('\n');
}

/** The order and the timing common to both scenarios, logged for bench/sanlock.md. */
function expectResetBeforeSuccess(run: PairRun, label: string) {
  const { survivor, victim } = run;
  expect(run.rc(survivor, 'off')).toBe(0);
  expect(run.result(survivor, 'off.out')).toBe('Success: Powered OFF\n');
  // The victim never finished its job: softdog reset it while it slept after the failure.
  expect(victim.timedOut).toBe(false);
  expect(victim.exitCode).toBeNull();
  expect(victim.console).toMatch(/softdog: Initiating system reboot/);
  const success = run.at('survivor.off-success');
  expect(victim.exitedAt).toBeLessThan(success);
  // host 1 took the victim's lease (a new lease version) and released it; status now says OFF.
  expect(run.result(survivor, 'leader-h2-after.out')).toMatch(/^owner_id 1$/m);
  expect(run.rc(survivor, 'status-victim-after')).toBe(2);
  expect(survivor.exitCode).toBe(0);

  expect(run.renewals.length).toBeGreaterThanOrEqual(3);
  // The survivor's daemon on host 2: its lease timestamp as last read, and last_live (the survivor's monotonic s)
  // when it last saw it renew.
  const sight = parseHostStatus(run.result(survivor, 'host-status-after.out')).get(2);
  if (!sight) throw new Error(`host 2 is not in the survivor's host_status:\n${run.result(survivor, 'host-status-after.out')}`);
  const last = lastRenewal(run.renewals, sight.timestamp);
  const offS = (success - last.at) / 1000;
  const resetS = (victim.exitedAt - last.at) / 1000;
  const sightS = run.marks.get('survivor.off-success')!.uptime - sight.lastLive;
  const figures =
    `sanlock guest pair, ${label} (io_timeout ${IO_TIMEOUT}, floor ${FLOOR_S} s): from the victim's last renewal` +
    `${last.unlogged ? ` (its write at lease timestamp ${sight.timestamp} never got its log line; dated from the line of ${run.renewals[run.renewals.length - 1]!.timestamp})` : ''}, ` +
    `watchdog reset (qemu exit) at ${resetS.toFixed(2)} s, survivor's off success at ${offS.toFixed(2)} s ` +
    `(${((offS / FLOOR_S - 1) * 100).toFixed(1)} % over the floor; ${sightS.toFixed(2)} s after the survivor's daemon last saw it renew); ` +
    `reset ${((success - victim.exitedAt) / 1000).toFixed(2)} s before success; off ran ${(Number(run.result(survivor, 'off.ms')) / 1000).toFixed(1)} s; ` +
    `pair ${((Math.max(survivor.exitedAt, victim.exitedAt) - Math.min(survivor.startedAt, victim.startedAt)) / 1000).toFixed(1)} s`;
  console.log(figures);
  console.log(`survivor's off, step by step (where the time to success went):\n${steps(run.result(survivor, 'off-debug.log'))}`);
  // The agent's share first: sanlock grants the lease once more than FLOOR_S whole seconds passed since its
  // own daemon's sighting of the last renewal (last_live); the agent adds only its acquire (~2 s of
  // `sanlock client command` under TCG). Measured: 78.5-78.7 s after last_live.
  expect(sightS, figures).toBeGreaterThanOrEqual(FLOOR_S + 1);
  expect(sightS, figures).toBeLessThanOrEqual(FLOOR_S + 1 + 4);
  // From the victim's own last write: never before the floor; after it by the agent's share and the sighting,
  // which trails the write by up to one renewal interval. Measured: 80.7-81.7 s.
  expect(offS, figures).toBeGreaterThanOrEqual(FLOOR_S);
  expect(offS, figures).toBeLessThanOrEqual(FLOOR_S + 1 + RENEWAL_S + 4);
}

function expectArmedAndUnfenced(run: PairRun) {
  for (const g of [run.survivor, run.victim]) {
    expect(run.result(g, 'daemon-status.out')).toMatch(/use_watchdog=1/);
    expect(run.rc(g, 'on')).toBe(0);
    expect(run.result(g, 'on.out')).toBe('Success: Powered ON\n');
  }
  expect(run.rc(run.survivor, 'init')).toBe(0);
  expect(run.rc(run.survivor, 'status-victim-live')).toBe(0);
}

describe('fence_kit_sanlock, two guests with softdog + wdmd + sanlock (io_timeout 2): the victim hangs', () => {
  let run: PairRun;
  pairAround('frozen', (started) => (run = started));

  it('both guests arm the watchdog through wdmd and are unfenced by on', () => expectArmedAndUnfenced(run));

  it("the frozen victim's watchdog resets it before the survivor's off reports success, at the lease-expiry floor", () => {
    expect(run.victim.exitedAt).toBeGreaterThan(run.at('victim.frozen'));
    expectResetBeforeSuccess(run, 'victim frozen (SIGSTOP of its sanlock)');
  });
});

describe('fence_kit_sanlock, two guests with softdog + wdmd + sanlock (io_timeout 2): the victim is healthy', () => {
  let run: PairRun;
  pairAround('live', (started) => (run = started));

  it('both guests arm the watchdog through wdmd and are unfenced by on', () => expectArmedAndUnfenced(run));

  it(`off against a victim still renewing fails at power_timeout (${LIVE_TIMEOUT_S} s) while the victim runs`, () => {
    const { survivor, victim } = run;
    expect(run.rc(survivor, 'off-live')).toBe(1);
    expect(run.result(survivor, 'off-live.out')).toBe('');
    console.log(`survivor's failed off, step by step:\n${steps(run.result(survivor, 'off-live-debug.log'))}`);
    expect(run.result(survivor, 'off-live.err')).toMatch(/Timed out waiting to power OFF: host_id 2's lease was not granted \(host_id 2 is still renewing its lease\)/);
    // It asked the victim to give its lease up, wherever our daemon's last check fell in the victim's renewals.
    expect(run.result(survivor, 'off-live-debug.log')).toMatch(/request for host_id 2's lease: 0$/m);
    const ms = Number(run.result(survivor, 'off-live.ms'));
    console.log(`sanlock guest pair: off against the live victim failed after ${(ms / 1000).toFixed(1)} s (power_timeout ${LIVE_TIMEOUT_S} s)`);
    expect(ms).toBeGreaterThan(LIVE_TIMEOUT_S * 1000 - 500);
    expect(ms).toBeLessThan(LIVE_TIMEOUT_S * 1000 + 5_000);
    // The victim's guest was running after the failed off, and ran on for a good minute.
    expect(run.at('victim.alive-after-live-off')).toBeGreaterThanOrEqual(run.at('survivor.live-off-done'));
    expect(victim.exitedAt - run.at('survivor.live-off-done')).toBeGreaterThan(30_000);
  });

  it("the failed off's request makes the victim stop its sanlock; its watchdog resets it before a second off succeeds", () => {
    expect(run.result(run.victim, 'holder.log')).toMatch(/stopping the sanlock daemon \(pid \d+\) so that the watchdog resets this node/);
    expect(run.result(run.victim, 'sanlock-after-live-off').trim()).toBe('stopped');
    expectResetBeforeSuccess(run, 'victim asked by the failed off (its holder kills its sanlock)');
  });
});
