// fence_kit_apc over the APC SSH command line (ssh=1) against the ssh2 Server fixture speaking the AOS
// `apc>` dialogue (test/peers/apc-ssh.ts), whose outlets are those of a real snmpd + PowerNet emulator, so
// "off" is a killed process seen through /proc. The same fixture is driven once by OpenSSH's own `ssh`
// client, to prove it speaks real SSH.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pduOutlets, startApcSsh, type ApcSshPeer } from '../peers/apc-ssh.js';
import { startPdu, type PduPeer } from '../peers/snmpd-pdu.js';
import ssh2 from 'ssh2';
import { runAgentBinary } from '../support/run-agent.js';
import { startSilentDevice } from '../support/silent-device.js';

const NAMES = ['web1', 'node1-psu-a', 'node1-psu-b', 'db1'];
const PASSWORD = 'apc-secret-pw';
const KEY_PASSPHRASE = 'key-passphrase-1';

type Cfg = Record<string, string | number>;
const stdinOf = (cfg: Cfg) => Object.entries(cfg).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
const agent = (cfg: Cfg) => runAgentBinary('fence_kit_apc', { stdin: stdinOf(cfg), timeoutMs: 60_000 });

let pdu: PduPeer;
let card: ApcSshPeer;
let work: string;
let knownHosts: string;
let keyFile: string;
let encryptedKeyFile: string;

function keygen(file: string, passphrase: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'fencekit-test', '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fk-apc-ssh-'));
  keyFile = join(work, 'id_ed25519');
  encryptedKeyFile = join(work, 'id_encrypted');
  const pub = keygen(keyFile, '');
  const encryptedPub = keygen(encryptedKeyFile, KEY_PASSPHRASE);
  pdu = await startPdu({ outlets: 4, names: NAMES });
  card = await startApcSsh({
    outlets: pduOutlets(pdu),
    users: [
      { username: 'apc', password: PASSWORD },
      { username: 'keyuser', authorizedKeys: [pub, encryptedPub] },
      { username: 'pamuser', password: PASSWORD, keyboardInteractiveOnly: true },
      { username: 'viewer', password: PASSWORD, readOnly: true },
    ],
  });
  knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `${card.hostKey.knownHostsLine}\n`);
});
afterAll(async () => {
  await card?.stop();
  await pdu?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  for (let n = 1; n <= 4; n++) {
    pdu.setFault(n, null);
    if (!pdu.isOutletPowered(n)) pdu.setOutletState(n, true);
  }
});

const ssh = (extra: Cfg = {}): Cfg => ({
  ip: card.host, ipport: card.port, ssh: 1, username: 'apc', password: PASSWORD, ssh_known_hosts: knownHosts, ...extra,
});

