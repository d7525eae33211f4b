// The topology file: devices (an agent and its options, secrets only by reference) and nodes with their
// ordered levels. Validated against each agent's own option declarations, with errors that name the line.
//
//   devices:
//     node1-bmc:
//       agent: fence_kit_ipmi
//       ip: 10.0.0.11
//       username: admin
//       password: { file: /etc/fencekit/node1-bmc.pw }   # or { env: VAR }, or password_script: CMD
//     pdu-a: { agent: fence_kit_apc_snmp, ip: 10.0.0.50, community: { env: PDU_COMMUNITY } }
//   nodes:
//     node1:
//       - [node1-bmc]            # level 1
//       - [pdu-a:1, pdu-b:1]     # level 2: both power supplies
//   cluster:                     # optional: how `fencekit export` prevents fence races in a two-node cluster
//     fence_race: static-delay   # static-delay | priority | none
//     survivor: node1            # static-delay: the node that wins a race
//     delay: 5                   # seconds
//
// Every value is text, exactly as written: the file is read with YAML's failsafe schema, so `key: 0x7d0c0001`
// reaches the agent (and `fencekit export`) as 0x7d0c0001, never as the number 2097938433.
import { statSync, readFileSync } from 'node:fs';
import type { AgentDeclaration } from '../agent/declaration.js';
import { FenceError } from '../errors.js';
import { parseBoolean, type RawInput } from '../options/parse.js';
import { resolveValues, missingRequired } from '../options/values.js';

export interface SecretRef {
  readonly env?: string;
  readonly file?: string;
}

export interface DeviceConfig {
  readonly name: string;
  readonly agent: AgentDeclaration;
  /** Plain (non-secret) options, as the strings an agent reads on stdin. */
  readonly options: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, SecretRef>>;
  readonly line: number;
}

export interface LevelConfig {
  readonly index: number;
  readonly devices: readonly { device: string; plugs: string[] }[];
}

export interface NodeConfig {
  readonly name: string;
  readonly levels: readonly LevelConfig[];
}

/** The `cluster` section, as written (defaults are lib/topology/race.ts's to choose). */
export interface ClusterConfig {
  /** How a fence race between two nodes is prevented. */
  readonly fenceRace?: 'static-delay' | 'priority' | 'none';
  /** static-delay: the node that wins a race (its devices are delayed). */
  readonly survivor?: string;
  /** Seconds: pcmk_delay_base (static-delay) or priority-fencing-delay (priority). */
  readonly delay?: number;
  /** priority: the resource whose node wins a race. */
  readonly resource?: string;
  /** priority: that resource's priority. */
  readonly priority?: number;
  readonly line: number;
}

export interface Topology {
  readonly path: string;
  readonly devices: ReadonlyMap<string, DeviceConfig>;
  readonly nodes: ReadonlyMap<string, NodeConfig>;
  readonly cluster?: ClusterConfig;
}

const FENCE_RACE_POLICIES = ['static-delay', 'priority', 'none'] as const;
const CLUSTER_KEYS = ['fence_race', 'survivor', 'delay', 'resource', 'priority'];

/** Options the topology itself supplies to every device call. */
const SUPPLIED = new Set(['action', 'plug', 'port', 'nodename']);

/**
 * Why `value` cannot travel as one `key=value` line of an agent's stdin, or undefined if it can. The agent
 * splits its stdin at LF, trims each line and drops one pair of surrounding double quotes: a control character
 * could end the line and inject another (an `action=on` after our `action=off`: the agent keeps the last), and
 * a value the agent would trim or unquote would arrive changed.
 */
export function stdinValueProblem(value: string): string | undefined {
  const control = /[\x00-\x1f\x7f]/.exec(value);
  if (control) {
    const code = control[0].charCodeAt(0);
    const name = code === 0x0a ? 'LF' : code === 0x0d ? 'CR' : code === 0 ? 'NUL' : code === 0x09 ? 'TAB' : code === 0x7f ? 'DEL' : `0x${code.toString(16).padStart(2, '0')}`;
    return `contains a control character (${name}), which would break the agent's one-line-per-option stdin`;
  }
  if (value !== value.trim()) return 'begins or ends with white space, which the agent would strip';
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return 'is wrapped in double quotes, which the agent would strip';
  return undefined;
}

/** Throws a bad-input error naming the device and option when `value` cannot be passed on as written. */
export function assertStdinValue(device: string, option: string, value: string): void {
  const problem = stdinValueProblem(value);
  if (problem) throw new FenceError('bad-input', `device "${device}": ${option} ${problem}`);
}

