// Metadata XML in the exact shape of fence-agents' metadata.rng (strict element order), which is what
// Pacemaker, pcs and crm_resource read. Built from the option declarations: nothing here is agent-specific.
import { advertisedActions, effectiveDefaults, type AgentDeclaration } from '../agent/declaration.js';
import { getoptMixed, shownDefault, shownShortdesc, type OptionSpec } from './spec.js';

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Options in the order fence-agents prints them: by order key, then by name. */
export function sortedOptions(specs: readonly OptionSpec[]): OptionSpec[] {
  return [...specs].sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}

function parameterXml(spec: OptionSpec, name: string, defaults: Record<string, string>, extra: string): string {
  const def = shownDefault(spec, defaults);
  const defAttr = def !== undefined ? ` default="${xmlEscape(def)}"` : '';
  const lines = [`\t<parameter name="${xmlEscape(name)}" unique="0" required="${spec.required ? 1 : 0}"${extra}>`];
  lines.push(`\t\t<getopt mixed="${xmlEscape(getoptMixed(spec))}" />`);
  if (spec.type === 'select') {
    lines.push(`\t\t<content type="select"${defAttr} >`);
    for (const c of spec.choices ?? []) lines.push(`\t\t\t<option value="${xmlEscape(c)}" />`);
    lines.push('\t\t</content>');
  } else {
    lines.push(`\t\t<content type="${spec.metadataType ?? spec.type}"${defAttr} />`);
  }
  lines.push(`\t\t<shortdesc lang="en">${xmlEscape(shownShortdesc(spec))}</shortdesc>`);
  lines.push('\t</parameter>');
  return lines.join('\n');
}

/** `name` is the invoked name for `metadata` (symlinks report themselves) and the canonical one for `manpage`. */
export function metadataXml(agent: AgentDeclaration, name: string): string {
  const defaults = effectiveDefaults(agent, name);
  const link = agent.symlinks?.find((l) => l.name === name);
  const out: string[] = ['<?xml version="1.0" ?>'];
  out.push(`<resource-agent name="${xmlEscape(name)}" shortdesc="${xmlEscape(link?.shortdesc ?? agent.shortdesc)}" >`);
  for (const l of agent.symlinks ?? []) out.push(`<symlink name="${xmlEscape(l.name)}" shortdesc="${xmlEscape(l.shortdesc)}"/>`);
  out.push(`<longdesc>${xmlEscape(agent.longdesc)}</longdesc>`);
  out.push(`<vendor-url>${xmlEscape(agent.vendorUrl)}</vendor-url>`);
  out.push('<parameters>');
  for (const spec of sortedOptions(agent.options)) {
    out.push(parameterXml(spec, spec.name, defaults, spec.deprecatedName ? ` obsoletes="${xmlEscape(spec.deprecatedName)}"` : ''));
    if (spec.deprecatedName) out.push(parameterXml(spec, spec.deprecatedName, defaults, ' deprecated="1"'));
  }
  out.push('</parameters>');
  out.push('<actions>');
  for (const a of advertisedActions(agent)) {
    const attrs = `${a.onTarget ? ' on_target="1"' : ''}${a.automatic !== undefined ? ` automatic="${a.automatic ? 1 : 0}"` : ''}`;
    out.push(`\t<action name="${a.name}"${attrs} />`);
  }
  out.push('</actions>');
  out.push('</resource-agent>');
  return out.join('\n') + '\n';
}
