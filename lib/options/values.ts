// From raw strings to typed values: the one place where an option's type, default, choices and conflicts
// are enforced. Errors name the option and never echo its value (it may be a secret typed in the wrong place).
import type { LibraryOptionTypes } from './common.js';
import type { RawInput } from './parse.js';
import { getoptMixed, type OptionSpec, type OptionTypesOf } from './spec.js';

export type OptionValue = string | number | boolean;

/** name → value type of the options an agent declares (see OptionTypesOf in spec.ts). */
export type OptionTypes = { readonly [name: string]: OptionValue | undefined };

/** The declared names whose value is of type V. */
type NamesOf<T extends OptionTypes, V> = { [K in keyof T]-?: [NonNullable<T[K]>] extends [V] ? K : never }[keyof T] & string;

/**
 * The typed options of one run, for the option list T was computed from: each getter accepts only declared
 * names of its kind, and an option with a default (declared, or the agent's) is never undefined. The values
 * are exactly what resolveValues produced: the user's string as written, or the parsed number or choice.
 */
// `out`: the getters only read, so an agent's Options are also Options of any smaller list they contain (the
// runner's view, LibraryOptionTypes; the SNMP options' view). The getters are generic in the name (K) for the
// same reason: a parameter typed by T directly would make the class invariant in it.
export class Options<out T extends OptionTypes = LibraryOptionTypes> {
  constructor(
    private readonly values: ReadonlyMap<string, OptionValue>,
    /** Names the user actually gave (not filled in from defaults). */
    readonly given: ReadonlySet<string>,
    private readonly counts: ReadonlyMap<string, number> = new Map(),
  ) {}

  has<K extends keyof T & string>(name: K): boolean {
    return this.values.has(name);
  }
  /** A string or select option: the string as the user wrote it (a select's as declared in its choices). */
  string<K extends NamesOf<T, string>>(name: K): T[K] {
    return this.values.get(name) as T[K];
  }
  /** An integer or second option. */
  number<K extends NamesOf<T, number>>(name: K): T[K] {
    return this.values.get(name) as T[K];
  }
  flag<K extends NamesOf<T, boolean>>(name: K): boolean {
    return this.values.get(name) === true;
  }
  count<K extends NamesOf<T, boolean>>(name: K): number {
    return this.counts.get(name) ?? (this.flag(name) ? 1 : 0);
  }
  /**
   * A copy with some of the shared values replaced (the action the engine runs, the password read from
   * password_script). Typed by the shared options only, so that an agent's Options are also Options of
   * any smaller list they contain (lib/options/snmp.ts reads an APC PDU's and a switch's alike).
   */
  with(changes: { readonly [K in keyof LibraryOptionTypes]?: LibraryOptionTypes[K] }): Options<T> {
    const next = new Map(this.values);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) next.delete(k);
      else next.set(k, v as OptionValue);
    }
    return new Options<T>(next, this.given, this.counts);
  }
  /** The value of an option taken from its declaration (loops over a declaration list: secrets, required). */
  valueOf(spec: OptionSpec): OptionValue | undefined {
    return this.values.get(spec.name);
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

/**
 * The options resolved from a list: typed by it when its names are known to the compiler (a declaration
 * written `as const`), else as the library sees any agent's (a list taken from an AgentDeclaration).
 */
export type ResolvedTypes<L extends readonly OptionSpec[], Defaulted extends string> = string extends L[number]['name']
  ? LibraryOptionTypes
  : OptionTypesOf<L, string extends Defaulted ? never : Defaulted>;

/** Type every given value, fill in defaults (agent and invoked-name overrides win), check conflicts. */
export function resolveValues<const L extends readonly OptionSpec[], Defaulted extends string = never>(
  raw: RawInput,
  specs: L,
  defaults: { readonly [K in Defaulted]?: string } = {},
): { options: Options<ResolvedTypes<L, Defaulted>>; errors: string[] } {
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
    const def = (defaults as Readonly<Record<string, string | undefined>>)[spec.name] ?? spec.default;
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
    .filter((s) => s.required && !exempt.has(s.name) && options.valueOf(s) === undefined)
    .map((s) => `Failed: missing required option ${describeOption(s)}`);
}
