// fencekit's topology commands. Devices run as agent processes (lib/topology/device-runner.ts), so the
// CLI exercises exactly what Pacemaker exercises.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentByName } from '../agents/registry.js';
import { advertisedActions } from '../lib/agent/declaration.js';
import { asFenceError, errorLine, FenceError } from '../lib/errors.js';
import { namesThisHost } from '../lib/host-name.js';
import { run } from '../lib/exec.js';
import { agentEnvironment, agentStdin, runAgentCall, levelDeviceRunner } from '../lib/topology/device-runner.js';
import { readOptions } from '../lib/agent/run.js';
import { parseStdin } from '../lib/options/parse.js';
import { checkTimeouts } from '../lib/topology/budget.js';
import { pacemakerSettingsFromCib } from '../lib/topology/cib.js';
import { exportCib, exportNotice, exportPcs } from '../lib/topology/export.js';
import { loadTopology, type DeviceConfig, type Topology } from '../lib/topology/file.js';
import { fenceThroughLevels, type Level, type TopologyAction } from '../lib/topology/levels.js';
import { lockNode } from '../lib/topology/lock.js';
import { deadlineIn } from '../lib/timing.js';
import { Printer, progressPrinter } from './output.js';

/** bin/ beside dist/, where the agent launchers are; this code is bundled into dist/ or a chunk in dist/chunks/. */
const bundleDir = dirname(fileURLToPath(import.meta.url));
export const BIN_DIR = join(basename(bundleDir) === 'chunks' ? dirname(bundleDir) : bundleDir, '..', 'bin');

export function topologyPath(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return given ?? env.FENCEKIT_TOPOLOGY ?? '/etc/fencekit/topology.yaml';
}

export function openTopology(path: string): Promise<Topology> {
  return loadTopology(path, agentByName);
}

/**
 * Whether this CLI runs on `node` (lib/host-name.ts). Topology node names are cluster node names, which are host
 * names on every usual cluster; a node named otherwise is never "here", so its on-target devices are skipped.
 */
export function runsOn(node: string, host: string = hostname()): boolean {
  return namesThisHost(node, host);
}

export function levelsOf(topology: Topology, node: string, host: string = hostname()): Level[] {
  const cfg = topology.nodes.get(node);
  if (!cfg) throw new FenceError('bad-input', `node "${node}" is not in ${topology.path} (known: ${[...topology.nodes.keys()].join(', ')})`);
  const here = runsOn(node, host);
  return cfg.levels.map((l) => ({
    index: l.index,
    devices: l.devices.map((d) => {
      const agent = topology.devices.get(d.device)!.agent;
      return {
        device: d.device,
        plugs: d.plugs,
        reboot: advertisedActions(agent).some((a) => a.name === 'reboot'),
        // Pacemaker skips fabric devices (automatic unfencing) and devices without `on` in a reboot's on phase.
        skipOnPhase: !!agent.fabric,
        // An on-target `on` (SCSI registration, sanlock lease) acts for the host it runs on: only the node itself.
        onNotHere: agent.onTarget && !here ? `${agent.name} unfences the host it runs on, so its on must run on ${node} itself (this is ${host}); run fencekit there` : undefined,
      };
    }),
  }));
}

export interface FenceCommandOptions {
  action: TopologyAction;
  timeoutSeconds: number;
  json: boolean;
}

