import { describe, expect, it } from 'vitest';
import { parseArgv, parseStdin } from '../../../lib/options/parse.js';
import { resolveValues, missingRequired } from '../../../lib/options/values.js';
import { CONNECTION_OPTIONS, CORE_OPTIONS, PLUG_OPTIONS, METHOD_OPTION } from '../../../lib/options/common.js';
import { getoptMixed, type OptionSpec } from '../../../lib/options/spec.js';

const SPECS = [...CORE_OPTIONS, ...CONNECTION_OPTIONS, ...PLUG_OPTIONS, METHOD_OPTION,
  { name: 'lanplus', short: 'P', type: 'boolean', shortdesc: 'lanplus' }] as const satisfies readonly OptionSpec[];

describe('stdin parser (FenceAgentAPI rules)', () => {
  it('skips comments and blank lines, trims lines, splits at the first =', () => {
    const raw = parseStdin('# a comment\n\n  action=off  \nip=10.0.0.1\npassword=a=b=c\n', SPECS);
    expect(raw.values.get('action')).toBe('off');
    expect(raw.values.get('ip')).toBe('10.0.0.1');
    expect(raw.values.get('password')).toBe('a=b=c');
    expect(raw.warnings).toEqual([]);
  });

  it('lets the last of a repeated harmless key win', () => {
    const raw = parseStdin('username=a\nusername=b\npower_timeout=5\npower-timeout=7\n', SPECS);
    expect(raw.values.get('username')).toBe('b');
    expect(raw.values.get('power_timeout')).toBe('7');
    expect(raw.errors).toEqual([]);
  });

  it('refuses a repeated action, even with the same value, with one line naming the option and no action kept', () => {
    for (const text of ['action=off\naction=on\n', 'action=off\naction=off\n', 'action=off\noption=on\n', 'option=on\naction=off\n', 'action=off\naction=on\naction=off\n']) {
      const raw = parseStdin(text, SPECS);
      expect(raw.errors, text).toEqual(["Failed: option 'action' (-o, --action) is given more than once: give it once"]);
      expect(raw.values.has('action'), text).toBe(false);
    }
  });

  it('refuses a target given twice with different values, under any of its names, without echoing them', () => {
    const raw = parseStdin('plug=node-a-value\nport=node-b-value\nip=10.0.0.1\nipaddr=10.0.0.2\n', SPECS);
    expect(raw.errors).toHaveLength(2);
    expect(raw.errors[0]).toMatch(/^Failed: option 'plug' \(-n, --plug\) is given twice with different values/);
    expect(raw.errors[1]).toMatch(/^Failed: option 'ip' \(-a, --ip\) is given twice with different values/);
    for (const e of raw.errors) expect(e).not.toMatch(/node-a-value|node-b-value|10\.0\.0/);
  });

  it('accepts a target repeated with the same value (Pacemaker port= beside a configured plug=)', () => {
    const raw = parseStdin('action=off\nnodename=node2\nport=node2\nplug="node2"\nip=h\nipaddr=h\n', SPECS);
    expect(raw.errors).toEqual([]);
    expect(raw.values.get('plug')).toBe('node2');
  });

  it('ignores nodename, even repeated, when the agent does not declare it', () => {
    const raw = parseStdin('nodename=a\nnodename=b\naction=off\n', SPECS);
    expect(raw.errors).toEqual([]);
  });

  it('refuses a repeated nodename with different values when the agent declares it', () => {
    const specs = [...SPECS, { name: 'nodename', type: 'string', shortdesc: 'node' } as OptionSpec];
    expect(parseStdin('nodename=a\nnodename=b\n', specs).errors[0]).toMatch(/'nodename'.*different values/);
    expect(parseStdin('nodename=a\nnodename=a\n', specs).errors).toEqual([]);
  });

  it('accepts deprecated names, long names and - for _', () => {
    const raw = parseStdin('ipaddr=h\nlogin=u\npasswd=p\nport=3\npower-timeout=7\npasswd_script=/bin/x\n', SPECS);
    expect(Object.fromEntries(raw.values)).toEqual({ ip: 'h', username: 'u', password: 'p', plug: '3', power_timeout: '7', password_script: '/bin/x' });
  });

  it('removes surrounding double quotes', () => {
    expect(parseStdin('username="admin"\n', SPECS).values.get('username')).toBe('admin');
  });

  it('warns about unknown keys without echoing their values', () => {
    const raw = parseStdin('action=off\nfrobnicate=s3cr3t-value\n', SPECS);
    expect(raw.warnings).toHaveLength(1);
    expect(raw.warnings[0]).toContain("'frobnicate'");
    expect(raw.warnings[0]).not.toContain('s3cr3t');
  });

  it('ignores nodename silently when the agent does not declare it', () => {
    const raw = parseStdin('nodename=node2\naction=status\n', SPECS);
    expect(raw.warnings).toEqual([]);
    expect(raw.values.has('nodename')).toBe(false);
  });

  it("accepts 'option' as the legacy name of action", () => {
    expect(parseStdin('option=off\n', SPECS).values.get('action')).toBe('off');
  });

  it('reads booleans as 1/yes/on/true and 0/no/off/false, and rejects anything else naming the option', () => {
    for (const v of ['1', 'yes', 'on', 'true', 'TRUE']) expect(parseStdin(`lanplus=${v}`, SPECS).values.get('lanplus')).toBe(true);
    for (const v of ['0', 'no', 'off', 'false']) expect(parseStdin(`lanplus=${v}`, SPECS).values.get('lanplus')).toBe(false);
    const bad = parseStdin('lanplus=maybe', SPECS);
    expect(bad.errors[0]).toContain("'lanplus'");
    expect(bad.errors[0]).not.toContain('maybe');
  });

  it('treats a false boolean as absent', () => {
    const { options } = resolveValues(parseStdin('lanplus=0\n', SPECS), SPECS);
    expect(options.flag('lanplus')).toBe(false);
    expect(options.has('lanplus')).toBe(false);
  });
});

