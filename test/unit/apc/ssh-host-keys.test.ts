// lib/ssh host key rules: OpenSSH known_hosts matching (plain, [host]:port, hashed, wildcards, negation,
// @revoked), fingerprints as ssh-keygen prints them, and ssh_options parsing. No network.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FenceError } from '../../../lib/errors.js';
import {
  acceptNewWithoutFile,
  appendKnownHost,
  checkKnownHosts,
  pubkeyAlgorithmAccepted,
  readOnlyKnownHostsFiles,
  recordKeyCommand,
  knownKeyTypes,
  preferredHostKeyAlgorithms,
  keyTypeOf,
  knownHostsLine,
  parseKnownHosts,
  parseSshOptions,
  patternsMatch,
  readKnownHosts,
  sha256Fingerprint,
} from '../../../lib/ssh/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fk-ssh-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keypair(name: string): { blob: Buffer; line: string; file: string } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  const line = readFileSync(`${file}.pub`, 'utf8').trim();
  return { blob: Buffer.from(line.split(' ')[1]!, 'base64'), line, file };
}

const a = keypair('a');
const b = keypair('b');

describe('fingerprints', () => {
  it('match ssh-keygen -lf', () => {
    const printed = execFileSync('ssh-keygen', ['-lf', `${a.file}.pub`]).toString().split(' ')[1];
    expect(sha256Fingerprint(a.blob)).toBe(printed);
    expect(keyTypeOf(a.blob)).toBe('ssh-ed25519');
  });
});

describe('known_hosts', () => {
  const type = 'ssh-ed25519';
  const b64 = (k: Buffer) => k.toString('base64');

  it('matches plain names on port 22 and [host]:port elsewhere', () => {
    const entries = parseKnownHosts(`pdu1,10.0.0.5 ${type} ${b64(a.blob)}\n[10.0.0.5]:2222 ${type} ${b64(b.blob)}\n`);
    expect(checkKnownHosts(entries, '10.0.0.5', 22, a.blob).result).toBe('match');
    expect(checkKnownHosts(entries, '10.0.0.5', 2222, b.blob).result).toBe('match');
    expect(checkKnownHosts(entries, '10.0.0.5', 2222, a.blob).result).toBe('mismatch');
    expect(checkKnownHosts(entries, '10.0.0.6', 22, a.blob).result).toBe('unknown');
  });

  it('matches hashed names, as ssh-keygen -H writes them', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `[127.0.0.1]:2200 ${type} ${b64(a.blob)}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|/);
    expect(checkKnownHosts(parseKnownHosts(text), '127.0.0.1', 2200, a.blob).result).toBe('match');
    expect(checkKnownHosts(parseKnownHosts(text), '127.0.0.1', 2201, a.blob).result).toBe('unknown');
    expect(checkKnownHosts(parseKnownHosts(knownHostsLine('pdu', 22, b.blob)), 'pdu', 22, b.blob).result).toBe('match');
  });

  it('honours wildcards, negation, @revoked and skips @cert-authority', () => {
    expect(patternsMatch('pdu-*,!pdu-9', 'pdu-1')).toBe(true);
    expect(patternsMatch('pdu-*,!pdu-9', 'pdu-9')).toBe(false);
    expect(patternsMatch('pdu-?', 'pdu-10')).toBe(false);
    const entries = parseKnownHosts(`@revoked * ${type} ${b64(b.blob)}\n@cert-authority * ${type} ${b64(a.blob)}\npdu ${type} ${b64(b.blob)}\n`);
    expect(checkKnownHosts(entries, 'pdu', 22, b.blob).result).toBe('revoked');
    expect(checkKnownHosts(entries, 'other', 22, a.blob).result).toBe('unknown');
  });

  it('keys of other types only are "unknown for this type", not a changed key; another key of the same type is', () => {
    const rsaLine = `pdu ssh-rsa ${b64(Buffer.from('rsa-blob'))}\necdsa-host ecdsa-sha2-nistp256 ${b64(Buffer.from('ec-blob'))}\n`;
    const entries = parseKnownHosts(`${rsaLine}pdu2 ${type} ${b64(b.blob)}\n`);
    expect(checkKnownHosts(entries, 'pdu', 22, a.blob)).toEqual({ result: 'unknown-type', knownTypes: ['ssh-rsa'] });
    expect(checkKnownHosts(entries, 'pdu2', 22, a.blob)).toEqual({ result: 'mismatch', lines: [3], places: ['line 3'] });
    expect(knownKeyTypes(entries, 'pdu', 22)).toEqual(['ssh-rsa']);
    expect(knownKeyTypes(entries, 'nowhere', 22)).toEqual([]);
  });

  it('asks for the known types first, as OpenSSH orders HostKeyAlgorithms', () => {
    expect(preferredHostKeyAlgorithms(['ecdsa-sha2-nistp256'])).toEqual(['ecdsa-sha2-nistp256']);
    expect(preferredHostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519'])).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    expect(preferredHostKeyAlgorithms(['sk-ssh-ed25519@openssh.com'])).toEqual([]);
  });

  it('names the command that records exactly the offered key, quoted for sh, in a line OpenSSH finds', () => {
    const file = join(dir, "kh with 'quote");
    const command = recordKeyCommand(file, '127.0.0.1', 2222, a.blob);
    expect(command).toBe(`echo '[127.0.0.1]:2222 ssh-ed25519 ${a.blob.toString('base64')}' >> '${join(dir, "kh with '\\''quote")}'`);
    execFileSync('/bin/sh', ['-c', command]);
    expect(checkKnownHosts(readKnownHosts(file), '127.0.0.1', 2222, a.blob)).toEqual({ result: 'match', line: 1, place: `${file}:1` });
    expect(recordKeyCommand('/root/.ssh/known_hosts', 'pdu1', 22, a.blob)).toBe(`echo 'pdu1 ssh-ed25519 ${a.blob.toString('base64')}' >> /root/.ssh/known_hosts`);
  });

  it('accept-new with nowhere to keep the key is refused; with a file or a pinned fingerprint it is not', () => {
    for (const file of [null, undefined, 'none', '/dev/null']) expect(acceptNewWithoutFile('accept-new', file)?.kind).toBe('bad-input');
    expect(acceptNewWithoutFile('accept-new', '/root/.ssh/known_hosts')).toBeUndefined();
    expect(acceptNewWithoutFile('accept-new', null, `SHA256:${'a'.repeat(43)}`)).toBeUndefined();
    expect(acceptNewWithoutFile('strict', null)).toBeUndefined();
  });

  it('appends a hashed line that OpenSSH itself finds (ssh-keygen -F)', () => {
    const file = join(dir, 'kh');
    appendKnownHost(file, '127.0.0.1', 2022, a.blob);
    expect(readKnownHosts(file)).toHaveLength(1);
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2022', '-f', file]).toString();
    expect(found).toContain(b64(a.blob));
  });
});

