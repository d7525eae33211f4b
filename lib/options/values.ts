// From raw strings to typed values: the one place where an option's type, default, choices and conflicts
// are enforced. Errors name the option and never echo its value (it may be a secret typed in the wrong place).
import type { RawInput } from './parse.js';
import { getoptMixed, type OptionSpec } from './spec.js';

export type OptionValue = string | number | boolean;

export class Options {
  constructor(
    private readonly values: ReadonlyMap<string, OptionValue>,
    /** Names the user actually gave (not filled in from defaults). */
    readonly given: ReadonlySet<string>,
    private readonly counts: ReadonlyMap<string, number> = new Map(),
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }
  string(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : String(v);
  }
  number(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : undefined;
  }
  flag(name: string): boolean {
    return this.values.get(name) === true;
  }
  count(name: string): number {
    return this.counts.get(name) ?? (this.flag(name) ? 1 : 0);
  }
  /** A copy with some values replaced (e.g. the password read from password_script). */
  with(changes: Record<string, OptionValue | undefined>): Options {
    const next = new Map(this.values);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) next.delete(k);
      else next.set(k, v);
    }
    return new Options(next, this.given, this.counts);
  }
  entries(): IterableIterator<[string, OptionValue]> {
    return this.values.entries();
  }
}

const INTEGER = /^[+-]?\d+$/;
const SECONDS = /^\d+(\.\d+)?$/;

export function describeOption(spec: OptionSpec): string {
  return `'${spec.name}' (${getoptMixed(spec).replace(/=\[.*\]$/, '')})`;
}

function typed(spec: OptionSpec, raw: string | boolean): { value?: OptionValue; error?: string } {
  const what = describeOption(spec);
  switch (spec.type) {
    case 'boolean':
      return { value: raw === true };
    case 'string':
      return { value: String(raw) };
    case 'integer': {
      const s = String(raw).trim();
      return INTEGER.test(s) ? { value: Number.parseInt(s, 10) } : { error: `Failed: option ${what} must be an integer` };
    }
    case 'second': {
      const s = String(raw).trim();
      return SECONDS.test(s) ? { value: Number.parseFloat(s) } : { error: `Failed: option ${what} must be a number of seconds` };
    }
    case 'select': {
      const s = String(raw).trim().toLowerCase();
      const match = spec.choices?.find((c) => c.toLowerCase() === s);
      return match !== undefined ? { value: match } : { error: `Failed: option ${what} must be one of: ${spec.choices?.join(', ')}` };
    }
  }
}

/** Type every given value, fill in defaults (agent and invoked-name overrides win), check conflicts. */
export function resolveValues(
  raw: RawInput,
  specs: readonly OptionSpec[],
  defaults: Readonly<Record<string, string>> = {},
): { options: Options; errors: string[] } {
  const errors = [...raw.errors];
  const values = new Map<string, OptionValue>();
  const given = new Set<string>();
  for (const spec of specs) {
    const rawValue = raw.values.get(spec.name);
    if (rawValue !== undefined) {
      const t = typed(spec, rawValue);
      if (t.error) errors.push(t.error);
      else if (t.value !== false) {
        values.set(spec.name, t.value!);
        given.add(spec.name);
      }
      continue;
    }
    const def = defaults[spec.name] ?? spec.default;
    if (def !== undefined) {
      const t = typed(spec, spec.type === 'boolean' ? def === '1' || def === 'true' : def);
      if (t.error) errors.push(`Failed: internal default of ${describeOption(spec)} is invalid`);
      else if (t.value !== false) values.set(spec.name, t.value!);
    }
  }
  for (const spec of specs) {
    for (const other of spec.conflictsWith ?? []) {
      if (given.has(spec.name) && given.has(other)) {
        const otherSpec = specs.find((s) => s.name === other);
        errors.push(`Failed: option ${describeOption(spec)} conflicts with ${otherSpec ? describeOption(otherSpec) : `'${other}'`}: give only one`);
      }
    }
  }
  return { options: new Options(values, given, raw.counts), errors };
}

/** Required options that are missing, except those the action does not need. */
export function missingRequired(options: Options, specs: readonly OptionSpec[], exempt: ReadonlySet<string>): string[] {
  return specs
    .filter((s) => s.required && !exempt.has(s.name) && !options.has(s.name))
    .map((s) => `Failed: missing required option ${describeOption(s)}`);
}
