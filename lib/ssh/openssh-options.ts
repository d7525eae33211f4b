// fence-agents' `ssh_options` is a string of OpenSSH client arguments. fencekit has no ssh child process,
// so only the arguments that mean something to its own client are taken, and every other one is refused
// by name: an option silently ignored (a cipher, a host key policy) would be a surprise on the day of a fence.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FenceError } from '../errors.js';
import { splitCommand } from '../secrets.js';
import { GLOBAL_KNOWN_HOSTS_FILES, signatureAlgorithmsOf, wildcard } from './known-hosts.js';

export type HostKeyPolicy = 'strict' | 'accept-new';

/** ssh2's algorithm lists: a full list, or changes to its defaults (OpenSSH's +, - and ^ prefixes). */
export type AlgorithmList = string[] | { append?: string[]; prepend?: string[]; remove?: string[] };

export interface SshClientOptions {
  hostKeyPolicy?: HostKeyPolicy;
  /** undefined: not given; null: `none` / `/dev/null` (no file, so every key is unknown). */
  knownHostsFile?: string | null;
  /** UserKnownHostsFile's further files: read, never written (OpenSSH records new keys in the first). */
  moreKnownHostsFiles: string[];
  /** GlobalKnownHostsFile; undefined: OpenSSH's default, /etc/ssh/ssh_known_hosts and ssh_known_hosts2. */
  globalKnownHostsFiles?: string[];
  identityFile?: string;
  family?: 4 | 6;
  /** pubkey: PubkeyAcceptedAlgorithms, checked against the identity key's type (session.ts), never sent to ssh2. */
  algorithms?: { cipher?: AlgorithmList; kex?: AlgorithmList; serverHostKey?: AlgorithmList; hmac?: AlgorithmList; pubkey?: AlgorithmList };
  /** Options taken but meaningless here (kept for the debug log). */
  ignored: string[];
}

const IGNORED_FLAGS = new Set(['-2', '-q', '-t', '-T', '-x', '-a', '-C', '-n', '-N']);
// Harmless here: timeouts and retries are the agent's own (login_timeout, retry_on), the client has no agent,
// X11, tty choice or GSSAPI to turn off, and it checks the host key against the address it connects to
// (CheckHostIP's second check has nothing to add), offering only the identity file it is given (IdentitiesOnly),
// and each run opens a connection of its own (no ControlMaster sharing).
const IGNORED_KEYWORDS = new Set([
  'connecttimeout', 'serveraliveinterval', 'serveralivecountmax', 'loglevel', 'batchmode', 'forwardagent', 'forwardx11', 'compression',
  'requesttty', 'passwordauthentication', 'pubkeyauthentication', 'preferredauthentications', 'numberofpasswordprompts',
  'checkhostip', 'connectionattempts', 'identitiesonly', 'gssapiauthentication', 'gssapidelegatecredentials', 'hashknownhosts',
  'controlmaster', 'controlpath', 'controlpersist',
]);

/** The files of UserKnownHostsFile / GlobalKnownHostsFile: blank-separated, ~ for the home; none or /dev/null alone for none. */
function knownHostsFiles(keyword: string, value: string): string[] {
  const files = value.split(/\s+/).filter(Boolean);
  if (files.length === 0) refuse(keyword, 'needs a file');
  if (files.some((f) => f.includes('%'))) refuse(`${keyword}=${value}`, 'uses %-tokens, which fencekit does not expand: write the path');
  if (files.length === 1 && (files[0] === 'none' || files[0] === '/dev/null')) return [];
  return files.map((f) => (f === '~' ? homedir() : f.startsWith('~/') ? join(homedir(), f.slice(2)) : f));
}

type AlgorithmKind = keyof NonNullable<SshClientOptions['algorithms']>;

/** The OpenSSH keywords that set an algorithm list, and the list each sets (PubkeyAcceptedKeyTypes: the old name). */
const ALGORITHM_KEYWORDS: ReadonlyMap<string, AlgorithmKind> = new Map([
  ['ciphers', 'cipher'],
  ['kexalgorithms', 'kex'],
  ['hostkeyalgorithms', 'serverHostKey'],
  ['macs', 'hmac'],
  ['pubkeyacceptedalgorithms', 'pubkey'],
  ['pubkeyacceptedkeytypes', 'pubkey'],
]);

function algorithmList(value: string): AlgorithmList {
  const names = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
  if (value.startsWith('+')) return { append: names(value.slice(1)) };
  if (value.startsWith('-')) return { remove: names(value.slice(1)) };
  if (value.startsWith('^')) return { prepend: names(value.slice(1)) };
  return names(value);
}

function refuse(what: string, why: string): never {
  throw new FenceError('bad-input', `ssh_options: ${what} ${why}`);
}

