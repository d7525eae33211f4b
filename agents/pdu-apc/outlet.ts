// An outlet as the user names it, whichever way the PDU is reached (SNMP or the card's command line): the
// `switch` option and fence-agents' legacy `switch:outlet` plug (MasterSwitch Plus).
import { FenceError } from '../../lib/errors.js';

const DIGITS = /^\d+$/;

/** The `switch` option as a number (undefined when not given); anything but digits is bad input. */
export function switchOption(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!DIGITS.test(value)) throw new FenceError('bad-input', "option 'switch' (-s, --switch) must be a number");
  return Number(value);
}

/** A `switch:outlet` plug (both all digits), each part as written; undefined for any other plug. */
export function parseSwitchOutlet(plug: string): { readonly switchId: string; readonly outlet: string } | undefined {
  const m = /^(\d+):(\d+)$/.exec(plug);
  return m ? { switchId: m[1]!, outlet: m[2]! } : undefined;
}
