// Hostile peers for the agent binaries, end to end over UDP on loopback:
//  - IPMI: a peer that answers every datagram with random bytes or a mutated real BMC answer (captured
//    from ipmi_sim, test/fixtures/ipmi), and a proxy in front of a real ipmi_sim that mutates a share of
//    its answers (bit flips, truncation, duplication, a byte spliced in) at every stage of the session;
//  - SNMP: a responder that answers fence_kit_apc_snmp's and fence_kit_switch's GETs and SETs with wrong-type
//    values (OCTET STRING, NULL, OID, Counter32, Gauge32, IpAddress, out-of-range INTEGERs, v2 exceptions)
//    and malformed messages (truncated, wrong request-id, wrong PDU tag, random bytes).
// Invariants, per run: the agent exits 1 (never 0: no answer here says "off", except through the real
// ipmi_sim behind the proxy, where a success must be real), within login_timeout + power_timeout + 1 s,
// with no uncaught exception (no stack trace, no TypeError/RangeError on stderr). Each run's seed is in
// its failure message. FK_FUZZ_AGENT_RUNS sets the runs per peer (default 6; `npm run faults` does not
// run these: they are the fuzz sample).
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runAgentBinary, type AgentRun } from '../support/run-agent.js';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';

const RUNS = Number(process.env.FK_FUZZ_AGENT_RUNS ?? 6);
const LOGIN_S = 1;
const POWER_S = 2;
const BOUND_MS = (LOGIN_S + POWER_S) * 1000 + 1000;