describe('ssh_options', () => {
  const kind = (text: string) => {
    try {
      parseSshOptions(text);
      return 'no error';
    } catch (err) {
      return (err as FenceError).kind;
    }
  };

  it('takes what the built-in client can honour', () => {
    const o = parseSshOptions('-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/etc/fk/kh -c aes256-ctr -o KexAlgorithms=+diffie-hellman-group14-sha1 -4 -q -o ConnectTimeout=5');
    expect(o.hostKeyPolicy).toBe('accept-new');
    expect(o.knownHostsFile).toBe('/etc/fk/kh');
    expect(o.algorithms).toEqual({ cipher: ['aes256-ctr'], kex: { append: ['diffie-hellman-group14-sha1'] } });
    expect(o.family).toBe(4);
    expect(o.ignored).toEqual(['-q', '-o ConnectTimeout=5']);
    expect(parseSshOptions('-o UserKnownHostsFile=/dev/null').knownHostsFile).toBeNull();
    expect(parseSshOptions('').ignored).toEqual([]);
  });

  it('sets each algorithm list from its own keyword, in any case, with OpenSSH\'s +, - and ^ changes', () => {
    const o = parseSshOptions('-o Ciphers=^aes128-ctr -o KexAlgorithms=curve25519-sha256 -o HostKeyAlgorithms=-ssh-rsa -o MACS=hmac-sha2-256,hmac-sha2-512 -o PubkeyAcceptedAlgorithms=ssh-ed25519');
    expect(o.algorithms).toEqual({
      cipher: { prepend: ['aes128-ctr'] },
      kex: ['curve25519-sha256'],
      serverHostKey: { remove: ['ssh-rsa'] },
      hmac: ['hmac-sha2-256', 'hmac-sha2-512'],
      pubkey: ['ssh-ed25519'],
    });
    expect(o.ignored).toEqual([]);
  });

  it('reads the known_hosts files OpenSSH would: UserKnownHostsFile\'s further files and GlobalKnownHostsFile, read-only', () => {
    expect(readOnlyKnownHostsFiles(parseSshOptions(''))).toEqual(['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
    const o = parseSshOptions('-o "UserKnownHostsFile=/a /b ~/c" -o GlobalKnownHostsFile=/g');
    expect(o.knownHostsFile).toBe('/a');
    expect(readOnlyKnownHostsFiles(o)).toEqual(['/b', join(homedir(), 'c'), '/g']);
    expect(readOnlyKnownHostsFiles(parseSshOptions('-o GlobalKnownHostsFile=/dev/null'))).toEqual([]);
    expect(kind('-o UserKnownHostsFile=~/.ssh/known_hosts_%h')).toBe('bad-input');
  });

  it('accepts the OpenSSH options that change nothing for this client, and keeps PubkeyAcceptedAlgorithms to check the key', () => {
    const o = parseSshOptions('-o CheckHostIP=no -o ConnectionAttempts=3 -o IdentitiesOnly=yes -o GSSAPIAuthentication=no -o PubkeyAcceptedKeyTypes=+ssh-rsa');
    expect(o.ignored).toEqual(['-o CheckHostIP=no', '-o ConnectionAttempts=3', '-o IdentitiesOnly=yes', '-o GSSAPIAuthentication=no']);
    expect(o.algorithms).toEqual({ pubkey: { append: ['ssh-rsa'] } });
    expect(parseSshOptions('-o ControlMaster=no -o ControlPath=none').ignored).toHaveLength(2);
    expect(pubkeyAlgorithmAccepted({ append: ['ssh-rsa'] }, 'ssh-ed25519')).toBe(true);
    expect(pubkeyAlgorithmAccepted(['rsa-sha2-512'], 'ssh-rsa')).toBe(true);
    expect(pubkeyAlgorithmAccepted(['rsa-sha2-512'], 'ssh-ed25519')).toBe(false);
    expect(pubkeyAlgorithmAccepted({ remove: ['ecdsa-*'] }, 'ecdsa-sha2-nistp256')).toBe(false);
    expect(pubkeyAlgorithmAccepted(['ssh-*'], 'ssh-ed25519')).toBe(true);
  });

  it('refuses by name what it cannot honour, and never a policy that accepts changed keys', () => {
    expect(kind('-1 -c blowfish')).toBe('bad-input');
    expect(kind('-o StrictHostKeyChecking=no')).toBe('bad-input');
    expect(kind('-L 80:localhost:80')).toBe('bad-input');
    expect(kind('-o ProxyCommand=nc %h %p')).toBe('bad-input');
    expect(kind('-p 2222')).toBe('bad-input');
  });
});
