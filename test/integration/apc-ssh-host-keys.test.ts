// SSH host keys for a migrated fence_apc configuration (issue 14, item 2): strict checking stays, but the
// known_hosts files are those OpenSSH reads (the user's, then /etc/ssh/ssh_known_hosts, or what
// UserKnownHostsFile / GlobalKnownHostsFile in ssh_options say), OpenSSH options that change nothing here are
// accepted, and an unknown key's error names the command that records exactly that key.
// Peer: the ssh2 APC CLI fixture (test/peers/apc-ssh.ts). The system-wide file is tested in a mount namespace
// of the test's own (unshare -m) with a directory of the test bound over /etc/ssh: the machine's is untouched.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApcSsh, type ApcSshPeer } from '../peers/apc-ssh.js';
import { BIN, runAgentBinary, stdinOf } from '../support/run-agent.js';

const PASSWORD = 'apc-secret-pw';
let card: ApcSshPeer;
let work: string;
/** A HOME without .ssh: the default ~/.ssh/known_hosts does not exist. */
let home: string;
let keyFile: string;

type Cfg = Record<string, string | number>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fk-ssh-hostkeys-'));
  home = join(work, 'home');
  mkdirSync(home);
  keyFile = join(work, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fencekit-test', '-f', keyFile]);
  card = await startApcSsh({
    users: [
      { username: 'apc', password: PASSWORD },
      { username: 'keyuser', authorizedKeys: [readFileSync(`${keyFile}.pub`, 'utf8').trim()] },
    ],
  });
});
afterAll(async () => {
  await card?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const base = (extra: Cfg = {}): Cfg => ({ ip: card.host, ipport: card.port, ssh: 1, username: 'apc', password: PASSWORD, plug: 1, action: 'status', ...extra });
const agent = (cfg: Cfg) => runAgentBinary('fence_kit_apc', { stdin: stdinOf(cfg), env: { HOME: home }, timeoutMs: 60_000 });

/** The agent in a mount namespace of its own where `etcSsh` is /etc/ssh. */
function agentWithEtcSsh(etcSsh: string, cfg: Cfg) {
  return runAgentBinary('/usr/bin/unshare', {
    argv: ['--mount', '--propagation', 'private', '/bin/sh', '-c', 'mount --bind "$1" /etc/ssh && exec "$2"', 'sh', etcSsh, join(BIN, 'fence_kit_apc')],
    stdin: stdinOf(cfg),
    env: { HOME: home },
    timeoutMs: 60_000,
  });
}

function dirWith(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

describe('known_hosts files as OpenSSH reads them', () => {
  it('the system-wide /etc/ssh/ssh_known_hosts holds the key: the login succeeds with no known_hosts option at all', async () => {
    const withKey = dirWith('etc-ssh-with-key', { ssh_known_hosts: `${card.hostKey.knownHostsLine}\n` });
    const r = await agentWithEtcSsh(withKey, base({ verbose: 1 }));
    expect(r.stdout.trim(), r.stderr).toBe('Status: ON');
    expect(r.stderr).toContain(`matches /etc/ssh/ssh_known_hosts:1`);
    // The control: the same namespace without the file refuses the unknown key.
    const without = dirWith('etc-ssh-empty', {});
    const refused = await agentWithEtcSsh(without, base());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not known');
  });

  it('GlobalKnownHostsFile and a second UserKnownHostsFile in ssh_options are read; accept-new writes only into the first user file', async () => {
    const global = join(work, 'global_known_hosts');
    writeFileSync(global, `${card.hostKey.knownHostsLine}\n`);
    const viaGlobal = await agent(base({ ssh_options: `-o GlobalKnownHostsFile=${global}` }));
    expect(viaGlobal.stdout.trim(), viaGlobal.stderr).toBe('Status: ON');

    const first = join(work, 'user_first');
    const second = join(work, 'user_second');
    writeFileSync(second, `${card.hostKey.knownHostsLine}\n`);
    const viaSecond = await agent(base({ ssh_options: `-o "UserKnownHostsFile=${first} ${second}" -o StrictHostKeyChecking=accept-new` }));
    expect(viaSecond.stdout.trim(), viaSecond.stderr).toBe('Status: ON');
    expect(viaSecond.stderr).not.toContain('accepted new host key'); // known already: nothing recorded
    expect(spawnSync('test', ['-e', first]).status).not.toBe(0);

    // A key of the same type recorded for the card in a read-only file is a change, whatever the first file says.
    const changed = join(work, 'global_changed');
    const other = join(work, 'other_host');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const [type, blob] = readFileSync(`${other}.pub`, 'utf8').split(' ');
    writeFileSync(changed, `[127.0.0.1]:${card.port} ${type} ${blob}\n`);
    const logins = card.logins.length;
    const r = await agent(base({ ssh_options: `-o GlobalKnownHostsFile=${changed} -o StrictHostKeyChecking=accept-new`, ssh_known_hosts: join(work, 'user_empty') }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`CHANGED`);
    expect(r.stderr).toContain(`${changed}:1`);
    expect(card.logins.length).toBe(logins);
  });
});

describe('an unknown host key', () => {
  it('is refused, and the error names the command that records exactly that key: run, it lets the next login in', async () => {
    const file = join(work, 'known_hosts_to_fill');
    const logins = card.logins.length;
    const refused = await agent(base({ ssh_known_hosts: file }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(card.hostKey.fingerprint);
    expect(card.logins.length).toBe(logins);
    const command = /record exactly this key with: (echo .*? >> \S+)/.exec(refused.stderr)?.[1];
    expect(command, refused.stderr).toBeDefined();
    execFileSync('/bin/sh', ['-c', command!]);
    expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:${card.port} ${card.hostKey.type} ${card.hostKey.blob.toString('base64')}\n`);
    // What was recorded is what OpenSSH finds for the card.
    expect(execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${card.port}`, '-f', file]).toString()).toContain(card.hostKey.type);
    const later = await agent(base({ ssh_known_hosts: file }));
    expect(later.stdout.trim(), later.stderr).toBe('Status: ON');
  });

  it('with no known_hosts file to record in (UserKnownHostsFile=/dev/null), the error says to pin the fingerprint', async () => {
    const r = await agent(base({ ssh_options: '-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ssh_host_key_fingerprint=${card.hostKey.fingerprint}`);
    const pinned = await agent(base({ ssh_options: '-o UserKnownHostsFile=/dev/null', ssh_host_key_fingerprint: card.hostKey.fingerprint }));
    expect(pinned.stdout.trim(), pinned.stderr).toBe('Status: ON');
  });
});

describe('OpenSSH options in ssh_options', () => {
  it('CheckHostIP, ConnectionAttempts, IdentitiesOnly, GSSAPIAuthentication and PubkeyAcceptedAlgorithms are accepted', async () => {
    const known = join(work, 'known_hosts_card');
    writeFileSync(known, `${card.hostKey.knownHostsLine}\n`);
    const options = '-o CheckHostIP=no -o ConnectionAttempts=3 -o IdentitiesOnly=yes -o GSSAPIAuthentication=no -o PubkeyAcceptedAlgorithms=+ssh-rsa';
    const { password: _none, ...byKeyCfg } = base({ ssh_known_hosts: known, username: 'keyuser', identity_file: keyFile, ssh_options: options });
    const byKey = await agent(byKeyCfg);
    expect(byKey.stdout.trim(), byKey.stderr).toBe('Status: ON');
    expect(card.logins.at(-1)).toEqual({ username: 'keyuser', method: 'publickey' });
    const keyTypes = await agent(base({ ssh_known_hosts: known, ssh_options: '-o PubkeyAcceptedKeyTypes=ssh-ed25519,rsa-sha2-512' }));
    expect(keyTypes.stdout.trim(), keyTypes.stderr).toBe('Status: ON');
  });

  it('PubkeyAcceptedAlgorithms that leaves out the identity key\'s type is honoured: the key is not offered: with no password the run is refused before any login', async () => {
    const known = join(work, 'known_hosts_card');
    writeFileSync(known, `${card.hostKey.knownHostsLine}\n`);
    const logins = card.logins.length;
    const { password: _none, ...cfg } = base({ ssh_known_hosts: known, username: 'keyuser', identity_file: keyFile, ssh_options: '-o PubkeyAcceptedAlgorithms=rsa-sha2-512,rsa-sha2-256' });
    const r = await agent(cfg);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PubkeyAcceptedAlgorithms leaves out the identity key's type \(ssh-ed25519\), and there is no password/);
    expect(card.logins.length).toBe(logins);
    // With a password as well, OpenSSH logs in with the password: so does fencekit.
    const withPassword = await agent(base({ ssh_known_hosts: known, identity_file: keyFile, ssh_options: '-o PubkeyAcceptedAlgorithms=rsa-sha2-512' }));
    expect(withPassword.stdout.trim(), withPassword.stderr).toBe('Status: ON');
    expect(withPassword.stderr).toMatch(/the key is not offered/);
    expect(card.logins.at(-1)).toEqual({ username: 'apc', method: 'password' });
  });

  it('StrictHostKeyChecking=no stays refused, with its explanation', async () => {
    const r = await agent(base({ ssh_options: '-o StrictHostKeyChecking=no' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/StrictHostKeyChecking=no would accept a changed host key/);
  });
});
