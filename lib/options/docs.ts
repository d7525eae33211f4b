// --help text and the troff man page, from the same declarations as the metadata.
import { advertisedActions, effectiveDefaults, type AgentDeclaration } from '../agent/declaration.js';
import { sortedOptions } from './metadata.js';
import { getoptMixed, shownDefault, shownShortdesc, type OptionSpec } from './spec.js';

function describe(spec: OptionSpec, defaults: Record<string, string>): string {
  let text = shownShortdesc(spec);
  if (spec.type === 'select' && spec.choices) text += ` (${spec.choices.join('|')})`;
  const def = shownDefault(spec, defaults);
  if (def !== undefined) text += ` (Default: ${def})`;
  if (spec.required) text += ' [required]';
  if (spec.helpNote) text += ` ${spec.helpNote}`;
  return text;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function helpText(agent: AgentDeclaration, invokedName: string): string {
  const defaults = effectiveDefaults(agent, invokedName);
  const out = ['Usage:', `\t${invokedName} [options]`, `\techo -e "key=value\\n..." | ${invokedName}`, 'Options:'];
  for (const spec of sortedOptions(agent.options)) {
    const left = `   ${getoptMixed(spec)}`;
    const body = wrap(describe(spec, defaults), 50);
    out.push(left.padEnd(34) + (left.length >= 34 ? `\n${' '.repeat(34)}` : '') + body[0]);
    for (const more of body.slice(1)) out.push(' '.repeat(34) + more);
  }
  out.push('', `Actions: ${advertisedActions(agent).map((a) => a.name).join(', ')}`);
  out.push('Exit status: 0 success, 1 failure, 2 status reports the target OFF.');
  return out.join('\n') + '\n';
}

function troff(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1').replace(/-/g, '\\-');
}

/** A man page in section 8, as fence-agents installs one per agent. */
export function manPage(agent: AgentDeclaration, version: string): string {
  const defaults = effectiveDefaults(agent, agent.name);
  const out = [
    `.TH ${agent.name.toUpperCase()} 8 "" "fencekit ${version}" "System Administration"`,
    '.SH NAME',
    `${troff(agent.name)} \\- ${troff(agent.shortdesc)}`,
    '.SH SYNOPSIS',
    `.B ${troff(agent.name)}`,
    '[\\fIOPTION\\fR]...',
    '.br',
    `.B echo "key=value" | ${troff(agent.name)}`,
    '.SH DESCRIPTION',
    troff(agent.longdesc),
    '.PP',
    `${troff(agent.name)} accepts options on the command line or as key=value lines on standard input (as Pacemaker runs it), never both. Every failure exits 1; \\fBstatus\\fR exits 2 when the target is off. An option error, a missing required option or a missing action stops the agent before it contacts any device.`,
    '.SH OPTIONS',
  ];
  for (const spec of sortedOptions(agent.options)) {
    out.push('.TP', `.B ${troff(getoptMixed(spec))}`, troff(describe(spec, defaults)));
    const names = spec.deprecatedName ? `${spec.name} (obsoletes ${spec.deprecatedName})` : spec.name;
    out.push('.br', `On standard input: \\fB${troff(names)}\\fR`);
  }
  out.push('.SH ACTIONS');
  for (const a of advertisedActions(agent)) out.push('.TP', `.B ${troff(a.name)}`, troff(ACTION_TEXT[a.name] ?? agent.extraActions?.find((x) => x.name === a.name)?.shortdesc ?? a.name));
  if (agent.symlinks?.length) {
    out.push('.SH ALIASES');
    for (const l of agent.symlinks) {
      const d = Object.entries(l.defaults ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
      out.push('.TP', `.B ${troff(l.name)}`, troff(l.shortdesc + (d ? ` (defaults: ${d})` : '')));
    }
  }
  out.push('.SH SEE ALSO', 'fencekit(8), stonith_admin(8), pcs(8)');
  return out.join('\n') + '\n';
}

const ACTION_TEXT: Record<string, string> = {
  on: 'Power on (or unfence) the target.',
  off: 'Power off (or fence) the target; succeeds only once the device reports it off.',
  reboot: 'Power off, confirm off, then power on. Success is decided by the off half.',
  status: 'Print the power status: exit 0 when on, 2 when off, 1 when it cannot be determined.',
  list: 'List the plugs of the device, one per line.',
  'list-status': 'List the plugs of the device with their real power status.',
  monitor: 'Check that the device answers.',
  metadata: 'Print the XML metadata for Pacemaker.',
  manpage: 'Print the XML metadata under the canonical agent name.',
  'validate-all': 'Check the options without contacting the device.',
  diag: 'Send a diagnostic interrupt (NMI); the node is not confirmed off.',
};
