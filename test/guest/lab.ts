// A lab of qemu guests running a real Debian kernel, for what this machine's own kernel cannot do (SCSI
// targets and initiators, watchdogs, sanlock on a shared disk). Recipe and traps: docs/guest-lab.md.
//
// Each guest boots the Debian kernel under TCG (KVM does not work here) with the host's root filesystem over
// 9p as the read-only lower layer of an overlay, so every installed package and this repository are visible
// at their usual paths, and the guest can still write. A busybox initramfs loads the virtio/9p/overlay modules
// and switches to stage2.sh, which runs the caller's job script as root and powers the guest off. The job's
// output, exit status and any file it writes to $FK_OUT come back through a second, writable 9p share.
//
// The kernel, its modules and the initramfs are built once into a cache outside git and reused.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

/** The repository, found upwards from this module (which may be bundled elsewhere, e.g. into bench/out). */
function findRepo(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'test', 'guest', 'stage2.sh'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no test/guest/stage2.sh above ${start}`);
  }
}
export const REPO = process.env.FENCEKIT_REPO ?? findRepo(import.meta.dirname ?? dirname(fileURLToPath(import.meta.url)));
export const STAGE2 = join(REPO, 'test', 'guest', 'stage2.sh');
export const CACHE_DIR = process.env.FENCEKIT_GUEST_CACHE ?? '/var/cache/fencekit-guest';
const QEMU = '/usr/bin/qemu-system-x86_64';
const BUSYBOX = '/bin/busybox';

/** Modules the initramfs loads, in dependency order, to reach the 9p root and the overlay. */
const EARLY_MODULES = ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'netfs', 'fscache', '9pnet', '9pnet_virtio', '9p', 'overlay'];

export interface GuestKernel {
  readonly version: string; // e.g. 6.1.0-56-amd64
  readonly vmlinux: string; // uncompressed ELF, booted the PVH way (no in-guest decompression)
  readonly initrd: string;
  /** Root of the extracted package: lib/modules/<version> lives under it. */
  readonly tree: string;
  readonly modulesDir: string;
}

function sh(file: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): string {
  const r = spawnSync(file, args, { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr?.toString().trim()}`);
  return r.stdout.toString();
}

/** Why the lab cannot run here, or undefined when it can. */
export function guestLabUnavailable(): string | undefined {
  for (const f of [QEMU, BUSYBOX, '/usr/bin/dpkg', '/usr/sbin/depmod', '/usr/bin/apt-get']) if (!existsSync(f)) return `${f} is missing`;
  return undefined;
}

/** The kernel package linux-image-amd64 points to: linux-image-<version>. */
export function debianKernelVersion(): string {
  if (process.env.FENCEKIT_GUEST_KERNEL) return process.env.FENCEKIT_GUEST_KERNEL;
  const deps = sh('apt-cache', ['depends', 'linux-image-amd64']);
  const m = /Depends:\s+linux-image-(\d\S*-amd64)\b/.exec(deps);
  if (!m) throw new Error(`cannot find the kernel linux-image-amd64 depends on:\n${deps}`);
  return m[1]!;
}

/** vmlinuz is a bzImage around an xz (Debian) / zstd / gzip payload: find the payload and decompress it. */
export function extractVmlinux(vmlinuz: Buffer): Buffer {
  const tries: [Buffer, (b: Buffer) => Buffer | undefined][] = [
    [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), (b) => decompressWith('xz', ['-dc'], b)],
    [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), (b) => decompressWith('zstd', ['-dcq'], b)],
    [Buffer.from([0x1f, 0x8b, 0x08]), (b) => { try { return gunzipSync(b); } catch { return undefined; } }],
  ];
  for (const [magic, decompress] of tries) {
    for (let at = vmlinuz.indexOf(magic); at >= 0; at = vmlinuz.indexOf(magic, at + 1)) {
      const out = decompress(vmlinuz.subarray(at));
      if (out && out.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return out;
    }
  }
  throw new Error('no compressed ELF payload found in vmlinuz');
}

