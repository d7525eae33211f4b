// The agents as Pacemaker finds them: launchers in /usr/sbin written by the real `fencekit install`, and a
// stdin recorder for the tests that check what the fencer hands an agent. The recorder is a wrapper, not
// a changed agent: it keeps each call's stdin in a file, then runs the installed launcher on it.
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENTS } from '../../agents/registry.js';
import { ROOT } from '../support/run-agent.js';
import { run, type RunResult } from './proc.js';

export const SBIN = '/usr/sbin';
export const FENCEKIT = join(ROOT, 'bin', 'fencekit');

/** Every agent name Pacemaker can be given: each agent and each of its aliases. */
export const AGENT_NAMES: readonly string[] = Object.values(AGENTS).flatMap((a) => [a.name, ...(a.symlinks ?? []).map((l) => l.name)]);

export const installLaunchers = (prefix = SBIN): Promise<RunResult> => run([FENCEKIT, 'install', '--prefix', prefix]);
export const uninstallLaunchers = (prefix = SBIN): Promise<RunResult> => run([FENCEKIT, 'uninstall', '--prefix', prefix]);

/** One call as the agent received it: key → value, in the order written, plus the raw text. */
export interface RecordedCall {
  readonly lines: readonly string[];
  readonly params: Readonly<Record<string, string>>;
}

export interface StdinRecorder {
  /** The agent name to register with the fencer. */
  readonly name: string;
  calls(): RecordedCall[];
  /** Calls other than metadata, which the fencer runs on its own account. */
  deviceCalls(): RecordedCall[];
  remove(): void;
}

let recorders = 0;

export function stdinRecorder(agent: string): StdinRecorder {
  const dir = mkdtempSync(join(tmpdir(), 'fk-recorder-'));
  const name = `fence_fktest_rec${process.pid}_${++recorders}`;
  const path = join(SBIN, name);
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `# fencekit test (pid ${process.pid}): records what pacemaker-fenced writes to ${agent}'s stdin, then runs it.`,
      `f="${dir}/$(date +%s%N)-$$"`,
      'cat > "$f"',
      `exec ${join(SBIN, agent)} < "$f"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const calls = () =>
    readdirSync(dir)
      .sort()
      .map((f) => {
        const lines = readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.length > 0);
        const params: Record<string, string> = {};
        for (const l of lines) {
          const eq = l.indexOf('=');
          if (eq > 0) params[l.slice(0, eq)] = l.slice(eq + 1);
        }
        return { lines, params };
      });
  return {
    name,
    calls,
    deviceCalls: () => calls().filter((c) => c.params.action !== 'metadata'),
    remove: () => {
      try {
        unlinkSync(path);
      } catch {
        // Never written or removed already.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
