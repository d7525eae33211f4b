// The APC network management card command line (AOS 5 and later, prompt `apc>`), as far as outlets go:
// `olStatus all` prints `N: name: On|Off` lines, `olOn N` / `olOff N` answer with an `Exxx: text` code.
// Pure parsing and the meaning of each answer; the session is SshPdu's (device.ts).
import { FenceError } from '../../lib/errors.js';
import type { PowerState } from '../../lib/agent/declaration.js';
import { listedState, plugNumber, plugState, rowNamed } from '../../lib/agent/plugs.js';
import { parseSwitchOutlet } from './outlet.js';

export interface CliOutlet {
  readonly number: number;
  readonly name: string;
  /** The word the card printed ("On", "Off", or something else such as a pending "On*"). */
  readonly word: string;
}

// fence_apc: ^\s*(\d+): (.*): (On|Off)\s*$ -- here any last word is kept, so that an outlet whose state the
// card cannot tell is seen (and refused) instead of skipped as if it did not exist.
const OUTLET_LINE = /^\s*(\d+): (.*): (\S+)\s*$/;

export function parseOlStatus(text: string): CliOutlet[] {
  const outlets: CliOutlet[] = [];
  for (const line of text.split('\n')) {
    const m = OUTLET_LINE.exec(line.replace(/\r/g, ''));
    if (m) outlets.push({ number: Number(m[1]), name: m[2]!, word: m[3]! });
  }
  return outlets;
}

export function cliState(outlet: CliOutlet): PowerState {
  const state = wordState(outlet);
  if (state) return state;
  throw new FenceError('unconfirmed', `outlet ${outlet.number} ("${outlet.name}") reads "${outlet.word}": neither On nor Off`);
}

export function cliStateForList(outlet: CliOutlet): PowerState | 'unknown' {
  return listedState(wordState(outlet));
}

/** The card's word, in any case: On or Off, and nothing else. */
const wordState = (outlet: CliOutlet) => plugState(outlet.word.toLowerCase(), 'on', 'off');

/** The `Exxx: text` code an AOS command answers with, if any. */
export function resultCode(text: string): { code: string; message: string } | undefined {
  const m = /^\s*(E\d{3}):\s*(.*)$/m.exec(text);
  return m ? { code: m[1]!, message: m[2]!.trim() } : undefined;
}

/**
 * What an answer to olOn / olOff means. E000 Success and E001 Successfully Issued are acceptance; the
 * outcome is still confirmed by reading the outlet back. Every other code is the card saying no.
 */
export function checkCommandResult(command: string, text: string): void {
  const result = resultCode(text);
  if (!result) return; // older AOS prints nothing on success: the status read decides
  switch (result.code) {
    case 'E000':
    case 'E001':
      return;
    case 'E102':
      throw new FenceError('no-such-plug', `"${command}": ${result.code}: ${result.message}`);
    case 'E104':
      throw new FenceError('privilege', `"${command}": ${result.code}: ${result.message} (the account may not switch outlets)`);
    case 'E101':
      throw new FenceError('device-refused', `"${command}": ${result.code}: ${result.message} (this card has no outlet commands: is it a switched PDU on AOS 5 or later?)`);
    default:
      throw new FenceError('device-refused', `"${command}": ${result.code}: ${result.message}`);
  }
}

/** The outlet a plug names in an olStatus listing: by number, or by exact name (only one may match). */
export function findOutlet(outlets: readonly CliOutlet[], plug: string): CliOutlet {
  const legacy = parseSwitchOutlet(plug);
  if (legacy && legacy.switchId !== '1') throw new FenceError('no-such-plug', `plug ${plug} names switch ${legacy.switchId}, but the card's command line has no switches`);
  const wanted = legacy ? legacy.outlet : plug;
  const number = plugNumber(wanted);
  if (number !== undefined) {
    const byNumber = outlets.find((o) => o.number === number);
    if (!byNumber) throw new FenceError('no-such-plug', `the PDU lists no outlet ${wanted} (outlets: ${outlets.map((o) => o.number).join(', ') || 'none'})`);
    return byNumber;
  }
  const byName = rowNamed(outlets, wanted, (o) => o.name, (matches) =>
    new FenceError('bad-input', `${matches.length} outlets are named "${wanted}" (${matches.map((o) => o.number).join(', ')}): name one by number`),
  );
  if (!byName) throw new FenceError('no-such-plug', `the PDU has no outlet named "${wanted}"`);
  return byName;
}
