// fencekit audit, plan and verify-wiring through bin/fencekit, against the built-in lab's real peers: BMC
// simulators whose power-supply sensors follow the two snmpd PDUs' outlets (lab/). What verify-wiring must never
// do, stop a node, is read on the node's own process and its power-model log.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab, type LabNode } from '../../lab/lab.js';
import { BIN } from '../support/run-agent.js';

let work: string;

function fencekit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(BIN, 'fencekit'), args, { env: { ...process.env, NODE_EXTRA_CA_CERTS: '', FENCEKIT_LOCK_DIR: join(work, 'locks') }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const lines = (n: LabNode) => n.events().trim().split('\n').length;
/** Power-model lines after `mark`: "chassis=1 psu-a=0 psu-b=1 running=1". */
const eventsSince = (n: LabNode, mark: number) => n.events().trim().split('\n').slice(mark).map((l) => l.replace(/^\S+ /, ''));

/** Every node keeps its process and never reads running=0 while `body` runs. */
async function neverLosesPower(lab: Lab, body: () => Promise<void>): Promise<void> {
  const before = lab.nodes.map((n) => ({ pid: n.pid(), mark: lines(n) }));
  await body();
  lab.nodes.forEach((n, i) => {
    expect(n.pid(), `${n.name}'s process`).toBe(before[i]!.pid);
    expect(eventsSince(n, before[i]!.mark).filter((e) => e.includes('running=0')), `${n.name} lost power`).toEqual([]);
  });
}

/** Until both of the node's supply sensors read present (1): the lab's BMC reads them on every Get Sensor Reading. */
async function suppliesHealthy(n: LabNode): Promise<void> {
  const healthy = () => ['psu-a', 'psu-b'].every((p) => readFileSync(join(n.dir, `${p}.sensor`), 'utf8').trim() === '1');
  for (const until = Date.now() + 10_000; !healthy() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
  expect(healthy(), `${n.name}'s supplies`).toBe(true);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fk-audit-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('fencekit audit, plan and verify-wiring on the correctly wired lab (BMC simulators + snmpd)', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ dir: join(work, 'lab'), nodes: 3 });
  }, 60_000);
  afterAll(async () => lab?.stop());

  it('audit: the lab topology is clean (exit 0); its devices on a cluster network are warnings (exit 2)', async () => {
    const clean = await fencekit(['-t', lab.topologyPath, 'audit']);
    expect(clean.stdout).toContain('0 errors, 0 warnings');
    expect(clean.code).toBe(0);
    const r = await fencekit(['-t', lab.topologyPath, '--json', 'audit', '--cluster-network', '127.0.0.0/8']);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { findings: { rule: string; severity: string }[] };
    expect(out.findings).toHaveLength(5);
    expect(out.findings.every((f) => f.rule === 'cluster-network' && f.severity === 'warning')).toBe(true);
  });

  it('audit --live: every device answers; a power level of one outlet is an error once the BMC reports two supplies', async () => {
    const r = await fencekit(['-t', lab.topologyPath, '--json', 'audit', '--live']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { findings: unknown[]; live: { device: string; ok: boolean; ms: number; identity: Record<string, string> }[] };
    expect(out.findings).toEqual([]);
    expect(out.live).toHaveLength(5);
    expect(out.live.every((d) => d.ok && d.ms > 0)).toBe(true);
    expect(out.live.find((d) => d.device === 'node1-bmc')!.identity).toMatchObject({ protocol: 'IPMI 2.0 RMCP+ cipher suite 3, privilege administrator', firmware: '1.00' });
    const short = join(work, 'one-outlet.yaml');
    writeFileSync(short, readFileSync(lab.topologyPath, 'utf8').replace('[pdu-a:3, pdu-b:3]', '[pdu-a:3]'));
    const staticRun = await fencekit(['-t', short, 'audit']);
    expect(staticRun.code).toBe(2);
    const liveRun = await fencekit(['-t', short, 'audit', '--live']);
    expect(liveRun.code).toBe(1);
    expect(liveRun.stdout).toContain('node node3: level 2 switches 1 outlet, but the BMC reports 2 power supplies');
  }, 60_000);

  it('verify-wiring refuses without --yes off a terminal, and switches nothing', async () => {
    await neverLosesPower(lab, async () => {
      const marks = lab.nodes.map(lines);
      const r = await fencekit(['-t', lab.topologyPath, 'verify-wiring', 'node1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('--yes');
      lab.nodes.forEach((n, i) => expect(eventsSince(n, marks[i]!)).toEqual([]));
    });
  });

  it('verify-wiring proves both outlets of node1, one at a time, and node1 never loses power', async () => {
    const node = lab.nodes[0]!;
    const mark = lines(node);
    await neverLosesPower(lab, async () => {
      const r = await fencekit(['-t', lab.topologyPath, '--json', 'verify-wiring', 'node1', '--yes', '--settle', '5']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        ok: true,
        unfed: [],
        outlets: [
          { outlet: 'pdu-a:1', ok: true, supply: 'PS1 (psu-a)' },
          { outlet: 'pdu-b:1', ok: true, supply: 'PS2 (psu-b)' },
        ],
      });
    });
    // The node saw each supply go and come back, never both gone.
    const supplies = eventsSince(node, mark).map((e) => e.replace(/ running=\d/, ''));
    expect(supplies.filter((e) => e.includes('psu-a=0') && e.includes('psu-b=0'))).toEqual([]);
    expect(supplies.filter((_, i) => i === 0 || supplies[i] !== supplies[i - 1])).toEqual([
      'chassis=1 psu-a=0 psu-b=1',
      'chassis=1 psu-a=1 psu-b=1',
      'chassis=1 psu-a=1 psu-b=0',
      'chassis=1 psu-a=1 psu-b=1',
    ]);
  }, 60_000);

  it("plan's devices, order and resolved plugs are what the fence then does (outlet names resolved to numbers)", async () => {
    const victim = lab.nodes[1]!;
    const others = lab.nodes.filter((n) => n !== victim).map((n) => ({ n, mark: lines(n), pid: n.pid() }));
    // The same lab, its outlets named as they are labelled: plan must resolve them to the outlet numbers.
    const named = join(work, 'named.yaml');
    writeFileSync(named, readFileSync(lab.topologyPath, 'utf8').replace('[pdu-a:2, pdu-b:2]', '[pdu-a:node2-psu-a, pdu-b:node2-psu-b]'));
    const planned = await fencekit(['-t', named, '--json', 'plan', 'node2', '--live']);
    expect(planned.code).toBe(0);
    const plan = JSON.parse(planned.stdout) as { levels: { steps: { action: string; device: string; plugs: string[] }[]; devices: { device: string; plugs: { plug: string; id?: string }[] }[] }[] };
    expect(plan.levels[1]!.devices.map((d) => d.plugs)).toEqual([[{ plug: 'node2-psu-a', id: String(victim.outlet), alias: 'node2-psu-a' }], [{ plug: 'node2-psu-b', id: String(victim.outlet), alias: 'node2-psu-b' }]]);

    await lab.killBmc('node2'); // level 1 fails, so the fence runs both planned levels
    const mark = lines(victim);
    const fenced = await fencekit(['-t', named, '--json', 'fence', 'node2']);
    expect(fenced.code).toBe(0);
    const steps = (JSON.parse(fenced.stdout) as { steps: { device: string; action: string }[] }).steps.map((s) => `${s.action} ${s.device}`);
    expect(steps).toEqual(plan.levels.flatMap((l) => l.steps.map((s) => `${s.action} ${s.device}`)));
    // The outlets switched were the ones plan resolved: node2's supplies (outlet 2 of both PDUs) went off
    // together, and no other node's supply changed.
    expect(eventsSince(victim, mark)).toContain('chassis=1 psu-a=0 psu-b=0 running=0');
    for (const o of others) {
      expect(eventsSince(o.n, o.mark).filter((e) => e.includes('=0'))).toEqual([]);
      expect(o.n.pid()).toBe(o.pid);
    }
  }, 90_000);
});

