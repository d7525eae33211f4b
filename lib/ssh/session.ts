// A prompt-driven SSH command-line session for network management cards (APC `apc>`, and any device that
// answers a command with text and a prompt). It knows nothing of options or fencing: callers hand it an
// endpoint, credentials, a host key policy and deadlines, and get text back or a FenceError whose kind says
// what went wrong.
//
// ssh2 is loaded inside CliSession.open() and nowhere else (its import costs more than an agent's metadata
// path may pay). The TCP socket is connected here with TCP_NODELAY before ssh2 sees it: with Nagle on, the
// handshake's small packets wait for delayed ACKs, several times slower (docs/dependencies.md).
import { Socket, connect as tcpConnect, isIP } from 'node:net';
import type { AnyAuthMethod, ClientChannel, Client as SshClient, ConnectConfig, KeyboardInteractiveCallback, ParsedKey, Prompt } from 'ssh2';
import { FenceError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { remaining, withDeadline } from '../timing.js';
import { statSync } from 'node:fs';
import {
  appendKnownHost,
  checkKnownHosts,
  GLOBAL_KNOWN_HOSTS_FILES,
  hostKeyName,
  keyTypeOf,
  knownKeyTypes,
  preferredHostKeyAlgorithms,
  readKnownHosts,
  recordKeyCommand,
  sha256Fingerprint,
  type KnownHostEntry,
} from './known-hosts.js';
import { acceptNewWithoutFile, pubkeyAlgorithmAccepted, type AlgorithmList, type HostKeyPolicy } from './openssh-options.js';

export interface HostKeyCheck {
  /** OpenSSH known_hosts file, where accept-new records; null for none (accept-new is then refused). */
  readonly knownHostsFile: string | null;
  /**
   * Read after knownHostsFile, never written: UserKnownHostsFile's further files and the global ones
   * (GlobalKnownHostsFile). Default OpenSSH's: /etc/ssh/ssh_known_hosts and /etc/ssh/ssh_known_hosts2.
   */
  readonly readOnlyFiles?: readonly string[];
  /** A pinned "SHA256:..." fingerprint: when given, the key must have it and known_hosts is not consulted. */
  readonly fingerprint?: string;
  /** strict: an unknown key fails. accept-new: an unknown key is recorded in knownHostsFile and used. A changed key always fails. */
  readonly policy: HostKeyPolicy;
}

export interface CliSessionOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password?: string;
  /** OpenSSH / PEM private key text; `password` is tried as its passphrase when it is encrypted. */
  readonly privateKey?: Buffer;
  readonly hostKey: HostKeyCheck;
  /** Matched against the end of the output: the device waits for a command. */
  readonly prompt: RegExp;
  /** Absolute time by which the session must be logged in and at its first prompt. */
  readonly deadline: number;
  readonly family?: 4 | 6;
  /** pubkey (PubkeyAcceptedAlgorithms) decides whether the identity key may be offered; the rest go to ssh2. */
  readonly algorithms?: { cipher?: AlgorithmList; kex?: AlgorithmList; serverHostKey?: AlgorithmList; hmac?: AlgorithmList; pubkey?: AlgorithmList };
  readonly logger?: Logger;
  /** Line end sent after each command. Default "\r", what a terminal's Enter key sends. */
  readonly eol?: string;
}

type Ssh2 = typeof import('ssh2');