function decompressWith(tool: string, args: string[], input: Buffer): Buffer | undefined {
  // A payload followed by trailing data makes xz/zstd complain while still writing the whole ELF.
  const r = spawnSync(tool, args, { input, maxBuffer: 1 << 30 });
  return r.stdout && r.stdout.length > 0 ? r.stdout : undefined;
}

/** A newc cpio archive (what the kernel unpacks as initramfs), written without the cpio tool. */
function cpioNewc(entries: { name: string; mode: number; data?: Buffer; link?: string }[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  const header = (name: string, mode: number, size: number) => {
    const fields = [ino++, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0];
    const h = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('') + name + '\0');
    parts.push(h, pad(h.length));
  };
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0 }]) {
    const data = 'link' in e && e.link !== undefined ? Buffer.from(e.link) : ('data' in e && e.data) || Buffer.alloc(0);
    header(e.name, e.mode, data.length);
    parts.push(data, pad(data.length));
  }
  return Buffer.concat(parts);
}

function initScript(modulePaths: string[]): string {
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /lower /upper /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
${modulePaths.map((m) => `/bin/busybox insmod /modules/${m} || echo "initramfs: insmod ${m} failed"`).join('\n')}
# A large msize makes the 9p root several times faster under TCG than the 8 KiB default.
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose root /lower || echo "initramfs: 9p root mount failed"
/bin/busybox mount -t tmpfs -o size=70% tmpfs /upper
/bin/busybox mkdir -p /upper/u /upper/w
/bin/busybox mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot || echo "initramfs: overlay failed"
stage2=$(/bin/busybox sed -n 's/.*fk\\.stage2=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
/bin/busybox umount /proc
exec /bin/busybox switch_root /newroot "$stage2"
`;
}

let kernelPromise: Promise<GuestKernel> | undefined;

/** Download, unpack and prepare the Debian kernel once (cached across runs in CACHE_DIR). */
export function prepareGuestKernel(): Promise<GuestKernel> {
  kernelPromise ??= Promise.resolve().then(buildKernel);
  return kernelPromise;
}

function buildKernel(): GuestKernel {
  const version = debianKernelVersion();
  const dir = join(CACHE_DIR, version);
  const kernel: GuestKernel = {
    version,
    vmlinux: join(dir, 'vmlinux'),
    initrd: join(dir, 'initrd.gz'),
    tree: join(dir, 'tree'),
    modulesDir: join(dir, 'tree', 'lib', 'modules', version),
  };
  if (existsSync(join(dir, 'ready'))) return kernel;
  mkdirSync(CACHE_DIR, { recursive: true });
  // Built in a scratch folder and renamed into place, so a concurrent or interrupted build never leaves a half cache.
  const scratch = mkdtempSync(join(CACHE_DIR, `.build-${version}-`));
  try {
    let deb = readdirSync(CACHE_DIR).find((f) => f.startsWith(`linux-image-${version}_`) && f.endsWith('.deb'));
    if (!deb) {
      sh('apt-get', ['download', `linux-image-${version}`], { cwd: scratch });
      deb = readdirSync(scratch).find((f) => f.endsWith('.deb'))!;
      renameSync(join(scratch, deb), join(CACHE_DIR, deb));
    }
    const tree = join(scratch, 'tree');
    sh('dpkg', ['-x', join(CACHE_DIR, deb), tree]);
    sh('depmod', ['-b', tree, version]);
    writeFileSync(join(scratch, 'vmlinux'), extractVmlinux(readFileSync(join(tree, 'boot', `vmlinuz-${version}`))));

    const modules = join(tree, 'lib', 'modules', version);
    const dep = readFileSync(join(modules, 'modules.dep'), 'utf8');
    const pathOf = (name: string) => {
      const line = dep.split('\n').find((l) => l.split(':')[0]!.endsWith(`/${name}.ko`));
      if (!line) throw new Error(`module ${name} not in ${version}`);
      return line.split(':')[0]!;
    };
    const entries: { name: string; mode: number; data?: Buffer; link?: string }[] = [
      { name: 'bin', mode: 0o040755 },
      { name: 'bin/busybox', mode: 0o100755, data: readFileSync(BUSYBOX) },
      { name: 'init', mode: 0o100755, data: Buffer.from(initScript(EARLY_MODULES.map((m) => `${m}.ko`))) },
      { name: 'modules', mode: 0o040755 },
      ...EARLY_MODULES.map((m) => ({ name: `modules/${m}.ko`, mode: 0o100644, data: readFileSync(join(modules, pathOf(m))) })),
    ];
    writeFileSync(join(scratch, 'initrd.gz'), gzipSync(cpioNewc(entries)));
    writeFileSync(join(scratch, 'ready'), `${new Date().toISOString()}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    if (existsSync(join(dir, 'ready'))) return kernel; // another process won the race
    throw err;
  }
  return kernel;
}

