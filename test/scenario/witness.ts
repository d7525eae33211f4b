// The witness of "never twice" for the KVM HA pair (docs/kvm-ha.md). Two independent views:
//  - the hosts' process tables, sampled every 50 ms: a guest instance is a qemu process in a host's mount
//    namespace running the guest's domain (selected by namespace, then by executable and its `-name
//    guest=NAME`: libvirtd's own capability probes are qemu processes too; there is no PID namespace and
//    nothing is ever selected by name across hosts). Two at one instant is a double run, unless one of them
//    is cut off from the disk at that instant (a fabric fence leaves the fenced host's guest running without
//    its storage port): the volume's records then judge whether it still wrote.
//  - the guest's volume (test/scenario/guest-writer.py's records, read from the SAN's raw image): boots
//    must follow one another in contiguous runs counting from 0 without a gap; a record of one boot after
//    another boot's first record is a second writer, a gap is a lost record.
// Either failing makes check() report the story: instances, power, fences and records on one timeline.
import { closeSync, openSync, readFileSync, readSync, readlinkSync, readdirSync } from 'node:fs';

const SLOT = 512;
const QEMU = '/usr/bin/qemu-system-x86_64';

export interface WitnessHost {
  readonly name: string;
  readonly holderPid: number;
}

export interface VolumeRecord {
  readonly slot: number;
  readonly boot: string;
  readonly counter: number;
  /** The guest's clock at the write (epoch s). */
  readonly guestTime: number;
  readonly firstSlot: number;
}

export interface TimelineEntry {
  readonly at: number;
  readonly what: string;
}

export interface WitnessVerdict {
  readonly ok: boolean;
  /** Two instances at one instant (process tables) or two writers (volume). */
  readonly secondWriterSeen: boolean;
  readonly problems: readonly string[];
  /** Every boot seen on the volume, in slot order, with the host time its first record was seen. */
  readonly boots: readonly { boot: string; records: number; firstSeenAt: number | undefined; host: string | undefined }[];
  readonly story: string;
}

/** Parse every record of the volume image, in slot order, up to the first empty slot after the last record. */
export function readVolume(image: string): VolumeRecord[] {
  const data = readFileSync(image);
  const records: VolumeRecord[] = [];
  for (let slot = 0; slot * SLOT < data.length; slot++) {
    const rec = parseRecord(data.subarray(slot * SLOT, (slot + 1) * SLOT), slot);
    if (rec) records.push(rec);
  }
  return records;
}

function parseRecord(buf: Buffer, slot: number): VolumeRecord | undefined {
  if (buf.subarray(0, 5).toString('latin1') !== 'FKREC') return undefined;
  const end = buf.indexOf(0x0a);
  const m = /^FKREC (\S+) (\d+) (\d+(?:\.\d+)?) (\d+)$/.exec(buf.subarray(0, end < 0 ? buf.length : end).toString('latin1'));
  if (!m) return { slot, boot: '?', counter: -1, guestTime: Number.NaN, firstSlot: -1 };
  return { slot, boot: m[1]!, counter: Number(m[2]), guestTime: Number(m[3]), firstSlot: Number(m[4]) };
}