export async function fenceCommand(topology: Topology, node: string, opts: FenceCommandOptions, p = new Printer()): Promise<number> {
  const deadline = deadlineIn(opts.timeoutSeconds * 1000);
  const levels = levelsOf(topology, node);
  const lock = await lockNode(node, deadline, undefined, (pid) => {
    if (!opts.json) p.line(p.style('yellow', `waiting: node ${node} is being fenced by ${pid !== undefined ? `PID ${pid}` : 'another fencekit run'}`));
  });
  try {
    if (!opts.json) p.line(p.style('bold', `${opts.action} ${node}`) + p.style('dim', ` (${levels.length} level${levels.length > 1 ? 's' : ''}, deadline ${opts.timeoutSeconds} s)`));
    const started = Date.now();
    const outcome = await fenceThroughLevels(levels, opts.action, levelDeviceRunner(BIN_DIR, topology.devices, node), deadline, opts.json ? undefined : progressPrinter(p, node));
    const ms = Date.now() - started;
    if (opts.json) {
      p.line(JSON.stringify({ node, action: opts.action, ok: outcome.ok, level: outcome.level ?? null, startedAt: started, ms, warnings: outcome.warnings, steps: outcome.events.filter((e) => e.type === 'device-end' || e.type === 'device-skipped') }));
    } else {
      for (const w of outcome.warnings) p.line(p.style('yellow', `warning: ${w}`));
      p.line(outcome.ok ? p.style('green', `${node}: ${opts.action} succeeded at level ${outcome.level} in ${(ms / 1000).toFixed(2)} s`) : p.style('red', `${node}: ${opts.action} FAILED: every level failed`));
    }
    return outcome.ok ? 0 : 1;
  } finally {
    lock.release();
  }
}

/** Several nodes at once, each through its own levels and lock; exit 0 only if every one was fenced. */
export async function fenceNodesCommand(topology: Topology, nodes: string[], opts: FenceCommandOptions, p = new Printer()): Promise<number> {
  if (nodes.length === 1) return fenceCommand(topology, nodes[0]!, opts, p);
  for (const n of nodes) levelsOf(topology, n); // unknown nodes fail before anything is fenced
  const width = Math.max(...nodes.map((n) => n.length));
  const codes = await Promise.all(nodes.map((n) => fenceCommand(topology, n, opts, opts.json ? p : p.prefixed(`${n.padEnd(width)} | `))));
  return codes.every((c) => c === 0) ? 0 : 1;
}

/** Status of every device that can fence each node. */
export async function statusCommand(topology: Topology, nodes: string[], json: boolean, timeoutSeconds: number, p = new Printer()): Promise<number> {
  const names = nodes.length > 0 ? nodes : [...topology.nodes.keys()];
  const deadline = deadlineIn(timeoutSeconds * 1000);
  const environment = agentEnvironment(topology.devices.values());
  const rows = await Promise.all(
    names.flatMap((node) =>
      levelsOf(topology, node).flatMap((level) =>
        level.devices.map(async (d) => {
          const r = await runAgentCall(BIN_DIR, { device: topology.devices.get(d.device)!, action: 'status', plugs: d.plugs, nodename: node, deadline }, environment);
          // A state counts only with its exit status and its own line, as fence-agents prints them.
          const said = r.stdout.trim();
          const state = r.exitCode === 0 && said === 'Status: ON' ? 'on' : r.exitCode === 2 && said === 'Status: OFF' ? 'off' : 'unknown';
          return { node, level: level.index, device: d.device, plugs: d.plugs, state, message: r.message };
        }),
      ),
    ),
  );
  if (json) p.line(JSON.stringify(rows));
  else {
    for (const r of rows) {
      const state = r.state === 'on' ? p.style('green', 'ON') : r.state === 'off' ? p.style('yellow', 'OFF') : p.style('red', 'UNKNOWN');
      p.line(`${r.node.padEnd(12)} level ${r.level}  ${(r.device + (r.plugs.length ? `:${r.plugs.join(',')}` : '')).padEnd(20)} ${state}${r.state === 'unknown' ? `  ${r.message}` : ''}`);
    }
  }
  return rows.every((r) => r.state !== 'unknown') ? 0 : 1;
}

function validateInProcess(device: DeviceConfig): string[] {
  try {
    const raw = parseStdin(agentStdin({ device, action: 'validate-all', plugs: [], deadline: 0 }), device.agent.options);
    return readOptions(device.agent, raw, device.agent.name).errors;
  } catch (err) {
    return [asFenceError(err).message];
  }
}

