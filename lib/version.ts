// Replaced at build time from package.json; the fallback serves unbundled test runs.
declare const __FENCEKIT_VERSION__: string | undefined;
export const VERSION: string = typeof __FENCEKIT_VERSION__ === 'string' ? __FENCEKIT_VERSION__ : '0.0.0-dev';
