// Whether a node name (Pacemaker's, a topology's) names the host this runs on: the one rule for fencekit's
// "must run on the node itself" checks (the CLI's on-target devices, fence_kit_switch's unfence_after_reboot).
/**
 * Whether `name` names this host: equal ignoring case, or one is a short name and the other an FQDN whose
 * first label it is (Pacemaker's node names are often short, hostnames often full, or the other way round).
 */
export function namesThisHost(name: string, hostname: string): boolean {
  const a = name.toLowerCase();
  const b = hostname.toLowerCase();
  if (a === '' || b === '') return false;
  if (a === b) return true;
  const [short, full] = a.includes('.') ? [b, a] : [a, b];
  return !short.includes('.') && full.startsWith(`${short}.`);
}
