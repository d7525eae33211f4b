// inet4_only / inet6_only honoured by fence_kit_ipmi, against a real BMC: OpenIPMI's ipmi_sim listening on ::1
// only, whose chassis powers a real process. inet6_only reaches it (natively and through ipmitool -6); an
// address or a name of the other family is refused before any packet, which a UDP socket on that address
// counts; both options together are refused. The names come from this machine's /etc/hosts (no DNS server).
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipv4OnlyHostName } from '../support/hosts.js';
import { IpmiClient } from '../../lib/ipmi/client.js';
import { bmcStdin, runAgentBinary } from '../support/run-agent.js';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { peerForFile } from '../support/scratch.js';

let bmc: IpmiSim;
peerForFile(() => startIpmiSim({ address: '::1', hostOn: true }), (b) => {
  bmc = b;
});

/** A UDP socket that counts every datagram sent to it: "no packet" is then measured. */
interface Counter { port: number; count(): number; socket: Socket }
const counters: Counter[] = [];
async function udpCounter(address: '127.0.0.1' | '::1'): Promise<Counter> {
  const socket = createSocket(address === '::1' ? 'udp6' : 'udp4');
  let n = 0;
  socket.on('message', () => n++);
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const c = { port: socket.address().port, count: () => n, socket };
  counters.push(c);
  return c;
}
afterAll(async () => {
  for (const c of counters) await new Promise<void>((resolve) => c.socket.close(() => resolve()));
});


const agent = (stdin: string) => runAgentBinary('fence_kit_ipmi', { stdin, timeoutMs: 60_000 });
/** The one line the run printed on stderr, its timestamp removed. */
const errorLine = (stderr: string) => stderr.trim().replace(/^\S+ \S+ ERROR: /, '');

describe('fence_kit_ipmi inet6_only / inet4_only (ipmi_sim on ::1, real powered process)', () => {
  beforeAll(() => {
    expect(bmc.host).toBe('::1');
  });

  it('inet6_only reaches the BMC on ::1: status ON, natively and through ipmitool -6', async () => {
    expect(await agent(bmcStdin(bmc, { inet6_only: '1', action: 'status' }))).toMatchObject({ code: 0, stdout: 'Status: ON\n', stderr: '' });
    expect(await agent(bmcStdin(bmc, { inet6_only: '1', transport: 'ipmitool', cipher: '3', action: 'status' }))).toMatchObject({ code: 0, stdout: 'Status: ON\n', stderr: '' });
    expect(bmc.isHostRunning()).toBe(true);
  });

  it('inet4_only refuses the IPv6 address before any packet: validate-all and off exit 1 naming the option, the host runs on', async () => {
    const counter = await udpCounter('::1');
    const validate = await agent(bmcStdin({ ...bmc, port: counter.port }, { inet4_only: '1', action: 'validate-all' }));
    expect(validate).toMatchObject({ code: 1, stdout: '' });
    expect(validate.stderr).toBe("Failed: option 'inet4_only' (-4, --inet4-only): the device address is an IPv6 address\n");
    const off = await agent(bmcStdin({ ...bmc, port: counter.port }, { inet4_only: '1', action: 'off' }));
    expect(off).toMatchObject({ code: 1, stdout: '' });
    expect(errorLine(off.stderr)).toBe("Failed: option 'inet4_only' (-4, --inet4-only): the device address is an IPv6 address");
    // The same off at the BMC's own port: refused the same way, and the host process still runs.
    expect((await agent(bmcStdin(bmc, { inet4_only: '1', action: 'off' }))).code).toBe(1);
    expect(bmc.isHostRunning()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(counter.count()).toBe(0);
  });

  it('inet6_only refuses a name that has only an IPv4 address before any packet, naming the option', async () => {
    const counter = await udpCounter('127.0.0.1');
    const name = ipv4OnlyHostName();
    const r = await agent(bmcStdin({ ...bmc, host: name, port: counter.port }, { inet6_only: '1', action: 'status' }));
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(errorLine(r.stderr)).toBe(`Failed: option 'inet6_only' (-6, --inet6-only): ${name} has no IPv6 address`);
    // Without the option the same name is used, over IPv4: the counter hears it.
    await agent(bmcStdin({ ...bmc, host: name, port: counter.port }, { action: 'status', login_timeout: '1' }));
    expect(counter.count()).toBeGreaterThan(0);
  });

  it('-4 and -6 together are refused, naming both, before anything is sent', async () => {
    const r = await runAgentBinary('fence_kit_ipmi', { argv: ['-a', '::1', '-u', String(bmc.port), '-l', 'admin', '-p', 'x', '-P', '-4', '-6', '-o', 'status'] });
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe("Failed: option 'inet4_only' (-4, --inet4-only) conflicts with 'inet6_only' (-6, --inet6-only): give only one\n");
  });
});

describe('the IPMI client holds the family itself (a caller that skipped the agent checks)', () => {
  it('family 4 refuses an IPv6 address, family 6 an IPv4 one, before any packet; family 6 reaches the BMC on ::1', async () => {
    const v6 = await udpCounter('::1');
    const v4 = await udpCounter('127.0.0.1');
    const target = (host: string, port: number, family: 4 | 6) =>
      ({ host, port, family, username: bmc.users.admin.name, password: bmc.users.admin.password, version: '2.0' as const, cipherSuite: 3 as const });
    await expect(IpmiClient.open(target('::1', v6.port, 4), { deadline: Date.now() + 3000 })).rejects.toMatchObject({ kind: 'bad-input' });
    await expect(IpmiClient.open(target('127.0.0.1', v4.port, 6), { deadline: Date.now() + 3000 })).rejects.toMatchObject({ kind: 'bad-input' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([v6.count(), v4.count()]).toEqual([0, 0]);
    const client = await IpmiClient.open(target('::1', bmc.port, 6), { deadline: Date.now() + 10_000 });
    try {
      expect(await client.getChassisPower()).toBe('on');
    } finally {
      await client.close();
    }
  });
});
