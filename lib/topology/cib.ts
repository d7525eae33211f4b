// The one reader of a Pacemaker CIB (`cibadmin --query` output, a CIB file, or what `fencekit export cib`
// writes): the parts fencing depends on (stonith primitives with their parameters and meta attributes,
// <fencing-topology>, cluster properties, the node list) for `fencekit audit`, and the fencing timeouts read
// from them (pacemakerSettings) for `fencekit check --cib` and audit's timeout budget. The CIB is XML written
// by Pacemaker, so a small reader of elements and attributes is enough; anything it cannot read is refused,
// never guessed around.
//
// Where a name is set twice (two cluster_property_sets, two instance_attributes sets) the first value counts,
// as Pacemaker reads nvpair sets of equal score, and a note says so.
import { FenceError } from '../errors.js';
import { pacemakerSeconds, type FencingAction, type PacemakerDeviceSettings, type PacemakerSettings } from './budget.js';

export interface CibPrimitive {
  readonly id: string;
  /** The agent: `type` of a class="stonith" primitive. */
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, string>>;
}

export type CibLevelTarget = { readonly kind: 'name'; readonly name: string } | { readonly kind: 'pattern' | 'attribute'; readonly text: string };

export interface CibLevel {
  readonly id: string;
  readonly index: number;
  readonly target: CibLevelTarget;
  readonly devices: readonly string[];
}

export interface Cib {
  readonly primitives: ReadonlyMap<string, CibPrimitive>;
  readonly levels: readonly CibLevel[];
  /** crm_config cluster_property_set nvpairs (stonith-timeout, fencing-timeout, priority-fencing-delay, ...). */
  readonly properties: Readonly<Record<string, string>>;
  readonly nodes: readonly string[];
  /** What was read in a way worth saying: a name set twice. */
  readonly notes: readonly string[];
}

interface Element {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: Element[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string, where: () => string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new FenceError('bad-input', `${where()}: unknown XML entity &${e};`);
    return v;
  });
}