describe('argv parser (GNU getopt rules)', () => {
  it('reads short, bundled, attached and long forms', () => {
    const raw = parseArgv(['-a', 'h', '-lroot', '--password=x', '--plug', '5', '-vvv', '-o', 'off', '-P'], SPECS);
    expect(raw.values.get('ip')).toBe('h');
    expect(raw.values.get('username')).toBe('root');
    expect(raw.values.get('password')).toBe('x');
    expect(raw.values.get('plug')).toBe('5');
    expect(raw.values.get('action')).toBe('off');
    expect(raw.values.get('lanplus')).toBe(true);
    expect(raw.counts.get('verbose')).toBe(3);
  });

  it('refuses a repeated -o/--action and a plug or ip given twice with different values; harmless repeats keep the last', () => {
    const action = "Failed: option 'action' (-o, --action) is given more than once: give it once";
    expect(parseArgv(['-o', 'off', '-o', 'on'], SPECS).errors).toEqual([action]);
    expect(parseArgv(['--action=off', '-ooff'], SPECS).errors).toEqual([action]);
    expect(parseArgv(['-o', 'off', '-n', '1', '--plug=2'], SPECS).errors[0]).toMatch(/'plug'.*different values/);
    expect(parseArgv(['-o', 'off', '-a', 'h1', '--ip', 'h2'], SPECS).errors[0]).toMatch(/'ip'.*different values/);
    const same = parseArgv(['-o', 'off', '-n', '1', '--plug=1', '-l', 'a', '-l', 'b'], SPECS);
    expect(same.errors).toEqual([]);
    expect(same.values.get('username')).toBe('b');
  });

  it('rejects unknown options and missing values, naming the option', () => {
    expect(parseArgv(['--bogus'], SPECS).errors[0]).toContain('--bogus');
    expect(parseArgv(['-o'], SPECS).errors[0]).toContain("'-o'");
    expect(parseArgv(['--lanplus=1'], SPECS).errors[0]).toContain('--lanplus');
  });

  it("takes a declared long alias (fence_scsi's --sg_persist-path) as the option itself, and shows only the long name", () => {
    const specs = [{ name: 'sg_persist_path', longAliases: ['sg_persist-path'], valueName: 'path', type: 'string', shortdesc: 'p' }] as const satisfies readonly OptionSpec[];
    expect(parseArgv(['--sg_persist-path=/a'], specs).values.get('sg_persist_path')).toBe('/a');
    expect(parseArgv(['--sg_persist-path', '/b'], specs).values.get('sg_persist_path')).toBe('/b');
    expect(parseArgv(['--sg-persist-path=/c'], specs).values.get('sg_persist_path')).toBe('/c');
    expect(parseArgv(['--sg_persist_path=/d'], specs).errors).toEqual(["Failed: unrecognised option '--sg_persist_path'"]);
    expect(getoptMixed(specs[0])).toBe('--sg-persist-path=[path]');
  });

  it('warns about stray operands without echoing them', () => {
    const raw = parseArgv(['-o', 'status', 'hunter2'], SPECS);
    expect(raw.warnings).toHaveLength(1);
    expect(raw.warnings[0]).not.toContain('hunter2');
  });
});

describe('typed values', () => {
  it('types integers and seconds, with defaults filled in', () => {
    const { options, errors } = resolveValues(parseStdin('power_timeout=7.5\nipport=624\n', SPECS), SPECS, { power_wait: '2' });
    expect(errors).toEqual([]);
    expect(options.number('power_timeout')).toBe(7.5);
    expect(options.number('ipport')).toBe(624);
    expect(options.number('power_wait')).toBe(2);
    expect(options.number('login_timeout')).toBe(5);
    expect(options.given.has('power_wait')).toBe(false);
  });

  it('rejects malformed numbers and choices with a line naming the option', () => {
    const { errors } = resolveValues(parseStdin('power_timeout=soon\nretry_on=x\nmethod=smash\n', SPECS), SPECS);
    expect(errors).toHaveLength(3);
    expect(errors.join('\n')).toContain("'retry_on'");
    expect(errors.join('\n')).toContain("'power_timeout'");
    expect(errors.join('\n')).toMatch(/'method'.*onoff, cycle/);
    expect(errors.join('\n')).not.toContain('soon');
  });

  it('accepts select values case-insensitively and stores the declared spelling', () => {
    const { options } = resolveValues(parseStdin('method=CYCLE\n', SPECS), SPECS);
    expect(options.string('method')).toBe('cycle');
  });

  it('refuses a conflicting pair', () => {
    const { errors } = resolveValues(parseStdin('password=a\npassword_script=/bin/true\n', SPECS), SPECS);
    expect(errors.join()).toMatch(/'password'.*conflicts with.*'password_script'/);
  });

  it('lists missing required options unless exempt', () => {
    const { options } = resolveValues(parseStdin('action=off\n', SPECS), SPECS);
    expect(missingRequired(options, SPECS, new Set())).toEqual([
      "Failed: missing required option 'ip' (-a, --ip)",
      "Failed: missing required option 'plug' (-n, --plug)",
    ]);
    expect(missingRequired(options, SPECS, new Set(['plug', 'ip']))).toEqual([]);
  });
});
