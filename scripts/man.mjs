// man/<agent>.8 for every agent, generated from the option declarations (the same source as metadata).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function writeManPages(root, version) {
  const { AGENTS, manPage } = await import(pathToFileURL(join(root, 'dist/registry.mjs')).href);
  mkdirSync(join(root, 'man'), { recursive: true });
  // No date in the page: a rebuild must not dirty the tree.
  for (const agent of Object.values(AGENTS)) {
    writeFileSync(join(root, 'man', `${agent.name}.8`), manPage(agent, version));
  }
}
