// Hostile topology files against bin/fencekit, property-based (fast-check): for one node of the built-in lab
// (a simulated BMC and two snmpd PDUs powering a real process), option values, secrets, plugs and whole
// lines are replaced by hostile text: control characters and injected `action=on` lines, duplicate keys,
// numeric-looking strings, huge values, unicode, repeated action lines. Each case runs
// `fencekit fence -a off` and the invariant is the one that matters: never exit 0 while the node's power
// model still runs the node. (A case may fence the node for real; power is restored after each.)
// Bounded: FK_FUZZ_TOPOLOGY_RUNS cases (default 24), seed FK_FUZZ_SEED (default: time), printed on failure.
// Addresses stay on loopback: `ip` only ever gets hostile variants of 127.0.0.1, never a name to resolve.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labAsset } from '../../lab/assets.js';
import type { Lab, LabNode } from '../../lab/lab.js';
import { runFencekit, type BinaryRun } from '../support/run-agent.js';
import { labForFile } from '../support/scratch.js';

const RUNS = Number(process.env.FK_FUZZ_TOPOLOGY_RUNS ?? 24);
const SEED = Number(process.env.FK_FUZZ_SEED ?? Date.now() % 2 ** 31);

let lab: Lab;
let work: string;
let node: LabNode;

function fencekit(args: string[], env: Record<string, string>): Promise<BinaryRun> {
  return runFencekit(args, { lockDir: join(work, 'locks'), env, timeoutMs: 30_000 });
}

function powerOn(n: LabNode): void {
  for (const what of ['psu-a', 'psu-b', 'chassis']) execFileSync(labAsset('node-power.sh'), [n.dir, 'set', what, '1']);
  lab.pdus[0].setOutletState(n.outlet, true);
  lab.pdus[1].setOutletState(n.outlet, true);
}

// ---- what a hostile case is made of --------------------------------------------------------------------

const INJECTIONS = ['\naction=on', '\raction=on', '\r\naction=on', '\naction=on\naction=on', '\0', '\x7f', '\x1b[2J', '\t', '\u2028action=on', '\u0085action=on'];
/** Text that looks like another type, or is large, or is unicode: all of it should reach the agent as written, or be refused. */
const lookalike = fc.constantFrom('0x7d0c0001', '1e10', 'true', 'no', '010', '10.0', '~', 'null', '-0', '.inf', '0o17', '1_000', 'ünïcødé', '🔌', 'admin', 'secret', '"admin"', ' admin', 'admin ', '');
const hostileText = fc.oneof(
  lookalike,
  fc.tuple(lookalike, fc.constantFrom(...INJECTIONS)).map(([a, b]) => a + b),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom('A'.repeat(70_000), 'ü'.repeat(5_000)),
);
/** `ip` stays loopback whatever happens: hostile only by what is appended to it. */
const hostileIp = fc.oneof(fc.constantFrom('127.0.0.1', '127.1', '0x7f000001'), fc.constantFrom(...INJECTIONS).map((s) => `127.0.0.1${s}`));

const mutation = fc.oneof(
  // A working value with a line (or a control character) added: the device would answer, so only the seam
  // between the file and the agent's stdin stands between an injected `action=on` and a false success.
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('inject' as const),
      target: fc.constantFrom('ip', 'ipport', 'username', 'lanplus', 'login_timeout', 'power_timeout', 'plug', 'password-env', 'password-file'),
      value: fc.constantFrom(...INJECTIONS),
    }),
  },
  fc.record({ kind: fc.constant('replace' as const), target: fc.constant('ip'), value: hostileIp }),
  fc.record({ kind: fc.constant('replace' as const), target: fc.constantFrom('username', 'ipport', 'login_timeout', 'power_timeout', 'lanplus', 'cipher', 'plug', 'password-env', 'password-file'), value: hostileText }),
  // Whole lines: duplicate keys, a per-device action, a repeated level, a tag.
  fc.record({
    kind: fc.constant('line' as const),
    target: fc.constant('line'),
    value: fc.constantFrom('    ip: 127.0.0.1', '    action: on', '    username: other', '    lanplus: !!bool true', '    ipport: !!int 623', '    plug: 1', '    nodename: node2'),
  }),
);
const levelsShape = fc.constantFrom('bmc', 'bmc-then-pdus', 'pdus');

type Mutation = { kind: 'inject' | 'replace' | 'line'; target: string; value: string };