let ssh2Loading: Promise<Ssh2> | undefined;
function loadSsh2(): Promise<Ssh2> {
  ssh2Loading ??= import('ssh2').then(
    (mod) => ((mod as unknown as { default?: Ssh2 }).default?.Client ? (mod as unknown as { default: Ssh2 }).default : (mod as Ssh2)),
    (err: unknown) => {
      ssh2Loading = undefined;
      throw new FenceError('internal', `cannot load ssh2: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    },
  );
  return ssh2Loading;
}

const MAX_BUFFER = 1 << 20;

function timeLeft(deadline: number, what: string): number {
  const ms = remaining(deadline);
  if (ms <= 0) throw new FenceError('timeout', `${what}: the deadline has passed (timed out)`);
  return Math.min(ms, 2 ** 31 - 1);
}

/** The pre-connected TCP socket, with Nagle off. */
function openSocket(host: string, port: number, family: 4 | 6 | undefined, deadline: number, logger: Logger): Promise<Socket> {
  const ms = timeLeft(deadline, `connect to ${host}:${port}`);
  // -4 / -6 (ssh_options, inet4_only / inet6_only) hold for an address as for a name: one of the other family
  // is refused, never connected to.
  const literal = isIP(host);
  if (family !== undefined && literal !== 0 && literal !== family) {
    return Promise.reject(new FenceError('bad-input', `${host} is an IPv${literal} address, and only IPv${family} may be used`));
  }
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port, ...(family && !literal ? { family } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new FenceError('unreachable', `no TCP connection to ${host}:${port} within ${ms} ms (timed out)`));
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      logger.debug(`TCP connected to ${host}:${port} (TCP_NODELAY)`);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      // A refused connection is the peer's kernel answering that nothing listens: retrying cannot help.
      reject(new FenceError('unreachable', `TCP connection to ${host}:${port} failed: ${err.code ?? err.message}`, { cause: err, final: err.code === 'ECONNREFUSED' }));
    });
  });
}

/** Every file the check reads, in OpenSSH's order: the user's file, then the read-only ones. */
function filesRead(check: HostKeyCheck): string[] {
  return [...(check.knownHostsFile ? [check.knownHostsFile] : []), ...(check.readOnlyFiles ?? GLOBAL_KNOWN_HOSTS_FILES)];
}

/** The entries of every file the check reads. A file that exists but cannot be read fails the check: it may hold the key that says "changed". */
function knownHostEntries(check: HostKeyCheck): KnownHostEntry[] | FenceError {
  const entries: KnownHostEntry[] = [];
  for (const file of filesRead(check)) {
    try {
      entries.push(...readKnownHosts(file));
    } catch (err) {
      return new FenceError('bad-input', `cannot read known_hosts file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return entries;
}

/** What to do about a key nothing records: check its fingerprint on the device, then record exactly it, or pin it. */
function howToTrust(check: HostKeyCheck, host: string, port: number, key: Buffer, fingerprint: string): string {
  const pin = `pin it with ssh_host_key_fingerprint=${fingerprint}`;
  if (!check.knownHostsFile) return `Check that fingerprint on the device (its console or web interface), then ${pin}`;
  return `Check that fingerprint on the device (its console or web interface), then record exactly this key with: ${recordKeyCommand(check.knownHostsFile, host, port, key)} (or ${pin})`;
}

/** The host key decision, made in ssh2's hostVerifier and reported after the handshake fails or succeeds. */
function verifyHostKey(check: HostKeyCheck, host: string, port: number, key: Buffer, logger: Logger): FenceError | undefined {
  const fingerprint = sha256Fingerprint(key);
  const type = keyTypeOf(key);
  if (check.fingerprint) {
    const want = check.fingerprint.replace(/=+$/, '');
    if (fingerprint === want) {
      logger.debug(`host key ${type} ${fingerprint} matches the pinned fingerprint`);
      return undefined;
    }
    return new FenceError('auth', `host key of ${host}:${port} is ${type} ${fingerprint}, not the pinned ${want}: refusing to log in (a changed key may be another device)`);
  }
  const file = check.knownHostsFile;
  const entries = knownHostEntries(check);
  if (entries instanceof FenceError) return entries;
  const verdict = checkKnownHosts(entries, host, port, key);
  const read = filesRead(check).join(', ') || 'no known_hosts file';
  switch (verdict.result) {
    case 'match':
      logger.debug(`host key ${type} ${fingerprint} matches ${verdict.place}`);
      return undefined;
    case 'revoked':
      return new FenceError('auth', `host key ${type} ${fingerprint} of ${host}:${port} is marked @revoked at ${verdict.place}`);
    case 'mismatch':
      return new FenceError(
        'auth',
        `host key of ${host}:${port} has CHANGED: it is ${type} ${fingerprint}, which does not match the key recorded at ${verdict.places.join(', ')}; refusing to log in. If the card was replaced, remove the old line and check the new fingerprint on the device`,
      );
    case 'unknown-type':
      // The device used to show a key of a known type and now shows none: accept-new does not cover that.
      return new FenceError(
        'auth',
        `no ${type} host key is known for ${hostKeyName(host, port)} in ${read}, which list only ${verdict.knownTypes.join(', ')} for it, and the device offered none of those: it offered ${type} ${fingerprint}; refusing to log in. ${howToTrust(check, host, port, key, fingerprint)}`,
      );
    case 'unknown':
      if (check.policy === 'accept-new') {
        const refusal = acceptNewWithoutFile(check.policy, file);
        if (refusal) return refusal;
        try {
          appendKnownHost(file!, host, port, key);
        } catch (err) {
          // Accepted but not kept, the next connection would accept any key again: accept-new without a file.
          return new FenceError('auth', `accept-new: cannot record the host key ${type} ${fingerprint} of ${host}:${port} in ${file} (${(err as Error).message}); refusing to log in with a key nothing will hold the device to`);
        }
        logger.warn(`accepted new host key ${type} ${fingerprint} for ${host}:${port} and added it to ${file}`);
        return undefined;
      }
      return new FenceError(
        'auth',
        `host key of ${host}:${port} is not known: it offered ${type} ${fingerprint}, which is in none of ${read}; refusing to log in. ${howToTrust(check, host, port, key, fingerprint)}`,
      );
  }
}

/** accept-new into something that exists but is no regular file (a device such as /dev/zero): nothing is kept. */
function acceptNewIntoNonFile(check: HostKeyCheck): FenceError | undefined {
  if (check.policy !== 'accept-new' || check.fingerprint !== undefined || check.knownHostsFile === null) return undefined;
  let regular = true;
  try {
    regular = statSync(check.knownHostsFile).isFile();
  } catch {
    // Not there yet: accept-new creates it.
  }
  return regular ? undefined : acceptNewWithoutFile(check.policy, null);
}

/**
 * The host key algorithms with the types known_hosts holds for this host first, as OpenSSH orders them, unless
 * the user chose them (HostKeyAlgorithms) or pinned a fingerprint (any type can match that).
 */
function withKnownHostKeyTypesFirst(options: CliSessionOptions, logger: Logger): Ssh2Algorithms {
  const { pubkey: _checkedBeforeConnecting, ...algorithms } = options.algorithms ?? {};
  const given = options.algorithms === undefined ? undefined : algorithms;
  if (algorithms.serverHostKey !== undefined || options.hostKey.fingerprint !== undefined) return given;
  const entries = knownHostEntries(options.hostKey);
  if (entries instanceof FenceError) return given; // the host key check reads them again and says why
  const preferred = preferredHostKeyAlgorithms(knownKeyTypes(entries, options.host, options.port));
  if (preferred.length === 0) return given;
  logger.debug(`host key algorithms known for ${hostKeyName(options.host, options.port)} asked for first: ${preferred.join(', ')}`);
  // ssh2 applies these in order: take them out of its defaults, then put them in front.
  return { ...algorithms, serverHostKey: { remove: preferred, prepend: preferred } };
}

type Ssh2Algorithms = Omit<NonNullable<CliSessionOptions['algorithms']>, 'pubkey'> | undefined;

function classifySshError(err: Error & { level?: string; code?: string }, host: string, port: number): FenceError {
  if (err instanceof FenceError) return err;
  const where = `${host}:${port}`;
  if (err.level === 'client-authentication') return new FenceError('auth', `${where} refused the login (${err.message})`, { cause: err });
  if (err.level === 'client-timeout') return new FenceError('timeout', `SSH handshake with ${where} timed out`, { cause: err });
  if (err.level === 'protocol' || err.level === 'handshake') {
    return new FenceError('unreachable', `SSH handshake with ${where} failed: ${err.message}`, { cause: err });
  }
  return new FenceError('unreachable', `SSH connection to ${where} failed: ${err.message}`, { cause: err });
}

export class CliSession {
  readonly #client: SshClient;
  readonly #channel: ClientChannel;
  readonly #prompt: RegExp;
  readonly #logger: Logger;
  readonly #eol: string;
  readonly peer: string;
  /** The login banner and the text before the first prompt (firmware versions are read from it). */
  readonly banner: string;
  #buffer = '';
  #closed = false;
  #closeReason: string | undefined;
  #wake: (() => void) | undefined;

  private constructor(client: SshClient, channel: ClientChannel, options: CliSessionOptions, logger: Logger) {
    this.#client = client;
    this.#channel = channel;
    this.#prompt = options.prompt;
    this.#logger = logger;
    this.#eol = options.eol ?? '\r';
    this.peer = `${options.host}:${options.port}`;
    this.banner = '';
    channel.on('data', (chunk: Buffer) => this.#feed(chunk));
    channel.stderr.on('data', (chunk: Buffer) => this.#feed(chunk));
    const closed = (why: string) => {
      this.#closed = true;
      this.#closeReason ??= why;
      this.#wake?.();
    };
    channel.on('close', () => closed('the device closed the session'));
    client.on('error', (err) => closed(err.message));
    client.on('close', () => closed('the connection closed'));
  }

  #feed(chunk: Buffer): void {
    this.#buffer = (this.#buffer + chunk.toString('latin1')).slice(-MAX_BUFFER);
    this.#wake?.();
  }

  /** Connect, check the host key, log in, open a shell and wait for the first prompt, all within options.deadline. */
  static async open(options: CliSessionOptions): Promise<CliSession> {
    const logger = options.logger ?? silentLogger;
    logger.addSecret(options.password);
    const check = options.hostKey;
    const refusal = acceptNewWithoutFile(check.policy, check.knownHostsFile, check.fingerprint) ?? acceptNewIntoNonFile(check);
    if (refusal) throw refusal;
    const algorithms = withKnownHostKeyTypesFirst(options, logger);
    const ssh2 = await loadSsh2();
    let key: ParsedKey | undefined;
    if (options.privateKey) {
      let parsed = ssh2.utils.parseKey(options.privateKey);
      if (parsed instanceof Error && options.password !== undefined) parsed = ssh2.utils.parseKey(options.privateKey, options.password);
      if (parsed instanceof Error) throw new FenceError('bad-input', `cannot use the identity file: ${parsed.message}`);
      key = Array.isArray(parsed) ? parsed[0] : parsed;
      // PubkeyAcceptedAlgorithms as OpenSSH applies it: a key none of whose signature algorithms is listed is
      // not offered, and the login goes on with the password if there is one.
      const accepted = options.algorithms?.pubkey;
      if (key && accepted !== undefined && !pubkeyAlgorithmAccepted(accepted, key.type)) {
        const why = `ssh_options: PubkeyAcceptedAlgorithms leaves out the identity key's type (${key.type})`;
        if (options.password === undefined) throw new FenceError('bad-input', `${why}, and there is no password to log in with instead`);
        logger.warn(`${why}: the key is not offered, as OpenSSH would not offer it; logging in with the password`);
        key = undefined;
      }
    }
    const socket = await openSocket(options.host, options.port, options.family, options.deadline, logger);
    const client = new ssh2.Client();
    let hostKeyError: FenceError | undefined;
    const methods: AnyAuthMethod[] = [];
    if (key) methods.push({ type: 'publickey', username: options.username, key });
    if (options.password !== undefined) {
      methods.push({ type: 'password', username: options.username, password: options.password });
      methods.push({
        type: 'keyboard-interactive',
        username: options.username,
        // APC cards and PAM-backed servers ask "Password:" here; every prompt gets the password.
        prompt: (_name: string, _instructions: string, _lang: string, prompts: Prompt[], finish: KeyboardInteractiveCallback) =>
          finish(prompts.map(() => options.password!)),
      });
    }
    if (methods.length === 0) {
      socket.destroy();
      throw new FenceError('bad-input', 'SSH needs a password, a password_script or an identity_file');
    }
    const config: ConnectConfig = {
      sock: socket,
      username: options.username,
      readyTimeout: timeLeft(options.deadline, `SSH login to ${options.host}:${options.port}`),
      authHandler: methods,
      hostVerifier: (hostKey: Buffer) => {
        hostKeyError = verifyHostKey(options.hostKey, options.host, options.port, hostKey, logger);
        return hostKeyError === undefined;
      },
      ...(algorithms ? { algorithms: algorithms as ConnectConfig['algorithms'] } : {}),
      ...(logger.verbosity >= 3 ? { debug: (m: string) => logger.debug(`ssh2: ${m}`) } : {}),
    };
    const started = Date.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new FenceError('timeout', `SSH login to ${options.host}:${options.port} timed out`)),
          timeLeft(options.deadline, 'SSH login'),
        );
        client.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
        client.once('error', (err) => {
          clearTimeout(timer);
          reject(hostKeyError ?? classifySshError(err, options.host, options.port));
        });
        client.connect(config);
      });
      logger.debug(`SSH logged in to ${options.host}:${options.port} as ${options.username} (${Date.now() - started} ms)`);
      // The shell's channel is one more round trip that the login's timer no longer covers: a device (or a
      // lossy link) that never confirms it must not hold the agent past its deadline.
      const channel = await withDeadline(
        new Promise<ClientChannel>((resolve, reject) => {
          client.shell({ term: 'vt100', cols: 200, rows: 50 }, (err, stream) => (err ? reject(classifySshError(err, options.host, options.port)) : resolve(stream)));
        }),
        options.deadline,
        `opening a shell on ${options.host}:${options.port}`,
      );
      const session = new CliSession(client, channel, options, logger);
      const banner = await session.#untilPrompt(options.deadline, 'the first prompt');
      (session as { banner: string }).banner = banner;
      return session;
    } catch (err) {
      // The login has failed and says why; ssh2 reports the socket it loses on the way out ("Connection lost
      // before handshake") as one more 'error', which with no listener would end the process as uncaught.
      client.on('error', () => undefined);
      client.end();
      socket.destroy();
      throw err;
    }
  }

  /** Wait until the output ends with the prompt; returns what came before it and empties the buffer. */
  async #untilPrompt(deadline: number, what: string): Promise<string> {
    for (;;) {
      const m = this.#prompt.exec(this.#buffer);
      if (m) {
        const text = this.#buffer.slice(0, m.index);
        this.#buffer = this.#buffer.slice(m.index + m[0].length);
        return text;
      }
      if (this.#closed) throw new FenceError('unreachable', `${this.peer}: ${this.#closeReason} while waiting for ${what}`);
      const ms = remaining(deadline);
      if (ms <= 0) {
        const tail = JSON.stringify(this.#buffer.slice(-120));
        throw new FenceError('timeout', `${this.peer}: no prompt after ${what} (timed out); last output ${tail}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(ms, 2 ** 31 - 1));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /**
   * Send one command line and return the device's answer: the text between the echoed command and the
   * next prompt, with CRs removed.
   */
  async command(line: string, deadline: number): Promise<string> {
    if (this.#closed) throw new FenceError('unreachable', `${this.peer}: ${this.#closeReason ?? 'session closed'}`);
    this.#buffer = '';
    this.#logger.debug(`${this.peer} > ${line}`);
    this.#channel.write(line + this.#eol);
    const raw = await this.#untilPrompt(deadline, `"${line}"`);
    const lines = raw.replace(/\r/g, '').split('\n');
    if (lines[0]?.trim() === line.trim()) lines.shift();
    const text = lines.join('\n').replace(/^\n+|\s+$/g, '');
    for (const l of text.split('\n')) this.#logger.debug(`${this.peer} < ${l}`);
    return text;
  }

  /** Say goodbye if the device listens, then drop the connection either way. */
  async close(logout?: string): Promise<void> {
    if (!this.#closed && logout) {
      try {
        this.#channel.write(logout + this.#eol);
        this.#channel.end();
      } catch {
        // Already gone: nothing to log out of.
      }
    }
    this.#client.end();
    this.#closed = true;
  }
}
