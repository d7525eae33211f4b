// An APC network management card's SSH command line for tests and benchmarks: an ssh2 Server on a free
// loopback port speaking the AOS 6 `apc>` dialogue (banner, olStatus, olOn, olOff, olReboot, Exxx codes),
// on a shell channel (with or without a pty) and on exec requests (`ssh card olStatus all`), so OpenSSH's
// own client can drive it too. Outlets live in memory, or are the outlets of a running PowerNet emulator
// (test/peers/snmpd-pdu.ts), so that "off" kills the same real process the SNMP tests watch and faults
// (lying, slow, refusing, unknown-value outlets) apply the same way on both paths.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { PduPeer } from './snmpd-pdu.js';

const { Server, utils } = ssh2;

export interface CliOutletView {
  number: number;
  name: string;
  /** What the card prints: "On", "Off", or anything else (an outlet whose state it cannot tell). */
  word: string;
}

/** Where the outlets are: the fixture only reads and commands them. */
export interface OutletBackend {
  outlets(): CliOutletView[];
  /** 'DONE', or a refusal ('commit-failed', 'no-such-outlet'). */
  command(n: number, command: 'on' | 'off' | 'reboot'): string;
}

/** Outlets in memory: on/off flips at once. */
export function memoryOutlets(count: number, names: string[] = []): OutletBackend & { state: boolean[] } {
  const state = Array.from({ length: count }, () => true);
  return {
    state,
    outlets: () => state.map((on, i) => ({ number: i + 1, name: names[i] ?? `Outlet ${i + 1}`, word: on ? 'On' : 'Off' })),
    command: (n, command) => {
      if (n < 1 || n > count) return 'no-such-outlet';
      state[n - 1] = command !== 'off';
      return 'DONE';
    },
  };
}

/** The outlets of a running PowerNet emulator: the same state, processes and faults as over SNMP. */
export function pduOutlets(pdu: PduPeer): OutletBackend {
  return {
    outlets: () =>
      pdu.readState().outlets.map((o) => {
        const fault = o.fault;
        const word = fault?.kind === 'unknown-value' ? 'Unknown' : o.on ? 'On' : 'Off';
        return { number: o.index, name: o.name, word };
      }),
    command: (n, command) => pdu.commandOutlet(n, command),
  };
}

export interface ApcSshUser {
  username: string;
  password?: string;
  /** OpenSSH public key line(s) ("ssh-ed25519 AAAA... comment") accepted for this user. */
  authorizedKeys?: string[];
  /** Ask the password through keyboard-interactive only (as PAM-backed cards do). */
  keyboardInteractiveOnly?: boolean;
  /** A "Device Only" / read-only account: outlet commands answer E104. */
  readOnly?: boolean;
}

export interface ApcSshOptions {
  outlets?: OutletBackend; // default: 8 in memory
  users?: ApcSshUser[]; // default: apc / apc
  /** Host key (OpenSSH or PEM private key); a fresh ed25519 key when not given. */
  hostKey?: string | Buffer;
  /** More host keys of other types (as an OpenSSH server has ed25519, ecdsa and rsa); the client picks one. */
  extraHostKeys?: (string | Buffer)[];
  /** AOS version in the banner; fence_apc keys its dialogue on the major version. */
  aosVersion?: string;
  /** Loopback address to listen on: 127.0.0.1 (default) or ::1. */
  address?: '127.0.0.1' | '::1';
  /** Accept the login, then never answer the client's session (channel open) request. */
  silentAfterLogin?: boolean;
}

export interface ApcSshPeer {
  host: string;
  port: number;
  /** The host key's public blob and its OpenSSH forms, for known_hosts files and pinned fingerprints. */
  hostKey: { blob: Buffer; type: string; fingerprint: string; knownHostsLine: string };
  /** Every host key the card offers (hostKey first, then extraHostKeys), in the same form. */
  hostKeys: { blob: Buffer; type: string; fingerprint: string; knownHostsLine: string }[];
  /** Every command line the card received, in order. */
  commands: string[];
  /** Logins that succeeded, by method. */
  logins: { username: string; method: string }[];
  stop(): Promise<void>;
}

export const DEFAULT_USERS: ApcSshUser[] = [{ username: 'apc', password: 'apc-secret-pw' }];

