import { runAgent } from '../../lib/agent/run.js';
import { switchPortAgent } from './agent.js';

runAgent(switchPortAgent);
