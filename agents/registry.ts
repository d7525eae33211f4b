// The one list of agents: the build (man pages, launchers), the fencekit CLI and the tests reach agent
// declarations only through here. Importing it loads declarations only, never protocol code.
import type { AgentDeclaration } from '../lib/agent/declaration.js';
import type { SnmpOptionTypes } from '../lib/options/snmp.js';
import type { Options } from '../lib/options/values.js';
import { ipmiAgent } from './ipmi/agent.js';
import { apcAgent, apcSnmpAgent } from './pdu-apc/agent.js';
import { sanlockAgent } from './sanlock-watchdog/agent.js';
import { scsiAgent } from './scsi-reservation/agent.js';
import { switchPortAgent } from './switch-port/agent.js';

/**
 * Bundle → declaration: dist/agents/<bundle>.cjs runs it. A bundle is named after its agent directory under
 * agents/ (main.ts), or <directory>-<name> for a second agent declared there (main-<name>.ts, scripts/build.mjs).
 */
export const AGENTS: Readonly<Record<string, AgentDeclaration>> = {
  ipmi: ipmiAgent,
  'pdu-apc': apcAgent,
  'pdu-apc-snmp': apcSnmpAgent,
  'sanlock-watchdog': sanlockAgent,
  'scsi-reservation': scsiAgent,
  'switch-port': switchPortAgent,
};

export function agentByName(name: string): AgentDeclaration | undefined {
  return Object.values(AGENTS).find((a) => a.name === name || a.symlinks?.some((l) => l.name === name));
}

export { manPage } from '../lib/options/docs.js';
export { metadataXml } from '../lib/options/metadata.js';
// The BMC address and credentials of an IPMI device from its options (fencekit verify-wiring reads the
// node's power-supply sensors through the same BMC the agent fences with).
export { bmcSettingsOf } from './ipmi/agent.js';

/**
 * The SNMP view of a device's options (fencekit audit --live reads sysObjectID with the agent's own version and
 * credentials): fence_kit_switch and fence_kit_apc_snmp; undefined for an agent that does not speak SNMP.
 * The options must come from the same agent's declaration (readOptions / resolveValues with agent.options).
 */
export function snmpOptionsOf(agent: AgentDeclaration, options: Options): Options<SnmpOptionTypes> | undefined {
  return agent === switchPortAgent || agent === apcSnmpAgent ? (options as unknown as Options<SnmpOptionTypes>) : undefined;
}
