// An APC PDU over its SSH command line as a fencing device. Loaded only by connect(): it pulls in the SSH
// client and with it ssh2.
import type { OperationContext, PlugInfo, PowerDevice, PowerState } from '../../lib/agent/declaration.js';
import { FenceError } from '../../lib/errors.js';
import { CliSession, type CliSessionOptions } from '../../lib/ssh/index.js';
import { checkCommandResult, cliState, cliStateForList, findOutlet, parseOlStatus, type CliOutlet } from './apc-cli.js';

/** What the device needs of a session (a scripted dialogue in unit tests, CliSession otherwise). */
export type ApcCliSession = Pick<CliSession, 'command' | 'close'> & { readonly banner: string };

export class SshPdu implements PowerDevice {
  readonly #session: ApcCliSession;

  constructor(session: ApcCliSession) {
    this.#session = session;
  }

  static async open(options: CliSessionOptions): Promise<SshPdu> {
    const session = await CliSession.open(options);
    // fence_apc reads the AOS major version from the banner; before v5 the card only has menus.
    const version = /\bv(\d+)\.\d+/.exec(session.banner);
    if (version && Number(version[1]) < 5) {
      await session.close('exit');
      throw new FenceError('device-refused', `the card runs AOS v${version[1]}, which has menus only; fence_kit_apc speaks the AOS 5+ command line (or use SNMP)`);
    }
    return new SshPdu(session);
  }

  async #outlets(ctx: OperationContext): Promise<CliOutlet[]> {
    const text = await this.#session.command('olStatus all', ctx.deadline);
    const outlets = parseOlStatus(text);
    if (outlets.length === 0) {
      checkCommandResult('olStatus all', text);
      throw new FenceError('unconfirmed', `"olStatus all" listed no outlet: ${JSON.stringify(text.slice(0, 200))}`);
    }
    return outlets;
  }

  async getPower(plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    if (plug === undefined) throw new FenceError('bad-input', 'an outlet must be named with plug');
    return cliState(findOutlet(await this.#outlets(ctx), plug));
  }

  async setPower(plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    if (plug === undefined) throw new FenceError('bad-input', 'an outlet must be named with plug');
    // By number, always: a name is resolved against the card's own listing first, so a name with spaces
    // or one that looks like a number is never handed to the card's parser.
    const outlet = /^\d+$/.test(plug) ? plug : String(findOutlet(await this.#outlets(ctx), plug).number);
    const command = `${state === 'on' ? 'olOn' : 'olOff'} ${outlet.replace(/^1:/, '')}`;
    checkCommandResult(command, await this.#session.command(command, ctx.deadline));
  }

  async list(ctx: OperationContext): Promise<PlugInfo[]> {
    return (await this.#outlets(ctx)).map((o) => ({ id: String(o.number), alias: o.name, state: cliStateForList(o) }));
  }

  async monitor(ctx: OperationContext): Promise<void> {
    await this.#outlets(ctx);
  }

  async close(): Promise<void> {
    await this.#session.close('exit');
  }
}