/** What the volume's records say, without the process tables: problems found, and the boots in slot order. */
export function judgeVolume(records: readonly VolumeRecord[]): { problems: string[]; runs: { boot: string; from: number; to: number }[] } {
  const problems: string[] = [];
  const runs: { boot: string; from: number; to: number }[] = [];
  let expectSlot = 0;
  for (const r of records) {
    if (r.counter < 0) {
      problems.push(`slot ${r.slot}: a torn or foreign record`);
      continue;
    }
    if (r.slot !== expectSlot) problems.push(`lost record: slots ${expectSlot}..${r.slot - 1} are empty between records`);
    expectSlot = r.slot + 1;
    const last = runs.at(-1);
    if (last && last.boot === r.boot) {
      last.to = r.slot;
    } else {
      if (runs.some((x) => x.boot === r.boot)) problems.push(`second writer: boot ${short(r.boot)} wrote slot ${r.slot} after boot ${short(last!.boot)}'s first record (slot ${last!.from})`);
      runs.push({ boot: r.boot, from: r.slot, to: r.slot });
    }
  }
  // Within a run the counter is the slot's distance from the boot's first slot: anything else is a record
  // that another writer overwrote, or one this boot never wrote.
  const firstOf = new Map<string, number>();
  for (const r of records) {
    if (r.counter < 0) continue;
    if (!firstOf.has(r.boot)) firstOf.set(r.boot, r.firstSlot);
    if (r.firstSlot !== firstOf.get(r.boot) || r.slot !== r.firstSlot + r.counter) {
      problems.push(`second writer: slot ${r.slot} holds boot ${short(r.boot)}'s record ${r.counter} (its first slot ${r.firstSlot})`);
    }
  }
  for (const run of runs) {
    const own = records.filter((r) => r.boot === run.boot && r.counter >= 0);
    const first = own[0]!;
    if (first.counter === 0) continue;
    // Its first records' slots hold another boot's records: that boot wrote over them, at the same time.
    const over = records.filter((r) => r.boot !== run.boot && r.slot >= first.firstSlot && r.slot < first.slot);
    if (over.length > 0) problems.push(`second writer: boot ${short(over[0]!.boot)} overwrote boot ${short(run.boot)}'s records 0..${first.counter - 1} (slots ${first.firstSlot}..${first.slot - 1})`);
    else problems.push(`lost record: boot ${short(run.boot)} starts at record ${first.counter}`);
  }
  // Guest clocks start from the RTC and differ by up to a second between boots: writes more than that after a
  // later boot's first record are a second writer.
  for (const [i, run] of runs.entries()) {
    const later = runs.slice(i + 1).map((x) => records.find((r) => r.boot === x.boot)!.guestTime);
    if (later.length === 0) continue;
    const firstLater = Math.min(...later);
    const own = records.filter((r) => r.boot === run.boot);
    const after = own.filter((r) => r.guestTime > firstLater + 1);
    if (after.length > 0) problems.push(`second writer: boot ${short(run.boot)} wrote ${after.length} records after a later boot's first record (guest clocks)`);
  }
  return { problems: [...new Set(problems)].slice(0, 40), runs };
}

const short = (boot: string) => boot.slice(0, 8);

