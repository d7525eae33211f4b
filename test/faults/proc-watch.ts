// Watch every descendant of a process while it runs: sample /proc every few milliseconds and keep each
// process's argv and environment as first seen (and as last seen, since an exec changes them). The
// agents start short-lived children (ipmitool, snmp tools, password scripts): a 2 ms sampling period
// catches a child that lives 10 ms; a test asserting on children checks it saw the ones it expects.
import { readdirSync, readFileSync } from 'node:fs';

export interface SeenProcess {
  pid: number;
  argv: string[];
  /** NAME=value entries. */
  env: string[];
}

function read(pid: number, what: 'cmdline' | 'environ'): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/${what}`, 'latin1');
    return raw.split('\0').filter((s) => s !== '');
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Every PID whose ancestry leads to `root` (root included). */
function descendants(root: number, known: Set<number>): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (pid === root || known.has(pid)) {
      out.push(pid);
      continue;
    }
    for (let p = parentOf(pid), depth = 0; p !== undefined && p > 1 && depth < 20; p = parentOf(p), depth++) {
      if (p === root || known.has(p)) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

/**
 * Run `start` (which spawns the process to watch, as a direct child of this process) and sample its
 * descendants until it resolves. Returns `start`'s result and every distinct (pid, argv, env) seen.
 */
export async function watchDescendants<T>(start: () => Promise<T>): Promise<{ result: T; processes: SeenProcess[] }> {
  const seen = new Map<string, SeenProcess>();
  const tree = new Set<number>();
  let done = false;
  const self = process.pid;
  const sample = () => {
    for (const pid of descendants(self, tree)) {
      if (pid === self) continue;
      tree.add(pid);
      const argv = read(pid, 'cmdline');
      const env = read(pid, 'environ');
      if (!argv || argv.length === 0) continue;
      const key = `${pid}\0${argv.join('\0')}`;
      if (!seen.has(key)) seen.set(key, { pid, argv, env: env ?? [] });
    }
  };
  const loop = (async () => {
    while (!done) {
      sample();
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  try {
    const result = await start();
    return { result, processes: [...seen.values()] };
  } finally {
    done = true;
    await loop;
  }
}
