// The parts of a Pacemaker CIB that fencing depends on: stonith primitives (agent, parameters, meta
// attributes), <fencing-topology>, cluster properties and the node list. Read from `cibadmin --query`
// output or a CIB file. The CIB is XML written by Pacemaker, so a small reader of elements and attributes
// is enough; anything it cannot read is refused, never guessed around.
import { FenceError } from '../errors.js';

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
  /** cluster_property_set nvpairs (stonith-timeout, fencing-timeout, priority-fencing-delay, ...). */
  readonly properties: Readonly<Record<string, string>>;
  readonly nodes: readonly string[];
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

function nvpairs(el: Element | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!el) return out;
  for (const nv of descendants(el, 'nvpair')) if (nv.attrs.name !== undefined) out[nv.attrs.name] = nv.attrs.value ?? '';
  return out;
}

export function parseCib(xml: string, source: string): Cib {
  const doc = parseXmlElements(xml, source);
  const top = doc.children[0];
  if (!top || (top.name !== 'cib' && top.name !== 'configuration')) throw new FenceError('bad-input', `${source}: not a CIB (the root element is <${top?.name ?? 'nothing'}>, not <cib> or <configuration>)`);
  const primitives = new Map<string, CibPrimitive>();
  for (const p of descendants(top, 'primitive')) {
    if (p.attrs.class !== 'stonith') continue;
    const id = p.attrs.id ?? '';
    primitives.set(id, {
      id,
      type: p.attrs.type ?? '',
      params: nvpairs(p.children.find((c) => c.name === 'instance_attributes')),
      meta: nvpairs(p.children.find((c) => c.name === 'meta_attributes')),
    });
  }
  const levels: CibLevel[] = [];
  for (const l of descendants(top, 'fencing-level')) {
    const a = l.attrs;
    const target: CibLevelTarget =
      a.target !== undefined
        ? { kind: 'name', name: a.target }
        : a['target-pattern'] !== undefined
          ? { kind: 'pattern', text: a['target-pattern'] }
          : { kind: 'attribute', text: `${a['target-attribute'] ?? ''}=${a['target-value'] ?? ''}` };
    levels.push({ id: a.id ?? '', index: Number(a.index), target, devices: (a.devices ?? '').split(',').filter(Boolean) });
  }
  const properties: Record<string, string> = {};
  for (const set of descendants(top, 'cluster_property_set')) Object.assign(properties, nvpairs(set));
  const nodes = [...descendants(top, 'node')].map((n) => n.attrs.uname ?? '').filter(Boolean);
  return { primitives, levels, properties, nodes };
}
