// fencekit: the admin's CLI over a topology file, plus a built-in lab of simulated BMCs and PDUs.
import { constants } from 'node:os';
import { Command, Option } from 'commander';
import { FenceError } from '../lib/errors.js';
import { killRunningAgents } from '../lib/topology/device-runner.js';
import { VERSION } from '../lib/version.js';
import { checkCibCommand, checkCommand, exportCommand, readCibXml, fenceNodesCommand, openTopology, reportError, statusCommand, topologyPath } from './commands.js';
import { auditCommand, liveFacts, planCommand, verifyWiringCommand } from './audit.js';
import { LATENCY_FACTOR, LATENCY_FLOOR_MS, LATENCY_WARNING_FACTOR, LATENCY_WARNING_FLOOR_MS } from '../lib/topology/drift.js';
// The lab is loaded only by the commands that use it: it finds its simulators' files when it loads, and
// fencing, status and the rest must not depend on them.
const labModule = () => import('./lab.js');

const program = new Command('fencekit')
  .description('Fence cluster nodes through ordered levels of fence_kit agents, and try it on a built-in lab')
  .version(VERSION)
  .option('-t, --topology <file>', 'topology file (default: $FENCEKIT_TOPOLOGY or /etc/fencekit/topology.yaml)')
  .option('--json', 'machine-readable output')
  .showHelpAfterError();

type Globals = { topology?: string; json?: boolean };

// Numbers from the command line: plain decimal text only. "30s", "-1", "abc", "0" or "" are refused by
// name, never read as NaN (which would switch every deadline off) or as "no deadline".
const MAX_SECONDS = 2_147_483; // Node's longest timer, in seconds

function seconds(option: string, text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > MAX_SECONDS) {
    throw new FenceError('bad-input', `${option} must be a number of seconds greater than 0 and at most ${MAX_SECONDS}, like 120 (got ${JSON.stringify(text)})`);
  }
  return n;
}

function count(option: string, text: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new FenceError('bad-input', `${option} must be a whole number from 1 to ${max} (got ${JSON.stringify(text)})`);
  return n;
}

/**
 * A CLI stopped by a signal takes its agents down with it (each agent's whole process group), so nothing
 * it started keeps changing power after it is gone, and exits non-zero: whatever it was doing is unconfirmed.
 */
function stopAgentsOnSignals(): void {
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      const n = killRunningAgents();
      process.stderr.write(`fencekit: stopped by ${sig}; killed ${n} running agent${n === 1 ? '' : 's'}; nothing this run was doing is confirmed\n`);
      process.exit(128 + constants.signals[sig]);
    });
  }
}
const globals = () => program.opts<Globals>();
const exitWith = (p: Promise<number> | number) =>
  Promise.resolve(p).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.exitCode = reportError(err);
    },
  );

program
  .command('fence')
  .description('fence NODEs (concurrently) through their levels: the first level whose devices all succeed wins')
  .argument('<nodes...>')
  .addOption(new Option('-a, --action <action>', 'what to do').choices(['reboot', 'off', 'on']).default('reboot'))
  .option('--timeout <seconds>', 'deadline for the whole operation', '120')
  .action((nodes: string[], o: { action: 'reboot' | 'off' | 'on'; timeout: string }) => {
    stopAgentsOnSignals();
    return exitWith(
      Promise.resolve()
        .then(() => seconds('--timeout', o.timeout))
        .then(async (timeoutSeconds) => fenceNodesCommand(await openTopology(topologyPath(globals().topology)), nodes, { action: o.action, timeoutSeconds, json: !!globals().json })),
    );
  });

program
  .command('status')
  .description('power status of NODEs (default: all) as every device that can fence them sees it')
  .argument('[nodes...]')
  .option('--timeout <seconds>', 'deadline', '30')
  .action((nodes: string[], o: { timeout: string }) => {
    stopAgentsOnSignals();
    return exitWith(
      Promise.resolve()
        .then(() => seconds('--timeout', o.timeout))
        .then(async (timeoutSeconds) => statusCommand(await openTopology(topologyPath(globals().topology)), nodes, !!globals().json, timeoutSeconds)),
    );
  });