/** mulberry32: a seeded PRNG, so that a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(buf: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(buf);
  switch (Math.floor(rnd() * 5)) {
    case 0: // flip 1-4 bits
      for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n && b.length; i++) b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
      return b;
    case 1: // truncate
      return b.subarray(0, Math.floor(rnd() * b.length));
    case 2: // a random byte somewhere
      if (b.length) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return b;
    case 3: // splice a byte in
      return Buffer.concat([b.subarray(0, Math.floor(rnd() * b.length)), Buffer.from([Math.floor(rnd() * 256)]), b.subarray(Math.floor(rnd() * b.length))]);
    default: // duplicate a tail
      return Buffer.concat([b, b.subarray(Math.floor(rnd() * b.length))]);
  }
}

const randomBytes = (rnd: () => number, max = 80) => Buffer.from(Array.from({ length: Math.floor(rnd() * max) }, () => Math.floor(rnd() * 256)));

function bindUdp(onMessage: (s: Socket, msg: Buffer, port: number, address: string) => void): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => onMessage(socket, msg, rinfo.port, rinfo.address));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve({ socket, port: socket.address().port })));
}

function expectSane(r: AgentRun, what: string) {
  expect(r.code, `${what}: ${r.stdout}${r.stderr}`).toBe(1);
  expect(r.ms, `${what}: ${r.ms} ms`).toBeLessThanOrEqual(BOUND_MS);
  expect(r.stderr, what).not.toMatch(/TypeError|RangeError|ReferenceError|\n\s+at .*\(.*:\d+:\d+\)|Failed: internal/);
}

const ipmiStdin = (port: number, action = 'off') =>
  [`action=${action}`, 'ip=127.0.0.1', `ipport=${port}`, 'username=admin', 'password=secret', 'lanplus=1', 'cipher=3',
    `login_timeout=${LOGIN_S}`, `power_timeout=${POWER_S}`, 'shell_timeout=1', 'stonith_status_sleep=0.5'].join('\n') + '\n';

const bmcAnswers = (['ipmitool-lanplus-cipher3-status', 'ipmitool-lan-md5-status'] as const).flatMap((name) =>
  (JSON.parse(readFileSync(join(ROOT, 'test/fixtures/ipmi', `${name}.json`), 'utf8')) as { datagrams: { from: string; hex: string }[] }).datagrams
    .filter((d) => d.from === 'bmc')
    .map((d) => Buffer.from(d.hex, 'hex')),
);

describe('fence_kit_ipmi against a hostile UDP peer', () => {
  it(`answers of random bytes or mutated real BMC answers (${RUNS} runs): exit 1 within the bound, no crash`, async () => {
    for (let i = 0; i < RUNS; i++) {
      const seed = 0x1000 + i * 7919;
      const rnd = prng(seed);
      const { socket, port } = await bindUdp((s, msg, p, a) => {
        // Answer most datagrams, sometimes twice, with garbage shaped like the real thing or not at all.
        const n = rnd() < 0.1 ? 0 : rnd() < 0.2 ? 2 : 1;
        for (let k = 0; k < n; k++) {
          const reply = rnd() < 0.7 ? mutate(bmcAnswers[Math.floor(rnd() * bmcAnswers.length)]!, rnd) : rnd() < 0.5 ? mutate(msg, rnd) : randomBytes(rnd);
          s.send(reply, p, a);
        }
      });
      try {
        const r = await runAgentBinary('fence_kit_ipmi', { stdin: ipmiStdin(port), timeoutMs: BOUND_MS + 20_000 });
        expectSane(r, `random peer, seed ${seed}`);
      } finally {
        socket.close();
      }
    }
  });

  describe('a proxy mutating a share of a real ipmi_sim\'s answers', () => {
    let bmc: IpmiSim;
    beforeAll(async () => {
      bmc = await startIpmiSim({ hostOn: true });
    });
    afterAll(async () => {
      await bmc?.stop();
    });

    it(`(${RUNS} runs): a success only with the host really off; otherwise exit 1 within the bound; no crash`, async () => {
      let successes = 0;
      for (let i = 0; i < RUNS; i++) {
        if (!bmc.isHostRunning()) await bmc.powerOnHost();
        const seed = 0x2000 + i * 104729;
        const rnd = prng(seed);
        const share = [0.1, 0.3, 0.6][i % 3]!;
        const upstream = createSocket('udp4');
        let client: { port: number; address: string } | undefined;
        const { socket, port } = await bindUdp((_s, msg, p, a) => {
          client = { port: p, address: a };
          upstream.send(msg, bmc.port, bmc.host);
        });
        upstream.on('message', (msg) => {
          if (!client) return;
          socket.send(rnd() < share ? mutate(msg, rnd) : msg, client.port, client.address);
        });
        await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
        try {
          const r = await runAgentBinary('fence_kit_ipmi', { stdin: ipmiStdin(port), timeoutMs: BOUND_MS + 20_000 });
          if (r.code === 0) {
            successes++;
            expect(bmc.isHostRunning(), `seed ${seed}: success reported while the host runs`).toBe(false);
          } else expectSane(r, `mutating proxy (${share * 100} %), seed ${seed}`);
        } finally {
          socket.close();
          upstream.close();
        }
      }
      console.log(`mutating proxy: ${successes}/${RUNS} offs succeeded (each one real)`);
    });
  });
});

// ---------------------------------------------------------------- SNMP

/** A minimal BER reader for the requests the agents send (v1/v2c GET/GETNEXT/SET). */
function readTlv(buf: Buffer, at: number): { tag: number; start: number; end: number } {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[start + i]!;
    start += n;
  }
  return { tag, start, end: start + len };
}
function children(buf: Buffer, start: number, end: number) {
  const out: { tag: number; start: number; end: number; raw: Buffer }[] = [];
  for (let at = start; at < end; ) {
    const t = readTlv(buf, at);
    out.push({ ...t, raw: buf.subarray(at, t.end) });
    at = t.end;
  }
  return out;
}
function tlv(tag: number, body: Buffer): Buffer {
  const len = body.length;
  const head = len < 128 ? Buffer.from([tag, len]) : len < 256 ? Buffer.from([tag, 0x81, len]) : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([head, body]);
}
const int = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return tlv(0x02, b);
};

