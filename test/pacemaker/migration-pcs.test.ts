// The migration corpus through pcs: `pcs stonith create` (Debian's pcs, on a CIB file with -f, no cluster)
// with --agent-validation, for the peer agent and for the fencekit agent that replaces it, with the row's
// options as written. pcs reads each agent's metadata through Pacemaker (crm_resource finds stonith agents
// in /usr/sbin, where `fencekit install` puts the launchers) and refuses, without --force, an option the
// metadata lacks or a configuration whose validate-all fails. Ours must be accepted wherever the peer is,
// except where the corpus says the difference is on purpose or pending.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, type Expectation, type MigrationRow } from '../conformance/migration/corpus.js';
import { missingPrograms } from '../support/programs.js';
import { installLaunchers, uninstallLaunchers } from './agents.js';
import { explain, run } from './proc.js';

let work: string;
let emptyCib: string;

beforeAll(async () => {
  const r = await installLaunchers();
  if (r.code !== 0) throw new Error(explain(['fencekit', 'install'], r));
  work = mkdtempSync(join(tmpdir(), 'fk-migration-pcs-'));
  const cib = await run(['cibadmin', '--empty']);
  if (cib.code !== 0) throw new Error(explain(['cibadmin', '--empty'], cib));
  emptyCib = join(work, 'empty.xml');
  writeFileSync(emptyCib, cib.stdout);
});

afterAll(async () => {
  await uninstallLaunchers();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** pcs stonith create on a copy of the empty CIB: exit code and what pcs said. */
async function pcsCreate(row: MigrationRow, agent: string, side: string) {
  const cib = join(work, `${row.id}-${side}.xml`);
  copyFileSync(emptyCib, cib);
  const options = { ...row.stdin, ...row.pcmk };
  const argv = ['pcs', '-f', cib, 'stonith', 'create', `${row.id}-${side}`, agent, ...Object.entries(options).map(([k, v]) => `${k}=${v}`), '--agent-validation'];
  const r = await run(argv, { timeoutMs: 60_000 });
  return { code: r.code, said: explain(argv, r) };
}

const ROWS = CORPUS.filter((r) => r.stdin);

describe('pcs stonith create --agent-validation accepts fencekit with the peer\'s option set, without --force', () => {
  it('has pcs and cibadmin', () => {
    expect(missingPrograms(['pcs', 'cibadmin', 'crm_resource'])).toEqual([]);
  });

  // pcs is a Python program (~0.5 s a call): one at a time, side by side gains nothing on 2 cores.
  it.each(ROWS.map((r) => [r.id, r] as const))('%s', async (_id, row) => {
    const peer = await pcsCreate(row, row.peer, 'peer');
    const ours = await pcsCreate(row, row.ours, 'ours');
    const expectation: Expectation = row.pcs ?? row.expect;
    const seen = `peer:\n${peer.said}\nours:\n${ours.said}`;
    if (expectation === 'same') {
      expect(ours.code, seen).toBe(peer.code);
    } else if ('differs' in expectation) {
      expect(ours.code, `${seen}\nlisted as a difference on purpose, but pcs treats both alike`).not.toBe(peer.code);
    } else {
      expect(ours.code, `${seen}\npending ${expectation.pending}, but pcs treats both alike now: update the corpus`).not.toBe(peer.code);
    }
  });
});