/** YAML double-quoted scalar: JSON's escapes are YAML's. */
const quoted = (s: string) => JSON.stringify(s);

function topology(m: Mutation, shape: string, secretFile: string): { text: string; env: Record<string, string> } {
  const env: Record<string, string> = {};
  const bmc: Record<string, string> = {
    agent: 'fence_kit_ipmi',
    ip: quoted(node.bmc.host),
    ipport: String(node.bmc.port),
    username: node.bmc.users.admin.name,
    lanplus: '1',
    login_timeout: '1',
    power_timeout: '4',
    password: `{ file: ${secretFile} }`,
  };
  let plug = String(node.outlet);
  let password = node.bmc.users.admin.password;
  let extraLine = '';
  const value = (working: string) => (m.kind === 'inject' ? working + m.value : m.value);
  switch (m.target) {
    case 'password-env':
      bmc.password = '{ env: FK_FUZZ_PW }';
      env.FK_FUZZ_PW = value(password).replace(/\0/g, ''); // an environment cannot carry NUL at all
      break;
    case 'password-file':
      password = value(password);
      writeFileSync(secretFile, password, { mode: 0o600 });
      break;
    case 'plug':
      plug = value(plug);
      break;
    case 'line':
      extraLine = m.value;
      break;
    case 'ip':
      bmc.ip = quoted(value(node.bmc.host));
      break;
    default:
      bmc[m.target] = quoted(value(bmc[m.target]!));
  }
  const lines = ['devices:', '  bmc:', ...Object.entries(bmc).map(([k, v]) => `    ${k}: ${v}`)];
  if (extraLine) lines.push(extraLine);
  for (const [i, p] of lab.pdus.entries()) {
    lines.push(`  pdu-${'ab'[i]}:`, '    agent: fence_kit_apc_snmp', `    ip: ${p.host}`, `    ipport: ${p.port}`, '    snmp_version: 2c', `    community: { file: ${join(lab.dir, 'secrets', 'pdu.community')} }`, '    power_timeout: 4');
  }
  const pdus = `[${quoted(`pdu-a:${plug}`)}, ${quoted(`pdu-b:${plug}`)}]`;
  // The mutated device is always in a level: a plug needs the PDUs, anything else the BMC.
  const used = m.target === 'plug' ? (shape === 'bmc' ? 'pdus' : shape) : shape === 'pdus' ? 'bmc' : shape;
  const levels = used === 'bmc' ? ['[bmc]'] : used === 'pdus' ? [pdus] : ['[bmc]', pdus];
  lines.push('nodes:', `  ${node.name}:`, ...levels.map((l) => `    - ${l}`));
  return { text: lines.join('\n') + '\n', env };
}

labForFile('fk-hostile-', { nodes: 2 }, (started) => {
  ({ work, lab } = started);
  node = lab.nodes[0]!;
});

describe('hostile topologies against bin/fencekit (lab: simulated BMC, snmpd PDUs)', () => {
  it(`never exits 0 while the node still runs (${RUNS} cases, seed ${SEED})`, async () => {
    let n = 0;
    const property = fc.asyncProperty(mutation, levelsShape, async (m, shape) => {
      const dir = mkdtempSync(join(work, `case-${n++}-`));
      const secretFile = join(dir, 'pw');
      writeFileSync(secretFile, `${node.bmc.users.admin.password}\n`, { mode: 0o600 });
      const { text, env } = topology(m, shape, secretFile);
      const path = join(dir, 'topology.yaml');
      writeFileSync(path, text);
      powerOn(node);
      try {
        const r = await fencekit(['-t', path, 'fence', node.name, '--action', 'off', '--timeout', '12'], env);
        const story = `exit ${r.code}\n--- topology\n${text.slice(0, 2000)}\n--- stdout\n${r.stdout.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`;
        expect(r.code === 0 && node.isRunning(), `exit 0 while the node still runs:\n${story}`).toBe(false);
        expect(r.code === 0 || r.code === 1, `neither success nor failure:\n${story}`).toBe(true);
        expect(r.stderr, `an uncaught exception:\n${story}`).not.toMatch(/\n\s+at |TypeError|RangeError|ReferenceError/);
      } finally {
        powerOn(node);
      }
    });
    try {
      await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: true });
    } catch (err) {
      throw new Error(`hostile topology failed; replay with FK_FUZZ_SEED=${SEED}\n${(err as Error).message}`);
    }
  }, 300_000);
});