/** Values of the wrong type for a status (INTEGER) column, or INTEGERs no MIB defines. */
function wrongValue(rnd: () => number): Buffer {
  const pick = Math.floor(rnd() * 12);
  switch (pick) {
    case 0: return tlv(0x04, Buffer.from(['on', 'off', '2', '', 'outletOff'][Math.floor(rnd() * 5)]!));
    case 1: return Buffer.from([0x05, 0x00]);
    case 2: return tlv(0x06, Buffer.from([0x2b, 0x06, 0x01]));
    case 3: return tlv(0x41, Buffer.from([0x02])); // Counter32 2
    case 4: return tlv(0x42, Buffer.from([0x01])); // Gauge32 1
    case 5: return tlv(0x40, Buffer.from([127, 0, 0, 1])); // IpAddress
    case 6: return int([0, -1, 7, 99, 2 ** 31 - 1, -(2 ** 31)][Math.floor(rnd() * 6)]!);
    case 7: return Buffer.from([0x80 + Math.floor(rnd() * 3), 0x00]); // noSuchObject / noSuchInstance / endOfMibView
    case 8: return tlv(0x02, Buffer.alloc(0)); // a zero-length INTEGER
    case 9: return tlv(0x02, Buffer.alloc(9, 0xff)); // an INTEGER too long
    case 10: return tlv(0x44, randomBytes(rnd, 10)); // Opaque
    default: return randomBytes(rnd, 6);
  }
}

/** Answer a request: wrong-type values, or a malformed message. SETs are echoed (acknowledged). */
function snmpAnswer(req: Buffer, rnd: () => number): Buffer | undefined {
  try {
    const msg = readTlv(req, 0);
    const [version, community, pdu] = children(req, msg.start, msg.end);
    if (!version || !community || !pdu) return randomBytes(rnd);
    const [reqId, , , vbl] = children(req, pdu.start, pdu.end);
    const varbinds = children(req, vbl!.start, vbl!.end).map((vb) => children(req, vb.start, vb.end));
    const malformed = rnd();
    const isSet = pdu.tag === 0xa3;
    const vbs = Buffer.concat(varbinds.map(([oid, value]) => tlv(0x30, Buffer.concat([oid!.raw, isSet && rnd() < 0.7 ? value!.raw : wrongValue(rnd)]))));
    let id = reqId!.raw;
    if (malformed < 0.08) id = int(Math.floor(rnd() * 1e6)); // someone else's answer
    const tag = malformed > 0.08 && malformed < 0.14 ? [0xa0, 0xa3, 0xa5, 0x30][Math.floor(rnd() * 4)]! : 0xa2;
    const errorStatus = malformed > 0.14 && malformed < 0.22 ? int(Math.floor(rnd() * 25)) : int(0);
    const errorIndex = malformed > 0.14 && malformed < 0.22 ? int(Math.floor(rnd() * 5) - 1) : int(0);
    const body = tlv(tag, Buffer.concat([id, errorStatus, errorIndex, tlv(0x30, vbs)]));
    let out = tlv(0x30, Buffer.concat([version.raw, community.raw, body]));
    if (malformed > 0.22 && malformed < 0.32) out = mutate(out, rnd);
    return out;
  } catch {
    return randomBytes(rnd);
  }
}

describe('SNMP agents against a responder of wrong-type values and malformed messages', () => {
  const cases = [
    { agent: 'fence_kit_apc_snmp', extra: ['plug=3', 'snmp_version=1', 'community=private'] },
    { agent: 'fence_kit_apc_snmp', extra: ['plug=3', 'snmp_version=2c', 'community=private'] },
    { agent: 'fence_kit_switch', extra: ['plug=11', 'snmp_version=2c', 'community=private'] },
  ];
  it.each(cases)(`$agent $extra.1 (${RUNS} runs each of off and status): never success, never OFF, exit 1 within the bound, no crash`, async ({ agent, extra }) => {
    for (let i = 0; i < RUNS; i++) {
      const seed = 0x3000 + i * 15485863;
      const rnd = prng(seed);
      const { socket, port } = await bindUdp((s, msg, p, a) => {
        if (rnd() < 0.05) return; // now and then, silence
        const reply = snmpAnswer(msg, rnd);
        if (reply) s.send(reply, p, a);
      });
      try {
        for (const action of ['off', 'status']) {
          const stdin = [`action=${action}`, 'ip=127.0.0.1', `ipport=${port}`, ...extra, `login_timeout=${LOGIN_S}`, `power_timeout=${POWER_S}`, 'shell_timeout=1', 'stonith_status_sleep=0.5'].join('\n') + '\n';
          const r = await runAgentBinary(agent, { stdin, timeoutMs: BOUND_MS + 20_000 });
          expectSane(r, `${agent} ${action}, seed ${seed}`);
        }
      } finally {
        socket.close();
      }
    }
  });
});

