// fence_kit_sanlock: watchdog fencing through sanlock leases on shared storage, for when no BMC or PDU
// answers. Each node holds its own lease (`on`, run on the node itself); a node that stops renewing is
// reset by its watchdog, and `off` succeeds only by acquiring the victim's lease, which sanlock grants
// no earlier than 8 x io_timeout + 60 s after the victim's last renewal, when its watchdog must have fired.
// Layout and options as fence_sanlock's (lockspace `fence`, lease h<N> at N MiB, path / host_id).
import { declareAgent } from '../../lib/agent/declaration.js';
import { hostDeadSeconds, MAX_HOST_ID, renewalSeconds, usablePath } from '../../lib/sanlock/layout.js';
import type { SanlockSettings } from './device.js';
import { DEFAULT_IO_TIMEOUT, SANLOCK_OPTIONS, type SanlockOptionTypes, type SanlockOptions } from './options.js';

function validate(options: SanlockOptions): string[] {
  const errors: string[] = [];
  const hostId = options.number('host_id');
  if (hostId !== undefined && (hostId < 1 || hostId > MAX_HOST_ID)) {
    errors.push(`Failed: option 'host_id' (-i, --host-id) must be 1-${MAX_HOST_ID}`);
  }
  const max = options.number('max_host_id');
  if (max < 1 || max > MAX_HOST_ID) errors.push(`Failed: option 'max_host_id' (--max-host-id) must be 1-${MAX_HOST_ID}`);
  const io = options.number('io_timeout');
  if (io < 1 || io > 300) errors.push("Failed: option 'io_timeout' (--io-timeout) must be 1-300 seconds");
  const path = options.string('path');
  if (path !== undefined && !usablePath(path)) {
    errors.push("Failed: option 'path' (-p, --path) must be a path without ':' or spaces (sanlock splits its arguments on ':')");
  }
  return errors;
}

/** The options the lease device and its holder act on. */
function sanlockSettings(options: SanlockOptions): SanlockSettings {
  return {
    path: options.string('path')!,
    hostId: options.number('host_id'),
    ioTimeout: options.number('io_timeout'),
    maxHostId: options.number('max_host_id'),
    sanlockPath: options.string('sanlock_path'),
    debugFile: options.string('debug_file'),
    quiet: options.flag('quiet'),
  };
}

/** The longest an off can take: lease expiry after the last renewal, one renewal of lag, and slack. */
export function offBudgetSeconds(ioTimeout: number): number {
  return hostDeadSeconds(ioTimeout) + renewalSeconds(ioTimeout) + 5;
}

function advise(options: SanlockOptions, limits: { readonly powerTimeoutMs: number }): string[] {
  const need = offBudgetSeconds(options.number('io_timeout'));
  if (!Number.isFinite(limits.powerTimeoutMs) || limits.powerTimeoutMs >= need * 1000) return [];
  return [
    `power_timeout ${limits.powerTimeoutMs / 1000} s cannot cover a sanlock fence: the victim's lease expires ` +
      `${hostDeadSeconds(options.number('io_timeout'))} s after its last renewal; allow at least ${need} s ` +
      `(and pcmk_off_timeout likewise under Pacemaker)`,
  ];
}

export const sanlockAgent = declareAgent<SanlockOptionTypes>({
  name: 'fence_kit_sanlock',
  shortdesc: 'Fence agent for watchdog and shared storage (sanlock)',
  longdesc:
    'fence_kit_sanlock fences through sanlock leases on shared storage and the watchdog of each node, with no management board or power switch. ' +
    "`on` runs on the node itself (automatic unfencing): it joins the sanlock lockspace and starts a small holder that keeps the node's own lease; sanlock (with wdmd) arms the watchdog, so a node that stops renewing its lease is reset. " +
    "`off` acquires the victim's lease: sanlock grants it no earlier than 8 x io_timeout + 60 s after the victim's last renewal, when its watchdog must have reset it. The agent computes that instant and waits for it; a victim still renewing is asked to give up its lease (its holder then stops the local sanlock daemon so that the watchdog fires), and off fails at power_timeout if the lease is never granted. " +
    "Off is reported only when this node's sanlock reports the victim's host DEAD in the lockspace (its delta lease not renewed for 8 x io_timeout + 60 s, so its watchdog has fired) and the lease was acquired. A free lease, a victim that took its lease again in a newer generation, or a victim that left the lockspace (FREE) proves no reset: off fails. A fence takes at least 140 s with the default io_timeout of 10: set power_timeout and pcmk_off_timeout accordingly. Format the storage once with action sanlock_init.",
  vendorUrl: 'https://pagure.io/sanlock',
  options: SANLOCK_OPTIONS,
  defaults: { power_timeout: String(offBudgetSeconds(DEFAULT_IO_TIMEOUT) + 15) },
  target: 'device',
  // The lease is the fabric: a fenced node must be unfenced (take its lease again) before it rejoins,
  // and reboot is the watchdog's job, not the agent's.
  fabric: true,
  onTarget: true,
  validate,
  advise,
  protocol: () => 'sanlock lease on shared storage, watchdog reset',
  offSecondsNeeded: (options) => offBudgetSeconds(options.number('io_timeout')),
  extraActions: [
    {
      name: 'sanlock_init',
      shortdesc: 'Format the lockspace and the host leases (1 to max_host_id) on the shared storage. Destroys any leases there.',
      advertised: true,
      notRequired: ['host_id'],
      async run(options, ctx) {
        const { formatStorage } = await import('./device.js');
        return formatStorage(sanlockSettings(options), ctx);
      },
    },
    {
      name: 'hold',
      shortdesc: "Hold this node's lease until stopped (started by `on`; also usable as a service).",
      advertised: false,
      async run(options, ctx) {
        const { holdLease } = await import('./holder.js');
        return holdLease(sanlockSettings(options), ctx.logger);
      },
    },
  ],
  async connect(options, ctx) {
    const { connectLeases } = await import('./device.js');
    return connectLeases(sanlockSettings(options), ctx);
  },
});
