// SNMPv3 DES privacy (issue 14, item 5): fence_apc_snmp and fence_ifmib offer snmp_priv_prot=DES, and DES
// is net-snmp's default for authPriv, so migrated configurations use it. OpenSSL 3 (every Node since 17)
// keeps single DES in its legacy provider; lib/snmp/des.ts runs it as DES-EDE3 with the key K|K|K. Proved
// here through fence_kit_apc_snmp against snmpd with a DES user (test/peers/snmpd-pdu.ts, v3.rwDes), on the Node
// that runs the tests and on every runtime `npm run runtimes` has cached in out/runtimes/, none of them
// given --openssl-legacy-provider.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPdu, type PduPeer } from '../peers/snmpd-pdu.js';
import { ROOT, runAgentBinary, stdinOf } from '../support/run-agent.js';

const RUNTIMES = join(ROOT, 'out', 'runtimes');
/** Node binaries `npm run runtimes` cached: version directory -> bin directory. */
const cachedRuntimes = existsSync(RUNTIMES)
  ? readdirSync(RUNTIMES).map((v) => [v, join(RUNTIMES, v, 'package', 'bin')] as const).filter(([, bin]) => existsSync(join(bin, 'node')))
  : [];

let pdu: PduPeer;
beforeAll(async () => {
  pdu = await startPdu({ outlets: 4 });
});
afterAll(async () => {
  await pdu?.stop();
});
afterEach(() => {
  for (let n = 1; n <= 4; n++) if (!pdu.isOutletPowered(n)) pdu.setOutletState(n, true);
});

function desUser(extra: Record<string, string | number> = {}) {
  const u = pdu.v3.rwDes;
  return {
    ip: pdu.host, ipport: pdu.port, snmp_version: 3, username: u.username, password: u.authPassword,
    snmp_auth_prot: u.authProtocol, snmp_sec_level: 'authPriv', snmp_priv_prot: 'DES', snmp_priv_passwd: u.privPassword, ...extra,
  };
}

/** The agent with no NODE_OPTIONS (so no --openssl-legacy-provider), on the first node found in `path`. */
const apc = (options: Record<string, string | number>, path = process.env.PATH) =>
  runAgentBinary('fence_kit_apc_snmp', { stdin: stdinOf(options), env: { NODE_OPTIONS: undefined, PATH: path }, timeoutMs: 60_000 });

describe('SNMPv3 authPriv with DES privacy, without --openssl-legacy-provider', () => {
  it('the peer is a real DES user: net-snmp snmpget reads with -x DES, and its AES key is refused', () => {
    const u = pdu.v3.rwDes;
    const get = (priv: string) =>
      spawnSync('snmpget', ['-v3', '-l', 'authPriv', '-u', u.username, '-a', 'SHA', '-A', u.authPassword, '-x', priv, '-X', u.privPassword,
        '-r', '0', '-t', '2', '-On', `${pdu.host}:${pdu.port}`, '.1.3.6.1.2.1.1.1.0'], { env: pdu.cliEnv(), encoding: 'utf8' });
    const des = get('DES');
    expect(des.status, des.stderr).toBe(0);
    expect(des.stdout).toMatch(/fencekit test PDU/);
    expect(get('AES').status).not.toBe(0);
  });

  it('fence_kit_apc_snmp off, status, on with snmp_priv_prot=DES: each confirmed by the outlet itself', async () => {
    const off = await apc(desUser({ plug: 2, action: 'off' }));
    expect(off.code, off.stderr).toBe(0);
    expect(pdu.isOutletPowered(2)).toBe(false);
    const status = await apc(desUser({ plug: 2, action: 'status' }));
    expect(status.stdout.trim(), status.stderr).toBe('Status: OFF');
    const on = await apc(desUser({ plug: 2, action: 'on' }));
    expect(on.code, on.stderr).toBe(0);
    expect(pdu.isOutletPowered(2)).toBe(true);
  });

  it('DES is the default privacy protocol for authPriv, as in fence_apc_snmp and the net-snmp tools', async () => {
    const { snmp_priv_prot: _default, ...options } = desUser({ plug: 3, action: 'off' });
    const off = await apc(options);
    expect(off.code, off.stderr).toBe(0);
    expect(pdu.isOutletPowered(3)).toBe(false);
  });

  it('the DES user with snmp_priv_prot=AES fails and leaves the outlet on (the privacy protocol is really used)', async () => {
    const r = await apc(desUser({ plug: 4, action: 'off', snmp_priv_prot: 'AES', login_timeout: 3, power_timeout: 3 }));
    expect(r.code).toBe(1);
    expect(pdu.isOutletPowered(4)).toBe(true);
  });

  it.each(cachedRuntimes)('on the cached Node %s as well: off and on over DES', async (_version, bin) => {
    const path = `${bin}:${process.env.PATH}`;
    const node = spawnSync('node', ['-p', 'process.version'], { env: { ...process.env, PATH: path }, encoding: 'utf8' });
    expect(node.stdout.trim()).toBe(`v${_version}`);
    const off = await apc(desUser({ plug: 1, action: 'off' }), path);
    expect(off.code, off.stderr).toBe(0);
    expect(pdu.isOutletPowered(1)).toBe(false);
    const on = await apc(desUser({ plug: 1, action: 'on' }), path);
    expect(on.code, on.stderr).toBe(0);
    expect(pdu.isOutletPowered(1)).toBe(true);
  });
});
