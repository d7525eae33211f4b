// fence_kit_apc_snmp's entry: built as dist/agents/pdu-apc-snmp.cjs (scripts/build.mjs), beside main.ts's
// fence_kit_apc. A bundle of its own, so that the name a launcher is started as never picks the protocol.
import { runAgent } from '../../lib/agent/run.js';
import { apcSnmpAgent } from './agent.js';

runAgent(apcSnmpAgent);
