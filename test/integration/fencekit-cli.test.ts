// The fencekit CLI over the built-in lab's real peers: BMC simulators and two snmpd PDUs whose outlets feed
// each node's two power supplies. Every fence is checked on the node's own process and power-model log.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../lab/lab.js';
import { isAlive } from '../../lib/proc.js';
import { sleep } from '../../lib/timing.js';
import { runAgentBinary, runFencekit, type BinaryRun } from '../support/run-agent.js';
import { labForFile } from '../support/scratch.js';

let lab: Lab;
let work: string;

/** bin/fencekit over this file's lab, its fence locks in the work directory. */
function fencekit(args: string[], env: Record<string, string> = {}): Promise<BinaryRun> {
  return runFencekit(args, { lockDir: join(work, 'locks'), env, timeoutMs: 120_000 });
}

/** ipmitool as a user runs it, the password in its environment (-E), not its argv. */
function ipmitool(args: string[], password: string): Promise<BinaryRun> {
  return runAgentBinary('/usr/bin/ipmitool', { argv: args, env: { IPMI_PASSWORD: password }, timeoutMs: 30_000 });
}

/** Power-model lines after `mark`: "chassis=1 psu-a=0 psu-b=1 running=1". */
function eventsSince(node: Lab['nodes'][number], mark: number): string[] {
  return node.events().trim().split('\n').slice(mark).map((l) => l.replace(/^\S+ /, ''));
}

labForFile('fk-cli-', { nodes: 3 }, (started) => ({ work, lab } = started));

describe('fencekit over the lab (real ipmi_sim and snmpd peers)', () => {
  it('check: every device validates and answers', async () => {
    const r = await fencekit(['-t', lab.topologyPath, 'check']);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ok /gm)).toHaveLength(5);
  });

  it('status: every device reports each node ON', async () => {
    const r = await fencekit(['-t', lab.topologyPath, '--json', 'status']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { node: string; state: string }[];
    expect(rows).toHaveLength(9);
    expect(rows.every((x) => x.state === 'on')).toBe(true);
  });

  it('fence off through level 1: the BMC powers the node off', async () => {
    const node = lab.nodes[2]!;
    const r = await fencekit(['-t', lab.topologyPath, '--json', 'fence', node.name, '--action', 'off']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, level: 1 });
    expect(node.isRunning()).toBe(false);
    const on = await fencekit(['-t', lab.topologyPath, 'fence', node.name, '--action', 'on']);
    expect(on.code).toBe(0);
    expect(node.isRunning()).toBe(true);
  });

  it('respects the total deadline: a frozen BMC and a frozen PDU cannot hold the fence past --timeout', async () => {
    const node = lab.nodes[1]!;
    node.bmc.freeze();
    lab.pdus[0].freeze();
    try {
      const r = await fencekit(['-t', lab.topologyPath, 'fence', node.name, '--action', 'off', '--timeout', '3']);
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(5000);
      expect(node.isRunning()).toBe(true);
    } finally {
      node.bmc.thaw();
      lab.pdus[0].thaw();
    }
  });

  it('a run killed at its time limit has no exit code: a hang can never pass as exit 1', async () => {
    // status only: nothing here may change power.
    const node = lab.nodes[1]!;
    node.bmc.freeze();
    try {
      const r = await runFencekit(['-t', lab.topologyPath, 'status'], { lockDir: join(work, 'locks'), timeoutMs: 1500 });
      expect(r.signal).toBe('SIGKILL');
      expect(r.code).toBeNull();
      // The CLI and the agents it started (each in a process group of its own) were all killed by PID.
      expect(r.killed!.length).toBeGreaterThan(1);
      for (const until = Date.now() + 5000; r.killed!.some((pid) => isAlive(pid)) && Date.now() < until; ) await sleep(20);
      expect(r.killed!.filter((pid) => isAlive(pid))).toEqual([]);
    } finally {
      node.bmc.thaw();
    }
  });

  it('two concurrent fences of one node do not interleave: the second waits for the first', async () => {
    const node = lab.nodes[1]!;
    const [a, b] = await Promise.all([
      fencekit(['-t', lab.topologyPath, '--json', 'fence', node.name]),
      fencekit(['-t', lab.topologyPath, '--json', 'fence', node.name]),
    ]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const [ra, rb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)].sort((x, y) => x.startedAt - y.startedAt);
    expect(rb.startedAt).toBeGreaterThanOrEqual(ra.startedAt + ra.ms);
    expect(node.isRunning()).toBe(true);
  });

  it('export pcs names every device, host map and level; export cib keeps the password file a script and asks before writing other secrets', async () => {
    const pcs = await fencekit(['-t', lab.topologyPath, 'export', 'pcs']);
    expect(pcs.code).toBe(0);
    expect(pcs.stdout).toMatch(/pcs stonith create node1-bmc fence_kit_ipmi/);
    expect(pcs.stdout).toMatch(/pcmk_host_map=.?node1:1;node2:2;node3:3/);
    expect(pcs.stdout).toContain('pcs stonith level add 2 node1 pdu-a,pdu-b');
    // The PDU community has no *_script option, so the CIB can only hold it with --with-secrets.
    const refused = await fencekit(['-t', lab.topologyPath, 'export', 'cib']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/"community".*--with-secrets/);
    const cib = await fencekit(['-t', lab.topologyPath, 'export', 'cib', '--with-secrets']);
    expect(cib.code).toBe(0);
    expect(cib.stdout).toMatch(/name="password_script" value="\/bin\/cat [^"]+bmc.pw"/);
    expect(cib.stdout).not.toMatch(/name="password"/);
  });

  it('a topology error names the file and line; a world-readable secret file is refused', async () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'devices:\n  d:\n    agent: fence_kit_ipmi\n    ip: 127.0.0.1\n    ipport: many\nnodes:\n  n1: [d]\n');
    const r = await fencekit(['-t', bad, 'check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:5: .*'ipport'/);
    const pw = join(work, 'open.pw');
    writeFileSync(pw, 'x\n');
    chmodSync(pw, 0o644);
    const open = join(work, 'open.yaml');
    writeFileSync(open, `devices:\n  d:\n    agent: fence_kit_ipmi\n    ip: 127.0.0.1\n    password: { file: ${pw} }\nnodes:\n  n1: [d]\n`);
    const s = await fencekit(['-t', open, 'fence', 'n1', '--action', 'off', '--timeout', '5']);
    expect(s.code).toBe(1);
    expect(s.stdout + s.stderr).toMatch(/readable by others/);
  });

  // The last tests of this lab: node1's BMC stays dead from here on. Each test kills nothing itself, so each
  // passes alone (`vitest -t NAME` runs this beforeAll) and none depends on another having run first.
  describe('with node1\'s BMC dead', () => {
    beforeAll(async () => {
      await lab.killBmc(lab.nodes[0]!.name);
    });

    it('a dead BMC: level 1 fails fast, level 2 cuts both supplies, confirms both, then restores them', async () => {
      const node = lab.nodes[0]!;
      const pid = node.pid();
      const mark = node.events().trim().split('\n').length;
      const r = await fencekit(['-t', lab.topologyPath, 'fence', node.name]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/level 1 failed/);
      expect(r.stdout).toMatch(/reboot succeeded at level 2/);
      expect(node.pid()).toBeDefined();
      expect(node.pid()).not.toBe(pid);
      // Observed from the PDU side: both outlets off (node dead) before either comes back on.
      expect(eventsSince(node, mark)).toEqual([
        'chassis=1 psu-a=0 psu-b=1 running=1',
        'chassis=1 psu-a=0 psu-b=0 running=0',
        'chassis=1 psu-a=1 psu-b=0 running=1',
        'chassis=1 psu-a=1 psu-b=1 running=1',
      ]);
    });

    it('a PDU that refuses one outlet fails the level, and the fence fails while the node still runs', async () => {
      const node = lab.nodes[0]!;
      lab.pdus[1].setFault(node.outlet, { kind: 'refuse' });
      try {
        const r = await fencekit(['-t', lab.topologyPath, '--json', 'fence', node.name, '--action', 'off']);
        expect(r.code).toBe(1);
        expect(JSON.parse(r.stdout)).toMatchObject({ ok: false });
        expect(node.isRunning()).toBe(true);
      } finally {
        lab.pdus[1].setFault(node.outlet, null);
        lab.pdus[0].setOutletState(node.outlet, true);
      }
    });
  });
});