function keyword(options: SshClientOptions, raw: string): void {
  const eq = raw.search(/[=\s]/);
  if (eq < 1) refuse(`"-o ${raw}"`, 'is not KEYWORD=VALUE');
  const key = raw.slice(0, eq).toLowerCase();
  const value = raw.slice(eq + 1).trim();
  const list = ALGORITHM_KEYWORDS.get(key);
  if (list) {
    (options.algorithms ??= {})[list] = algorithmList(value);
    return;
  }
  switch (key) {
    case 'stricthostkeychecking': {
      const v = value.toLowerCase();
      if (v === 'yes' || v === 'ask') options.hostKeyPolicy = 'strict';
      else if (v === 'accept-new') options.hostKeyPolicy = 'accept-new';
      else refuse(`StrictHostKeyChecking=${value}`, 'would accept a changed host key: fencekit never does; use accept-new to record unknown keys');
      return;
    }
    case 'userknownhostsfile': {
      const [first, ...more] = knownHostsFiles('UserKnownHostsFile', value);
      options.knownHostsFile = first ?? null;
      options.moreKnownHostsFiles = more;
      return;
    }
    case 'globalknownhostsfile':
      options.globalKnownHostsFiles = knownHostsFiles('GlobalKnownHostsFile', value);
      return;
    case 'identityfile':
      options.identityFile = value;
      return;
    case 'addressfamily':
      if (value === 'inet') options.family = 4;
      else if (value === 'inet6') options.family = 6;
      return;
    case 'port':
      refuse('Port', "is set with the 'ipport' option");
      return;
    default:
      if (IGNORED_KEYWORDS.has(key)) {
        options.ignored.push(`-o ${raw}`);
        return;
      }
      refuse(`"-o ${raw}"`, "is not supported by fencekit's built-in SSH client");
  }
}

/** OpenSSH 9's PubkeyAcceptedAlgorithms default, less certificates and security keys (which fencekit cannot use). */
const DEFAULT_PUBKEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'];

/**
 * Whether PubkeyAcceptedAlgorithms (a list, or +, - and ^ changes to OpenSSH's default; names may be
 * wildcard patterns) lets a key of this type be offered: some algorithm it signs with must remain.
 */
export function pubkeyAlgorithmAccepted(list: AlgorithmList, keyType: string): boolean {
  const listed = (patterns: readonly string[], name: string) => patterns.some((p) => wildcard(p, name));
  const accepted = (name: string): boolean => {
    if (Array.isArray(list)) return listed(list, name);
    if (list.remove) return DEFAULT_PUBKEY_ALGORITHMS.includes(name) && !listed(list.remove, name);
    return DEFAULT_PUBKEY_ALGORITHMS.includes(name) || listed([...(list.append ?? []), ...(list.prepend ?? [])], name);
  };
  return signatureAlgorithmsOf(keyType).some(accepted);
}

/** Files read after the user's known_hosts and never written: UserKnownHostsFile's further files, then the global ones. */
export function readOnlyKnownHostsFiles(options: SshClientOptions): string[] {
  return [...options.moreKnownHostsFiles, ...(options.globalKnownHostsFiles ?? GLOBAL_KNOWN_HOSTS_FILES)];
}

/** A known_hosts setting that holds no key and keeps none: OpenSSH's `none`, /dev/null, or no file at all. */
export function keepsNoHostKeys(file: string | null | undefined): boolean {
  return file === null || file === undefined || file === '' || file === 'none' || file === '/dev/null';
}

/**
 * accept-new trusts an unknown key once and relies on the file to hold the device to it from then on. With
 * nowhere to keep the key it accepts any key on every connection, which is StrictHostKeyChecking=no under
 * another name. (A pinned fingerprint is checked instead of the file, so it needs none.)
 */
export function acceptNewWithoutFile(policy: HostKeyPolicy, file: string | null | undefined, fingerprint?: string): FenceError | undefined {
  if (policy !== 'accept-new' || fingerprint !== undefined || !keepsNoHostKeys(file)) return undefined;
  return new FenceError(
    'bad-input',
    `host key policy accept-new with no known_hosts file (${file ?? 'none'}) would accept any key on every connection, like StrictHostKeyChecking=no: give a known_hosts file it can record the key in, or pin ssh_host_key_fingerprint`,
  );
}

/** Parse fence-agents' ssh_options for the built-in client. Throws 'bad-input' naming what it cannot honour. */
export function parseSshOptions(text: string | undefined): SshClientOptions {
  const options: SshClientOptions = { moreKnownHostsFiles: [], ignored: [] };
  const args = splitCommand(text ?? '');
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const attached = arg.length > 2 ? arg.slice(2) : undefined;
      if (attached !== undefined) return attached;
      const next = args[++i];
      if (next === undefined) refuse(arg, 'needs a value');
      return next;
    };
    if (arg === '-1') refuse('-1', 'asks for SSH protocol 1, which no maintained client speaks (fence_apc\'s old default "-1 -c blowfish"); APC cards with AOS 5 or later speak SSH 2');
    if (IGNORED_FLAGS.has(arg)) options.ignored.push(arg);
    else if (arg === '-4') options.family = 4;
    else if (arg === '-6') options.family = 6;
    else if (arg.startsWith('-o')) keyword(options, value());
    else if (arg.startsWith('-c')) (options.algorithms ??= {}).cipher = algorithmList(value());
    else if (arg.startsWith('-m')) (options.algorithms ??= {}).hmac = algorithmList(value());
    else if (arg.startsWith('-i')) options.identityFile = value();
    else if (arg.startsWith('-p')) refuse('-p', "is set with the 'ipport' option");
    else refuse(`"${arg}"`, "is not supported by fencekit's built-in SSH client");
  }
  return options;
}
