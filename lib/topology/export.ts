// A topology as Pacemaker configuration: `pcs` commands, or CIB XML for cibadmin. Pacemaker learns which
// node each device fences from pcmk_host_list (devices addressing one target, like a BMC) or
// pcmk_host_map (node → plug(s), for PDUs and switches), and the levels from <fencing-topology>.
// Each device also gets the timeouts its own bounds ask for, and the cluster a stonith-timeout that covers
// every level (lib/topology/budget.ts), and a two-node cluster its fence-race protection (race.ts); the
// arithmetic and the choice are written into the output as comments.
import { FenceError } from '../errors.js';
import { advertisedActions } from '../agent/declaration.js';
import { xmlEscape } from '../options/metadata.js';
import { arithmetic, nodeBudget, topologyTimeouts, type DeviceTimeouts, type NodeBudget } from './budget.js';
import { readSecret, type DeviceConfig, type Topology } from './file.js';
import { racePolicy, staticDelayFor, type RacePolicy } from './race.js';

interface DeviceTargets {
  /** node → plugs (empty for device-target agents) */
  readonly byNode: Map<string, string[]>;
}

function targetsOf(topology: Topology): Map<string, DeviceTargets> {
  const out = new Map<string, DeviceTargets>();
  for (const node of topology.nodes.values()) {
    for (const level of node.levels) {
      for (const { device, plugs } of level.devices) {
        const t = out.get(device) ?? { byNode: new Map() };
        const prev = t.byNode.get(node.name);
        if (prev && prev.join(',') !== plugs.join(',')) {
          throw new FenceError('bad-input', `device "${device}" feeds node "${node.name}" through different plugs at different levels; Pacemaker can map only one`);
        }
        t.byNode.set(node.name, plugs);
        out.set(device, t);
      }
    }
  }
  return out;
}

function hostParameters(device: DeviceConfig, t: DeviceTargets | undefined): Record<string, string> {
  if (!t) return {};
  const nodes = [...t.byNode.keys()];
  if (device.agent.target === 'device') return { pcmk_host_list: nodes.join(',') };
  return { pcmk_host_map: nodes.map((n) => `${n}:${t.byNode.get(n)!.join(',')}`).join(';') };
}