describe('fence_kit_apc ssh=1 against the ssh2 APC CLI fixture (outlets of a real PowerNet emulator)', () => {
  it('status, off, on, reboot through olStatus / olOff / olOn with password auth', async () => {
    const s = await agent({ ...ssh(), plug: 4, action: 'status', verbose: 1 });
    expect(s.stdout.trim(), s.stderr).toBe('Status: ON');
    expect(s.stderr).toContain('(TCP_NODELAY)');
    expect(s.stderr).not.toContain(PASSWORD);
    const monitor = await agent({ ...ssh(), action: 'monitor' });
    expect(monitor.code, monitor.stderr).toBe(0);
    const off = await agent({ ...ssh(), plug: 4, action: 'off' });
    expect(off.code, off.stderr).toBe(0);
    expect(pdu.isOutletPowered(4)).toBe(false);
    expect(card.commands).toContain('olOff 4');
    const s2 = await agent({ ...ssh(), plug: 4, action: 'status' });
    expect(s2.code).toBe(2);
    const on = await agent({ ...ssh(), plug: 'db1', action: 'on' });
    expect(on.code, on.stderr).toBe(0);
    expect(pdu.isOutletPowered(4)).toBe(true);
    const before = pdu.outletPids()[3];
    const reboot = await agent({ ...ssh(), plug: 4, action: 'reboot' });
    expect(reboot.code, reboot.stderr).toBe(0);
    expect(pdu.outletPids()[3]).not.toBe(before);
    expect(pdu.isOutletPowered(4)).toBe(true);
  });

  it('a card that accepts the login but never opens the shell: the agent fails within login_timeout (the fault matrix saw 16.9 s at login_timeout 2)', async () => {
    const mute = await startApcSsh({ outlets: pduOutlets(pdu), users: [{ username: 'apc', password: PASSWORD }], silentAfterLogin: true });
    try {
      const started = Date.now();
      const r = await agent({ ...ssh(), ip: mute.host, ipport: mute.port, ssh_known_hosts: '/dev/null', ssh_host_key_fingerprint: mute.hostKey.fingerprint, plug: 4, action: 'off', login_timeout: 2, shell_timeout: 1, power_timeout: 3 });
      const ms = Date.now() - started;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/opening a shell on 127\.0\.0\.1:\d+/);
      expect(mute.logins).toHaveLength(1);
      expect(ms).toBeLessThan(2000 + 1500);
      expect(pdu.isOutletPowered(4)).toBe(true);
    } finally {
      await mute.stop();
    }
  });

  it("inet6_only (-6) reaches a card on ::1; inet4_only (-4) refuses ::1 before any login, and the outlet keeps running", async () => {
    const v6 = await startApcSsh({ outlets: pduOutlets(pdu), users: [{ username: 'apc', password: PASSWORD }], address: '::1' });
    try {
      const at = { ...ssh(), ip: v6.host, ipport: v6.port, ssh_known_hosts: '/dev/null', ssh_host_key_fingerprint: v6.hostKey.fingerprint, plug: 4 };
      const s = await agent({ ...at, inet6_only: 1, action: 'status' });
      expect(s.stderr).toBe('');
      expect(s).toMatchObject({ code: 0, stdout: 'Status: ON\n' });
      for (const action of ['validate-all', 'off']) {
        const r = await agent({ ...at, inet4_only: 1, action });
        expect(r.code, action).toBe(1);
        expect(r.stderr).toMatch(/inet4_only.*IPv6 address/);
      }
      const argv = await runAgentBinary('fence_kit_apc', { argv: ['-a', v6.host, '-u', String(v6.port), '-x', '-l', 'apc', '-p', PASSWORD, '-n', '4', '-4', '-o', 'off'] });
      expect(argv.code).toBe(1);
      expect(argv.stderr).toMatch(/inet4_only/);
      expect(v6.logins).toHaveLength(1);
      expect(pdu.isOutletPowered(4)).toBe(true);
    } finally {
      await v6.stop();
    }
  });

  it('list and list-status from olStatus all, with real states', async () => {
    pdu.setOutletState(2, false);
    const ls = await agent({ ...ssh(), action: 'list-status' });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trim().split('\n')).toEqual(['1,web1,ON', '2,node1-psu-a,OFF', '3,node1-psu-b,ON', '4,db1,ON']);
    const list = await agent({ ...ssh(), action: 'list' });
    expect(list.stdout.trim().split('\n')).toEqual(NAMES.map((n, i) => `${i + 1},${n}`));
  });

  it('two-plug off: both outlets switched and confirmed; a lying outlet among them fails', async () => {
    const r = await agent({ ...ssh(), plug: 'node1-psu-a,node1-psu-b', action: 'off' });
    expect(r.code, r.stderr).toBe(0);
    expect(pdu.isOutletPowered(2)).toBe(false);
    expect(pdu.isOutletPowered(3)).toBe(false);
    pdu.setOutletState(2, true);
    pdu.setOutletState(3, true);
    pdu.setFault(3, { kind: 'lying' });
    const lying = await agent({ ...ssh(), plug: '2,3', action: 'off', power_timeout: 3 });
    expect(lying.code).toBe(1);
    expect(lying.stdout).not.toContain('Success');
    expect(lying.stderr).toContain('timed out');
    expect(pdu.isOutletPowered(3)).toBe(true);
  });

  it('switch=2 over SSH (the command line has no switches) is refused naming switch, before any login; outlet 3 of unit 1 keeps running; switch=1 is accepted', async () => {
    const pid = pdu.outletPids()[2];
    const logins = card.logins.length;
    const commands = card.commands.length;
    for (const action of ['off', 'status', 'validate-all']) {
      const r = await agent({ ...ssh(), switch: 2, plug: 3, action });
      expect(r.code, `${action}: ${r.stderr}`).toBe(1);
      expect(r.stdout).not.toContain('Success');
      expect(r.stderr).toMatch(/option 'switch'.*command line has no switches/);
    }
    expect(card.logins.length).toBe(logins);
    expect(card.commands.length).toBe(commands);
    expect(pdu.isOutletPowered(3)).toBe(true);
    expect(pdu.outletPids()[2]).toBe(pid);
    const one = await agent({ ...ssh(), switch: 1, plug: 3, action: 'status' });
    expect(one.stdout.trim(), one.stderr).toBe('Status: ON');
  });

  it('key auth (identity_file), an encrypted key opened with the password, and keyboard-interactive', async () => {
    const key = await agent({ ...ssh({ username: 'keyuser', identity_file: keyFile }), plug: 1, action: 'status' });
    expect(key.stdout.trim(), key.stderr).toBe('Status: ON');
    const enc = await agent({ ...ssh({ username: 'keyuser', identity_file: encryptedKeyFile, password: KEY_PASSPHRASE }), plug: 1, action: 'status' });
    expect(enc.stdout.trim(), enc.stderr).toBe('Status: ON');
    const kbd = await agent({ ...ssh({ username: 'pamuser' }), plug: 1, action: 'status' });
    expect(kbd.stdout.trim(), kbd.stderr).toBe('Status: ON');
    expect(card.logins.map((l) => l.method)).toEqual(expect.arrayContaining(['publickey', 'keyboard-interactive', 'password']));
  });

  it('a wrong password is an authentication failure at once', async () => {
    const r = await agent({ ...ssh({ password: 'wrong-password' }), plug: 1, action: 'off' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unable to login');
    expect(r.ms).toBeLessThan(3_000);
    expect(pdu.isOutletPowered(1)).toBe(true);
  });

  it('a changed host key is refused before any login, with the fingerprint in the message', async () => {
    const otherKey = join(work, 'other_host');
    keygen(otherKey, '');
    const other = readFileSync(`${otherKey}.pub`, 'utf8').split(' ');
    const mismatched = join(work, 'known_hosts_changed');
    writeFileSync(mismatched, `[127.0.0.1]:${card.port} ${other[0]} ${other[1]}\n`);
    const logins = card.logins.length;
    const commands = card.commands.length;
    const r = await agent({ ...ssh({ ssh_known_hosts: mismatched, ssh_accept_new_host_key: 1 }), plug: 1, action: 'off' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CHANGED');
    expect(r.stderr).toContain(card.hostKey.fingerprint);
    expect(card.logins.length).toBe(logins);
    expect(card.commands.length).toBe(commands);
    expect(pdu.isOutletPowered(1)).toBe(true);
    const pinned = await agent({ ...ssh({ ssh_host_key_fingerprint: `SHA256:${'A'.repeat(43)}` }), plug: 1, action: 'status' });
    expect(pinned.code).toBe(1);
    expect(pinned.stderr).toContain('not the pinned');
  });

  describe('a card with two host keys (ssh-ed25519 and ecdsa-sha2-nistp256), as OpenSSH servers have several', () => {
    let twoKeys: ApcSshPeer;
    beforeAll(async () => {
      twoKeys = await startApcSsh({
        outlets: pduOutlets(pdu),
        users: [{ username: 'apc', password: PASSWORD }],
        extraHostKeys: [ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).private],
      });
    });
    afterAll(async () => {
      await twoKeys?.stop();
    });
    const at = (file: string, extra: Cfg = {}): Cfg => ({ ...ssh({ ssh_known_hosts: file }), ip: twoKeys.host, ipport: twoKeys.port, ...extra });

    it('known_hosts holding only its ECDSA key (what OpenSSH recorded): that key type is negotiated, and the login succeeds', async () => {
      const [ed25519, ecdsa] = twoKeys.hostKeys;
      expect(ed25519!.type).toBe('ssh-ed25519');
      expect(ecdsa!.type).toBe('ecdsa-sha2-nistp256');
      const file = join(work, 'known_hosts_ecdsa_only');
      writeFileSync(file, `${ecdsa!.knownHostsLine}\n`);
      const r = await agent({ ...at(file), plug: 1, action: 'status', verbose: 1 });
      expect(r.stdout.trim(), r.stderr).toBe('Status: ON');
      expect(r.stderr).toContain(ecdsa!.fingerprint);
    });

    it('known_hosts holding only a key of a type the card does not offer: "no ssh-ed25519 host key is known" with the line that records the offered key, never "CHANGED", and no login (accept-new neither)', async () => {
      const rsa = ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 }).public.split(' ');
      const file = join(work, 'known_hosts_rsa_only');
      writeFileSync(file, `[127.0.0.1]:${twoKeys.port} ${rsa[0]} ${rsa[1]}\n`);
      const logins = twoKeys.logins.length;
      for (const extra of [{}, { ssh_accept_new_host_key: 1 }] as Cfg[]) {
        const r = await agent({ ...at(file, extra), plug: 1, action: 'off' });
        expect(r.code).toBe(1);
        expect(r.stderr).not.toContain('CHANGED');
        expect(r.stderr).toMatch(/no ssh-ed25519 host key is known for \[127\.0\.0\.1\]:\d+ .*ssh-rsa/);
        expect(r.stderr).toContain(`echo '[127.0.0.1]:${twoKeys.port} ssh-ed25519 ${twoKeys.hostKeys[0]!.blob.toString('base64')}' >> ${file}`);
        expect(r.stderr).toContain(twoKeys.hostKeys[0]!.fingerprint);
      }
      expect(twoKeys.logins.length).toBe(logins);
      expect(pdu.isOutletPowered(1)).toBe(true);
      expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
    });
  });

  it('accept-new with no file to remember the key (/dev/null, none) is refused like StrictHostKeyChecking=no, before any connection', async () => {
    const silent = await startSilentDevice();
    try {
      const noFile: Cfg[] = [
        { ssh_options: '-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/dev/null' },
        { ssh_options: '-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=none' },
        { ssh_accept_new_host_key: 1, ssh_known_hosts: '/dev/null' },
        { ssh_accept_new_host_key: 1, ssh_options: '-o UserKnownHostsFile=/dev/null' },
      ];
      for (const extra of noFile) {
        const { ssh_known_hosts: _default, ...base } = ssh();
        for (const action of ['status', 'validate-all']) {
          const r = await agent({ ...base, ...extra, plug: 1, action });
          expect(r.code, `${JSON.stringify(extra)} ${action}: ${r.stdout}`).toBe(1);
          expect(r.stderr).toMatch(/accept-new.*no known_hosts file/);
          const silentRun = await agent({ ...base, ...extra, ip: '127.0.0.1', ipport: silent.port, plug: 1, action });
          expect(silentRun.code).toBe(1);
        }
      }
      expect(silent.contacts()).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it('an unknown host key is refused unless accepted explicitly; accept-new records it for next time', async () => {
    const empty = join(work, 'known_hosts_new');
    const refused = await agent({ ...ssh({ ssh_known_hosts: empty }), plug: 1, action: 'status' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not known');
    const accepted = await agent({ ...ssh({ ssh_known_hosts: empty, ssh_accept_new_host_key: 1 }), plug: 1, action: 'status' });
    expect(accepted.stdout.trim(), accepted.stderr).toBe('Status: ON');
    expect(accepted.stderr).toContain('accepted new host key');
    const later = await agent({ ...ssh({ ssh_known_hosts: empty }), plug: 1, action: 'status' });
    expect(later.stdout.trim(), later.stderr).toBe('Status: ON');
    // The same through ssh_options, the fence_apc way.
    const viaOptions = join(work, 'known_hosts_opts');
    const opt = await agent({
      ip: card.host, ipport: card.port, ssh: 1, username: 'apc', password: PASSWORD,
      ssh_options: `-o UserKnownHostsFile=${viaOptions} -o StrictHostKeyChecking=accept-new`, plug: 1, action: 'status',
    });
    expect(opt.stdout.trim(), opt.stderr).toBe('Status: ON');
    expect(readFileSync(viaOptions, 'utf8')).toMatch(/^\|1\|/);
    const pinned = await agent({ ...ssh({ ssh_known_hosts: join(work, 'none'), ssh_host_key_fingerprint: card.hostKey.fingerprint }), plug: 1, action: 'status' });
    expect(pinned.stdout.trim(), pinned.stderr).toBe('Status: ON');
  });

  it('a read-only account gets a privilege error (E104), an unknown outlet "not available" (E102 / not listed)', async () => {
    const ro = await agent({ ...ssh({ username: 'viewer' }), plug: 1, action: 'off' });
    expect(ro.code).toBe(1);
    expect(ro.stderr).toContain('Insufficient privileges');
    expect(pdu.isOutletPowered(1)).toBe(true);
    const missing = await agent({ ...ssh(), plug: 9, action: 'off' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('plug is not available');
  });

  it('an outlet the card cannot read is an error, not "off"', async () => {
    pdu.setFault(1, { kind: 'unknown-value', value: 4 });
    const r = await agent({ ...ssh(), plug: 1, action: 'status' });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('Status');
    expect(r.stderr).toContain('neither On nor Off');
  });

  it('nothing listening at the port: a bounded "Unable to connect"', async () => {
    const r = await agent({ ...ssh({ ipport: 9 }), plug: 1, action: 'off' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unable to connect');
    expect(r.ms).toBeLessThan(3_000);
  });

  it('Debian\'s fence_apc (pexpect over OpenSSH) drives the fixture: status, off, list-status, and two plugs (its CLI path switches both: the two-plug defect is fence_apc_snmp\'s)', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const env = { ...process.env };
        delete env.NODE_EXTRA_CA_CERTS;
        execFile('/usr/sbin/fence_apc', [
          `--ip=${card.host}`, `--ipport=${card.port}`, '--ssh', '--username=apc', `--password=${PASSWORD}`,
          `--ssh-options=-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -F /dev/null`, ...args,
        ], { env, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }));
      });
    const status = await run(['--plug=1', '-o', 'status']);
    expect(status.stdout.trim(), status.stderr).toBe('Status: ON');
    const off = await run(['--plug=1', '-o', 'off']);
    expect(off.code, off.stderr).toBe(0);
    expect(pdu.isOutletPowered(1)).toBe(false);
    const ls = await run(['-o', 'list-status']);
    expect(ls.stdout.trim().split('\n')).toEqual(['1,web1,Off', '2,node1-psu-a,On', '3,node1-psu-b,On', '4,db1,On']);
    const two = await run(['--plug=2,3', '-o', 'off']);
    expect(two.code, two.stderr).toBe(0);
    expect(pdu.isOutletPowered(2)).toBe(false);
    expect(pdu.isOutletPowered(3)).toBe(false);
  });

  it('the fixture speaks real SSH: OpenSSH\'s ssh client runs olStatus all on it with key auth and a strict known_hosts', async () => {
    // Asynchronously: the fixture runs in this process and must keep answering while ssh waits.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile('ssh', [
      '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes', '-o', 'GlobalKnownHostsFile=/dev/null', '-F', '/dev/null',
      '-i', keyFile, '-p', String(card.port), `keyuser@${card.host}`, 'olStatus all',
      ], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }));
    });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain('E000: Success');
    expect(out).toMatch(/^\s*1: web1: On\r?$/m);
    expect(out).toMatch(/^\s*4: db1: On\r?$/m);
  });
});
