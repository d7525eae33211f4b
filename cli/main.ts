// fencekit: the admin's CLI over a topology file, plus a built-in lab of simulated BMCs and PDUs.
import { constants } from 'node:os';
import { Command, Option } from 'commander';
import { FenceError } from '../lib/errors.js';
import { killRunningAgents } from '../lib/topology/device-runner.js';
import { VERSION } from '../lib/version.js';
import { checkCibCommand, checkCommand, exportCommand, fenceNodesCommand, openTopology, readCib, reportError, statusCommand, topologyPath } from './commands.js';
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
          .then((t) => checkCibCommand(t, readCib(source), source === 'live' ? 'the live CIB' : source, !!globals().json)),
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

const LAB_MAX_NODES = 64;
const lab = program.command('lab').description('a built-in lab of simulated BMCs and PDUs on loopback, with a topology for it');
lab
  .command('up')
  .description('start the lab in the background and write its topology')
  .option('--nodes <n>', 'simulated nodes', '3')
  .action((o: { nodes: string }) => exitWith(labModule().then((l) => l.labUp(l.labDirectory(), count('--nodes', o.nodes, LAB_MAX_NODES), process.argv[1]!))));
lab.command('down').description('stop the lab').action(() => exitWith(labModule().then((l) => l.labDown(l.labDirectory()))));
lab.command('status').description('the lab\'s simulators and every node\'s power').action(() => exitWith(labModule().then((l) => l.labStatus(l.labDirectory(), !!globals().json))));
lab
  .command('serve', { hidden: true })
  .option('--nodes <n>', 'simulated nodes', '3')
  .action((o: { nodes: string }) => labModule().then((l) => l.labServe(l.labDirectory(), count('--nodes', o.nodes, LAB_MAX_NODES))));

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
