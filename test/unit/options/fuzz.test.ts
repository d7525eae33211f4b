// Property tests of the input path: whatever arrives on stdin or argv, the agent runner never throws, never
// echoes a secret, and never contacts the device unless the input is complete and valid. FK_FUZZ_RUNS sets
// the number of cases (CI runs a sample; `FK_FUZZ_RUNS=100000 npx vitest run test/unit/options/fuzz.test.ts`
// is the long run).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentDeclaration, PowerDevice } from '../../../lib/agent/declaration.js';
import { runAgentWith, readOptions } from '../../../lib/agent/run.js';
import { CONNECTION_OPTIONS, CORE_OPTIONS, METHOD_OPTION, PLUG_OPTIONS } from '../../../lib/options/common.js';
import { parseArgv, parseStdin } from '../../../lib/options/parse.js';

const RUNS = Number(process.env.FK_FUZZ_RUNS ?? 2000);
const SECRET = 'Zq9-secret-value-Zq9';
// delay and power_wait are left out of the keys: they are real sleeps, and tested elsewhere.
const TIMEOUT = 20_000 + RUNS * 5;

let contacts = 0;
// A device that does what it is told at once, so a valid off or reboot confirms without waiting.
let devicePower: 'on' | 'off' = 'on';
const device: PowerDevice = {
  getPower: async () => devicePower,
  setPower: async (_plug, state) => {
    devicePower = state;
  },
  list: async () => [{ id: '1', alias: 'one', state: 'on' }],
  close: async () => undefined,
};
const agent: AgentDeclaration = {
  name: 'fence_kit_fuzz',
  shortdesc: 'fuzz target',
  longdesc: 'An in-memory device that counts contacts.',
  vendorUrl: '',
  options: [...CORE_OPTIONS, ...CONNECTION_OPTIONS, ...PLUG_OPTIONS, METHOD_OPTION],
  target: 'plugs',
  async connect() {
    contacts++;
    return device;
  },
};

const KEYS = ['action', 'option', 'ip', 'ipaddr', 'ipport', 'username', 'login', 'password', 'passwd', 'password_script', 'plug', 'port', 'nodename',
  'power_timeout', 'power-timeout', 'login_timeout', 'retry_on', 'method', 'verbose', 'quiet', 'separator', 'plug_separator', 'unknown_key', '#comment', ''];
const VALUES = ['off', 'on', 'reboot', 'status', 'monitor', 'list', 'list-status', 'validate-all', 'metadata', 'explode', '', '0', '1', '-3', '2.5', 'abc', 'yes', 'cycle', '127.0.0.1', '3,4', '"quoted"', 'a=b', ' spaced '];

const line = fc.oneof(
  fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES)).map(([k, v]) => `${k}=${v}`),
  fc.constantFrom(...KEYS).map((k) => `${k}=${SECRET}`),
  fc.string({ maxLength: 40 }),
  fc.constant(`password=${SECRET}`),
);
// Half the cases start from a complete configuration and add noise, so that valid input (which reaches the
// device) is common enough for the property to bite on it too.
const VALID_BASE = 'ip=127.0.0.1\nusername=u\npassword=p\nplug=1\naction=status\n';
const stdinText = fc.oneof(
  fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\n')),
  fc.array(line, { maxLength: 3 }).map((ls) => VALID_BASE + ls.join('\n')),
);
// For the secret property the secret may stand only where it is one (password) or where a value must never
// be echoed (unknown keys): a separator that happens to equal the password is printed, legitimately.
const lineSecretOnlyAsSecret = fc.oneof(
  fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES)).map(([k, v]) => `${k}=${v}`),
  fc.constantFrom('unknown_key', 'frobnicate', 'pasword').map((k) => `${k}=${SECRET}`),
  fc.string({ maxLength: 40 }),
);
const stdinWithSecret = fc.array(lineSecretOnlyAsSecret, { maxLength: 12 }).map((ls) => ls.join('\n'));
const argvList = fc.array(
  fc.oneof(fc.constantFrom('-o', '-a', '-n', '-p', '-l', '-v', '-vvv', '--action', '--ip=x', '--plug', '--power-timeout', '--bogus', '--', '-P', '-x'), fc.constantFrom(...VALUES), fc.constant(SECRET), fc.string({ maxLength: 10 })),
  { maxLength: 10 },
);

async function run(argv: string[], stdin: string) {
  let out = '';
  let err = '';
  const before = contacts;
  const code = await runAgentWith(agent, {
    argv,
    invokedName: 'fence_kit_fuzz',
    readStdin: async () => stdin,
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: {},
  });
  return { code, out, err, contacted: contacts > before };
}

describe('the input path under random input', () => {
  it('never throws, exits 0/1/2, and contacts the device only for complete, valid input', { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), stdinText, argvList, async (useArgv, stdin, argv) => {
        const r = await run(useArgv ? argv : [], stdin);
        expect([0, 1, 2]).toContain(r.code);
        const raw = useArgv && argv.length > 0 ? parseArgv(argv, agent.options) : parseStdin(stdin, agent.options);
        const checked = readOptions(agent, raw, 'fence_kit_fuzz');
        if (r.contacted) {
          expect(checked.errors).toEqual([]);
          expect(checked.docOnly).toBe(false);
          expect(checked.action).not.toBe('validate-all');
        }
        if (checked.errors.length > 0) expect(r.contacted).toBe(false);
      }),
      { numRuns: RUNS },
    );
    // The generator must reach the device sometimes, or the property above proves nothing.
    expect(contacts).toBeGreaterThan(0);
  });

  it('never prints a secret given as a password, in any output', { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(stdinWithSecret, async (stdin) => {
        const r = await run([], `${stdin}\npassword=${SECRET}\nverbose=1\n`);
        expect(r.err).not.toContain(SECRET);
        expect(r.out).not.toContain(SECRET);
      }),
      { numRuns: Math.max(200, RUNS / 4) },
    );
  });
});
