// The shape of one option declaration. Everything an agent says about an option is said here, once:
// stdin parsing, getopt parsing, validation, metadata XML, the man page and --help are all derived from it.

export type OptionType = 'boolean' | 'string' | 'integer' | 'second' | 'select';

export interface OptionSpec {
  /** The stdin key and metadata parameter name (fence-agents' current name, e.g. `ip`, `plug`, `password`). */
  readonly name: string;
  /** The pre-2012 name still accepted on stdin and listed in metadata as deprecated (e.g. `ipaddr`). */
  readonly deprecatedName?: string;
  /** getopt short letter, without the dash. Unique within one agent. */
  readonly short?: string;
  /** getopt long name without dashes; defaults to `name` with `_` replaced by `-`. */
  readonly long?: string;
  /**
   * More getopt long names accepted on the command line, never shown: a peer's own spelling beside ours
   * (fence_scsi's getopt takes `--sg_persist-path`, ours `--sg-persist-path`).
   */
  readonly longAliases?: readonly string[];
  /** What the value is called in help and metadata, e.g. `ip` in `--ip=[ip]`. */
  readonly valueName?: string;
  readonly type: OptionType;
  /**
   * The type metadata shows, where fence-agents declares a looser one than the value has (fence_ipmilan's
   * `ipmitool_timeout` is a `string` there, but a number of seconds): pcs reads the metadata type.
   */
  readonly metadataType?: 'string';
  readonly choices?: readonly string[];
  /** Default as the string a user would write; typed by the same rules as user input. */
  readonly default?: string;
  readonly required?: boolean;
  readonly shortdesc: string;
  /**
   * Why the option changes nothing in fencekit, for an option accepted only so that a peer's configuration
   * carries over (pcs refuses a parameter the metadata lacks). Metadata, --help and the man page say so.
   */
  readonly noEffect?: string;
  /** Extra lines for --help and the man page (never in metadata: the RNG forbids a parameter longdesc). */
  readonly helpNote?: string;
  /** Secrets are redacted from every log line and never passed to a child process's argv. */
  readonly secret?: boolean;
  /** `-v -v -v` counts (verbose). */
  readonly stackable?: boolean;
  /** Options that may not be given together with this one. */
  readonly conflictsWith?: readonly string[];
  /** Sort key for metadata/help (fence-agents orders by an internal key, then by name). */
  readonly order?: number;
}

/**
 * The default metadata, --help and the man page show: none for a secret, whose value (even a factory one
 * such as fence_apc_snmp's community "private") is never printed. The default still applies (resolveValues).
 */
export function shownDefault(spec: OptionSpec, defaults: Readonly<Record<string, string>>): string | undefined {
  return spec.secret ? undefined : (defaults[spec.name] ?? spec.default);
}

/** The shortdesc metadata, --help and the man page show: an option without effect says so in it. */
export function shownShortdesc(spec: OptionSpec): string {
  return spec.noEffect ? `${spec.shortdesc} (accepted, no effect in fencekit: ${spec.noEffect})` : spec.shortdesc;
}

export function longName(spec: OptionSpec): string {
  return spec.long ?? spec.name.replace(/_/g, '-');
}

/** `-a, --ip=[ip]` as fence-agents prints it in metadata and help. */
export function getoptMixed(spec: OptionSpec): string {
  const value = spec.type === 'boolean' ? '' : `=[${spec.valueName ?? 'value'}]`;
  const long = `--${longName(spec)}${value}`;
  return spec.short ? `-${spec.short}, ${long}` : long;
}

/** Only words about an option change per agent: its name, kind, choices and default are the shared ones. */
export type OptionOverrides = Partial<Omit<OptionSpec, 'name' | 'type' | 'choices' | 'default' | 'metadataType'>>;

export function withOverrides<S extends OptionSpec>(spec: S, over: OptionOverrides): S {
  return { ...spec, ...over };
}

// ---- The value types an option list declares ------------------------------------------------------
// Declarations are written `as const satisfies readonly OptionSpec[]`, so that each option's name, type
// and choices are literal types and the map below can be computed from them: an agent's Options then
// accept only its own names, and give each value the type of its kind.

/** The type of one option's value: boolean, number (integer, second), the union of its choices (select), or string. */
export type OptionValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'integer' | 'second'
    ? number
    : S extends { readonly type: 'select'; readonly choices: readonly (infer C extends string)[] }
      ? C
      : string;

/**
 * name → value type for an option list. `Defaulted` names the options the agent gives a default of its own
 * (AgentDeclaration.defaults); with the options that declare one, they always have a value. Booleans are
 * always a boolean (absent is false).
 */
export type OptionTypesOf<L extends readonly OptionSpec[], Defaulted extends string = never> = {
  -readonly [S in L[number] as S['name']]: S['type'] extends 'boolean'
    ? boolean
    : S extends { readonly default: string }
      ? OptionValueOf<S>
      : S['name'] extends Defaulted
        ? OptionValueOf<S>
        : OptionValueOf<S> | undefined;
};
