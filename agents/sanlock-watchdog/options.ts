// fence_kit_sanlock's options: fence_sanlock's, and the types they give. Imported by the declaration
// (agent.ts) and by anything that reads these options.
import { CORE_OPTIONS, NODENAME_OPTION } from '../../lib/options/common.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';
import { MAX_HOST_ID } from '../../lib/sanlock/layout.js';

/** sanlock's own default I/O timeout, and fence_sanlock's. */
export const DEFAULT_IO_TIMEOUT = 10;

export const SANLOCK_OPTIONS = [
  { name: 'path', short: 'p', valueName: 'path', type: 'string', required: true, order: 1,
    shortdesc: 'Path to the shared storage (block device or file) holding the sanlock leases' },
  { name: 'host_id', short: 'i', valueName: 'id', type: 'integer', required: true, order: 1,
    shortdesc: `sanlock host_id of the node to operate on (1-${MAX_HOST_ID})`,
    helpNote: 'Under Pacemaker, map node names to host ids with pcmk_host_map=node1:1;node2:2 and pcmk_host_argument=host_id.' },
  { name: 'io_timeout', valueName: 'seconds', type: 'integer', default: `${DEFAULT_IO_TIMEOUT}`, order: 2,
    shortdesc: 'sanlock I/O timeout of the lockspace, in seconds (a lease expires 8 x io_timeout + 60 s after its last renewal)' },
  { name: 'max_host_id', valueName: 'id', type: 'integer', default: '128', order: 2,
    shortdesc: 'sanlock_init formats the leases of host ids 1 to this' },
  { name: 'sanlock_path', valueName: 'path', type: 'string', default: '/usr/sbin/sanlock', order: 200,
    shortdesc: 'Path to the sanlock binary' },
  // fence_sanlock's getopt takes -n NAME (cman's fenced passed the victim's name) and never reads it: the
  // lease to take is named by host_id alone.
  withOverrides(NODENAME_OPTION, { short: 'n', noEffect: 'the node is named by host_id' }),
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

export type SanlockOptionTypes = OptionTypesOf<typeof SANLOCK_OPTIONS>;
/** fence_kit_sanlock's options, typed by their declarations. */
export type SanlockOptions = Options<SanlockOptionTypes>;
