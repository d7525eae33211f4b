// The fencing timeouts of a Pacemaker CIB (`cibadmin --query`, or a file such as `fencekit export cib`'s),
// read into budget.ts's PacemakerSettings for `fencekit check --cib`. Only what the timeout check needs is
// read: cluster properties (stonith-timeout, stonith-action, priority-fencing-delay, or their 2.1+ names
// fencing-*) and each stonith primitive's pcmk_*_timeout and pcmk_delay_* instance attributes. The CIB is
// machine-written XML; a small tag scanner suffices and keeps the CLI free of an XML dependency.
import { pacemakerSeconds, type FencingAction, type PacemakerDeviceSettings, type PacemakerSettings } from './budget.js';

interface Tag {
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly closing: boolean;
  readonly selfClosing: boolean;
}

const decode = (s: string) =>
  s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : e === 'apos' ? "'" : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : Number(e.slice(1))),
  );

function* tags(xml: string): Generator<Tag> {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '').replace(/<\?[\s\S]*?\?>/g, '');
  const tagRe = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  for (let m = tagRe.exec(text); m; m = tagRe.exec(text)) {
    const attrs = new Map<string, string>();
    const attrRe = /([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
    for (let a = attrRe.exec(m[3]!); a; a = attrRe.exec(m[3]!)) attrs.set(a[1]!, decode(a[2] ?? a[3] ?? ''));
    yield { name: m[2]!, attrs, closing: m[1] === '/', selfClosing: m[4] === '/' };
  }
}

/**
 * pcmk_delay_base for `node`, as Pacemaker's fencer reads it: a plain time, or a map "node1:1s;node2:5"
 * whose keys match a target by case-insensitive prefix; no match is no delay.
 */
export function delayBaseFor(value: string | undefined, node: string): number {
  if (value === undefined) return 0;
  if (!value.includes(':')) return pacemakerSeconds(value)?.seconds ?? 0;
  for (const entry of value.split(/[; \t]+/)) {
    const colon = entry.indexOf(':');
    if (colon <= 0 || colon === entry.length - 1) continue;
    if (node.toLowerCase().startsWith(entry.slice(0, colon).toLowerCase())) return pacemakerSeconds(entry.slice(colon + 1))?.seconds ?? 0;
  }
  return 0;
}

export function pacemakerSettingsFromCib(xml: string): { settings: PacemakerSettings; notes: string[] } {
  const notes: string[] = [];
  const properties = new Map<string, string>();
  const devices = new Map<string, Map<string, string>>();
  const stack: string[] = [];
  let primitive: string | undefined;
  for (const tag of tags(xml)) {
    if (tag.closing) {
      const open = stack.pop();
      if (open === 'primitive') primitive = undefined;
      continue;
    }
    const inside = (name: string) => stack.includes(name);
    if (tag.name === 'nvpair' && inside('configuration')) {
      const name = tag.attrs.get('name');
      const value = tag.attrs.get('value');
      if (name !== undefined && value !== undefined) {
        if (inside('crm_config') && inside('cluster_property_set')) {
          if (properties.has(name) && properties.get(name) !== value) notes.push(`${name} is set more than once; the first value, ${properties.get(name)}, is checked`);
          else properties.set(name, value);
        } else if (primitive !== undefined && inside('instance_attributes')) {
          devices.get(primitive)!.set(name, value);
        }
      }
    }
    if (tag.name === 'primitive' && tag.attrs.get('class') === 'stonith' && inside('configuration')) {
      primitive = tag.attrs.get('id') ?? '';
      devices.set(primitive, new Map());
    }
    if (!tag.selfClosing) stack.push(tag.name);
  }
  if (!xml.includes('<configuration')) notes.push('no <configuration> element: is this a CIB?');

  const property = (...names: string[]) => names.map((n) => properties.get(n)).find((v) => v !== undefined);
  const stonithText = property('fencing-timeout', 'stonith-timeout');
  const stonith = stonithText === undefined ? undefined : pacemakerSeconds(stonithText);
  if (stonithText !== undefined && stonith === undefined) notes.push(`stonith-timeout "${stonithText}" is no time Pacemaker reads; its default 60 s is assumed`);
  const actionText = (property('fencing-action', 'stonith-action') ?? 'reboot').toLowerCase();
  const action: FencingAction = actionText === 'off' || actionText === 'poweroff' ? 'off' : 'reboot';
  const priorityText = property('priority-fencing-delay');
  const priority = priorityText === undefined ? 0 : (pacemakerSeconds(priorityText)?.seconds ?? 0);

  const settingsOf = (id: string, params: Map<string, string>): PacemakerDeviceSettings => {
    const timeout = (action: string): number | undefined => {
      const text = params.get(`pcmk_${action}_timeout`);
      if (text === undefined) return undefined;
      const t = pacemakerSeconds(text);
      if (!t) {
        notes.push(`${id}: pcmk_${action}_timeout "${text}" is no time; Pacemaker falls back to stonith-timeout`);
        return undefined;
      }
      if (t.legacySeconds !== t.seconds) notes.push(`${id}: pcmk_${action}_timeout "${text}" is ${t.seconds} s for Pacemaker 2.1.8 and later but ${t.legacySeconds} s for 2.1.7 and earlier (read as a bare number); the smaller is checked: write whole seconds, like "${Math.ceil(t.seconds)}s"`);
      return Math.min(t.seconds, t.legacySeconds);
    };
    const off = timeout('off');
    const reboot = timeout('reboot');
    const monitor = timeout('monitor');
    return {
      timeouts: { ...(off !== undefined ? { off } : {}), ...(reboot !== undefined ? { reboot } : {}), ...(monitor !== undefined ? { monitor } : {}) },
      delayBase: (node) => delayBaseFor(params.get('pcmk_delay_base'), node),
      delayMax: pacemakerSeconds(params.get('pcmk_delay_max') ?? '0')?.seconds ?? 0,
    };
  };
  return {
    settings: {
      stonithTimeout: stonith ? stonith.seconds : 60,
      action,
      priorityFencingDelay: priority,
      devices: new Map([...devices].map(([id, params]) => [id, settingsOf(id, params)])),
    },
    notes,
  };
}