function mountNs(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/**
 * Start sampling: both hosts' process tables and the volume's tail, every 50 ms, until stop(). mark() puts
 * the scenario's own steps (failures injected, fences seen) on the timeline.
 */
export class Witness {
  private readonly hosts: { name: string; ns: string }[];
  private readonly timer: NodeJS.Timeout;
  private readonly instances = new Map<number, string>();
  private readonly timeline: TimelineEntry[] = [];
  private readonly overlaps: string[] = [];
  private readonly hostSeenSecondWriter: string[] = [];
  private readonly bootSeen = new Map<string, { at: number; host: string | undefined }>();
  private nextSlot = 0;
  /** The instances last seen cut off from the volume, for the timeline. */
  private lastCut = '';
  private fd: number;
  private samples = 0;

  constructor(
    hosts: readonly WitnessHost[],
    private readonly image: string,
    private readonly domain: string,
    private readonly extraStory: () => string = () => '',
    /** Whether `host` is cut off from the volume now (its storage port down); asked only while two instances run. */
    private readonly cutOff: (host: string) => boolean = () => false,
  ) {
    this.hosts = hosts.map((h) => {
      const ns = mountNs(h.holderPid);
      if (!ns) throw new Error(`${h.name}'s namespace holder ${h.holderPid} is gone`);
      return { name: h.name, ns };
    });
    this.fd = openSync(image, 'r');
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
  }

  mark(what: string, at = Date.now()): void {
    this.timeline.push({ at, what });
  }

  /** The guest instances running now: PID → host. */
  running(): Map<number, string> {
    return new Map(this.instances);
  }

  /** How many slots of the volume hold records, as far as the sampler has read. */
  recordsSeen(): number {
    return this.nextSlot;
  }

  /** When the host first saw a record of `boot`. */
  firstSeen(boot: string): number | undefined {
    return this.bootSeen.get(boot)?.at;
  }

  /** Boots on the volume so far, in the order their first records were seen. */
  bootsSeen(): { boot: string; at: number; host: string | undefined }[] {
    return [...this.bootSeen.entries()].map(([boot, v]) => ({ boot, ...v })).sort((a, b) => a.at - b.at);
  }

  private sample(): void {
    const now = Date.now();
    this.samples++;
    const seen = new Map<number, string>();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      const ns = mountNs(pid);
      const host = ns && this.hosts.find((h) => h.ns === ns);
      if (!host) continue;
      let exe: string;
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        continue;
      }
      if (exe !== QEMU) continue;
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        continue;
      }
      // `-name guest=DOMAIN,...`; each host names its domain DOMAIN-HOST (kvm-ha.ts says why).
      const named = new RegExp(`^guest=${this.domain}(?:-[\\w-]+)?(?:,|$)`);
      if (cmdline.split('\0').some((a) => named.test(a))) seen.set(pid, host.name);
    }
    for (const [pid, host] of seen) if (!this.instances.has(pid)) this.timeline.push({ at: now, what: `guest instance pid ${pid} appears on ${host}` });
    for (const [pid, host] of this.instances) if (!seen.has(pid)) this.timeline.push({ at: now, what: `guest instance pid ${pid} on ${host} is gone` });
    this.instances.clear();
    for (const [pid, host] of seen) this.instances.set(pid, host);
    // The instances that can write: all of them, less those on a host cut off from the volume.
    let writers = seen;
    if (seen.size > 1) {
      writers = new Map([...seen].filter(([, host]) => !this.cutOff(host)));
      const cut = [...seen].filter(([pid]) => !writers.has(pid)).map(([pid, host]) => `${host}:${pid}`).join(' + ');
      if (cut !== this.lastCut) this.timeline.push({ at: now, what: cut ? `cut off from the volume (storage port down), not a writer: ${cut}` : 'no instance is cut off from the volume any more' });
      this.lastCut = cut;
    }
    if (writers.size > 1) {
      const what = [...writers].map(([pid, host]) => `${host}:${pid}`).join(' + ');
      if (this.overlaps.at(-1) !== what) this.timeline.push({ at: now, what: `TWO INSTANCES: ${what}` });
      this.overlaps.push(what);
    }
    // The volume's tail: records written since the last sample, stamped with the host's clock.
    const buf = Buffer.alloc(64 * SLOT);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.nextSlot * SLOT);
      let advanced = 0;
      for (let i = 0; i + SLOT <= n; i += SLOT) {
        const rec = parseRecord(buf.subarray(i, i + SLOT), this.nextSlot + advanced);
        if (!rec) break;
        advanced++;
        const newest = this.bootsSeen().at(-1);
        if (newest && newest.boot !== rec.boot && this.bootSeen.has(rec.boot)) {
          this.hostSeenSecondWriter.push(`second writer: boot ${short(rec.boot)} wrote slot ${rec.slot} after boot ${short(newest.boot)}'s first record was seen (host clock)`);
          this.timeline.push({ at: now, what: `SECOND WRITER: boot ${short(rec.boot)} writes slot ${rec.slot} after boot ${short(newest.boot)} began` });
        }
        if (!this.bootSeen.has(rec.boot)) {
          // A boot already on the volume when the witness starts is named only if one instance runs at all: a
          // cut-off instance may be the one that wrote it.
          const candidates = this.samples === 1 ? seen : writers;
          const only = candidates.size === 1 ? [...candidates.values()][0] : undefined;
          this.bootSeen.set(rec.boot, { at: now, host: only });
          this.timeline.push({ at: now, what: `first record of boot ${short(rec.boot)} at slot ${rec.slot}${only ? ` (the instance on ${only})` : ''}` });
        }
      }
      this.nextSlot += advanced;
      if (advanced < 64) break;
    }
  }

  /** Stop sampling and judge everything seen: process tables and the whole volume. */
  stop(): WitnessVerdict {
    clearInterval(this.timer);
    this.sample();
    closeSync(this.fd);
    const records = readVolume(this.image);
    const volume = judgeVolume(records);
    const problems = [...volume.problems, ...this.hostSeenSecondWriter.slice(0, 3)];
    if (this.overlaps.length > 0) problems.unshift(`two guest instances at one instant in ${this.overlaps.length} of ${this.samples} samples (first: ${this.overlaps[0]})`);
    const boots = volume.runs.map((r) => ({
      boot: r.boot,
      records: records.filter((x) => x.boot === r.boot).length,
      firstSeenAt: this.bootSeen.get(r.boot)?.at,
      host: this.bootSeen.get(r.boot)?.host,
    }));
    const secondWriterSeen = this.overlaps.length > 0 || problems.some((p) => p.startsWith('second writer'));
    return { ok: problems.length === 0, secondWriterSeen, problems, boots, story: this.story(problems, boots) };
  }

  private story(problems: readonly string[], boots: WitnessVerdict['boots']): string {
    const t0 = this.timeline[0]?.at ?? Date.now();
    const at = (t: number) => `+${((t - t0) / 1000).toFixed(2).padStart(7)} s`;
    return [
      problems.length > 0 ? `WITNESS: ${problems.join('\n         ')}` : 'witness: one instance at a time, one writer at a time, no record lost',
      'volume (slot order):',
      ...boots.map((b) => `  boot ${short(b.boot)}: ${b.records} records${b.host ? ` (on ${b.host})` : ''}${b.firstSeenAt ? `, first seen ${at(b.firstSeenAt)}` : ''}`),
      'timeline:',
      ...[...this.timeline].sort((a, b) => a.at - b.at).map((e) => `  ${at(e.at)}  ${e.what}`),
      this.extraStory(),
    ].join('\n');
  }
}
