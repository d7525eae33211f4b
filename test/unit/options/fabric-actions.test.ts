// A fabric agent accepts enable/disable for on/off (fence-agents' fabric_fencing). The engine runs on/off;
// validate() and connect() must see the same action, or an agent reading its action (fence_kit_scsi: which
// key to use, what "registered" means) would meet an action it does not know.
import { describe, expect, it } from 'vitest';
import type { AgentDeclaration } from '../../../lib/agent/declaration.js';
import { readOptions } from '../../../lib/agent/run.js';
import { CORE_OPTIONS } from '../../../lib/options/common.js';
import { parseStdin } from '../../../lib/options/parse.js';

const seen: string[] = [];
const fabric: AgentDeclaration = {
  name: 'fence_kit_fabric_test',
  shortdesc: 'test',
  longdesc: 'test',
  vendorUrl: '',
  options: CORE_OPTIONS,
  target: 'device',
  fabric: true,
  validate(options) {
    seen.push(options.string('action')!);
    return [];
  },
  connect: () => Promise.reject(new Error('not used')),
};

describe('fabric action aliases', () => {
  it.each([
    ['enable', 'on'],
    ['disable', 'off'],
    ['off', 'off'],
  ])('%s reaches validate() and the options as %s', (given, expected) => {
    seen.length = 0;
    const r = readOptions(fabric, parseStdin(`action=${given}\n`, fabric.options), fabric.name);
    expect(r.errors).toEqual([]);
    expect(r.action).toBe(expected);
    expect(r.options.string('action')).toBe(expected);
    expect(seen).toEqual([expected]);
  });
});