describe('fencekit lab and demo', () => {
  it('demo fences a node whose BMC died, through both PDUs, and exits 0', async () => {
    const r = await fencekit(['demo'], { FENCEKIT_LAB_DIR: join(work, 'demo-lab') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/level 1 failed; trying the next level/);
    expect(r.stdout).toMatch(/was really powered off \(both supplies cut/);
  });

  it('lab up / status / down leave nothing running; the BMCs of `lab up` take ipmitool -C 17 (cipher suite 17)', async () => {
    const env = { FENCEKIT_LAB_DIR: join(work, 'bg-lab') };
    const up = await fencekit(['lab', 'up', '--nodes', '2'], env);
    expect(up.code).toBe(0);
    const status = await fencekit(['--json', 'lab', 'status'], env);
    const rec = JSON.parse(status.stdout.split('\n')[0]!);
    expect(rec.up).toBe(true);
    const password = readFileSync(join(env.FENCEKIT_LAB_DIR, 'secrets', 'bmc.pw'), 'utf8').trim();
    for (const node of rec.nodes as { bmcPort: number }[]) {
      const r = await ipmitool(['-I', 'lanplus', '-C', '17', '-H', '127.0.0.1', '-p', String(node.bmcPort), '-U', 'admin', '-E', 'chassis', 'power', 'status'], password);
      expect(r.stdout + r.stderr).toMatch(/^Chassis Power is on$/m);
      expect(r.code).toBe(0);
    }
    const down = await fencekit(['lab', 'down'], env);
    expect(down.code).toBe(0);
    for (const pid of [rec.supervisorPid, ...rec.nodes.map((n: { nodePid: number }) => n.nodePid), ...rec.pdus.map((p: { snmpdPid: number }) => p.snmpdPid)]) {
      expect(pid).toBeGreaterThan(0);
      expect(() => process.kill(pid, 0), `PID ${pid} still runs`).toThrow();
    }
  });
});
