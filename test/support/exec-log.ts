// Every program a process tree runs, with its whole argv and environment, recorded by the kernel's own
// view of each execve (strace -f -e trace=execve), not sampled from /proc: a child that lives a
// microsecond is recorded like one that lives a minute, and so is every program exec'd in place (sudo,
// env, a shell's last command). This is what a secrets audit rests on.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const STRACE = '/usr/bin/strace';

export interface ExecRecord {
  readonly pid: number;
  /** The path given to execve. */
  readonly path: string;
  readonly argv: readonly string[];
  /** NAME=value entries. */
  readonly env: readonly string[];
}

export interface ExecLog {
  /** Prefix an argv with this to trace it (and everything it starts). */
  wrap(argv: readonly string[]): string[];
  /** Every successful execve so far, in no particular order. */
  records(): ExecRecord[];
  remove(): void;
}

export function execLog(): ExecLog {
  const dir = mkdtempSync(join(tmpdir(), 'fk-exec-log-'));
  const prefix = join(dir, 'trace');
  return {
    // -ff: one file per process, so that no two processes' lines interleave; -v: whole environments;
    // -s: strings up to 1 MiB, never cut; -qq: no attach/exit chatter.
    wrap: (argv) => [STRACE, '-f', '-ff', '-qq', '-v', '-s', '1048576', '-e', 'trace=execve', '-o', prefix, '--', ...argv],
    records: () =>
      readdirSync(dir)
        .filter((f) => f.startsWith('trace.'))
        .flatMap((f) => parseExecLines(Number(f.slice('trace.'.length)), readFileSync(join(dir, f), 'latin1'))),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The successful execve calls in one process's strace output. */
export function parseExecLines(pid: number, text: string): ExecRecord[] {
  const out: ExecRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('execve(') || !/\) = 0$/.test(line)) continue;
    const p = new CParser(line, 'execve('.length);
    const path = p.string();
    p.expect(', ');
    const argv = p.list();
    p.expect(', ');
    const env = p.list();
    out.push({ pid, path, argv, env });
  }
  return out;
}

/** strace's C-style literals: "..." with \\ \" \n \t \r \v \f and \ooo / \xhh escapes; lists in [...]. */
class CParser {
  constructor(
    private readonly s: string,
    private i: number,
  ) {}

  expect(lit: string): void {
    if (!this.s.startsWith(lit, this.i)) throw new SyntaxError(`strace line: expected ${JSON.stringify(lit)} at ${this.i}: ${this.s.slice(0, 120)}`);
    this.i += lit.length;
  }

  list(): string[] {
    this.expect('[');
    const items: string[] = [];
    while (this.s[this.i] !== ']') {
      if (items.length > 0) this.expect(', ');
      items.push(this.string());
    }
    this.i++;
    return items;
  }

  string(): string {
    this.expect('"');
    const bytes: number[] = [];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '\\': 92, '"': 34 };
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) throw new SyntaxError('strace line: unterminated string');
      if (c === '"') break;
      if (c !== '\\') {
        bytes.push(c.charCodeAt(0));
        continue;
      }
      const e = this.s[this.i]!;
      if (e in simple) {
        bytes.push(simple[e]!);
        this.i++;
      } else if (e === 'x') {
        bytes.push(parseInt(this.s.slice(this.i + 1, this.i + 3), 16));
        this.i += 3;
      } else {
        const m = /^[0-7]{1,3}/.exec(this.s.slice(this.i))!;
        bytes.push(parseInt(m[0], 8));
        this.i += m[0].length;
      }
    }
    // A string cut at -s would end in "..."; -s is 1 MiB, so a cut string is a test error, not a pass.
    if (this.s.startsWith('...', this.i)) throw new SyntaxError('strace line: a string was cut');
    return Buffer.from(bytes).toString('utf8');
  }
}