export async function loadTopology(path: string, lookupAgent: (name: string) => AgentDeclaration | undefined): Promise<Topology> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FenceError('bad-input', `cannot read topology ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parseTopology(text, path, lookupAgent);
}

export async function parseTopology(text: string, path: string, lookupAgent: (name: string) => AgentDeclaration | undefined): Promise<Topology> {
  const YAML = await import('yaml');
  const lines = new YAML.LineCounter();
  // failsafe: every scalar stays the string it was written as (no numbers, booleans or nulls).
  const doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: true, schema: 'failsafe' });
  const where = (node: unknown) => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? lines.linePos(range[0]).line : 1;
  };
  const fail = (node: unknown, msg: string): never => {
    throw new FenceError('bad-input', `${path}:${where(node)}: ${msg}`);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new FenceError('bad-input', `${path}:${e.linePos?.[0]?.line ?? 1}: ${e.message.split('\n')[0]}`);
  }
  // A tag (`!!int 5`) asks for a type the failsafe schema does not give: refuse rather than guess.
  if (doc.warnings.length > 0) {
    const w = doc.warnings[0]!;
    throw new FenceError('bad-input', `${path}:${w.linePos?.[0]?.line ?? 1}: ${w.message.split('\n')[0]} (values are plain text; remove the tag)`);
  }
  const root = doc.contents;
  if (!YAML.isMap(root)) fail(root, 'the topology must be a mapping with "devices" and "nodes"');
  const rootMap = root as InstanceType<typeof YAML.YAMLMap>;
  for (const item of rootMap.items) {
    const key = YAML.isScalar(item.key) ? String(item.key.value) : '';
    if (key !== 'devices' && key !== 'nodes' && key !== 'cluster') fail(item.key, `unknown section "${key}" (expected "devices", "nodes" and optionally "cluster")`);
  }

  const devices = new Map<string, DeviceConfig>();
  const devicesNode = rootMap.get('devices', true);
  if (!YAML.isMap(devicesNode) || devicesNode.items.length === 0) fail(devicesNode ?? root, '"devices" must map device names to their settings');
  for (const item of (devicesNode as unknown as InstanceType<typeof YAML.YAMLMap>).items) {
    const name = YAML.isScalar(item.key) ? String(item.key.value) : fail(item.key, 'a device name must be a plain string');
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) fail(item.key, `device name "${name}" may contain only letters, digits, "_", "." and "-"`);
    if (!YAML.isMap(item.value)) fail(item.value ?? item.key, `device "${name}" must be a mapping with at least "agent"`);
    const settings = item.value as InstanceType<typeof YAML.YAMLMap>;
    const agentName = settings.get('agent');
    if (typeof agentName !== 'string') fail(settings, `device "${name}" needs "agent: fence_kit_…"`);
    const agent = lookupAgent(agentName as string) ?? fail(settings.get('agent', true), `device "${name}": unknown agent "${agentName}"`);
    const options: Record<string, string> = {};
    const secrets: Record<string, SecretRef> = {};
    const values = new Map<string, string | boolean>();
    const optionNodes = new Map<string, unknown>();
    for (const opt of settings.items) {
      const key = YAML.isScalar(opt.key) ? String(opt.key.value) : fail(opt.key, 'option names must be plain strings');
      if (key === 'agent') continue;
      const spec = agent.options.find((s) => s.name === key || s.deprecatedName === key);
      if (!spec) fail(opt.key, `device "${name}": ${agent.name} has no option "${key}"`);
      if (SUPPLIED.has(spec!.name)) fail(opt.key, `device "${name}": "${key}" is set per node level, not per device`);
      optionNodes.set(spec!.name, opt.key);
      if (spec!.secret) {
        if (!YAML.isMap(opt.value)) fail(opt.value ?? opt.key, `device "${name}": secret "${key}" must be given by reference: { env: VAR } or { file: PATH } (or use ${key}_script)`);
        const ref = (opt.value as InstanceType<typeof YAML.YAMLMap>).toJSON() as Record<string, unknown>;
        const keys = Object.keys(ref);
        if (keys.length !== 1 || !['env', 'file'].includes(keys[0]!) || typeof ref[keys[0]!] !== 'string') {
          fail(opt.value, `device "${name}": secret "${key}" takes exactly one of { env: VAR } or { file: PATH }`);
        }
        secrets[spec!.name] = ref as SecretRef;
        values.set(spec!.name, 'x');
        continue;
      }
      const text = YAML.isScalar(opt.value) ? String(opt.value.value) : fail(opt.value ?? opt.key, `device "${name}": option "${key}" must be a single value`);
      const problem = stdinValueProblem(text);
      if (problem) fail(opt.value, `device "${name}": ${key} ${problem}`);
      const flag = spec!.type === 'boolean' ? parseBoolean(text) : undefined;
      if (spec!.type === 'boolean' && flag === undefined) fail(opt.value, `device "${name}": option "${key}" must be one of 1/yes/on/true or 0/no/off/false`);
      options[spec!.name] = text;
      values.set(spec!.name, flag ?? text);
    }
    const raw: RawInput = { source: 'stdin', values, counts: new Map(), warnings: [], errors: [] };
    const typed = resolveValues(raw, agent.options, agent.defaults ?? {});
    const exempt = new Set([...SUPPLIED, ...(secrets.password || options.password_script ? ['password'] : [])]);
    const problems = [...typed.errors, ...missingRequired(typed.options, agent.options, exempt)];
    if (problems.length > 0) {
      // Point at the option's own line when the problem names one that is in the file.
      const named = [...optionNodes.keys()].find((o) => problems[0]!.includes(`'${o}'`));
      fail(named ? optionNodes.get(named) : item.key, `device "${name}": ${problems[0]!.replace(/^Failed: /, '')}`);
    }
    devices.set(name, { name, agent, options, secrets, line: where(item.key) });
  }

  const nodes = new Map<string, NodeConfig>();
  const nodesNode = rootMap.get('nodes', true);
  if (!YAML.isMap(nodesNode) || nodesNode.items.length === 0) fail(nodesNode ?? root, '"nodes" must map node names to their fencing levels');
  for (const item of (nodesNode as unknown as InstanceType<typeof YAML.YAMLMap>).items) {
    const name = YAML.isScalar(item.key) ? String(item.key.value) : fail(item.key, 'a node name must be a plain string');
    const nameProblem = stdinValueProblem(name);
    if (nameProblem || name === '') fail(item.key, `node name "${JSON.stringify(name).slice(1, -1)}" ${nameProblem ?? 'is empty'}`);
    if (!YAML.isSeq(item.value) || item.value.items.length === 0) fail(item.value ?? item.key, `node "${name}" needs a list of levels, e.g. - [bmc]`);
    const seq = item.value as InstanceType<typeof YAML.YAMLSeq>;
    if (seq.items.length > 9) fail(seq, `node "${name}": Pacemaker allows at most 9 levels`);
    const levels: LevelConfig[] = seq.items.map((levelNode, i) => {
      const entries = YAML.isSeq(levelNode) ? levelNode.items : [levelNode];
      if (entries.length === 0) fail(levelNode, `node "${name}" level ${i + 1} names no device`);
      return {
        index: i + 1,
        devices: entries.map((entry) => {
          const ref = YAML.isScalar(entry) ? String(entry.value) : fail(entry, `node "${name}" level ${i + 1}: entries are "device" or "device:plug[,plug]"`);
          const colon = ref.indexOf(':');
          const device = colon < 0 ? ref : ref.slice(0, colon);
          const plugs = colon < 0 ? [] : ref.slice(colon + 1).split(',').map((p) => p.trim()).filter(Boolean);
          const dev = devices.get(device) ?? fail(entry, `node "${name}" level ${i + 1}: unknown device "${device}"`);
          for (const plug of plugs) {
            const problem = stdinValueProblem(plug);
            if (problem) fail(entry, `node "${name}" level ${i + 1}: ${device}: plug ${problem}`);
          }
          if (dev.agent.target === 'plugs' && plugs.length === 0) fail(entry, `node "${name}" level ${i + 1}: ${device} needs a plug ("${device}:N")`);
          if (dev.agent.target === 'device' && plugs.length > 0) fail(entry, `node "${name}" level ${i + 1}: ${device} (${dev.agent.name}) takes no plug`);
          return { device, plugs };
        }),
      };
    });
    nodes.set(name, { name, levels });
  }

  let cluster: ClusterConfig | undefined;
  const clusterNode = rootMap.get('cluster', true);
  if (clusterNode !== undefined) {
    if (!YAML.isMap(clusterNode)) fail(clusterNode ?? root, '"cluster" must be a mapping, e.g. { fence_race: static-delay, survivor: node1, delay: 5 }');
    const settings = new Map<string, { text: string; node: unknown }>();
    for (const item of (clusterNode as unknown as InstanceType<typeof YAML.YAMLMap>).items) {
      const key = YAML.isScalar(item.key) ? String(item.key.value) : fail(item.key, 'cluster settings are plain names');
      if (!CLUSTER_KEYS.includes(key)) fail(item.key, `cluster: unknown setting "${key}" (known: ${CLUSTER_KEYS.join(', ')})`);
      const text = YAML.isScalar(item.value) ? String(item.value.value) : fail(item.value ?? item.key, `cluster: "${key}" must be a single value`);
      settings.set(key, { text, node: item.value });
    }
    const wholeSeconds = (key: string, max: number): number | undefined => {
      const s = settings.get(key);
      if (!s) return undefined;
      if (!/^\d+$/.test(s.text) || Number(s.text) < 1 || Number(s.text) > max) fail(s.node, `cluster: ${key} must be a whole number from 1 to ${max} (got "${s.text}")`);
      return Number(s.text);
    };
    const race = settings.get('fence_race');
    if (race && !(FENCE_RACE_POLICIES as readonly string[]).includes(race.text)) fail(race.node, `cluster: fence_race must be one of ${FENCE_RACE_POLICIES.join(', ')} (got "${race.text}")`);
    const fenceRace = race?.text as ClusterConfig['fenceRace'];
    const survivor = settings.get('survivor');
    if (survivor && !nodes.has(survivor.text)) fail(survivor.node, `cluster: survivor "${survivor.text}" is not a node of this topology (known: ${[...nodes.keys()].join(', ')})`);
    const resource = settings.get('resource');
    if (resource && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(resource.text)) fail(resource.node, `cluster: resource "${resource.text}" is not a Pacemaker resource id`);
    const policy = fenceRace ?? (resource ? 'priority' : 'static-delay');
    if (policy !== 'static-delay' && survivor) fail(survivor.node, `cluster: survivor applies to fence_race static-delay only (with ${policy}, ${policy === 'priority' ? 'the node running the resource survives' : 'nothing is delayed'})`);
    if (policy !== 'priority' && resource) fail(resource.node, 'cluster: resource applies to fence_race priority only');
    if (policy !== 'priority' && settings.has('priority')) fail(settings.get('priority')!.node, 'cluster: priority applies to fence_race priority only');
    if (policy === 'priority' && !resource) fail(race?.node ?? clusterNode, 'cluster: fence_race priority needs "resource": the resource whose node should survive');
    if (policy === 'none' && settings.has('delay')) fail(settings.get('delay')!.node, 'cluster: delay has no meaning with fence_race none');
    if (policy !== 'none' && nodes.size !== 2) fail(race?.node ?? clusterNode, `cluster: fence_race ${policy} is for a two-node cluster, and this topology has ${nodes.size} node${nodes.size === 1 ? '' : 's'}`);
    const delay = wholeSeconds('delay', 600);
    const priority = wholeSeconds('priority', 1_000_000);
    cluster = {
      line: where(clusterNode),
      ...(fenceRace ? { fenceRace } : {}),
      ...(survivor ? { survivor: survivor.text } : {}),
      ...(delay !== undefined ? { delay } : {}),
      ...(resource ? { resource: resource.text } : {}),
      ...(priority !== undefined ? { priority } : {}),
    };
  }
  return { path, devices, nodes, ...(cluster ? { cluster } : {}) };
}

/** The environment variables `{ env: VAR }` secrets come from: no agent needs them in its environment. */
export function secretVariables(devices: Iterable<DeviceConfig>): Set<string> {
  const names = new Set<string>();
  for (const d of devices) for (const ref of Object.values(d.secrets)) if (ref.env !== undefined) names.add(ref.env);
  return names;
}

/**
 * Resolve a secret reference at the moment it is needed. Files must not be readable by group or others; of
 * a file's content only the line's own end (one trailing newline) is dropped. A secret that cannot travel
 * on the agent's stdin as it is (stdinValueProblem) is refused, never trimmed into another one.
 */
export function readSecret(device: string, option: string, ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.env !== undefined) {
    const v = env[ref.env];
    if (v === undefined || v === '') throw new FenceError('bad-input', `device "${device}": secret "${option}" comes from $${ref.env}, which is not set`);
    assertStdinValue(device, `secret "${option}" ($${ref.env})`, v);
    return v;
  }
  const file = ref.file!;
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw new FenceError('bad-input', `device "${device}": secret file ${file} for "${option}": ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new FenceError('bad-input', `device "${device}": secret file ${file} for "${option}" is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const v = readFileSync(file, 'utf8').replace(/\n$/, '');
  assertStdinValue(device, `secret "${option}" (file ${file})`, v);
  return v;
}
