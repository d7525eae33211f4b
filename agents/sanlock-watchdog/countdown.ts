// A one-line countdown on an interactive terminal while a fence waits for a lease to expire. Under
// Pacemaker (or with no terminal) it prints nothing: the result line is the only output.
import type { Writable } from 'node:stream';

export interface Countdown {
  wait(ms: number, label: string): void;
  done(): void;
}

export function countdown(tty: Writable | undefined): Countdown {
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (!timer) return;
    clearInterval(timer);
    timer = undefined;
    tty?.write('\r\x1b[K');
  };
  return {
    wait(ms, label) {
      if (!tty) return;
      stop();
      const end = Date.now() + ms;
      const draw = () => tty.write(`\r\x1b[K${label}: ${Math.max(0, Math.ceil((end - Date.now()) / 1000))} s`);
      draw();
      timer = setInterval(draw, 1000);
      timer.unref();
    },
    done: stop,
  };
}