function banner(version: string): string {
  return [
    '',
    `American Power Conversion               Network Management Card AOS      v${version}`,
    `(c) Copyright 2016 All Rights Reserved  RPDU 2g v${version}`,
    '-------------------------------------------------------------------------------',
    'Name      : fencekit-pdu                              Date : 11/28/2026',
    'Contact   : Unknown                                   Time : 05:00:00',
    'Location  : Unknown                                   User : Administrator',
    'Up Time   : 0 Days 1 Hours 2 Minutes                  Stat : P+ N4+ N6+ A+',
    '',
    'Type ? for command listing',
    'Use tcpip command for IP address(-i), subnet(-s), and gateway(-g)',
    '',
  ].join('\r\n');
}

const PROMPT = '\r\napc>';

function same(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** The card's answer to one command line (without the prompt). */
export function answer(line: string, backend: OutletBackend, user: ApcSshUser): string {
  const [cmd = '', ...args] = line.trim().split(/\s+/);
  const arg = args.join(' ');
  const pick = (outlets: CliOutletView[]): CliOutletView[] | undefined => {
    if (arg.toLowerCase() === 'all') return outlets;
    const parts = arg.split(',').map((s) => s.trim());
    const chosen: CliOutletView[] = [];
    for (const p of parts) {
      const o = /^\d+$/.test(p) ? outlets.find((x) => x.number === Number(p)) : outlets.find((x) => x.name === p);
      if (!o) return undefined;
      chosen.push(o);
    }
    return chosen.length > 0 ? chosen : undefined;
  };
  switch (cmd.toLowerCase()) {
    case '':
      return '';
    case 'olstatus': {
      const chosen = pick(backend.outlets());
      if (!chosen) return 'E102: Parameter Error';
      return ['E000: Success', ...chosen.map((o) => ` ${o.number}: ${o.name}: ${o.word}`)].join('\r\n');
    }
    case 'olon':
    case 'oloff':
    case 'olreboot': {
      if (user.readOnly) return 'E104: User Level Denial';
      const chosen = pick(backend.outlets());
      if (!chosen) return 'E102: Parameter Error';
      const word = cmd.toLowerCase() === 'olon' ? 'on' : cmd.toLowerCase() === 'oloff' ? 'off' : 'reboot';
      for (const o of chosen) {
        const r = backend.command(o.number, word);
        if (r === 'no-such-outlet') return 'E102: Parameter Error';
        if (r !== 'DONE') return 'E100: Command Failed';
      }
      return 'E000: Success';
    }
    case '?':
    case 'help':
      return 'E000: Success\r\nolStatus  olOn  olOff  olReboot  exit  quit  bye';
    default:
      return 'E101: Command Not Found';
  }
}

/**
 * A fresh ed25519 host key. ssh2's generateKeyPairSync now and then (measured: 7 in 3,000) writes a key its own
 * parseKey refuses ("Malformed OpenSSH private key"), which failed a whole test file's setup: draw again.
 */
function generatedHostKey(): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const key = utils.generateKeyPairSync('ed25519').private;
    if (!(utils.parseKey(key) instanceof Error)) return key;
  }
  throw new Error('ssh2 generated no ed25519 host key it can parse in 20 attempts');
}

