// Turning the two input channels into raw option values, by fence-agents' rules (FenceAgentAPI and
// fencing.py): argv when there is any argument, stdin otherwise, never both.
import { longName, type OptionSpec } from './spec.js';
import { describeOption } from './values.js';

export type RawValue = string | boolean;

export interface RawInput {
  readonly source: 'stdin' | 'argv';
  /** Keyed by the option's canonical name. Booleans are true/false; everything else is the raw string. */
  readonly values: Map<string, RawValue>;
  /** How many times a stackable flag was given (`-vvv` = 3). */
  readonly counts: Map<string, number>;
  /** Problems that do not stop the run (unknown stdin keys). Never contain a value. */
  readonly warnings: string[];
  /** Problems that stop the run before any device is contacted. Each names the option. */
  readonly errors: string[];
}

/**
 * fence-agents lets the last of a repeated key win. That is kept for keys whose repetition is harmless,
 * but not where it would change what is done or to whom: a second `action` line (injected through a value
 * that held a newline, review finding 6) turns an off into an on, and a second plug, nodename or device
 * address names another target. `action` may be given once; a target may be repeated only with the same
 * value (Pacemaker may send `port=` beside a configured `plug=`: harmless when they agree, and when they
 * disagree nobody can tell which node is meant). Pacemaker itself never sends a key twice.
 */
const GIVEN_ONCE = new Set(['action']);
const ONE_VALUE = new Set(['plug', 'nodename', 'ip']);

/** The line that refuses a repeated action; readOptions stops on it before anything else, even metadata. */
export function repeatedActionError(specs: readonly OptionSpec[]): string {
  const spec = specs.find((s) => s.name === 'action');
  return `Failed: option ${spec ? describeOption(spec) : "'action'"} is given more than once: give it once`;
}

/** Stores values by the rules above; a refused repeat becomes one error line naming the option, never the values. */
function valueStore(specs: readonly OptionSpec[], values: Map<string, RawValue>, errors: string[]) {
  const refused = new Set<string>();
  return (spec: OptionSpec, value: RawValue): void => {
    if (refused.has(spec.name)) return;
    if (values.has(spec.name)) {
      if (GIVEN_ONCE.has(spec.name)) {
        refused.add(spec.name);
        // No action at all rather than either of them.
        values.delete(spec.name);
        errors.push(repeatedActionError(specs));
        return;
      }
      if (ONE_VALUE.has(spec.name) && values.get(spec.name) !== value) {
        refused.add(spec.name);
        // Pacemaker adds port=<node> beside a configured plug= unless told which one carries the target.
        const hint = spec.name === 'plug' ? ' (under Pacemaker: set pcmk_host_argument=plug, or map nodes with pcmk_host_map)' : '';
        errors.push(`Failed: option ${describeOption(spec)} is given twice with different values: which target is meant is ambiguous${hint}`);
        return;
      }
    }
    values.set(spec.name, value);
  };
}

const TRUE_WORDS = new Set(['1', 'yes', 'on', 'true']);
const FALSE_WORDS = new Set(['0', 'no', 'off', 'false']);

export function parseBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  return undefined;
}

const norm = (key: string) => key.replace(/-/g, '_');

/** stdin key → spec, by current name, deprecated name or long option name, `-` and `_` alike. */
function stdinKeyTable(specs: readonly OptionSpec[]): Map<string, OptionSpec> {
  const table = new Map<string, OptionSpec>();
  for (const s of specs) {
    table.set(norm(s.name), s);
    table.set(norm(longName(s)), s);
    if (s.deprecatedName) table.set(norm(s.deprecatedName), s);
  }
  return table;
}

/**
 * stdin, as Pacemaker writes it: one `key=value` per line, in any order. Lines are trimmed; empty lines
 * and `#` comments are skipped; the first `=` splits; surrounding double quotes are removed; the last
 * value of a repeated key wins, except where that is refused (above). `option` is the API's legacy name
 * of `action`, and counts as one more action line.
 */
export function parseStdin(text: string, specs: readonly OptionSpec[]): RawInput {
  const table = stdinKeyTable(specs);
  const values = new Map<string, RawValue>();
  const counts = new Map<string, number>();
  const warnings: string[] = [];
  const errors: string[] = [];
  const store = valueStore(specs, values, errors);
  const actionSpec = specs.find((s) => s.name === 'action');

  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    let value = eq < 0 ? '' : line.slice(eq + 1);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);

    const spec = table.get(norm(key)) ?? (key === 'option' ? actionSpec : undefined);
    if (!spec) {
      // Pacemaker sends nodename to every agent; agents that do not use it ignore it silently.
      if (key !== 'nodename') warnings.push(`Parse error: Ignoring unknown option '${key}'`);
      continue;
    }
    if (spec.type === 'boolean') {
      const b = parseBoolean(value);
      if (b === undefined) {
        errors.push(`Failed: option '${spec.name}' must be one of 1/yes/on/true or 0/no/off/false`);
        continue;
      }
      store(spec, b);
      if (spec.stackable) counts.set(spec.name, b ? 1 : 0);
    } else {
      store(spec, value);
    }
  }
  return { source: 'stdin', values, counts, warnings, errors };
}

/**
 * argv, as an admin types it: GNU getopt with options and operands in any order, `-abc` bundles,
 * `-ovalue` / `-o value`, `--long=value` / `--long value`, and `--` ending the options.
 */
export function parseArgv(argv: readonly string[], specs: readonly OptionSpec[]): RawInput {
  const byShort = new Map<string, OptionSpec>();
  const byLong = new Map<string, OptionSpec>();
  for (const s of specs) {
    if (s.short) byShort.set(s.short, s);
    byLong.set(longName(s), s);
    for (const alias of s.longAliases ?? []) byLong.set(alias, s);
  }
  const values = new Map<string, RawValue>();
  const counts = new Map<string, number>();
  const warnings: string[] = [];
  const errors: string[] = [];
  const store = valueStore(specs, values, errors);

  const setFlag = (s: OptionSpec) => {
    values.set(s.name, true);
    counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      if (i + 1 < argv.length) warnings.push(`Parse error: Ignoring ${argv.length - i - 1} unexpected argument(s)`);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) {
        errors.push(`Failed: unrecognised option '--${name}'`);
        continue;
      }
      if (spec.type === 'boolean') {
        if (eq >= 0) errors.push(`Failed: option '--${name}' takes no value`);
        else setFlag(spec);
        continue;
      }
      if (eq >= 0) store(spec, arg.slice(eq + 1));
      else if (i + 1 < argv.length) store(spec, argv[++i]!);
      else errors.push(`Failed: option '--${name}' requires a value`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = byShort.get(letter);
        if (!spec) {
          errors.push(`Failed: unrecognised option '-${letter}'`);
          break;
        }
        if (spec.type === 'boolean') {
          setFlag(spec);
          continue;
        }
        const rest = arg.slice(j + 1);
        if (rest !== '') store(spec, rest);
        else if (i + 1 < argv.length) store(spec, argv[++i]!);
        else errors.push(`Failed: option '-${letter}' requires a value`);
        break;
      }
      continue;
    }
    // getopt would keep operands; fence-agents ignores them with a warning. The value may be a secret
    // typed in the wrong place, so it is not echoed.
    warnings.push('Parse error: Ignoring an unexpected argument');
  }
  return { source: 'argv', values, counts, warnings, errors };
}
