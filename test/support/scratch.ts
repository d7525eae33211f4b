// A test file's scratch directory and the peers it starts there: set up in its beforeAll, taken down in its afterAll.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startLab, type Lab, type LabOptions } from '../../lab/lab.js';

/** The built-in lab in a fresh scratch directory (under its `lab` folder). A lab that does not start leaves no
 * directory behind. */
export async function startLabInScratch(prefix: string, opts: Omit<LabOptions, 'dir'>): Promise<{ work: string; lab: Lab }> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  try {
    return { work, lab: await startLab({ ...opts, dir: join(work, 'lab') }) };
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

/** For the calling test file: the built-in lab in a fresh scratch directory, started before its tests (handed to
 * `use`), stopped and its directory removed after them. */
export function labForFile(prefix: string, opts: Omit<LabOptions, 'dir'>, use: (started: { work: string; lab: Lab }) => void): void {
  let started: { work: string; lab: Lab } | undefined;
  beforeAll(async () => {
    started = await startLabInScratch(prefix, opts);
    use(started);
  }, 60_000);
  afterAll(() => stopThenRemove(started?.work, started?.lab));
}

/** Stops each peer a file started, in order (one its beforeAll never reached is undefined), then removes the
 * file's scratch directory, even when a stop throws. */
export async function stopThenRemove(dir: string | undefined, ...peers: ({ stop(): Promise<void> | void } | undefined)[]): Promise<void> {
  try {
    for (const peer of peers) await peer?.stop();
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** For the calling test file: a peer started before its tests (handed to `use`) and stopped after them by its
 * own stop(), which stops what it started by PID. A peer whose start failed is not stopped. */
export function peerForFile<T extends { stop(): Promise<void> | void }>(start: () => Promise<T>, use: (peer: T) => void): void {
  let peer: T | undefined;
  beforeAll(async () => {
    peer = await start();
    use(peer);
  }, 60_000);
  afterAll(async () => {
    await peer?.stop();
  });
}
