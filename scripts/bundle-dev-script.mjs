// The esbuild settings for a TypeScript script the development Node runs from inside the repo (`npm run bench`,
// `npm run faults`): one ESM bundle of our sources, its npm packages left to node_modules. Unlike dist/
// (scripts/build.mjs) it is never installed, so it targets the development Node rather than NODE_TARGET.
import { build } from 'esbuild';

/** Bundles for the development Node; `options` names the entry points and where the output goes. */
export function bundleDevScript(root, options) {
  return build({
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    ...options,
  });
}
