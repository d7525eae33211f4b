// fencekit: the admin's CLI over a topology file, plus a built-in lab of simulated BMCs and PDUs.
import { Command, Option } from 'commander';
import { VERSION } from '../lib/version.js';
import { checkCommand, exportCommand, fenceNodesCommand, openTopology, reportError, statusCommand, topologyPath } from './commands.js';
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
  .action((nodes: string[], o: { action: 'reboot' | 'off' | 'on'; timeout: string }) =>
    exitWith(openTopology(topologyPath(globals().topology)).then((t) => fenceNodesCommand(t, nodes, { action: o.action, timeoutSeconds: Number(o.timeout), json: !!globals().json }))),
  );

program
  .command('status')
  .description('power status of NODEs (default: all) as every device that can fence them sees it')
  .argument('[nodes...]')
  .option('--timeout <seconds>', 'deadline', '30')
  .action((nodes: string[], o: { timeout: string }) =>
    exitWith(openTopology(topologyPath(globals().topology)).then((t) => statusCommand(t, nodes, !!globals().json, Number(o.timeout)))),
  );

program
  .command('check')
  .description('validate every device and check that it answers (monitor), a few at a time')
  .option('--timeout <seconds>', 'deadline', '60')
  .option('--concurrency <n>', 'devices checked at once', '16')
  .action((o: { timeout: string; concurrency: string }) =>
    exitWith(openTopology(topologyPath(globals().topology)).then((t) => checkCommand(t, !!globals().json, Number(o.timeout), Number(o.concurrency)))),
  );

program
  .command('export')
  .description('print the topology as Pacemaker configuration: pcs commands or CIB XML')
  .addArgument(new Command().createArgument('<format>', 'pcs or cib').choices(['pcs', 'cib']))
  .option('--with-secrets', 'cib: write secrets that cannot stay references into the XML')
  .action((format: string, o: { withSecrets?: boolean }) =>
    exitWith(openTopology(topologyPath(globals().topology)).then((t) => exportCommand(t, format, !!o.withSecrets))),
  );

const lab = program.command('lab').description('a built-in lab of simulated BMCs and PDUs on loopback, with a topology for it');
lab
  .command('up')
  .description('start the lab in the background and write its topology')
  .option('--nodes <n>', 'simulated nodes', '3')
  .action((o: { nodes: string }) => exitWith(labModule().then((l) => l.labUp(l.labDirectory(), Number(o.nodes), process.argv[1]!))));
lab.command('down').description('stop the lab').action(() => exitWith(labModule().then((l) => l.labDown(l.labDirectory()))));
lab.command('status').description('the lab\'s simulators and every node\'s power').action(() => exitWith(labModule().then((l) => l.labStatus(l.labDirectory(), !!globals().json))));
lab
  .command('serve', { hidden: true })
  .option('--nodes <n>', 'simulated nodes', '3')
  .action((o: { nodes: string }) => labModule().then((l) => l.labServe(l.labDirectory(), Number(o.nodes))));

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