export interface GuestSpec {
  /** Label for logs and results. */
  readonly name?: string;
  /** A bash script run as root inside the guest. $FK_OUT is the writable share; $FK_REPO is this repository. */
  readonly job: string;
  /** A raw disk image shared between guests as a virtio-blk disk (/dev/vda in the guest), writes not cached. */
  readonly disk?: string;
  /** An L2 link between guests over a loopback TCP socket: one guest listens, the others connect (eth0, virtio-net). */
  readonly netdev?: { readonly listen: number } | { readonly connect: number };
  /** qemu's i6300esb watchdog; the guest powers off when it fires (with -no-reboot qemu then exits). */
  readonly watchdog?: boolean;
  /**
   * A host folder shared writable by every guest that names it ($FK_SHARED in the job), for guests to
   * coordinate and for the host to watch while they run. Not cached in the guests: what one guest writes,
   * the others and the host see at once, and a file's mtime is the host's clock at the write.
   */
  readonly shared?: string;
  readonly memoryMb?: number;
  /** Extra words appended to the kernel command line. */
  readonly append?: string;
}

export interface GuestResult {
  readonly name: string;
  /** The job's exit status; null when the job never finished (timeout, panic, watchdog). */
  readonly exitCode: number | null;
  /** Everything on the serial console: kernel messages, stage2 and the job's own output. */
  readonly console: string;
  /** The job's stdout and stderr. */
  readonly log: string;
  /** Where the guest's $FK_OUT landed on the host (removed unless keepOutput). */
  readonly outDir: string;
  /** Guest uptime (s) when stage2 started, and host wall time (ms) from qemu start to qemu exit. */
  readonly bootSeconds: number | null;
  readonly wallMs: number;
  /** Host wall-clock ms (Date.now()) when qemu started and when it exited (powered off, reset or killed). */
  readonly startedAt: number;
  readonly exitedAt: number;
  readonly timedOut: boolean;
  /** A file the job wrote to $FK_OUT (path relative to it, e.g. results/x.rc), or undefined. */
  file(name: string): string | undefined;
  /** Every file the job wrote to $FK_OUT, as paths relative to it. */
  files(): string[];
}

export interface RunGuestsOptions {
  /** Every guest is killed (by its PID) after this long. */
  readonly timeoutMs: number;
  /** Keep each guest's output folder (also with FENCEKIT_GUEST_KEEP=1 in the environment, for debugging). */
  readonly keepOutput?: boolean;
  /** Live console lines, e.g. for debugging a job. */
  readonly onConsole?: (name: string, text: string) => void;
}

