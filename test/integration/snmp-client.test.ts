// lib/snmp SnmpClient against a real peer: net-snmp's snmpd 5.9 on loopback with the PowerNet-MIB
// emulator (test/peers/snmpd-pdu.ts), whose outlets power real processes. Cross-checked with the
// net-snmp command-line tools (snmpget/snmpset/snmpwalk), which share no code with net-snmp for Node.
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FenceError, type FenceErrorKind } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { SnmpClient, SnmpNoSuchObjectError, type SnmpAuth, type SnmpOpenOptions } from '../../lib/snmp/index.js';
import { APC_SYS_OBJECT_ID, POWERNET, startPdu, type PduPeer, type PduV3User } from '../peers/snmpd-pdu.js';

const ON = 1;
const OFF = 2;
const SYS_OBJECT_ID = '1.3.6.1.2.1.1.2.0';
const SLACK_MS = 150; // timers and the event loop on a busy 2-core machine

function v3(user: PduV3User, overrides: Partial<Extract<SnmpAuth, { version: '3' }>> = {}): SnmpAuth {
  return { version: '3', ...user, ...overrides };
}

let pdu: PduPeer;
const clients: SnmpClient[] = [];

async function open(auth: SnmpAuth, deadlineMs = 5000, extra: Partial<SnmpOpenOptions> = {}, port?: number) {
  const client = await SnmpClient.open(
    { host: pdu.host, port: port ?? pdu.port, auth },
    { deadline: Date.now() + deadlineMs, ...extra },
  );
  clients.push(client);
  return client;
}

/** The FenceError a promise rejects with, and how long that took. */
async function failure(p: Promise<unknown>): Promise<{ err: FenceError; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (err) {
    if (!(err instanceof FenceError)) throw new Error(`expected a FenceError, got ${String(err)}`);
    return { err, ms: Date.now() - t0 };
  }
  throw new Error('expected the call to fail, it succeeded');
}

async function expectKind(p: Promise<unknown>, kind: FenceErrorKind): Promise<FenceError> {
  const { err } = await failure(p);
  expect(err.kind, err.message).toBe(kind);
  return err;
}

function cli(tool: 'snmpget' | 'snmpset' | 'snmpwalk', args: string[]): string {
  const path = `/usr/bin/${tool}`;
  // A missing tool fails the cross-check; it is never skipped.
  if (!existsSync(path)) throw new Error(`${path} not found: apt-get install -y --no-install-recommends snmp`);
  return execFileSync(path, ['-m', '', '-On', '-OQ', ...args], { env: pdu.cliEnv(), timeout: 10_000 }).toString();
}
const cliV2c = (community: string) => ['-v2c', '-c', community, '-r', '0', '-t', '2', `${pdu.host}:${pdu.port}`];
const cliV3 = (u: PduV3User) => [
  '-v3', '-l', 'authPriv', '-u', u.username, '-a', u.authProtocol === 'SHA256' ? 'SHA-256' : 'SHA', '-A', u.authPassword,
  '-x', 'AES', '-X', u.privPassword, '-r', '0', '-t', '2', `${pdu.host}:${pdu.port}`,
];

