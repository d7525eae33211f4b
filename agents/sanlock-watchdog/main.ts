import { runAgent } from '../../lib/agent/run.js';
import { sanlockAgent } from './agent.js';

runAgent(sanlockAgent);
