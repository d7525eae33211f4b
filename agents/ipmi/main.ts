import { runAgent } from '../../lib/agent/run.js';
import { ipmiAgent } from './agent.js';

runAgent(ipmiAgent);