export async function startApcSsh(options: ApcSshOptions = {}): Promise<ApcSshPeer> {
  const backend = options.outlets ?? memoryOutlets(8);
  const users = options.users ?? DEFAULT_USERS;
  const version = options.aosVersion ?? '6.4.6';
  const address = options.address ?? '127.0.0.1';
  const hostKeyText = options.hostKey ?? generatedHostKey();
  const hostKeyTexts = [hostKeyText, ...(options.extraHostKeys ?? [])];
  const publicForms = hostKeyTexts.map((text) => {
    const parsedHost = utils.parseKey(text);
    if (parsedHost instanceof Error) throw parsedHost;
    const hostParsed = Array.isArray(parsedHost) ? parsedHost[0] : parsedHost;
    const blob = hostParsed.getPublicSSH() as Buffer;
    return { blob, type: hostParsed.type, fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}` };
  });
  const commands: string[] = [];
  const logins: ApcSshPeer['logins'] = [];
  const connections = new Set<{ end(): void }>();

  const server = new Server({ hostKeys: hostKeyTexts }, (client) => {
    connections.add(client);
    let user: ApcSshUser | undefined;
    client.on('error', () => undefined);
    client.on('close', () => connections.delete(client));
    client.on('authentication', (ctx) => {
      const candidate = users.find((u) => u.username === ctx.username);
      if (!candidate) return ctx.reject();
      if (ctx.method === 'password' && candidate.password !== undefined && !candidate.keyboardInteractiveOnly && same(ctx.password, candidate.password)) {
        user = candidate;
        logins.push({ username: candidate.username, method: 'password' });
        return ctx.accept();
      }
      if (ctx.method === 'keyboard-interactive' && candidate.password !== undefined) {
        return ctx.prompt([{ prompt: 'Password: ', echo: false }], 'APC login', (answers) => {
          if (answers.length === 1 && same(answers[0] ?? '', candidate.password!)) {
            user = candidate;
            logins.push({ username: candidate.username, method: 'keyboard-interactive' });
            ctx.accept();
          } else ctx.reject();
        });
      }
      if (ctx.method === 'publickey') {
        const allowed = (candidate.authorizedKeys ?? []).map((line) => {
          const k = utils.parseKey(line);
          return k instanceof Error ? undefined : Array.isArray(k) ? k[0] : k;
        });
        const match = allowed.find((k) => k && k.type === ctx.key.algo && (k.getPublicSSH() as Buffer).equals(ctx.key.data));
        if (!match) return ctx.reject();
        if (!ctx.signature) return ctx.accept(); // the client asks whether this key would do
        if (match.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject();
        user = candidate;
        logins.push({ username: candidate.username, method: 'publickey' });
        return ctx.accept();
      }
      const methods: ('password' | 'publickey' | 'keyboard-interactive')[] = [];
      if (candidate.authorizedKeys?.length) methods.push('publickey');
      if (candidate.password !== undefined) methods.push(candidate.keyboardInteractiveOnly ? 'keyboard-interactive' : 'password', 'keyboard-interactive');
      return ctx.reject([...new Set(methods)]);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        if (options.silentAfterLogin) return;
        const session = accept();
        session.on('pty', (acceptPty) => acceptPty?.());
        session.on('env', (acceptEnv) => acceptEnv?.());
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          commands.push(info.command);
          stream.write(answer(info.command, backend, user!) + '\r\n');
          stream.exit(0);
          stream.end();
        });
        session.on('shell', (acceptShell) => {
          const stream = acceptShell();
          stream.write(banner(version) + PROMPT);
          let pending = '';
          let lastWasCr = false;
          stream.on('data', (chunk: Buffer) => {
            for (const ch of chunk.toString('latin1')) {
              // A terminal's Enter is CR; CRLF counts once, so both kinds of client get one prompt per line.
              if (ch === '\n' && lastWasCr) {
                lastWasCr = false;
                continue;
              }
              lastWasCr = ch === '\r';
              if (ch !== '\r' && ch !== '\n') {
                pending += ch;
                continue;
              }
              const line = pending;
              pending = '';
              const echo = line + '\r\n'; // the card echoes what was typed
              const cmd = line.trim().toLowerCase();
              if (cmd === 'exit' || cmd === 'quit' || cmd === 'bye') {
                stream.write(echo + 'Bye.\r\n');
                stream.exit(0);
                stream.end();
                return;
              }
              if (line.trim() !== '') commands.push(line.trim());
              const text = answer(line, backend, user!);
              stream.write(echo + (text ? text + '\r\n' : '') + PROMPT.replace(/^\r\n/, ''));
            }
          });
        });
      });
    });
  });

  // Nagle off on the card's side too: the echo and the answer are separate writes, and a delayed ACK would
  // hold the answer back 40 ms, a delay of this fixture and not of the agent under test.
  (server as unknown as { _srv: import('node:net').Server })._srv.prependListener('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostKeys = publicForms.map((k) => ({ ...k, knownHostsLine: `[${address}]:${port} ${k.type} ${k.blob.toString('base64')}` }));
  return {
    host: address,
    port,
    hostKey: hostKeys[0]!,
    hostKeys,
    commands,
    logins,
    stop: async () => {
      for (const c of connections) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
