// A second, independent BMC implementation for the tests: Debian's python3-pyghmi server (the basis of
// virtualbmc) on 127.0.0.1, whose chassis powers a real process (pyghmi-bmc.py). It speaks IPMI 2.0 only,
// offers cipher suite 3 only (and answers Get Channel Cipher Suites with exactly that), and ignores any
// IPMI 1.5 request. Everything started here is stopped by PID.
import { isAlive, signal } from '../../lib/proc.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from './ipmi-sim.js';
import { requirePrograms } from '../support/programs.js';

export const PYTHON = '/usr/bin/python3';
/** The BMC script beside this file; a bundled caller (a bench) names it, since its bundle lives elsewhere. */
const SCRIPT = join(import.meta.dirname, 'pyghmi-bmc.py');

export interface PyghmiBmc {
  host: string;
  port: number;
  users: { admin: { name: string; password: string }; operator: { name: string; password: string } };
  bmcPid: number;
  hostPid(): number | undefined;
  isHostRunning(): boolean;
  /** Power the host on / off at the machine (not through IPMI); resolves once done. */
  powerOnHost(): Promise<void>;
  powerOffHost(): Promise<void>;
  /** What the BMC saw, one line per event ("rakp1 admin", "close-session", "get-cipher-suites", ...). */
  events(): string[];
  clearEvents(): void;
  stop(): Promise<void>;
}

const USERS = { admin: { name: 'admin', password: 'secret' }, operator: { name: 'oper', password: 'opsecret' } };

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`pyghmi BMC: ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function startPyghmiBmc(opts: { hostOn?: boolean; script?: string } = {}): Promise<PyghmiBmc> {
  requirePrograms([PYTHON]);
  const dir = mkdtempSync(join(tmpdir(), 'fk-pyghmi-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ [USERS.admin.name]: USERS.admin.password, [USERS.operator.name]: USERS.operator.password }));
  const eventsFile = join(dir, 'events.log');
  const readEvents = () => (existsSync(eventsFile) ? readFileSync(eventsFile, 'utf8').split('\n').filter(Boolean) : []);
  let port = 0;
  let pid: number | undefined;
  let lastError = '';
  for (let attempt = 0; attempt < 5 && pid === undefined; attempt++) {
    port = await freeUdpPort();
    rmSync(eventsFile, { force: true });
    const child = spawn(PYTHON, [opts.script ?? SCRIPT, dir, String(port)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: '/usr/bin:/bin', HOST_ON: opts.hostOn === false ? '0' : '1' },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited = false;
    child.on('exit', () => (exited = true));
    try {
      await until('listening', () => exited || readEvents().some((l) => l.startsWith('listening')), 10_000);
      if (exited) throw new Error(`exited: ${stderr.trim()}`);
      child.stderr!.destroy();
      child.unref();
      pid = child.pid!;
    } catch (err) {
      lastError = (err as Error).message;
      if (child.pid) signal(child.pid, 'SIGKILL');
    }
  }
  if (pid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start the pyghmi BMC: ${lastError}`);
  }
  const bmcPid = pid;
  const hostPid = (): number | undefined => {
    const n = Number(readFileSync(join(dir, 'host.pid'), 'utf8').trim());
    return n > 0 ? n : undefined;
  };
  const isHostRunning = () => {
    const p = hostPid();
    return p !== undefined && isAlive(p);
  };
  const onExit = () => signal(bmcPid, 'SIGKILL');
  process.on('exit', onExit);
  return {
    host: '127.0.0.1',
    port,
    users: USERS,
    bmcPid,
    hostPid,
    isHostRunning,
    powerOnHost: async () => {
      signal(bmcPid, 'SIGUSR1');
      await until('host on', isHostRunning, 5000);
    },
    powerOffHost: async () => {
      signal(bmcPid, 'SIGUSR2');
      await until('host off', () => !isHostRunning(), 5000);
    },
    events: readEvents,
    clearEvents: () => writeFileSync(eventsFile, ''),
    stop: async () => {
      process.off('exit', onExit);
      const host = hostPid();
      signal(bmcPid, 'SIGTERM');
      await until('BMC stopped', () => !isAlive(bmcPid), 5000).catch(() => signal(bmcPid, 'SIGKILL'));
      if (host !== undefined) signal(host, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
