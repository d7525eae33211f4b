import { runAgent } from '../../lib/agent/run.js';
import { apcAgent } from './agent.js';

runAgent(apcAgent);
