// What a peer (Debian's fence-agents) did beside fencekit, recorded rather than asserted: a test that went red
// the day Debian fixed its agent would test Debian, not fencekit. Each observation is printed and appended
// to tmp/peer-observations.jsonl (one JSON object a line), which RELIABILITY.md and the closing notes cite.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './run-agent.js';

export function recordPeer(what: string, observation: Record<string, unknown>): void {
  const line = { at: new Date().toISOString(), what, ...observation };
  console.log(`peer: ${what}: ${JSON.stringify(observation)}`);
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  appendFileSync(join(ROOT, 'tmp', 'peer-observations.jsonl'), JSON.stringify(line) + '\n');
}