/** sysObjectID.0 (1.3.6.1.2.1.1.2.0), BER-encoded as a varbind's name. */
const SYS_OBJECT_ID_NAME = Buffer.from([0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x02, 0x00]);
/** An APC MasterSwitch's sysObjectID, 1.3.6.1.4.1.318.1.3.4.1 (318 = 82 3E in base 128), as an OID value. */
const MASTER_SWITCH_ID = tlv(0x06, Buffer.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x3e, 0x01, 0x03, 0x04, 0x01]));

/**
 * Every GET answered with the same value, except sysObjectID (an APC MasterSwitch, so that fence_kit_apc_snmp reaches
 * its outlet tables: any other sysObjectID is refused before a state is read); every SET acknowledged.
 */
function constantResponder(value: Buffer) {
  return (req: Buffer): Buffer | undefined => {
    const msg = readTlv(req, 0);
    const [version, community, pdu] = children(req, msg.start, msg.end);
    const [reqId, , , vbl] = children(req, pdu!.start, pdu!.end);
    const varbinds = children(req, vbl!.start, vbl!.end).map((vb) => children(req, vb.start, vb.end));
    const answerOf = (name: Buffer, v: Buffer) => (pdu!.tag === 0xa3 ? v : name.equals(SYS_OBJECT_ID_NAME) ? MASTER_SWITCH_ID : value);
    const vbs = Buffer.concat(varbinds.map(([oid, v]) => tlv(0x30, Buffer.concat([oid!.raw, answerOf(oid!.raw, v!.raw)]))));
    return tlv(0x30, Buffer.concat([version!.raw, community!.raw, tlv(0xa2, Buffer.concat([reqId!.raw, int(0), int(0), tlv(0x30, vbs)]))]));
  };
}

describe('a status column answered with a Counter32 or Gauge32 holding the "off" value (2) is no state', () => {
  it.each([
    ['fence_kit_apc_snmp', 'plug=3', 'Counter32', tlv(0x41, Buffer.from([2]))],
    ['fence_kit_apc_snmp', 'plug=3', 'Gauge32', tlv(0x42, Buffer.from([2]))],
    ['fence_kit_switch', 'plug=11', 'Counter32', tlv(0x41, Buffer.from([2]))],
    ['fence_kit_switch', 'plug=11', 'Gauge32', tlv(0x42, Buffer.from([2]))],
  ])('%s %s, %s 2: status and off fail (exit 1), never OFF', async (agent, plug, _type, value) => {
    const answer = constantResponder(value as Buffer);
    const { socket, port } = await bindUdp((s, msg, p, a) => {
      const reply = answer(msg);
      if (reply) s.send(reply, p, a);
    });
    try {
      for (const action of ['status', 'off']) {
        const stdin = [`action=${action}`, 'ip=127.0.0.1', `ipport=${port}`, plug, 'snmp_version=2c', 'community=private', `login_timeout=${LOGIN_S}`, `power_timeout=${POWER_S}`, 'shell_timeout=1', 'stonith_status_sleep=0.5'].join('\n') + '\n';
        const r = await runAgentBinary(agent as string, { stdin, timeoutMs: BOUND_MS + 20_000 });
        expectSane(r, `${agent} ${action}`);
        expect(r.stderr).toMatch(/expected an integer/);
      }
    } finally {
      socket.close();
    }
  });
});