program
  .command('check')
  .description('validate every device and check that it answers (monitor), a few at a time; with --cib, check instead that a Pacemaker configuration\'s timeouts cover every level')
  .option('--timeout <seconds>', 'deadline', '60')
  .option('--concurrency <n>', 'devices checked at once', '16')
  .option('--cib <file|live>', 'check the fencing timeouts of this CIB (a file, or "live": cibadmin --query on this node) against the topology; contacts no device')
  .action((o: { timeout: string; concurrency: string; cib?: string }) => {
    if (o.cib !== undefined) {
      const source = o.cib;
      return exitWith(
        Promise.resolve()
          .then(() => {
            if (source === '') throw new FenceError('bad-input', '--cib needs a file name or "live"');
            return openTopology(topologyPath(globals().topology));
          })
          .then(async (t) => checkCibCommand(t, await readCibXml(source), source === 'live' ? 'the live CIB' : source, !!globals().json)),
      );
    }
    stopAgentsOnSignals();
    return exitWith(
      Promise.resolve()
        .then(() => ({ timeoutSeconds: seconds('--timeout', o.timeout), concurrency: count('--concurrency', o.concurrency, 256) }))
        .then(async ({ timeoutSeconds, concurrency }) => checkCommand(await openTopology(topologyPath(globals().topology)), !!globals().json, timeoutSeconds, concurrency)),
    );
  });

program
  .command('export')
  .description('print the topology as Pacemaker configuration: pcs commands or CIB XML')
  .addArgument(new Command().createArgument('<format>', 'pcs or cib').choices(['pcs', 'cib']))
  .option('--with-secrets', 'cib: write secrets that cannot stay references into the XML')
  .action((format: string, o: { withSecrets?: boolean }) =>
    exitWith(openTopology(topologyPath(globals().topology)).then((t) => exportCommand(t, format, !!o.withSecrets))),
  );

const collect = (value: string, previous: string[]) => [...previous, value];
program
  .command('audit')
  .description('find what would make a fence fail or hit the wrong machine, before a node fails (exit 0 clean, 1 errors, 2 warnings only)')
  .option('--cib <file|live>', 'compare with this CIB (a file, or "live": cibadmin --query; default: live on a cluster node, else none)')
  .option('--cluster-network <cidr>', 'a network the cluster\'s own traffic runs on (repeatable)', collect, [])
  .option('--live', 'also ask every device: monitor, latency, identity, and each BMC\'s power-supply count; report drift since the last --live run')
  .option('--state <file>', 'where --live records each device\'s fingerprint to find drift next time (default: $XDG_STATE_HOME/fencekit, /var/lib/fencekit as root, else ~/.local/state/fencekit; one file per topology)')
  .option('--timeout <seconds>', 'deadline for --live', '60')
  .addHelpText(
    'after',
    `
Drift (--live): each live run records, per device, the monitor latency, the negotiated IPMI cipher suite or
SNMP version, and the identity the device reports (IPMI Get Device ID: manufacturer, product, firmware; SNMP
sysObjectID and sysDescr). The next live run compares with it: another device at the address or new firmware
(warning), a weaker cipher suite or SNMP version (warning), monitor ${LATENCY_FACTOR}x and ${LATENCY_FLOOR_MS / 1000} s slower (info; ${LATENCY_WARNING_FACTOR}x and ${LATENCY_WARNING_FLOOR_MS / 1000} s: warning).
The record holds no secret and is written with mode 0600 after every live run.`,
  )
  .action((o: { cib?: string; clusterNetwork: string[]; live?: boolean; state?: string; timeout: string }) => {
    stopAgentsOnSignals();
    return exitWith(
      Promise.resolve()
        .then(() => {
          if (o.state !== undefined && !o.live) throw new FenceError('bad-input', '--state: only --live records or compares a state');
          if (o.state === '') throw new FenceError('bad-input', '--state: give a file name');
          return seconds('--timeout', o.timeout);
        })
        .then(async (timeoutSeconds) =>
          auditCommand(await openTopology(topologyPath(globals().topology)), { cib: o.cib, clusterNetworks: o.clusterNetwork, json: !!globals().json, ...(o.live ? { live: liveFacts(timeoutSeconds), ...(o.state !== undefined ? { state: o.state } : {}) } : {}) }),
        ),
    );
  });

