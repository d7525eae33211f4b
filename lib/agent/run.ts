// The life of one agent invocation: read input (argv or stdin), answer metadata/help without touching
// anything, validate everything before contacting the device, then run one action through the engine.
import { openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { PowerEngine, type ActionResult, type EngineSettings } from '../actions.js';
import { FenceError, asFenceError, errorLine, EXIT_FAILURE, EXIT_SUCCESS } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { helpText } from '../options/docs.js';
import { metadataXml } from '../options/metadata.js';
import { parseArgv, parseStdin, repeatedActionError, type RawInput } from '../options/parse.js';
import { DEFAULT_POWER_TIMEOUT_S, type LibraryOptionTypes } from '../options/common.js';
import { missingRequired, resolveValues, type Options } from '../options/values.js';
import { describeOption } from '../options/values.js';
import { deadlineIn, retryUntil, sleep } from '../timing.js';
import { runSecretScript } from '../secrets.js';
import { advertisedActions, effectiveDefaults, type AgentDeclaration } from './declaration.js';
import { splitPlugList } from './plugs.js';
import { SilenceWatch } from './silence.js';
import { VERSION } from '../version.js';

export interface AgentIo {
  readonly argv: readonly string[];
  readonly invokedName: string;
  readonly readStdin: () => Promise<string>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const DOC_ACTIONS = new Set(['metadata', 'manpage']);
/** Actions that may run without a plug: they address the device, not a target. */
const DEVICE_ACTIONS = new Set(['list', 'list-status', 'monitor', 'validate-all']);
const FENCING_ACTIONS = new Set(['off', 'reboot', 'diag']);
const POWER_ACTIONS = new Set(['on', 'off', 'reboot', 'diag']);

function normaliseAction(agent: AgentDeclaration, action: string): string {
  const a = action.trim().toLowerCase();
  if (a === 'meta-data') return 'metadata';
  if (agent.fabric && a === 'enable') return 'on';
  if (agent.fabric && a === 'disable') return 'off';
  return a;
}

/** The shortest pause between two status polls, whatever stonith_status_sleep says. */
export const MIN_STATUS_SLEEP_MS = 100;

/** Seconds → ms, where 0 means "no limit" as in fence-agents, and disable_timeout lifts the limit. */
function limitMs(seconds: number | undefined, disabled: boolean): number {
  if (disabled || seconds === undefined || seconds === 0) return Number.POSITIVE_INFINITY;
  return seconds * 1000;
}

/** fence-agents: under pacemaker-fenced, disable_timeout defaults to true and Pacemaker owns the deadline. */
function timeoutsDisabled(options: Options, env: NodeJS.ProcessEnv): boolean {
  const v = options.string('disable_timeout');
  if (v !== undefined && v !== '') return ['1', 'yes', 'on', 'true'].includes(v.toLowerCase());
  return env.PCMK_service === 'pacemaker-fenced';
}

/** login_timeout in ms: the bound on reaching and logging in to the device (and on password_script). */
function loginLimitMs(options: Options, env: NodeJS.ProcessEnv): number {
  return limitMs(options.number('login_timeout'), timeoutsDisabled(options, env));
}

export function engineSettings(options: Options, env: NodeJS.ProcessEnv, forceOn: boolean): EngineSettings {
  const disabled = timeoutsDisabled(options, env);
  return {
    powerTimeoutMs: limitMs(options.number('power_timeout'), disabled),
    shellTimeoutMs: limitMs(options.number('shell_timeout'), disabled),
    powerWaitMs: options.number('power_wait') * 1000,
    // fence-agents polls without a pause at 0; against a device that answers at once that is a busy
    // loop of requests for the whole power_timeout, so 0 (or any tiny value) means "as often as is sane".
    statusSleepMs: Math.max(MIN_STATUS_SLEEP_MS, options.number('stonith_status_sleep') * 1000),
    // Half of power_timeout as written, also when disable_timeout lifts the bound (fence-agents' default, 20 s,
    // when it is 0, "no limit"): an off still unconfirmed by then is sent again (PowerEngine.sendOffAgain).
    offResendMs: (options.number('power_timeout') || DEFAULT_POWER_TIMEOUT_S) * 500,
    retryOn: Math.max(0, options.number('retry_on')),
    method: options.string('method') === 'cycle' ? 'cycle' : 'onoff',
    forceOn,
  };
}

function splitPlugs(agent: AgentDeclaration, options: Options): (string | undefined)[] {
  if (agent.target === 'device') return [undefined];
  return splitPlugList(options.string('plug'), options.string('plug_separator'));
}

/**
 * Parse and validate. Returns the options or the error lines; never contacts anything. The options are
 * typed by the agent's declaration: they are resolved from its own list and defaults (declareAgent).
 */
export function readOptions<T extends LibraryOptionTypes>(
  agent: AgentDeclaration<T>,
  raw: RawInput,
  invokedName: string,
): { action?: string; options: Options<T>; errors: string[]; docOnly: boolean } {
  const read = readAgentOptions(agent as AgentDeclaration, raw, invokedName);
  return { ...read, options: read.options as unknown as Options<T> };
}

function readAgentOptions(
  agent: AgentDeclaration,
  raw: RawInput,
  invokedName: string,
): { action?: string; options: Options; errors: string[]; docOnly: boolean } {
  const { options, errors } = resolveValues(raw, agent.options, effectiveDefaults(agent, invokedName));
  // Two actions are refused before anything else runs, metadata and help included: the input is not what
  // its sender meant (an injected line), and it must fail as a whole.
  if (raw.errors.includes(repeatedActionError(agent.options))) return { options, errors, docOnly: false };
  const given = options.string('action');
  const action = given === undefined ? undefined : normaliseAction(agent, given);
  if (options.flag('help') || options.flag('version') || (action && DOC_ACTIONS.has(action))) {
    return { action, options, errors: [], docOnly: true };
  }
  const actionSpec = agent.options.find((s) => s.name === 'action')!;
  if (action === undefined || action === '') {
    return { options, errors: [`Failed: no action given: set ${describeOption(actionSpec)}`], docOnly: false };
  }
  const extra = agent.extraActions?.find((x) => x.name === action);
  if (!extra && !advertisedActions(agent).some((a) => a.name === action)) {
    // Pacemaker maps this phrase to "operation not supported".
    return { action, options, errors: [`Failed: Unrecognised action '${action}'`], docOnly: false };
  }
  // validate() and connect() see the action the engine will run: a fabric agent's enable/disable are on/off.
  const effective = action === given ? options : options.with({ action });
  const exempt = new Set(['action']);
  if (DEVICE_ACTIONS.has(action)) exempt.add('plug');
  for (const name of extra?.notRequired ?? []) exempt.add(name);
  // A password may come from a script instead.
  if (effective.has('password_script')) exempt.add('password');
  errors.push(...missingRequired(effective, agent.options, exempt));
  if (errors.length === 0 && agent.target === 'plugs' && !DEVICE_ACTIONS.has(action) && !extra && splitPlugs(agent, effective).length === 0) {
    errors.push(`Failed: option 'plug' names no plug`);
  }
  if (errors.length === 0 && agent.validate) errors.push(...agent.validate(effective));
  return { action, options: effective, errors, docOnly: false };
}

/**
 * The bound on silence (lib/agent/silence.ts): login_timeout from the first contact, kept even when
 * disable_timeout lifts the other bounds under pacemaker-fenced. Only for devices reached over the network
 * (the agent declares an address): a local device's slowness is not silence. login_timeout=0: no bound.
 */
function silenceWatch(agent: AgentDeclaration, options: Options): SilenceWatch {
  const seconds = options.number('login_timeout');
  const networked = agent.options.some((o) => o.name === 'ip');
  if (!networked || seconds === undefined || seconds === 0) return new SilenceWatch(Number.POSITIVE_INFINITY, 0);
  return new SilenceWatch(deadlineIn(seconds * 1000), seconds);
}

async function execute(agent: AgentDeclaration, action: string, options: Options, io: AgentIo, log: Logger): Promise<ActionResult> {
  const settings = engineSettings(options, io.env, !!agent.forceOn);
  if (FENCING_ACTIONS.has(action)) {
    const delay = options.number('delay');
    if (delay > 0) {
      log.debug(`Delay ${delay} second(s) before fencing`);
      await sleep(delay * 1000);
    }
  }
  const loginMs = loginLimitMs(options, io.env);
  const extra = agent.extraActions?.find((x) => x.name === action);
  if (extra) return extra.run(options, { deadline: deadlineIn(settings.powerTimeoutMs), logger: log });
  // A fence must not give up on a lossy network after one login attempt: a login that times out is tried
  // again within login_timeout + power_timeout. Refusals (wrong password) still fail at once, and queries
  // (status, monitor, list) get one login_timeout, so Pacemaker's monitors stay quick.
  const connectBudget = POWER_ACTIONS.has(action) ? deadlineIn(loginMs + settings.powerTimeoutMs) : deadlineIn(loginMs);
  const silence = silenceWatch(agent, options);
  const device = await retryUntil(
    () => silence.observe(() => agent.connect(options, { deadline: silence.cap(Math.min(connectBudget, deadlineIn(loginMs))), logger: log }), 'proves-nothing'),
    { deadline: connectBudget, intervalMs: 100, logger: log, what: 'login' },
  );
  try {
    // The same budget bounds the fence as a whole: a login that used most of it leaves the off the rest,
    // so a failed off ends within login_timeout + power_timeout of the start, not later.
    const fenceSettings = POWER_ACTIONS.has(action) ? { ...settings, fenceDeadline: connectBudget } : settings;
    const engine = new PowerEngine(silence.watch(device), splitPlugs(agent, options), fenceSettings, log);
    const separator = options.string('separator') ?? ',';
    switch (action) {
      case 'on':
        return await engine.on();
      case 'off':
        return await engine.off();
      case 'reboot':
        return await engine.reboot();
      case 'status':
        return await engine.status();
      case 'monitor':
        return await engine.monitor();
      case 'list':
        return await engine.list(false, separator);
      case 'list-status':
        return await engine.list(true, separator);
      case 'diag':
        return await engine.diag();
      default:
        throw new FenceError('bad-input', `Unrecognised action '${action}'`);
    }
  } finally {
    await device.close().catch(() => undefined);
  }
}

/**
 * Where output goes once options are read: the agent's declared `logfile` (fence_scsi's), appended to, or
 * the caller's streams. A file that cannot be opened is bad input, before anything is contacted.
 */
function openLogfile(agent: AgentDeclaration, options: Options): { write?: (text: string) => void } | { error: string } {
  const spec = agent.options.find((s) => s.name === 'logfile');
  const path = spec && options.valueOf(spec);
  if (typeof path !== 'string' || path === '') return {};
  try {
    const fd = openSync(path, 'a', 0o600);
    return { write: (text) => void writeSync(fd, text) };
  } catch (err) {
    return { error: `Failed: option ${describeOption(spec!)}: cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

export async function runAgentWith(agent: AgentDeclaration, io: AgentIo): Promise<number> {
  const raw = io.argv.length > 0 ? parseArgv(io.argv, agent.options) : parseStdin(await io.readStdin(), agent.options);
  const quiet = raw.values.get('quiet') === true;
  const { action, options, errors, docOnly } = readOptions(agent, raw, io.invokedName);
  if (!quiet) for (const w of raw.warnings) io.err(`WARNING: ${w}\n`);

  if (docOnly) {
    if (options.flag('help')) io.out(helpText(agent, io.invokedName));
    else if (options.flag('version')) io.out(`${io.invokedName} (fencekit) ${VERSION}\n`);
    else io.out(metadataXml(agent, action === 'manpage' ? agent.name : io.invokedName));
    return EXIT_SUCCESS;
  }
  if (errors.length > 0) {
    for (const e of errors) io.err(`${e}\n`);
    return EXIT_FAILURE;
  }
  const logfile = openLogfile(agent, options);
  if ('error' in logfile) {
    io.err(`${logfile.error}\n`);
    return EXIT_FAILURE;
  }
  if (logfile.write) io = { ...io, out: logfile.write, err: logfile.write };
  const advice = agent.advise?.(options, { powerTimeoutMs: engineSettings(options, io.env, false).powerTimeoutMs }) ?? [];
  if (action === 'validate-all') {
    for (const line of advice) io.out(`WARNING: ${line}\n`);
    return EXIT_SUCCESS;
  }

  const verbosity = Math.max(options.count('verbose'), options.number('verbose_level') ?? 0);
  const log = createLogger({ verbosity, quiet, debugFile: options.string('debug_file'), write: io.err });
  for (const spec of agent.options) if (spec.secret) log.addSecret(options.valueOf(spec)?.toString());
  // Names only: an option without effect is still the user's value, and may be mistyped into the wrong key.
  const withoutEffect = agent.options.filter((s) => s.noEffect && options.given.has(s.name)).map((s) => s.name);
  if (withoutEffect.length > 0) log.debug(`Given, without effect in fencekit: ${withoutEffect.join(', ')}`);
  for (const line of advice) log.warn(line);

  try {
    let effective = options;
    const script = options.string('password_script');
    if (script !== undefined) {
      const password = await runSecretScript(script, log, 'password_script', deadlineIn(loginLimitMs(options, io.env)));
      log.addSecret(password);
      effective = options.with({ password });
    }
    const result = await execute(agent, action!, effective, io, log);
    for (const line of result.stdout) io.out(`${line}\n`);
    return result.exitCode;
  } catch (err) {
    const e = asFenceError(err);
    log.error(errorLine(e));
    return EXIT_FAILURE;
  }
}

/** Entry point of every agent binary. */
export function runAgent(agent: AgentDeclaration): void {
  const io: AgentIo = {
    argv: process.argv.slice(2),
    invokedName: basename(process.argv[1] ?? agent.name),
    readStdin: async () => {
      if (process.stdin.isTTY) return '';
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString();
    },
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
  };
  runAgentWith(agent, io).then(
    (code) => {
      process.exitCode = code;
      // Sockets a device forgot to close must not keep a finished fence alive.
      setTimeout(() => process.exit(code), 500).unref();
    },
    (err) => {
      process.stderr.write(`Failed: Internal error: ${(err as Error)?.message ?? err}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
