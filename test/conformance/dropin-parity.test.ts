// Drop-in parity (issue 14): configurations that fence-agents accepts and that a user migrating a cluster
// keeps as they are. Each case runs the built binary as Pacemaker does (options on stdin).
import { describe, expect, it } from 'vitest';
import { runAgentBinary, stdinOf } from '../support/run-agent.js';

describe('fence_kit_scsi validate-all without nodename or key (pcs stonith create ... devices=...)', () => {
  // A stonith device names no node: Pacemaker passes the victim (plug) at fence time. fence_scsi logs the
  // missing node and exits 0, so pcs --agent-validation, stonith_admin --validate and crm_resource
  // --validate accept the device; so must we, with a warning instead of an error.
  it('exits 0 and warns that the node is needed at fence time', async () => {
    const r = await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ action: 'validate-all', devices: '/dev/fencekit-no-such-lun' }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^WARNING: nodename or key is required.*at fence time/m);
  });

  it('any other action without nodename or key is still refused', async () => {
    for (const action of ['off', 'on', 'status']) {
      const r = await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ action, devices: '/dev/fencekit-no-such-lun' }) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^Failed: nodename or key is required/m);
    }
  });

  it('validate-all with a node or key prints no warning; a malformed key stays an error', async () => {
    const named = await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ action: 'validate-all', devices: '/dev/fencekit-no-such-lun', plug: 'node1' }) });
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toBe('');
    const bad = await runAgentBinary('fence_kit_scsi', { stdin: stdinOf({ action: 'validate-all', devices: '/dev/fencekit-no-such-lun', key: 'zz' }) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/option 'key'/);
  });
});