/** Elements and attributes only (text, comments, processing instructions and DOCTYPE are skipped). */
export function parseXmlElements(xml: string, source: string): Element {
  const root: Element = { name: '#document', attrs: {}, children: [] };
  const stack: Element[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<!\[CDATA\[[\s\S]*?\]\]>|</g;
  let m: RegExpExecArray | null;
  const where = (at: number) => () => `${source}: line ${xml.slice(0, at).split('\n').length}`;
  while ((m = tag.exec(xml)) !== null) {
    if (m[0] === '<') throw new FenceError('bad-input', `${where(m.index)()}: not well-formed XML`);
    if (m[2] === undefined) continue;
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name || stack.length === 0) throw new FenceError('bad-input', `${where(m.index)()}: </${name}> does not close <${open?.name ?? 'nothing'}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[a[1]!] = decodeEntities(a[2] ?? a[3] ?? '', where(m.index));
    const el: Element = { name: name!, attrs, children: [] };
    stack[stack.length - 1]!.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (stack.length !== 1) throw new FenceError('bad-input', `${source}: <${stack[stack.length - 1]!.name}> is never closed`);
  return root;
}

function* descendants(el: Element, name: string): Generator<Element> {
  for (const c of el.children) {
    if (c.name === name) yield c;
    yield* descendants(c, name);
  }
}

const child = (el: Element, name: string) => el.children.filter((c) => c.name === name);

/**
 * The nvpairs of a list of sets, in document order; the first value of a name counts (a later, different one
 * is noted). An nvpair without a value sets nothing.
 */
function nvpairs(sets: readonly Element[], notes: string[], where: string): Record<string, string> {
  // A Map, then own properties: a name such as "constructor" or "__proto__" is a name like any other.
  const out = new Map<string, string>();
  for (const set of sets) {
    for (const nv of descendants(set, 'nvpair')) {
      const { name, value } = nv.attrs;
      if (name === undefined || value === undefined) continue;
      const first = out.get(name);
      if (first === undefined) out.set(name, value);
      else if (first !== value) notes.push(`${where}${name} is set more than once; the first value, ${first}, is used`);
    }
  }
  return Object.fromEntries(out);
}

export function parseCib(xml: string, source: string): Cib {
  const doc = parseXmlElements(xml, source);
  const top = doc.children[0];
  if (!top || (top.name !== 'cib' && top.name !== 'configuration')) throw new FenceError('bad-input', `${source}: not a CIB (the root element is <${top?.name ?? 'nothing'}>, not <cib> or <configuration>)`);
  const configuration = top.name === 'configuration' ? top : child(top, 'configuration')[0];
  if (!configuration) throw new FenceError('bad-input', `${source}: not a CIB (<cib> has no <configuration>)`);
  const notes: string[] = [];
  const primitives = new Map<string, CibPrimitive>();
  for (const p of descendants(configuration, 'primitive')) {
    if (p.attrs.class !== 'stonith') continue;
    const id = p.attrs.id ?? '';
    primitives.set(id, {
      id,
      type: p.attrs.type ?? '',
      params: nvpairs(child(p, 'instance_attributes'), notes, `${id}: `),
      meta: nvpairs(child(p, 'meta_attributes'), notes, `${id}: meta `),
    });
  }
  const levels: CibLevel[] = [];
  for (const l of descendants(configuration, 'fencing-level')) {
    const a = l.attrs;
    const target: CibLevelTarget =
      a.target !== undefined
        ? { kind: 'name', name: a.target }
        : a['target-pattern'] !== undefined
          ? { kind: 'pattern', text: a['target-pattern'] }
          : { kind: 'attribute', text: `${a['target-attribute'] ?? ''}=${a['target-value'] ?? ''}` };
    levels.push({ id: a.id ?? '', index: Number(a.index), target, devices: (a.devices ?? '').split(',').filter(Boolean) });
  }
  const properties = nvpairs(child(configuration, 'crm_config').flatMap((c) => child(c, 'cluster_property_set')), notes, '');
  const nodes = child(configuration, 'nodes').flatMap((n) => child(n, 'node')).map((n) => n.attrs.uname ?? '').filter(Boolean);
  return { primitives, levels, properties, nodes, notes };
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

/**
 * The fencing timeouts of a CIB, as budget.ts's PacemakerSettings: cluster properties (stonith-timeout,
 * stonith-action, priority-fencing-delay, or their 2.1+ names fencing-*) and each stonith primitive's
 * pcmk_*_timeout and pcmk_delay_* parameters. Notes say what Pacemaker reads differently from how it looks.
 */
export function pacemakerSettings(cib: Cib): { settings: PacemakerSettings; notes: string[] } {
  const notes: string[] = [...cib.notes];
  const properties = cib.properties;
  const property = (...names: string[]) => names.map((n) => (Object.hasOwn(properties, n) ? properties[n] : undefined)).find((v) => v !== undefined);
  const stonithText = property('fencing-timeout', 'stonith-timeout');
  const stonith = stonithText === undefined ? undefined : pacemakerSeconds(stonithText);
  if (stonithText !== undefined && stonith === undefined) notes.push(`stonith-timeout "${stonithText}" is no time Pacemaker reads; its default 60 s is assumed`);
  const actionText = (property('fencing-action', 'stonith-action') ?? 'reboot').toLowerCase();
  const action: FencingAction = actionText === 'off' || actionText === 'poweroff' ? 'off' : 'reboot';
  const priorityText = property('priority-fencing-delay');
  const priority = priorityText === undefined ? 0 : (pacemakerSeconds(priorityText)?.seconds ?? 0);

  const settingsOf = (id: string, params: Readonly<Record<string, string>>): PacemakerDeviceSettings => {
    const timeout = (action: string): number | undefined => {
      const text = params[`pcmk_${action}_timeout`]; // pcmk_* names: never an Object.prototype member
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
      delayBase: (node) => delayBaseFor(params.pcmk_delay_base, node),
      delayMax: pacemakerSeconds(params.pcmk_delay_max ?? '0')?.seconds ?? 0,
    };
  };
  return {
    settings: {
      stonithTimeout: stonith ? stonith.seconds : 60,
      action,
      priorityFencingDelay: priority,
      devices: new Map([...cib.primitives.values()].map((p) => [p.id, settingsOf(p.id, p.params)])),
    },
    notes,
  };
}

/** pacemakerSettings of a CIB's text; XML that is not a well-formed CIB is refused (bad-input), never half-read. */
export function pacemakerSettingsFromCib(xml: string, source = 'the CIB'): { settings: PacemakerSettings; notes: string[] } {
  return pacemakerSettings(parseCib(xml, source));
}