function qemuArgs(kernel: GuestKernel, spec: GuestSpec, outDir: string): string[] {
  const append = [
    'console=ttyS0', 'quiet', 'panic=-1', 'oops=panic', `fk.stage2=${STAGE2}`, `fk.modules=${kernel.modulesDir}`, `fk.repo=${REPO}`, spec.shared ? 'fk.shared=1' : '', spec.append ?? '',
  ].filter(Boolean).join(' ');
  const args = [
    '-accel', 'tcg', '-M', 'q35', '-cpu', 'max', '-m', String(spec.memoryMb ?? 1024), '-smp', '1',
    '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
    '-kernel', kernel.vmlinux, '-initrd', kernel.initrd, '-append', append,
    '-virtfs', 'local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${outDir},mount_tag=out,security_model=none,multidevs=remap`,
  ];
  if (spec.shared) args.push('-virtfs', `local,path=${spec.shared},mount_tag=shared,security_model=none,multidevs=remap`);
  if (spec.disk) {
    args.push('-drive', `file=${spec.disk},if=none,id=d0,format=raw,cache=none,file.locking=off`, '-device', 'virtio-blk-pci,drive=d0,share-rw=on');
  }
  if (spec.netdev) {
    const sock = 'listen' in spec.netdev ? `listen=127.0.0.1:${spec.netdev.listen}` : `connect=127.0.0.1:${spec.netdev.connect}`;
    args.push('-netdev', `socket,id=n0,${sock}`, '-device', 'virtio-net-pci,netdev=n0');
  } else {
    args.push('-nic', 'none');
  }
  if (spec.watchdog) args.push('-device', 'i6300esb', '-action', 'watchdog=poweroff');
  return args;
}

function runOne(kernel: GuestKernel, spec: GuestSpec, index: number, opts: RunGuestsOptions): Promise<GuestResult> {
  const name = spec.name ?? `guest${index + 1}`;
  const outDir = mkdtempSync(join(tmpdir(), `fk-guest-${name}-`));
  chmodSync(outDir, 0o777);
  writeFileSync(join(outDir, 'job.sh'), spec.job.startsWith('#!') ? spec.job : `#!/bin/bash\n${spec.job}`);
  chmodSync(join(outDir, 'job.sh'), 0o755);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, qemuArgs(kernel, spec, outDir), { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL'); // this child, by its PID
    }, opts.timeoutMs);
    const collect = (b: Buffer) => {
      chunks.push(b);
      opts.onConsole?.(name, b.toString());
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', () => {
      const exitedAt = Date.now();
      clearTimeout(timer);
      const read = (f: string) => (existsSync(join(outDir, f)) ? readFileSync(join(outDir, f), 'utf8') : undefined);
      const exit = read('exit');
      const boot = read('stage2-uptime');
      const files = new Map<string, string>();
      for (const f of readdirSync(outDir, { recursive: true }) as string[]) {
        try {
          files.set(f, readFileSync(join(outDir, f), 'utf8'));
        } catch {
          // a directory or an unreadable file: not a result
        }
      }
      if (!(opts.keepOutput ?? process.env.FENCEKIT_GUEST_KEEP)) rmSync(outDir, { recursive: true, force: true });
      resolve({
        name,
        exitCode: exit === undefined || exit.trim() === '' ? null : Number(exit.trim()),
        console: Buffer.concat(chunks).toString(),
        log: files.get('job.log') ?? '',
        outDir,
        bootSeconds: boot ? Number.parseFloat(boot) : null,
        wallMs: exitedAt - started,
        startedAt: started,
        exitedAt,
        timedOut,
        file: (f) => files.get(f),
        files: () => [...files.keys()],
      });
    });
  });
}

/**
 * Boot one guest per spec, all at once (guests that share a disk or a link run together), run each job and
 * wait for every guest to power off or be killed at the timeout. Never throws for a failed job: look at
 * exitCode, log and console.
 */
export async function runGuests(specs: readonly GuestSpec[], opts: RunGuestsOptions): Promise<GuestResult[]> {
  const kernel = await prepareGuestKernel();
  // A listening guest must be up before one connects to it.
  const results: Promise<GuestResult>[] = [];
  for (const [i, s] of specs.entries()) {
    results.push(runOne(kernel, s, i, opts));
    if (s.netdev && 'listen' in s.netdev) await new Promise((r) => setTimeout(r, 300));
  }
  return Promise.all(results);
}