program
  .command('plan')
  .description('what a fence of NODE would do, changing nothing: levels, devices, plugs, protocols, timeouts')
  .argument('<node>')
  .addOption(new Option('-a, --action <action>', 'the fence to plan').choices(['reboot', 'off']).default('reboot'))
  .option('--live', 'resolve plugs with read-only queries to the devices')
  .action((node: string, o: { action: 'reboot' | 'off'; live?: boolean }) =>
    exitWith(openTopology(topologyPath(globals().topology)).then((t) => planCommand(t, node, { action: o.action, json: !!globals().json, live: !!o.live }))),
  );

program
  .command('verify-wiring')
  .description("prove that NODE's PDU outlets feed NODE: each outlet off and on again in turn, watched through NODE's BMC power-supply sensors")
  .argument('<node>')
  .option('--yes', 'do not ask before switching outlets')
  .option('--timeout <seconds>', 'deadline for the whole run', '300')
  .option('--settle <seconds>', 'how long the BMC may take to report a supply change', '15')
  .action((node: string, o: { yes?: boolean; timeout: string; settle: string }) => {
    stopAgentsOnSignals();
    return exitWith(
      Promise.resolve()
        .then(() => ({ timeoutSeconds: seconds('--timeout', o.timeout), settleSeconds: seconds('--settle', o.settle) }))
        .then(async (t) => verifyWiringCommand(await openTopology(topologyPath(globals().topology)), node, { yes: !!o.yes, json: !!globals().json, ...t })),
    );
  });

const LAB_MAX_NODES = 64;
const lab = program.command('lab').description('a built-in lab of simulated BMCs and PDUs on loopback, with a topology for it');
lab
  .command('up')
  .description('start the lab in the background and write its topology')
  .option('--nodes <n>', 'simulated nodes', '3')
  .option('--miswire', "cable node1's and node2's pdu-b outlets the other way round from the topology (for verify-wiring to catch)")
  .action((o: { nodes: string; miswire?: boolean }) => exitWith(labModule().then((l) => l.labUp(l.labDirectory(), count('--nodes', o.nodes, LAB_MAX_NODES), process.argv[1]!, !!o.miswire))));
lab.command('down').description('stop the lab').action(() => exitWith(labModule().then((l) => l.labDown(l.labDirectory()))));
lab.command('status').description('the lab\'s simulators and every node\'s power').action(() => exitWith(labModule().then((l) => l.labStatus(l.labDirectory(), !!globals().json))));
lab
  .command('serve', { hidden: true })
  .option('--nodes <n>', 'simulated nodes', '3')
  .option('--miswire')
  .action((o: { nodes: string; miswire?: boolean }) => labModule().then((l) => l.labServe(l.labDirectory(), count('--nodes', o.nodes, LAB_MAX_NODES), !!o.miswire)));

program
  .command('demo')
  .description('fence a simulated node whose BMC has just died, through its PDUs, on a lab of its own')
  .action(() => exitWith(labModule().then((l) => l.demo(`${l.labDirectory()}-demo-${process.pid}`))));

program
  .command('install')
  .description('install launchers of every fence_kit_* agent and alias where pacemaker-fenced runs agents from')
  .option('--prefix <dir>', 'directory pacemaker-fenced runs agents from', '/usr/sbin')
  .option('--node <path>', 'Node binary the launchers run', process.execPath)
  .action((o: { prefix: string; node: string }) =>
    // dist/ is where this bundle (dist/fencekit.mjs) lives: the launchers run this checkout's agents.
    exitWith(import('./install.js').then(async (m) => m.installCommand({ prefix: o.prefix, nodePath: o.node, distDir: (await import('node:url')).fileURLToPath(new URL('.', import.meta.url)) }))),
  );
program
  .command('uninstall')
  .description('remove the launchers `fencekit install` wrote, and nothing else')
  .option('--prefix <dir>', 'directory to clean', '/usr/sbin')
  .action((o: { prefix: string }) => exitWith(import('./install.js').then((m) => m.uninstallCommand({ prefix: o.prefix }))));

await program.parseAsync(process.argv);
