// Options typed by the declarations (lib/options/spec.ts OptionTypesOf): a name an agent does not declare, or
// a getter of the wrong kind, does not compile; a value comes out with its kind's type, a select as the union
// of its choices; a default is applied once, by resolveValues, so an option that has one is never undefined.
// The type checks are made by `tsc --noEmit` over this file (expectTypeOf, @ts-expect-error); the runtime
// checks show the values behind those types.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { apcSnmpAgent } from '../../../agents/pdu-apc/agent.js';
import { ipmiAgent } from '../../../agents/ipmi/agent.js';
import { sanlockAgent } from '../../../agents/sanlock-watchdog/agent.js';
import { readOptions } from '../../../lib/agent/run.js';
import type { AgentDeclaration } from '../../../lib/agent/declaration.js';
import type { LibraryOptionTypes } from '../../../lib/options/common.js';
import { parseStdin } from '../../../lib/options/parse.js';

function read<T extends LibraryOptionTypes>(agent: AgentDeclaration<T>, stdin: string) {
  const r = readOptions(agent, parseStdin(`${stdin}\naction=status\n`, agent.options), agent.name);
  expect(r.errors).toEqual([]);
  return r.options;
}

describe('typed option access', () => {
  it('gives each default once, from the declaration or the agent, with the type of its kind', () => {
    const ipmi = read(ipmiAgent, 'ip=127.0.0.1\nusername=u\npassword=p');
    expectTypeOf(ipmi.string('ipmitool_path')).toEqualTypeOf<string>();
    expectTypeOf(ipmi.number('ipmitool_timeout')).toEqualTypeOf<number>();
    expectTypeOf(ipmi.number('ipport')).toEqualTypeOf<number>();
    expectTypeOf(ipmi.string('cipher')).toEqualTypeOf<string | undefined>();
    expect(ipmi.string('ipmitool_path')).toBe('/usr/bin/ipmitool');
    expect(ipmi.string('sudo_path')).toBe('/usr/bin/sudo');
    expect(ipmi.number('ipmitool_timeout')).toBe(2);
    expect(ipmi.number('ipport')).toBe(623);
    const sanlock = read(sanlockAgent, 'path=/dev/null\nhost_id=1');
    expectTypeOf(sanlock.number('io_timeout')).toEqualTypeOf<number>();
    expect(sanlock.number('io_timeout')).toBe(10);
    expect(sanlock.string('sanlock_path')).toBe('/usr/sbin/sanlock');
  });

  it('gives a select option as the union of its choices, matched without regard to case', () => {
    const ipmi = read(ipmiAgent, 'ip=127.0.0.1\nprivlvl=OPERATOR\nauth=md5');
    expectTypeOf(ipmi.string('privlvl')).toEqualTypeOf<'callback' | 'user' | 'operator' | 'administrator'>();
    expectTypeOf(ipmi.string('auth')).toEqualTypeOf<'md5' | 'password' | 'none' | undefined>();
    expectTypeOf(ipmi.string('method')).toEqualTypeOf<'onoff' | 'cycle'>();
    expect(ipmi.string('privlvl')).toBe('operator');
    const apc = read(apcSnmpAgent, 'ip=pdu1\nplug=3');
    expectTypeOf(apc.string('snmp_version')).toEqualTypeOf<'1' | '2c' | '3'>();
    expect(apc.string('snmp_version')).toBe('1');
  });

  it('passes a string value exactly as written: a plug "01" stays "01"', () => {
    const apc = read(apcSnmpAgent, 'ip=pdu1\nplug=01\nswitch=01');
    expect(apc.string('plug')).toBe('01');
    expect(apc.string('switch')).toBe('01');
  });

  it('accepts only declared names, each through the getter of its kind', () => {
    const ipmi = read(ipmiAgent, 'ip=127.0.0.1');
    const sanlock = read(sanlockAgent, 'path=/dev/null\nhost_id=1');
    // Each line below compiles only if the name or the kind were wrong in the old, untyped accessors' way.
    // @ts-expect-error a misspelt name
    ipmi.string('ipmitool_pth');
    // @ts-expect-error another agent's option
    ipmi.string('community');
    // @ts-expect-error an integer read as a string
    sanlock.string('io_timeout');
    // @ts-expect-error a string read as a number
    ipmi.number('cipher');
    // @ts-expect-error a boolean read as a string
    ipmi.string('lanplus');
    // At run time the wrong kind is not converted either: what was declared is what comes out.
    expect(typeof sanlock.valueOf(sanlockAgent.options.find((o) => o.name === 'io_timeout')!)).toBe('number');
  });
});
