// Host key checking as OpenSSH does it, over the same known_hosts file: plain and hashed (|1|salt|hmac)
// host patterns, [host]:port for other ports than 22, * and ? wildcards, !negation, @revoked. Pure except
// for the file reads and the append, so the matching rules are unit-tested on their own. Read as OpenSSH
// reads them: the user's file(s), then the global ones (/etc/ssh/ssh_known_hosts unless GlobalKnownHostsFile
// says otherwise); a key recorded in any of them is known.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** OpenSSH's fingerprint form: "SHA256:" + unpadded base64 of the SHA-256 of the key blob. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (its first string), e.g. "ssh-ed25519". */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return len > 0 && len < 64 && keyBlob.length >= 4 + len ? keyBlob.subarray(4, 4 + len).toString('latin1') : 'unknown';
}

/** How known_hosts names a host: bare on port 22, [host]:port otherwise. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export interface KnownHostEntry {
  /** The file it was read from (readKnownHosts), for messages. */
  readonly file?: string;
  readonly marker?: 'revoked' | 'cert-authority';
  readonly patterns: string;
  readonly keyType: string;
  readonly key: Buffer;
  readonly line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift()!.slice(1) as KnownHostEntry['marker'];
    const [patterns, keyType, key] = fields;
    if (!patterns || !keyType || !key || !/^[A-Za-z0-9+/]+=*$/.test(key)) return;
    entries.push({ ...(marker ? { marker } : {}), patterns, keyType, key: Buffer.from(key, 'base64'), line: i + 1 });
  });
  return entries;
}

export function wildcard(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

/** Whether a host-pattern list names `name` (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"). */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcard(p.slice(1), name)) return false;
    } else if (wildcard(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/** "file:line", or "line N" for entries parsed from text. */
export function entryPlace(e: KnownHostEntry): string {
  return e.file === undefined ? `line ${e.line}` : `${e.file}:${e.line}`;
}

export type HostKeyVerdict =
  | { readonly result: 'match'; readonly line: number; readonly place: string }
  | { readonly result: 'mismatch'; readonly lines: readonly number[]; readonly places: readonly string[] }
  | { readonly result: 'revoked'; readonly line: number; readonly place: string }
  /** The host is listed, but only with keys of other types: this type was never recorded for it. */
  | { readonly result: 'unknown-type'; readonly knownTypes: readonly string[] }
  | { readonly result: 'unknown' };

function entriesForHost(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = hostKeyName(host, port);
  return entries.filter((e) => !e.marker && patternsMatch(e.patterns, name));
}

/**
 * What known_hosts says of this key for this host. Another key of the same type is a mismatch, as in OpenSSH
 * with StrictHostKeyChecking=yes: a changed key is never accepted silently. Keys of other types only say
 * nothing of this one (OpenSSH: "No ED25519 host key is known for ..."), which is not a change.
 */
export function checkKnownHosts(entries: readonly KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(keyBlob));
  if (revoked) return { result: 'revoked', line: revoked.line, place: entryPlace(revoked) };
  const forHost = entriesForHost(entries, host, port);
  const match = forHost.find((e) => e.key.equals(keyBlob));
  if (match) return { result: 'match', line: match.line, place: entryPlace(match) };
  const type = keyTypeOf(keyBlob);
  const sameType = forHost.filter((e) => e.keyType === type);
  if (sameType.length > 0) return { result: 'mismatch', lines: sameType.map((e) => e.line), places: sameType.map(entryPlace) };
  return forHost.length > 0 ? { result: 'unknown-type', knownTypes: [...new Set(forHost.map((e) => e.keyType))] } : { result: 'unknown' };
}

/** The key types known_hosts records for this host, in file order. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  return [...new Set(entriesForHost(entries, host, port).map((e) => e.keyType))];
}

/** ssh2's host key algorithms that verify a key of a known_hosts type (an RSA key signs with SHA-2 first). */
const ALGORITHMS_OF_TYPE: Readonly<Record<string, readonly string[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** The signature algorithms a key of this type can sign with (an RSA key: SHA-2 first, then SHA-1). */
export function signatureAlgorithmsOf(keyType: string): readonly string[] {
  return ALGORITHMS_OF_TYPE[keyType] ?? [keyType];
}

/**
 * The host key algorithms to ask for first, as OpenSSH orders HostKeyAlgorithms by the types known_hosts
 * holds for the host: a server with several keys then shows the one that was recorded, instead of the one
 * the client happens to prefer (which would be "unknown" and fail the fence).
 */
export function preferredHostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  return [...new Set(knownTypes.flatMap((t) => ALGORITHMS_OF_TYPE[t] ?? []))];
}

export function readKnownHosts(file: string): KnownHostEntry[] {
  return existsSync(file) ? parseKnownHosts(readFileSync(file, 'utf8')).map((e) => ({ ...e, file })) : [];
}

/** OpenSSH's GlobalKnownHostsFile default (ssh_config(5)): read by every user's ssh, written by none. */
export const GLOBAL_KNOWN_HOSTS_FILES: readonly string[] = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

/** The plain known_hosts line of a key, as ssh-keyscan prints it: the name as known_hosts spells it, type, key. */
export function plainKnownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  return `${hostKeyName(host, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}`;
}

/** A word for sh: as is when it is plain, else in single quotes. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_\-./,:@+%=]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that records exactly the key the device offered in `file`: the key checked by its fingerprint
 * is the key kept (ssh-keyscan would fetch it again, and could get another).
 */
export function recordKeyCommand(file: string, host: string, port: number, keyBlob: Buffer): string {
  return `echo ${shellWord(plainKnownHostsLine(host, port, keyBlob))} >> ${shellWord(file)}`;
}

/** A hashed line, as OpenSSH writes with HashKnownHosts: the file does not list the PDUs it knows. */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(hostKeyName(host, port)).digest('base64');
  return `|1|${salt.toString('base64')}|${hash} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}`;
}

export function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  appendFileSync(file, `${sep}${knownHostsLine(host, port, keyBlob)}\n`, { mode: 0o600 });
}
