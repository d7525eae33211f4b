// Human output for the fencekit CLI: live per-step progress, colour only on a terminal (and never with
// NO_COLOR), and the same facts as JSON for scripts.
import { inspect } from 'node:util';
import type { StepEvent } from '../lib/topology/levels.js';

type Style = 'green' | 'red' | 'yellow' | 'bold' | 'dim' | 'cyan';

export class Printer {
  readonly colour: boolean;
  constructor(
    private readonly write: (s: string) => void = (s) => process.stdout.write(s),
    isTTY = !!process.stdout.isTTY,
    env: NodeJS.ProcessEnv = process.env,
    private readonly prefix = '',
  ) {
    this.colour = isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
  }
  /** The same output, each line prefixed (several nodes fenced at once). */
  prefixed(prefix: string): Printer {
    const p = new Printer(this.write, false, {}, prefix);
    (p as { colour: boolean }).colour = this.colour;
    return p;
  }
  style(s: Style, text: string): string {
    if (!this.colour) return text;
    // util.styleText is Node 20.12 and later; the packages run on Node 18 (README). The codes are the same.
    const [open, close] = inspect.colors[s]!;
    return `\x1b[${open}m${text}\x1b[${close}m`;
  }
  line(text = ''): void {
    this.write(`${this.prefix}${text}\n`);
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** One line per step, as it happens. */
export function progressPrinter(p: Printer, node: string): (e: StepEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'level-start':
        p.line(p.style('bold', `level ${e.level}`) + p.style('dim', ` (${e.devices.join(', ')})`));
        break;
      case 'device-start':
        p.line(`  ${p.style('cyan', e.action.padEnd(6))} ${e.device}${e.plugs.length ? `:${e.plugs.join(',')}` : ''} …`);
        break;
      case 'device-skipped':
        p.line(`  ${p.style('yellow', 'skip'.padEnd(6))} ${e.device} ${e.action}: ${e.reason}`);
        break;
      case 'device-end': {
        const mark = e.outcome.ok ? p.style('green', 'ok') : p.style('red', 'FAILED');
        p.line(`  ${mark.padEnd(p.colour ? 0 : 6)} ${e.device} ${e.action}: ${e.outcome.message} ${p.style('dim', `(${secs(e.outcome.ms)})`)}`);
        break;
      }
      case 'level-end':
        if (e.ok) p.line(p.style('green', `level ${e.level} fenced ${node}`));
        else p.line(p.style('yellow', `level ${e.level} failed; trying the next level`));
        break;
    }
  };
}
