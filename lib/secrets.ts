// password_script and friends: run without a shell, output never logged, errors never echo the output.
import { FenceError } from './errors.js';
import { run } from './exec.js';
import type { Logger } from './log.js';

/** Split a script setting into argv: whitespace separates, single or double quotes group. No shell. */
export function splitCommand(command: string): string[] {
  const args: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(command)) !== null) args.push(m[1] ?? m[2] ?? m[3]!);
  return args;
}

export async function runSecretScript(command: string, logger: Logger, optionName: string): Promise<string> {
  const [file, ...args] = splitCommand(command);
  if (!file) throw new FenceError('bad-input', `option '${optionName}' is empty`);
  const result = await run(file, args, { timeoutMs: 30_000, logger, quietOutput: true }).catch((err: FenceError) => {
    throw new FenceError('bad-input', `${optionName}: ${err.message}`);
  });
  if (result.code !== 0) throw new FenceError('bad-input', `${optionName} exited with status ${result.code ?? result.signal}`);
  const secret = result.stdout.replace(/\s+$/, '');
  if (secret === '') throw new FenceError('bad-input', `${optionName} printed nothing`);
  return secret;
}
