// password_script and friends: output never logged, errors never echo the output. fence-agents runs them
// with os.popen, that is through /bin/sh -c, so a configuration may use pipes, $VAR or redirections; a
// plain command (a path and words that mean nothing to a shell) runs without one, with the same argv.
import { FenceError } from './errors.js';
import { run } from './exec.js';
import type { Logger } from './log.js';
import { deadlineIn, remaining } from './timing.js';

/** Split a script setting into argv: whitespace separates, single or double quotes group. No shell. */
export function splitCommand(command: string): string[] {
  const args: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(command)) !== null) args.push(m[1] ?? m[2] ?? m[3]!);
  return args;
}

/**
 * A command no shell would change: words of characters that mean nothing to sh, separated by blanks, and
 * no assignment before the program (`VAR=x prog` sets VAR for prog). Splitting it at blanks gives the argv
 * /bin/sh -c would; any other character (quotes, $, |, <, ;, *, ~, a backslash, a newline...) needs the shell.
 */
export function isPlainCommand(command: string): boolean {
  const words = command.trim().split(/[ \t]+/);
  return words[0] !== '' && words.every((w) => /^[A-Za-z0-9_\-./,:@+%=]+$/.test(w)) && !words[0]!.includes('=');
}

/** How a secret script runs: a plain command by itself, anything else as fence-agents does, by /bin/sh -c. */
export function scriptArgv(command: string): string[] {
  if (command.trim() === '') return [];
  return isPlainCommand(command) ? command.trim().split(/[ \t]+/) : ['/bin/sh', '-c', command];
}

/** How long a secret script may run when its caller gives no deadline. */
const DEFAULT_SCRIPT_MS = 30_000;

/**
 * Run a secret script and return what it printed. It is part of logging in, so it gets the login's
 * deadline (`deadline`, epoch ms; Infinity when the caller has no limit): a script that hangs is killed
 * with everything it started, and the login fails at that deadline instead of 30 s later.
 */
export async function runSecretScript(command: string, logger: Logger, optionName: string, deadline = deadlineIn(DEFAULT_SCRIPT_MS)): Promise<string> {
  const [file, ...args] = scriptArgv(command);
  if (!file) throw new FenceError('bad-input', `option '${optionName}' is empty`);
  if (remaining(deadline) <= 0) throw new FenceError('timeout', `no time left to run ${optionName}`);
  const timeoutMs = Number.isFinite(deadline) ? remaining(deadline) : undefined;
  const result = await run(file, args, { timeoutMs, logger, quietOutput: true }).catch((err: FenceError) => {
    // A script that ran out of time is a timeout (Pacemaker reads "timed out"); one that cannot start is bad input.
    // Final either way: a login retry must not run the script again past the deadline it just spent.
    throw new FenceError(err.kind === 'timeout' ? 'timeout' : 'bad-input', `${optionName}: ${err.message}`, { final: true });
  });
  if (result.code !== 0) throw new FenceError('bad-input', `${optionName} exited with status ${result.code ?? result.signal}`);
  const secret = result.stdout.replace(/\s+$/, '');
  if (secret === '') throw new FenceError('bad-input', `${optionName} printed nothing`);
  return secret;
}