async function freePortNobodyListensOn(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const { port } = socket.address();
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

beforeAll(async () => {
  pdu = await startPdu({ outlets: 8, sysObjectID: APC_SYS_OBJECT_ID.rackPdu });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await pdu?.stop();
});

describe('SnmpClient against snmpd + powernet-emulator (8 outlets)', () => {
  const variants: [string, () => SnmpAuth][] = [
    ['v1', () => ({ version: '1', community: pdu.communities.rw })],
    ['v2c', () => ({ version: '2c', community: pdu.communities.rw })],
    ['v3 authPriv SHA+AES', () => v3(pdu.v3.rw)],
    ['v3 authPriv SHA256+AES', () => v3(pdu.v3.rwSha256)],
  ];

  describe.each(variants)('%s', (_name, auth) => {
    it('reads sysObjectID and outlet states with GET', async () => {
      const client = await open(auth());
      const [sys, s1, s2] = await client.get([
        SYS_OBJECT_ID,
        `.${POWERNET.rPduOutletStatusState}.1`,
        `${POWERNET.rPduOutletStatusState}.2`,
      ]);
      expect(sys).toEqual({ oid: SYS_OBJECT_ID, type: 'oid', value: APC_SYS_OBJECT_ID.rackPdu.slice(1) });
      expect(s1).toEqual({ oid: `${POWERNET.rPduOutletStatusState}.1`, type: 'integer', value: ON });
      expect(s2!.type).toBe('integer');
      expect(await client.getInt(`${POWERNET.rPduOutletStatusState}.1`)).toBe(ON);
    });

    it('reads a whole column with subtree(), in order, and nothing past it', async () => {
      const client = await open(auth());
      const names = await client.subtree(POWERNET.rPduOutletStatusName);
      expect(names.map((v) => v.oid)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `${POWERNET.rPduOutletStatusName}.${n}`));
      expect(names.map((v) => v.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `Outlet ${n}`));
      expect(await client.subtree('1.3.6.1.4.1.318.1.1.12.3.5.1.1.99')).toEqual([]);
    });

    it('SET off kills the outlet process before it returns; SET on starts one', async () => {
      const client = await open(auth());
      const outlet = 5;
      expect(pdu.isOutletPowered(outlet)).toBe(true);
      const before = pdu.outletPids()[outlet - 1];
      await client.set([{ oid: `${POWERNET.rPduOutletControlCommand}.${outlet}`, type: 'integer', value: OFF }]);
      expect(pdu.isOutletPowered(outlet)).toBe(false);
      expect(await client.getInt(`${POWERNET.rPduOutletStatusState}.${outlet}`)).toBe(OFF);
      await client.set([{ oid: `${POWERNET.rPduOutletControlCommand}.${outlet}`, type: 'integer', value: ON }]);
      expect(pdu.isOutletPowered(outlet)).toBe(true);
      expect(pdu.outletPids()[outlet - 1]).not.toBe(before);
      expect(await client.getInt(`${POWERNET.rPduOutletStatusState}.${outlet}`)).toBe(ON);
    });

    it('immediateReboot (3) power-cycles the outlet: a new process, still powered', async () => {
      const client = await open(auth());
      const before = pdu.outletPids()[2];
      await client.set([{ oid: `${POWERNET.rPduOutletControlCommand}.3`, type: 'integer', value: 3 }]);
      expect(pdu.isOutletPowered(3)).toBe(true);
      expect(pdu.outletPids()[2]).not.toBe(before);
    });

    it('a missing outlet is SnmpNoSuchObjectError (no-such-plug) on GET and on SET', async () => {
      const client = await open(auth());
      const oid = `${POWERNET.rPduOutletStatusState}.99`;
      const get = await expectKind(client.get([SYS_OBJECT_ID, oid]), 'no-such-plug');
      expect(get).toBeInstanceOf(SnmpNoSuchObjectError);
      expect((get as SnmpNoSuchObjectError).oid).toBe(oid);
      const set = await expectKind(
        client.set([{ oid: `${POWERNET.rPduOutletControlCommand}.99`, type: 'integer', value: OFF }]),
        'no-such-plug',
      );
      expect(set).toBeInstanceOf(SnmpNoSuchObjectError);
      await expectKind(client.get(['1.3.6.1.4.1.99999.1.0']), 'no-such-plug');
    });

    it('the device refusing a value, a type or a commit is device-refused', async () => {
      const client = await open(auth());
      const control = `${POWERNET.rPduOutletControlCommand}.6`;
      await expectKind(client.set([{ oid: control, type: 'integer', value: 42 }]), 'device-refused'); // wrongValue
      await expectKind(client.set([{ oid: control, type: 'octetString', value: 'off' }]), 'device-refused'); // wrongType
      pdu.setFault(6, { kind: 'refuse' });
      try {
        const err = await expectKind(client.set([{ oid: control, type: 'integer', value: OFF }]), 'device-refused');
        expect(err.message).toMatch(/commitFailed|genErr/);
        expect(pdu.isOutletPowered(6)).toBe(true);
      } finally {
        pdu.setFault(6, null);
      }
    });

    it('writing a read-only column is privilege (notWritable)', async () => {
      const client = await open(auth());
      const err = await expectKind(
        client.set([{ oid: `${POWERNET.rPduOutletStatusState}.1`, type: 'integer', value: OFF }]),
        'privilege',
      );
      expect(err.message).toMatch(/notWritable|noSuchName/);
      expect(pdu.isOutletPowered(1)).toBe(true);
    });
  });

  it('a read-only community or v3 user cannot switch an outlet: privilege, and the outlet stays on', async () => {
    const oid = `${POWERNET.rPduOutletControlCommand}.2`;
    for (const auth of [
      { version: '1', community: pdu.communities.ro },
      { version: '2c', community: pdu.communities.ro },
      v3(pdu.v3.ro),
    ] as SnmpAuth[]) {
      const client = await open(auth);
      const err = await expectKind(client.set([{ oid, type: 'integer', value: OFF }]), 'privilege');
      expect(err.message).toMatch(/noSuchName|noAccess|notWritable|authorizationError/);
      expect(pdu.isOutletPowered(2), `after ${auth.version}`).toBe(true);
    }
  });

  it('a wrong community gets no answer: fails within the deadline and says the community may be wrong', async () => {
    for (const version of ['1', '2c'] as const) {
      const client = await open({ version, community: 'not-the-community' }, 800, { perRequestTimeoutMs: 300 });
      const { err, ms } = await failure(client.get([SYS_OBJECT_ID]));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toMatch(/community may be wrong/);
      expect(err.message).not.toContain('not-the-community');
      expect(ms).toBeLessThanOrEqual(800 + SLACK_MS);
    }
  });

  it('an unknown v3 user, a wrong auth password or a wrong privacy password is auth', async () => {
    const unknown = await expectKind(
      (await open(v3(pdu.v3.rw, { username: 'nobody-here' }))).get([SYS_OBJECT_ID]),
      'auth',
    );
    expect(unknown.message).toMatch(/Unknown User Name/);
    const wrongAuth = await expectKind(
      (await open(v3(pdu.v3.rw, { authPassword: 'wrong-auth-password' }))).get([SYS_OBJECT_ID]),
      'auth',
    );
    expect(wrongAuth.message).toMatch(/Wrong Digest/);
    expect(wrongAuth.message).not.toContain('wrong-auth-password');
    const { err: wrongPriv, ms } = await failure(
      (await open(v3(pdu.v3.rw, { privPassword: 'wrong-priv-password' }), 2000)).get([SYS_OBJECT_ID]),
    );
    // snmpd 5.9 answers discovery, then drops what it cannot decrypt without a report: still 'auth'.
    expect(wrongPriv.kind, wrongPriv.message).toBe('auth');
    expect(wrongPriv.message).toMatch(/privacy password/);
    expect(ms).toBeLessThan(2000 + SLACK_MS);
  });

  it('nothing listening is unreachable, within the deadline', async () => {
    const port = await freePortNobodyListensOn();
    for (const auth of [{ version: '2c', community: 'public' }, v3(pdu.v3.rw)] as SnmpAuth[]) {
      const client = await open(auth, 700, {}, port);
      const { err, ms } = await failure(client.get([SYS_OBJECT_ID]));
      expect(err.kind, err.message).toBe('unreachable');
      expect(ms).toBeGreaterThanOrEqual(600);
      expect(ms).toBeLessThanOrEqual(700 + SLACK_MS);
    }
  });

  it('a frozen snmpd (SIGSTOP) fails within the deadline: timeout after answers, unreachable before any', async () => {
    const known = await open({ version: '2c', community: pdu.communities.ro }, 30_000, { perRequestTimeoutMs: 200, retries: 1 });
    expect(await known.getInt(`${POWERNET.rPduOutletStatusState}.1`)).toBe(ON);
    pdu.freeze();
    try {
      const shortDeadline = Date.now() + 900;
      const t0 = Date.now();
      const { err } = await failure(known.get([SYS_OBJECT_ID], { deadline: shortDeadline }));
      expect(err.kind, err.message).toBe('timeout');
      expect(err.message).toMatch(/timed out/);
      expect(Date.now() - t0).toBeLessThanOrEqual(900 + SLACK_MS);

      const fresh = await open(v3(pdu.v3.rw), 900);
      const second = await failure(fresh.subtree(POWERNET.rPduOutletStatusState));
      expect(second.err.kind).toBe('unreachable');
      expect(second.ms).toBeLessThanOrEqual(900 + SLACK_MS);
    } finally {
      pdu.thaw();
    }
    expect(await known.getInt(`${POWERNET.rPduOutletStatusState}.1`)).toBe(ON);
  });

  it('a deadline already passed fails at once without sending', async () => {
    const client = await SnmpClient.open(
      { host: pdu.host, port: pdu.port, auth: { version: '2c', community: 'public' } },
      { deadline: Date.now() + 50 },
    );
    clients.push(client);
    await new Promise((r) => setTimeout(r, 60));
    const { err, ms } = await failure(client.get([SYS_OBJECT_ID]));
    expect(err.kind).toBe('timeout');
    expect(ms).toBeLessThan(20);
  });

  it('reports the emulator faults as the device shows them: lying, slow and unknown-value outlets', async () => {
    const client = await open({ version: '2c', community: pdu.communities.rw }, 20_000);
    const control = (n: number) => `${POWERNET.rPduOutletControlCommand}.${n}`;
    const status = (n: number) => `${POWERNET.rPduOutletStatusState}.${n}`;

    pdu.setFault(7, { kind: 'lying' });
    try {
      await client.set([{ oid: control(7), type: 'integer', value: OFF }]); // acknowledged...
      expect(pdu.isOutletPowered(7)).toBe(true); // ...but still powered,
      expect(await client.getInt(status(7))).toBe(ON); // and the status says so: an agent must confirm.
    } finally {
      pdu.setFault(7, null);
    }

    pdu.setFault(8, { kind: 'slow', seconds: 1 });
    try {
      const t0 = Date.now();
      await client.set([{ oid: control(8), type: 'integer', value: OFF }]);
      expect(Date.now() - t0).toBeLessThan(500);
      expect(await client.getInt(status(8))).toBe(ON);
      expect(pdu.isOutletPowered(8)).toBe(true);
      while ((await client.getInt(status(8))) !== OFF) {
        expect(Date.now() - t0).toBeLessThan(5000);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
      expect(pdu.isOutletPowered(8)).toBe(false);
    } finally {
      pdu.setFault(8, null);
      pdu.setOutletState(8, true);
    }

    pdu.setFault(3, { kind: 'unknown-value', value: 4 });
    try {
      expect(await client.getInt(status(3))).toBe(4);
      expect(await client.getInt(`${POWERNET.sPduOutletCtl}.3`)).toBe(4);
    } finally {
      pdu.setFault(3, null);
    }
  });

  it('agrees with the net-snmp CLI tools: snmpset off seen by the client, client on seen by snmpget', async () => {
    const outlet = 4;
    const client = await open(v3(pdu.v3.rw));
    cli('snmpset', [...cliV2c(pdu.communities.rw), `${POWERNET.rPduOutletControlCommand}.${outlet}`, 'i', String(OFF)]);
    expect(pdu.isOutletPowered(outlet)).toBe(false);
    expect(await client.getInt(`${POWERNET.rPduOutletStatusState}.${outlet}`)).toBe(OFF);

    await client.set([{ oid: `${POWERNET.rPduOutletControlCommand}.${outlet}`, type: 'integer', value: ON }]);
    const out = cli('snmpget', [...cliV3(pdu.v3.ro), `${POWERNET.rPduOutletStatusState}.${outlet}`]);
    expect(out.trim()).toBe(`.${POWERNET.rPduOutletStatusState}.${outlet} = ${ON}`);
    expect(pdu.isOutletPowered(outlet)).toBe(true);

    const walk = cli('snmpwalk', ['-v1', '-c', pdu.communities.ro, `${pdu.host}:${pdu.port}`, POWERNET.sPduOutletCtlName])
      .trim()
      .split('\n');
    const ours = await client.subtree(POWERNET.sPduOutletCtlName);
    expect(walk).toEqual(ours.map((v) => `.${v.oid} = "${v.value}"`));
  });

  it('the emulator refuses writes like a device, as seen by snmpset alone (no fencekit code involved)', () => {
    const snmpsetFails = (version: string[], oid: string, type: string, value: string): string => {
      if (!existsSync('/usr/bin/snmpset')) throw new Error('/usr/bin/snmpset not found: apt-get install -y snmp');
      const r = spawnSync('/usr/bin/snmpset', ['-m', '', '-On', ...version, `${pdu.host}:${pdu.port}`, oid, type, value], {
        env: pdu.cliEnv(),
        timeout: 10_000,
      });
      expect(r.status, r.stdout.toString()).not.toBe(0);
      return r.stderr.toString();
    };
    const v2c = ['-v2c', '-c', pdu.communities.rw];
    const v1 = ['-v1', '-c', pdu.communities.rw];
    const control = `${POWERNET.rPduOutletControlCommand}.6`;
    expect(snmpsetFails(v2c, control, 's', 'off')).toMatch(/wrongType/);
    expect(snmpsetFails(v2c, control, 'i', '42')).toMatch(/wrongValue/);
    expect(snmpsetFails(v2c, `${POWERNET.rPduOutletStatusState}.6`, 'i', '2')).toMatch(/notWritable/);
    expect(snmpsetFails(v1, control, 'i', '42')).toMatch(/badValue/); // v1 has no wrongValue (RFC 3584 §4.4)
    expect(snmpsetFails(['-v2c', '-c', pdu.communities.ro], control, 'i', '2')).toMatch(/noAccess/);
    expect(snmpsetFails(v2c, `${POWERNET.sPduOutletCtlName}.6`, 's', 'x'.repeat(21))).toMatch(/wrongLength/);
    pdu.setFault(6, { kind: 'refuse' });
    try {
      expect(snmpsetFails(v2c, control, 'i', '2')).toMatch(/commitFailed/);
    } finally {
      pdu.setFault(6, null);
    }
    expect(pdu.isOutletPowered(6)).toBe(true);
  });

  it('never prints a community or a password, even in debug logs', async () => {
    const lines: string[] = [];
    const logger = createLogger({ verbosity: 1, write: (l) => lines.push(l) });
    const c1 = await open({ version: '2c', community: pdu.communities.rw }, 5000, { logger });
    await c1.getInt(`${POWERNET.rPduOutletStatusState}.1`);
    const c2 = await open(v3(pdu.v3.rw, { authPassword: 'bad-password-123' }), 5000, { logger });
    const { err } = await failure(c2.get([SYS_OBJECT_ID]));
    logger.error(err.message);
    const text = lines.join('');
    expect(text).toContain('ok');
    for (const secret of [pdu.communities.rw, 'bad-password-123', pdu.v3.rw.privPassword]) {
      expect(text).not.toContain(secret);
    }
  });

  it('DES privacy without the OpenSSL legacy provider: the DES user reads, and the wrong privacy key does not', async () => {
    // This Node has no 'des-cbc' unless started with --openssl-legacy-provider; lib/snmp/des.ts runs DES as
    // DES-EDE3 with the key K|K|K (test/integration/snmp-des.test.ts fences through it).
    const client = await open(v3(pdu.v3.rwDes), 5000);
    expect(await client.getInt(`${POWERNET.rPduOutletStatusState}.1`)).toBe(ON);
    client.close();
    const wrong = await open(v3(pdu.v3.rwDes, { privPassword: 'not-the-des-key' }), 1500);
    const { err } = await failure(wrong.getInt(`${POWERNET.rPduOutletStatusState}.1`));
    expect(err.kind).toBe('auth');
  });

  it('measures one GET and one SET+confirm (v2c and v3 authPriv)', async () => {
    const report: Record<string, number> = {};
    for (const [name, auth] of [
      ['v2c', { version: '2c', community: pdu.communities.rw }],
      ['v3', v3(pdu.v3.rw)],
    ] as [string, SnmpAuth][]) {
      const client = await open(auth, 60_000);
      const status = `${POWERNET.rPduOutletStatusState}.1`;
      const control = `${POWERNET.rPduOutletControlCommand}.1`;
      let t = performance.now();
      await client.getInt(status); // for v3 this includes engine discovery
      report[`${name} first GET (ms)`] = performance.now() - t;
      const gets: number[] = [];
      const setConfirms: number[] = [];
      for (let i = 0; i < 20; i++) {
        t = performance.now();
        await client.getInt(status);
        gets.push(performance.now() - t);
      }
      for (let i = 0; i < 10; i++) {
        const target = i % 2 === 0 ? OFF : ON;
        t = performance.now();
        await client.set([{ oid: control, type: 'integer', value: target }]);
        expect(await client.getInt(status)).toBe(target);
        setConfirms.push(performance.now() - t);
        expect(pdu.isOutletPowered(1)).toBe(target === ON);
      }
      report[`${name} GET median (ms)`] = median(gets);
      report[`${name} SET+confirm median (ms)`] = median(setConfirms);
    }
    console.log('SNMP timings against snmpd+emulator:', JSON.stringify(report, (_k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v)));
    expect(pdu.isOutletPowered(1)).toBe(true);
  });
});

describe('SnmpClient against a 24-outlet PDU', () => {
  let big: PduPeer;
  beforeAll(async () => {
    big = await startPdu({
      outlets: 24,
      sysObjectID: APC_SYS_OBJECT_ID.masterSwitch,
      names: Array.from({ length: 24 }, (_, i) => `node-${String(i + 1).padStart(2, '0')}`),
      initiallyOn: Array.from({ length: 24 }, (_, i) => i % 3 !== 0),
    });
  });
  afterAll(async () => {
    await big?.stop();
  });

  it('reads all 24 rows of the name and state columns over v1, v2c and v3', async () => {
    for (const auth of [
      { version: '1', community: big.communities.ro },
      { version: '2c', community: big.communities.ro },
      v3(big.v3.ro),
    ] as SnmpAuth[]) {
      const client = await SnmpClient.open({ host: big.host, port: big.port, auth }, { deadline: Date.now() + 5000 });
      clients.push(client);
      const names = await client.subtree(POWERNET.sPduOutletCtlName);
      const states = await client.subtree(`.${POWERNET.sPduOutletCtl}`);
      expect(names).toHaveLength(24);
      expect(names[23]).toEqual({ oid: `${POWERNET.sPduOutletCtlName}.24`, type: 'octetString', value: 'node-24' });
      expect(states.map((s) => s.value)).toEqual(Array.from({ length: 24 }, (_, i) => (i % 3 !== 0 ? ON : OFF)));
      expect(big.outletPids().filter((p) => p !== undefined)).toHaveLength(16);
    }
  });

  it('sPDUOutletCtl is read/write on a MasterSwitch: SET 2 powers outlet 24 off for real', async () => {
    const client = await SnmpClient.open(
      { host: big.host, port: big.port, auth: { version: '1', community: big.communities.rw } },
      { deadline: Date.now() + 5000 },
    );
    clients.push(client);
    expect(await client.get([SYS_OBJECT_ID])).toEqual([
      { oid: SYS_OBJECT_ID, type: 'oid', value: APC_SYS_OBJECT_ID.masterSwitch.slice(1) },
    ]);
    expect(big.isOutletPowered(24)).toBe(true);
    await client.set([{ oid: `${POWERNET.sPduOutletCtl}.24`, type: 'integer', value: OFF }]);
    expect(big.isOutletPowered(24)).toBe(false);
    expect(await client.getInt(`${POWERNET.sPduOutletCtl}.24`)).toBe(OFF);
  });
});

describe('loading net-snmp lazily, from tsc-like and esbuild-bundled output', () => {
  // Runs in a child Node (no vitest transform in between) so what is loaded, and what it costs, is real.
  const root = fileURLToPath(new URL('../..', import.meta.url));
  let dir: string;
  beforeAll(() => {
    // Inside the repo (its tmp/ is git-ignored) so the external build resolves node_modules/net-snmp.
    mkdirSync(join(root, 'tmp'), { recursive: true });
    dir = mkdtempSync(join(root, 'tmp', 'snmp-lazy-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const driver = (entry: string, port: number) => `
    import { createRequire } from 'node:module';
    const require = createRequire(${JSON.stringify(join(root, 'package.json'))});
    const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/net-snmp/'));
    const t0 = performance.now();
    const { SnmpClient } = await import(${JSON.stringify(entry)});
    const importMs = performance.now() - t0;
    const loadedAfterImport = loaded();
    const t1 = performance.now();
    const client = await SnmpClient.open({ host: '127.0.0.1', port: ${port}, auth: { version: '2c', community: 'public' } }, { deadline: Date.now() + 5000 });
    const openMs = performance.now() - t1;
    const t2 = performance.now();
    const [v] = await client.get(['1.3.6.1.2.1.1.2.0']);
    const getMs = performance.now() - t2;
    client.close();
    console.log(JSON.stringify({ importMs, loadedAfterImport, loadedAfterOpen: loaded(), openMs, getMs, value: v.value }));
  `;

  async function build(bundleNetSnmp: boolean): Promise<string> {
    const esbuild = await import('esbuild');
    const outdir = join(dir, bundleNetSnmp ? 'bundled' : 'external');
    await esbuild.build({
      entryPoints: [join(root, 'lib/snmp/index.ts')],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outdir,
      external: bundleNetSnmp ? [] : ['net-snmp'],
      // net-snmp is CommonJS and calls require() for its own dependencies.
      banner: { js: "import { createRequire as __fkCreateRequire } from 'node:module'; const require = __fkCreateRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    return join(outdir, 'index.js');
  }

  function run(entry: string) {
    const script = join(dir, `drive-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(script, driver(entry, pdu.port));
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS; // adds ~90 ms to every Node start here; Pacemaker does not set it
    const r = spawnSync(process.execPath, [script], { cwd: root, env, timeout: 20_000 });
    expect(r.status, r.stderr.toString()).toBe(0);
    return JSON.parse(r.stdout.toString().trim().split('\n').pop()!) as {
      importMs: number;
      loadedAfterImport: boolean;
      loadedAfterOpen: boolean;
      openMs: number;
      getMs: number;
      value: string;
    };
  }

  it('importing lib/snmp does not load net-snmp; open() does (net-snmp external, as tsc output resolves it)', async () => {
    const r = run(await build(false));
    expect(r.loadedAfterImport).toBe(false);
    expect(r.loadedAfterOpen).toBe(true);
    expect(r.value).toBe(APC_SYS_OBJECT_ID.rackPdu.slice(1));
    console.log('lazy net-snmp (external):', JSON.stringify(r));
  });

  it('works when esbuild bundles net-snmp into a split chunk (CJS default export through __toESM)', async () => {
    const entry = await build(true);
    const r = run(entry);
    expect(r.value).toBe(APC_SYS_OBJECT_ID.rackPdu.slice(1));
    // The entry chunk must not contain net-snmp itself: it sits behind the dynamic import.
    expect(readFileSync(entry, 'utf8')).not.toMatch(/createV3Session\s*=/);
    console.log('lazy net-snmp (bundled chunk):', JSON.stringify(r));
  });
});