describe('verify-wiring on the miswired lab (node1 and node2 pdu-b outlets swapped against the topology)', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ dir: join(work, 'miswired'), nodes: 3, miswire: true });
  }, 60_000);
  afterAll(async () => lab?.stop());

  it('fails, naming the swapped outlet and the node it really feeds, and no node loses power', async () => {
    await neverLosesPower(lab, async () => {
      const r = await fencekit(['-t', lab.topologyPath, 'verify-wiring', 'node1', '--yes', '--settle', '3']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('pdu-a:1 feeds node1 PS1 (psu-a)');
      expect(r.stdout).toContain('pdu-b:1: no supply of node1 lost its input; it feeds node2');
      expect(r.stdout).toContain('node1 PS2 (psu-b) is fed by none of pdu-a:1, pdu-b:1');
      // node1's run switched pdu-b:1, which really feeds node2, off and on again: node2's BMC reports that
      // supply healthy only once the power model has rewritten its sensor file, and verify-wiring refuses to
      // start on a node whose supplies are not all healthy.
      await suppliesHealthy(lab.nodes[1]!);
      const j = await fencekit(['-t', lab.topologyPath, '--json', 'verify-wiring', 'node2', '--yes', '--settle', '3']);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout).outlets).toEqual([
        { outlet: 'pdu-a:2', ok: true, supply: 'PS1 (psu-a)' },
        { outlet: 'pdu-b:2', ok: false, problem: 'no supply of node2 lost its input; it feeds node1' },
      ]);
    });
  }, 90_000);

  it('node3, wired as labelled, still passes', async () => {
    await neverLosesPower(lab, async () => {
      const r = await fencekit(['-t', lab.topologyPath, 'verify-wiring', 'node3', '--yes', '--settle', '5']);
      expect(r.code).toBe(0);
    });
  }, 60_000);
});