/** validate-all then monitor for every device, a bounded number at a time. */
export async function checkCommand(topology: Topology, json: boolean, timeoutSeconds: number, concurrency = 16, p = new Printer()): Promise<number> {
  const deadline = deadlineIn(timeoutSeconds * 1000);
  const devices = [...topology.devices.values()];
  const environment = agentEnvironment(devices);
  const results: { device: string; ok: boolean; message: string; ms: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < devices.length) {
      const device = devices[next++]!;
      // validate-all is pure (it never contacts the device): run it here, from the same stdin the agent
      // would read, and spend a process only on monitor.
      const problems = validateInProcess(device);
      const r = problems.length === 0 ? await runAgentCall(BIN_DIR, { device, action: 'monitor', plugs: [], deadline }, environment) : { ok: false, message: problems[0]!, ms: 0 };
      results.push({ device: device.name, ok: r.ok, message: r.ok ? 'answers' : r.message, ms: r.ms });
      if (!json) p.line(`${r.ok ? p.style('green', 'ok    ') : p.style('red', 'FAILED')} ${device.name.padEnd(20)} ${device.agent.name.padEnd(18)} ${r.ok ? 'answers' : r.message}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker));
  if (json) p.line(JSON.stringify(results));
  return results.every((r) => r.ok) ? 0 : 1;
}

export function exportCommand(topology: Topology, format: string, withSecrets: boolean, p = new Printer()): number {
  if (format === 'pcs') p.line(exportPcs(topology).trimEnd());
  else if (format === 'cib') p.line(exportCib(topology, withSecrets).trimEnd());
  else throw new FenceError('bad-input', `unknown export format "${format}" (pcs or cib)`);
  // Which fence-race protection was written, and why: on stderr, so the configuration on stdout stays clean.
  process.stderr.write(`fencekit export: ${exportNotice(topology)}\n`);
  return 0;
}

/** `check --cib`: where the Pacemaker configuration comes from: a file, or `cibadmin --query` here. */
/**
 * The CIB's XML from `source`: a file, or `live` (cibadmin --query, on a cluster node). The one reader of a
 * CIB source for `check --cib` and `audit --cib`; lib/topology/cib.ts parses what it returns.
 */
export async function readCibXml(source: string): Promise<string> {
  if (source === 'live') {
    const r = await run('cibadmin', ['--query'], { timeoutMs: 30_000 });
    if (r.code !== 0) {
      throw new FenceError('bad-input', `--cib live: cibadmin --query failed (exit ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').pop() ?? ''}); is this a cluster node? pass --cib FILE`);
    }
    return r.stdout;
  }
  try {
    return readFileSync(source, 'utf8');
  } catch (err) {
    throw new FenceError('bad-input', `--cib: cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/**
 * Whether a Pacemaker configuration's timeouts cover every level of the topology: no device is contacted.
 * Exit 0 when they do, 1 with one warning line per level device that cannot finish in its timeout.
 */
export function checkCibCommand(topology: Topology, cibXml: string, source: string, json: boolean, p = new Printer()): number {
  const { settings, notes } = pacemakerSettingsFromCib(cibXml, source);
  const problems = checkTimeouts(topology, settings);
  if (json) p.line(JSON.stringify({ cib: source, stonithTimeout: settings.stonithTimeout, action: settings.action, notes, problems }));
  else {
    for (const n of notes) p.line(p.style('yellow', `note: ${n}`));
    for (const pr of problems) p.line(p.style('red', `warning: ${pr.message}`));
    if (problems.length === 0) p.line(p.style('green', `ok: the timeouts in ${source} cover every level of every node (stonith-timeout ${settings.stonithTimeout} s, stonith-action ${settings.action})`));
  }
  return problems.length === 0 ? 0 : 1;
}

export function reportError(err: unknown): number {
  const e = asFenceError(err);
  process.stderr.write(`fencekit: ${e.kind === 'bad-input' ? e.message : errorLine(e)}\n`);
  return 1;
}
