// The import rules of docs/architecture.md, checked on the sources: who may import whom, and what the
// metadata path (every Pacemaker monitor and metadata call) must never load. Static imports only: an
// `await import()` is how protocol code is kept off the short paths, so it is allowed everywhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const PRODUCT = ['lib', 'agents', 'cli'];

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((e) => {
    const p = join(dir, e);
    return statSync(join(ROOT, p)).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Static import/export-from edges between repository files (packages and node: builtins left out). */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const f of PRODUCT.flatMap(files)) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm)) {
      const to = relative(ROOT, resolve(ROOT, dirname(f), m[3]!)).replace(/\.js$/, '.ts');
      // `import { type A, type B }` is type-only too.
      const typeOnly = !!m[2] || /^\s*import\s*\{\s*(type\s+\w+\s*(,\s*type\s+\w+\s*)*,?)\}/.test(m[0]);
      out.push({ from: f, to, typeOnly });
    }
  }
  return out;
}

const top = (f: string) => f.split('/')[0]!;
const agentDir = (f: string) => (f.startsWith('agents/') && f.split('/').length > 2 ? f.split('/')[1] : undefined);

describe('import rules (docs/architecture.md)', () => {
  const all = edges();

  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(100);
  });

  it('lib/ imports neither agents/ nor cli/', () => {
    expect(all.filter((e) => top(e.from) === 'lib' && top(e.to) !== 'lib').map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('agents/ import no cli/, and no agent imports another agent', () => {
    const bad = all.filter((e) => top(e.from) === 'agents' && (top(e.to) === 'cli' || (agentDir(e.from) && agentDir(e.to) && agentDir(e.from) !== agentDir(e.to))));
    expect(bad.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('cli/ reaches agents only through agents/registry.ts', () => {
    const bad = all.filter((e) => top(e.from) === 'cli' && top(e.to) === 'agents' && e.to !== 'agents/registry.ts');
    expect(bad.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('the metadata path (agents/registry.ts and what it loads statically) loads no protocol client', () => {
    const seen = new Set<string>();
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const e of all) if (e.from === f && !e.typeOnly) visit(e.to);
    };
    visit('agents/registry.ts');
    // Pure rules (option parsers, output parsers, layouts) may be loaded; clients, the lab and heavy packages not.
    const clients = [...seen].filter((f) => /^lib\/lab\/|^lib\/(ipmi\/(client|session|transport|framing|ipmitool)|snmp\/client|ssh\/session|scsi\/sg-persist|sanlock\/client)\.ts$/.test(f));
    const packages = [...seen].flatMap((f) =>
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/^\s*import\s+(?!type\s)[^'";]*?['"](net-snmp|ssh2|yaml|commander)['"]/gm)].map((m) => `${f} imports ${m[1]}`),
    );
    expect(seen.size).toBeGreaterThan(5);
    expect([...clients, ...packages]).toEqual([]);
  });

  it('no runtime import cycle', () => {
    const graph = new Map<string, string[]>();
    for (const e of all) if (!e.typeOnly) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const walk = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) walk(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of graph.keys()) walk(f, []);
    expect(cycles).toEqual([]);
  });
});
