// `fencekit audit`, `plan` and `verify-wiring`: knowing that fencing works before a node fails.
import { existsSync, readFileSync } from 'node:fs';
import { FenceError } from '../lib/errors.js';
import { run } from '../lib/exec.js';
import { auditExitCode, auditTopology, networkList, RULES, sortFindings, type AuditInput, type Finding, type LiveFacts } from '../lib/topology/audit.js';
import { parseCib, type Cib } from '../lib/topology/cib.js';
import { agentEnvironment, runAgentCall } from '../lib/topology/device-runner.js';
import type { DeviceConfig, Topology } from '../lib/topology/file.js';
import type { TopologyAction } from '../lib/topology/levels.js';
import { planFence, type Plan, type PlanSources } from '../lib/topology/plan.js';
import { deadlineIn } from '../lib/timing.js';
import { agentByName } from '../agents/registry.js';
import { BIN_DIR, levelsOf } from './commands.js';
import { Printer } from './output.js';

/** Where Pacemaker keeps the CIB on a cluster node: its presence says "this is a cluster node". */
const CIB_ON_DISK = '/var/lib/pacemaker/cib/cib.xml';

/** The CIB to compare: --cib FILE, else the running cluster's (cibadmin --query) on a cluster node, else none. */
export async function readCib(file: string | undefined): Promise<Cib | undefined> {
  if (file !== undefined) {
    let xml: string;
    try {
      xml = readFileSync(file, 'utf8');
    } catch (err) {
      throw new FenceError('bad-input', `--cib: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    return parseCib(xml, file);
  }
  if (!existsSync(CIB_ON_DISK)) return undefined;
  const r = await run('cibadmin', ['--query'], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new FenceError('unreachable', `cibadmin --query failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().split('\n').pop() ?? ''}; pass --cib FILE`);
  return parseCib(r.stdout, 'cibadmin --query');
}

export interface AuditOptions {
  readonly cib?: string;
  readonly clusterNetworks: readonly string[];
  readonly json: boolean;
  /** --live: facts read from the devices (monitor, latency, power supplies). */
  readonly live?: (topology: Topology) => Promise<{ facts: LiveFacts; report: readonly LiveDeviceReport[] }>;
}

export interface LiveDeviceReport {
  readonly device: string;
  readonly ok: boolean;
  readonly message: string;
  readonly ms: number;
  readonly identity?: Readonly<Record<string, string>>;
}

export async function auditCommand(topology: Topology, opts: AuditOptions, p = new Printer()): Promise<number> {
  try {
    networkList(opts.clusterNetworks);
  } catch (err) {
    throw new FenceError('bad-input', `--cluster-network: ${(err as Error).message}`);
  }
  const cib = await readCib(opts.cib);
  const live = opts.live ? await opts.live(topology) : undefined;
  const input: AuditInput = { topology, cib, clusterNetworks: opts.clusterNetworks, lookupAgent: agentByName, ...(live ? { live: live.facts } : {}) };
  const findings = sortFindings(auditTopology(input));
  // A device that does not answer is a finding of its own under --live: it cannot fence today.
  const down = (live?.report ?? []).filter((r) => !r.ok);
  const code = down.length > 0 ? 1 : auditExitCode(findings);
  if (opts.json) {
    p.line(JSON.stringify({ topology: topology.path, cib: cib ? (opts.cib ?? 'cibadmin --query') : null, exitCode: code, findings: findings.map(withRule), ...(live ? { live: live.report } : {}) }));
    return code;
  }
  for (const f of findings) printFinding(p, f);
  for (const r of live?.report ?? []) {
    const id = r.identity ? `  ${Object.entries(r.identity).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
    p.line(`${r.ok ? p.style('green', 'live   ') : p.style('red', 'DOWN   ')} device ${r.device}: ${r.message} (${r.ms} ms)${id}`);
  }
  const errors = findings.filter((f) => f.severity === 'error').length + down.length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  const summary = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} (${topology.nodes.size} nodes, ${topology.devices.size} devices${cib ? ', compared with the CIB' : ''})`;
  p.line(errors ? p.style('red', summary) : warnings ? p.style('yellow', summary) : p.style('green', summary));
  return code;
}

const withRule = (f: Finding) => ({ ...f, statement: RULES[f.rule].rule, fix: RULES[f.rule].fix });

function printFinding(p: Printer, f: Finding): void {
  const tag = f.severity === 'error' ? p.style('red', 'ERROR  ') : p.style('yellow', 'WARNING');
  p.line(`${tag} ${f.subject}: ${f.message}`);
  p.line(p.style('dim', `        rule ${f.rule}: ${RULES[f.rule].rule}`));
  p.line(p.style('dim', `        fix: ${RULES[f.rule].fix}`));
}

/** --live plug resolution: the device's own read-only `list-status`, as `id,alias,STATE` lines. */
export function listThroughAgent(topology: Topology, timeoutSeconds: number): (device: DeviceConfig) => Promise<{ id: string; alias: string }[]> {
  const environment = agentEnvironment(topology.devices.values());
  return async (device) => {
    const r = await runAgentCall(BIN_DIR, { device, action: 'list-status', plugs: [], deadline: deadlineIn(timeoutSeconds * 1000) }, environment);
    if (!r.ok) throw new Error(r.message);
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [id, alias] = l.split(',');
        return { id: id ?? '', alias: alias ?? '' };
      });
  };
}

export interface PlanCommandOptions {
  readonly action: TopologyAction;
  readonly json: boolean;
  readonly live: boolean;
  readonly bound?: PlanSources['bound'];
}

export async function planCommand(topology: Topology, node: string, opts: PlanCommandOptions, p = new Printer()): Promise<number> {
  const plan = await planFence(node, levelsOf(topology, node), opts.action, {
    devices: topology.devices,
    ...(opts.live ? { listPlugs: listThroughAgent(topology, 20) } : {}),
    ...(opts.bound ? { bound: opts.bound } : {}),
  });
  const unresolved = plan.levels.flatMap((l) => l.devices.flatMap((d) => d.plugs.filter((x) => x.problem !== undefined)));
  if (opts.json) p.line(JSON.stringify(plan));
  else printPlan(p, plan, opts.live);
  return unresolved.length > 0 ? 1 : 0;
}

function printPlan(p: Printer, plan: Plan, live: boolean): void {
  p.line(p.style('bold', `plan: ${plan.action} ${plan.node}`) + p.style('dim', ` (${plan.levels.length} level${plan.levels.length === 1 ? '' : 's'}; nothing is changed${live ? '; plugs read from the devices' : ''})`));
  for (const level of plan.levels) {
    p.line(p.style('bold', `level ${level.index}`) + (level.boundSeconds !== undefined ? p.style('dim', ` (at most ${level.boundSeconds} s)`) : '') + (level.index > 1 ? p.style('dim', ' — only if every level before it failed') : ''));
    for (const d of level.devices) {
      const plugs = d.plugs
        .map((x) => (x.problem ? p.style('red', `${x.plug} (${x.problem})`) : x.id !== undefined ? `${x.plug} → ${x.id}${x.alias && x.alias !== x.plug ? ` "${x.alias}"` : ''}` : x.plug))
        .join(', ');
      p.line(`  ${d.device} (${d.agent}): ${d.protocol}${plugs ? `; plug ${plugs}` : ''}`);
      p.line(p.style('dim', `    ${Object.entries(d.timeouts).map(([k, v]) => `${k} ${v}`).join(', ')}${d.bound ? `; bound ${d.bound}` : ''}`));
    }
    for (const [i, s] of level.steps.entries()) {
      p.line(`  ${i + 1}. ${s.skipped ? p.style('yellow', `skip ${s.action}`) : s.action} ${s.device}${s.plugs.length ? `:${s.plugs.join(',')}` : ''}${s.skipped ? ` (${s.skipped})` : ''}`);
    }
  }
  if (plan.totalSeconds !== undefined) p.line(`total bound: ${plan.totalSeconds} s (every level in order, each at its worst)`);
}