const shellQuote = (s: string) => (/^[A-Za-z0-9_./:,=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function hasScriptVariant(device: DeviceConfig, option: string): boolean {
  return device.agent.options.some((s) => s.name === `${option}_script`);
}

/** Everything export decides beyond the devices' own options: timeouts, delays, cluster properties. */
interface Plan {
  readonly targets: Map<string, DeviceTargets>;
  readonly policy: RacePolicy;
  readonly timeouts: ReadonlyMap<string, DeviceTimeouts>;
  /** pcmk_delay_base per device, where the race policy sets one. */
  readonly delays: ReadonlyMap<string, string>;
  readonly budgets: readonly NodeBudget[];
  /** Cluster properties, in the order written. */
  readonly properties: readonly [string, string][];
  /** Resource meta attributes to set (priority policy): [resource, name, value]. */
  readonly resourceMeta: readonly [string, string, string][];
}

function plan(topology: Topology): Plan {
  const targets = targetsOf(topology);
  const policy = racePolicy(topology);
  const delays = new Map<string, string>();
  const pacemakerDelay = new Map<string, number>();
  for (const device of topology.devices.keys()) {
    const base = staticDelayFor(policy, [...(targets.get(device)?.byNode.keys() ?? [])]);
    if (base !== undefined && policy.kind === 'static-delay') {
      delays.set(device, base);
      pacemakerDelay.set(device, policy.delay);
    }
  }
  // priority-fencing-delay is waited before the first device of the first level only.
  if (policy.kind === 'priority') {
    for (const node of topology.nodes.values()) {
      const first = node.levels[0]?.devices[0]?.device;
      if (first !== undefined) pacemakerDelay.set(first, policy.delay);
    }
  }
  const timeouts = topologyTimeouts(topology, (d) => pacemakerDelay.get(d) ?? 0);
  const budgets = [...topology.nodes.keys()].map((n) => nodeBudget(topology, n, timeouts, 'reboot'));
  const stonithTimeout = Math.max(...budgets.map((b) => b.total));
  const properties: [string, string][] = [['stonith-timeout', `${stonithTimeout}s`]];
  const resourceMeta: [string, string, string][] = [];
  if (policy.kind === 'priority') {
    properties.push(['priority-fencing-delay', `${policy.delay}s`]);
    resourceMeta.push([policy.resource, 'priority', String(policy.priority)]);
  }
  return { targets, policy, timeouts, delays, budgets, properties, resourceMeta };
}

/** Pacemaker parameters export adds to a device: its timeouts (whole seconds) and any static delay. */
function pacemakerParameters(p: Plan, device: string): Record<string, string> {
  const t = p.timeouts.get(device)!;
  return {
    pcmk_off_timeout: `${t.pcmk_off_timeout.seconds}s`,
    ...(t.pcmk_reboot_timeout ? { pcmk_reboot_timeout: `${t.pcmk_reboot_timeout.seconds}s` } : {}),
    pcmk_monitor_timeout: `${t.pcmk_monitor_timeout.seconds}s`,
    // One run per level: the agent retries what is worth retrying within its own bound, and a device that
    // failed (silent past login_timeout) hands over to the next level at once instead of being run again.
    pcmk_off_retries: '1',
    ...(t.pcmk_reboot_timeout ? { pcmk_reboot_retries: '1' } : {}),
    ...(p.delays.has(device) ? { pcmk_delay_base: p.delays.get(device)! } : {}),
  };
}

/**
 * Devices whose `on` is automatic unfencing (fabric agents: a switch port, a SCSI reservation, a sanlock lease)
 * get the resource meta attribute provides=unfencing: Pacemaker's scheduler unfences a node when it joins only
 * where a device says so, and its metadata alone does not (Red Hat's guides have users add it by hand).
 */
function providesUnfencing(device: DeviceConfig): boolean {
  return advertisedActions(device.agent).some((a) => a.name === 'on' && a.automatic);
}

/** The arithmetic behind every timeout and the race choice, as comment lines (without the comment marker). */
function explanation(topology: Topology, p: Plan): string[] {
  const lines = [
    'Timeout budget. Each device may take its own bound (its agent\'s delay, login_timeout, power_timeout,',
    'power_wait, retry_on, with the defaults its agent declares) plus any delay Pacemaker waits first:',
  ];
  for (const d of topology.devices.values()) {
    const t = p.timeouts.get(d.name)!;
    lines.push(`  ${d.name} (${d.agent.name}):`);
    lines.push(`    pcmk_off_timeout = ${arithmetic(t.pcmk_off_timeout)}`);
    if (t.pcmk_reboot_timeout) lines.push(`    pcmk_reboot_timeout = ${arithmetic(t.pcmk_reboot_timeout)}`);
    else lines.push('    (no reboot: Pacemaker runs off under pcmk_off_timeout)');
    lines.push(`    pcmk_monitor_timeout = ${arithmetic(t.pcmk_monitor_timeout)}`);
  }
  lines.push('pcmk_off_retries=1 and pcmk_reboot_retries=1: a failed device hands over to the next level at once (the agent retries within its own bound).');
  lines.push('Pacemaker times a whole fence at 1.2 x the sum of the timeouts of every device of every level, in order:');
  for (const b of p.budgets) {
    const levels = b.levels.map((l) => `level ${l.index} ${l.devices.map((d) => `${d.device} ${d.seconds}`).join(' + ')}${l.devices.length > 1 ? ` = ${l.seconds}` : ''}`);
    lines.push(`  ${b.node}: ${levels.join('; ')}; total ${b.total} s`);
  }
  lines.push(`stonith-timeout = the largest total, ${p.budgets.map((b) => `${b.node} ${b.total}`).join(', ')}: ${p.properties[0]![1]}`);
  lines.push(`Fence race: ${p.policy.why}.`);
  const unfencing = [...topology.devices.values()].filter(providesUnfencing);
  if (unfencing.length > 0) {
    lines.push(`Unfencing: provides=unfencing on ${unfencing.map((d) => `${d.name} (${d.agent.name})`).join(', ')}: a node is unfenced when it joins the cluster, before its resources are probed or started${unfencing.some((d) => d.agent.onTarget) ? ', by the node itself where the agent says on_target' : ''}.`);
  }
  return lines;
}

/** The line export prints on stderr: which race protection it wrote, and why. */
export function exportNotice(topology: Topology): string {
  return racePolicy(topology).why;
}

/** pcs commands. Secrets stay references: a file becomes *_script, an env var a shell expansion. */
export function exportPcs(topology: Topology): string {
  const p = plan(topology);
  const lines: string[] = ['# generated by fencekit export pcs from ' + topology.path, ...explanation(topology, p).map((l) => `# ${l}`)];
  for (const device of topology.devices.values()) {
    const args = [`pcs stonith create ${shellQuote(device.name)} ${device.agent.name}`];
    for (const [k, v] of Object.entries({ ...device.options, ...hostParameters(device, p.targets.get(device.name)), ...pacemakerParameters(p, device.name) })) args.push(shellQuote(`${k}=${v}`));
    for (const [k, ref] of Object.entries(device.secrets)) {
      if (ref.file !== undefined && hasScriptVariant(device, k)) args.push(shellQuote(`${k}_script=/bin/cat ${ref.file}`));
      else if (ref.file !== undefined) args.push(`${k}="$(cat ${shellQuote(ref.file)})"`);
      else args.push(`${k}="$${ref.env}"`);
    }
    if (providesUnfencing(device)) args.push('meta provides=unfencing');
    lines.push(args.join(' \\\n    '));
  }
  for (const node of topology.nodes.values()) {
    for (const level of node.levels) {
      lines.push(`pcs stonith level add ${level.index} ${shellQuote(node.name)} ${level.devices.map((d) => d.device).join(',')}`);
    }
  }
  for (const [name, value] of p.properties) lines.push(`pcs property set ${shellQuote(`${name}=${value}`)}`);
  for (const [resource, name, value] of p.resourceMeta) lines.push(`pcs resource meta ${shellQuote(resource)} ${shellQuote(`${name}=${value}`)}`);
  return lines.join('\n') + '\n';
}

/** Text for an XML comment: "--" may not appear in one. */
const xmlComment = (text: string) => `<!-- ${text.replace(/--/g, '- -').replace(/-$/, '- ')} -->`;

/**
 * CIB XML: cluster properties, stonith primitives and <fencing-topology>, to merge with
 * `cibadmin --modify --scope configuration --xml-file FILE`. A secret file becomes *_script where the
 * agent has one; any other secret must be resolved into the CIB, which happens only with withSecrets.
 * The arithmetic is a comment before the root element, so it never enters the CIB itself.
 */
export function exportCib(topology: Topology, withSecrets: boolean, env: NodeJS.ProcessEnv = process.env): string {
  const p = plan(topology);
  const id = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  const out: string[] = [xmlComment(`generated by fencekit export cib from ${topology.path}`), ...explanation(topology, p).map(xmlComment)];
  if (p.resourceMeta.length > 0) {
    for (const [resource, name, value] of p.resourceMeta) {
      out.push(xmlComment(`also set meta attribute ${name}=${value} on resource ${resource}, which this file cannot (the resource is yours): pcs resource meta ${resource} ${name}=${value}`));
    }
  }
  out.push('<configuration>', '  <crm_config>', '    <cluster_property_set id="cib-bootstrap-options">');
  // The ids crm_attribute gives these properties, so a merge updates them instead of adding a rival.
  for (const [name, value] of p.properties) out.push(`      <nvpair id="cib-bootstrap-options-${xmlEscape(name)}" name="${xmlEscape(name)}" value="${xmlEscape(value)}"/>`);
  out.push('    </cluster_property_set>', '  </crm_config>', '  <resources>');
  for (const device of topology.devices.values()) {
    const params: Record<string, string> = { ...device.options, ...hostParameters(device, p.targets.get(device.name)), ...pacemakerParameters(p, device.name) };
    for (const [k, ref] of Object.entries(device.secrets)) {
      if (ref.file !== undefined && hasScriptVariant(device, k)) params[`${k}_script`] = `/bin/cat ${ref.file}`;
      else if (withSecrets) params[k] = readSecret(device.name, k, ref, env);
      else throw new FenceError('bad-input', `device "${device.name}": secret "${k}" cannot be kept a reference in the CIB; use a file (becomes ${k}_script) or pass --with-secrets`);
    }
    const base = id(device.name);
    out.push(`    <primitive id="${xmlEscape(base)}" class="stonith" type="${xmlEscape(device.agent.name)}">`);
    out.push(`      <instance_attributes id="${xmlEscape(base)}-instance_attributes">`);
    for (const [k, v] of Object.entries(params)) {
      out.push(`        <nvpair id="${xmlEscape(`${base}-instance_attributes-${id(k)}`)}" name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`);
    }
    out.push('      </instance_attributes>');
    if (providesUnfencing(device)) {
      out.push(`      <meta_attributes id="${xmlEscape(base)}-meta_attributes">`);
      out.push(`        <nvpair id="${xmlEscape(base)}-meta_attributes-provides" name="provides" value="unfencing"/>`);
      out.push('      </meta_attributes>');
    }
    out.push('      <operations>');
    out.push(`        <op id="${xmlEscape(base)}-monitor-interval-60s" name="monitor" interval="60s" timeout="${p.timeouts.get(device.name)!.pcmk_monitor_timeout.seconds}s"/>`);
    out.push('      </operations>');
    out.push('    </primitive>');
  }
  out.push('  </resources>', '  <fencing-topology>');
  for (const node of topology.nodes.values()) {
    for (const level of node.levels) {
      out.push(`    <fencing-level id="${xmlEscape(`fl-${id(node.name)}-${level.index}`)}" index="${level.index}" target="${xmlEscape(node.name)}" devices="${xmlEscape(level.devices.map((d) => d.device).join(','))}"/>`);
    }
  }
  out.push('  </fencing-topology>', '</configuration>');
  return out.join('\n') + '\n';
}
