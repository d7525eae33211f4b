// The SSH command-line client for agents: import from here. Importing this module does not load ssh2;
// CliSession.open() does.
export { CliSession, type CliSessionOptions, type HostKeyCheck } from './session.js';
export {
  sha256Fingerprint,
  keyTypeOf,
  hostKeyName,
  parseKnownHosts,
  patternsMatch,
  checkKnownHosts,
  readKnownHosts,
  knownHostsLine,
  appendKnownHost,
  knownKeyTypes,
  preferredHostKeyAlgorithms,
  recordKeyCommand,
  plainKnownHostsLine,
  GLOBAL_KNOWN_HOSTS_FILES,
  type KnownHostEntry,
  type HostKeyVerdict,
} from './known-hosts.js';
export { parseSshOptions, readOnlyKnownHostsFiles, pubkeyAlgorithmAccepted, acceptNewWithoutFile, keepsNoHostKeys, type SshClientOptions, type HostKeyPolicy, type AlgorithmList } from './openssh-options.js';
