// Fence races in a two-node cluster. When the link between two nodes fails and both are alive, each
// thinks the other died and both fence at once: with nothing to break the tie, both can end up off. The
// exported configuration breaks it in one of two ways (Pacemaker Explained, "pcmk_delay_base",
// "priority-fencing-delay"):
//  - static-delay: every device that can fence the survivor waits `delay` seconds first (pcmk_delay_base).
//    The survivor's own fence of its peer starts at once, so the peer is off before its fence of the
//    survivor has begun. The delay goes on the survivor's devices: the node that is fenced later wins.
//  - priority: the node running `resource` (priority `priority`) is fenced `delay` seconds later
//    (priority-fencing-delay), so the node running it wins wherever it runs.
// Defaults: two nodes and no `cluster` section mean static-delay with the first node listed as survivor.
import { FenceError } from '../errors.js';
import type { Topology } from './file.js';

/** Seconds of delay by default: several times what a BMC or PDU off takes once the fencer starts it. */
export const DEFAULT_RACE_DELAY = 5;
/** The resource priority written for fence_race priority when none is given. */
export const DEFAULT_RESOURCE_PRIORITY = 10;

export type RacePolicy =
  | { readonly kind: 'static-delay'; readonly survivor: string; readonly victim: string; readonly delay: number; readonly why: string }
  | { readonly kind: 'priority'; readonly resource: string; readonly priority: number; readonly delay: number; readonly why: string }
  | { readonly kind: 'none'; readonly why: string };

export function racePolicy(topology: Topology): RacePolicy {
  const nodes = [...topology.nodes.keys()];
  const c = topology.cluster;
  const kind = c?.fenceRace ?? (c?.resource ? 'priority' : nodes.length === 2 ? 'static-delay' : 'none');
  if (kind === 'none') {
    const why = c?.fenceRace === 'none'
      ? 'no fence-race protection (cluster.fence_race: none): in a split brain both nodes can be fenced; use it only with a quorum device or a third node'
      : `no fence-race delay: the topology fences ${nodes.length} node${nodes.length === 1 ? '' : 's'}, and a race needs two nodes that can fence each other`;
    return { kind, why };
  }
  if (nodes.length !== 2) throw new FenceError('bad-input', `cluster.fence_race ${kind} is for two nodes; ${topology.path} has ${nodes.length}`);
  const delay = c?.delay ?? DEFAULT_RACE_DELAY;
  if (kind === 'priority') {
    const priority = c?.priority ?? DEFAULT_RESOURCE_PRIORITY;
    return {
      kind,
      resource: c!.resource!,
      priority,
      delay,
      why: `two-node cluster: priority-fencing-delay=${delay}s and resource ${c!.resource} priority=${priority}, so the node running ${c!.resource} is fenced ${delay} s later and wins a fence race (cluster.fence_race: priority)`,
    };
  }
  const survivor = c?.survivor ?? nodes[0]!;
  const victim = nodes.find((n) => n !== survivor)!;
  const chosen = c?.fenceRace === 'static-delay' || c?.survivor !== undefined ? 'cluster.fence_race' : 'the default for two nodes; set cluster.fence_race to change';
  return {
    kind,
    survivor,
    victim,
    delay,
    why: `two-node cluster: pcmk_delay_base=${delay}s on the devices that fence ${survivor}, so ${survivor} fences ${victim} first and wins a fence race (${chosen})`,
  };
}

/**
 * The pcmk_delay_base a device gets under a static-delay policy, or undefined. A device that fences only
 * the survivor gets the plain value; one that fences both nodes (a shared PDU) gets a per-node map, which
 * Pacemaker matches by name prefix: a victim whose name begins with the survivor's would match it too.
 */
export function staticDelayFor(policy: RacePolicy, targets: readonly string[]): string | undefined {
  if (policy.kind !== 'static-delay' || !targets.includes(policy.survivor)) return undefined;
  if (targets.length === 1) return `${policy.delay}s`;
  if (policy.victim.toLowerCase().startsWith(policy.survivor.toLowerCase())) {
    throw new FenceError('bad-input', `a device fences both ${policy.survivor} and ${policy.victim}; Pacemaker matches pcmk_delay_base's node map by prefix, so "${policy.survivor}:${policy.delay}s" would delay ${policy.victim} too. Give ${policy.survivor} its own devices, or make ${policy.victim} the survivor`);
  }
  return `${policy.survivor}:${policy.delay}s`;
}
