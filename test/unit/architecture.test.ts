// The import rules of docs/architecture.md, checked on the sources: who may import whom, and what the
// metadata path (every Pacemaker monitor and metadata call) must never load. Most rules are about static
// imports: an `await import()` is how protocol code and the lab are kept off the short paths. What lib/ may
// hold is checked over both kinds: every file there is TypeScript that the product itself loads.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const PRODUCT = ['lib', 'agents', 'cli', 'lab'];

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
  /** `import('…')`: loaded when the code runs, not with the module. */
  readonly dynamic?: boolean;
}

function allFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((e) => {
    const p = join(dir, e);
    return statSync(join(ROOT, p)).isDirectory() ? allFiles(p) : [p];
  });
}
const files = (dir: string): string[] => allFiles(dir).filter((p) => p.endsWith('.ts'));

const target = (from: string, spec: string) => relative(ROOT, resolve(ROOT, dirname(from), spec)).replace(/\.js$/, '.ts');

/** Static import/export-from edges between repository files (packages and node: builtins left out). */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const f of PRODUCT.flatMap(files)) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm)) {
      const to = target(f, m[3]!);
      // `import { type A, type B }` is type-only too.
      const typeOnly = !!m[2] || /^\s*import\s*\{\s*(type\s+\w+\s*(,\s*type\s+\w+\s*)*,?)\}/.test(m[0]);
      out.push({ from: f, to, typeOnly });
    }
    for (const m of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) out.push({ from: f, to: target(f, m[1]!), typeOnly: false, dynamic: true });
  }
  return out;
}
const staticEdges = (all: readonly Edge[]) => all.filter((e) => !e.dynamic);

/** Whether `from` reaches `to` along `edges`. */
function reaches(edges: readonly Edge[], from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f === to) return true;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const e of edges) if (e.from === f) stack.push(e.to);
  }
  return false;
}

const top = (f: string) => f.split('/')[0]!;
const agentDir = (f: string) => (f.startsWith('agents/') && f.split('/').length > 2 ? f.split('/')[1] : undefined);

describe('import rules (docs/architecture.md)', () => {
  const withDynamic = edges();
  const all = staticEdges(withDynamic);

  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(100);
  });

  it('lib/ imports neither agents/, cli/ nor lab/', () => {
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

  it('lab/ imports only lib/ and itself', () => {
    expect(all.filter((e) => top(e.from) === 'lab' && !['lab', 'lib'].includes(top(e.to))).map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('cli/ loads lab/ only with import(): fencing, status and --version never load the lab', () => {
    expect(all.filter((e) => top(e.from) === 'cli' && top(e.to) === 'lab' && !e.typeOnly).map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
    // The rule has something to hold: the lab commands do reach lab/, through import().
    expect(withDynamic.some((e) => top(e.from) === 'cli' && top(e.to) === 'lab' && e.dynamic)).toBe(true);
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
    const clients = [...seen].filter((f) => /^lab\/|^lib\/(ipmi\/(client|session|transport|framing|ipmitool)|snmp\/client|ssh\/session|scsi\/sg-persist|sanlock\/client)\.ts$/.test(f));
    const packages = [...seen].flatMap((f) =>
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/^\s*import\s+(?!type\s)[^'";]*?['"](net-snmp|ssh2|yaml|commander)['"]/gm)].map((m) => `${f} imports ${m[1]}`),
    );
    expect(seen.size).toBeGreaterThan(5);
    expect([...clients, ...packages]).toEqual([]);
  });

  it('every agent directory has the one layout: agent.ts, options.ts, device.ts, main.ts', () => {
    const dirs = readdirSync(join(ROOT, 'agents')).filter((d) => statSync(join(ROOT, 'agents', d)).isDirectory());
    expect(dirs.length).toBeGreaterThanOrEqual(5);
    const missing = dirs.flatMap((d) => ['agent.ts', 'options.ts', 'device.ts', 'main.ts'].filter((f) => !files('agents').includes(`agents/${d}/${f}`)).map((f) => `agents/${d}/${f}`));
    expect(missing).toEqual([]);
  });

  it('no import cycle under agents/, not even through a type-only edge or an import()', () => {
    const inAgents = withDynamic.filter((e) => top(e.from) === 'agents' && top(e.to) === 'agents');
    const cycles = inAgents.filter((e) => reaches(inAgents, e.to, e.from)).map((e) => `${e.from} -> ${e.to}`);
    expect(cycles).toEqual([]);
  });

  it('only an agent\'s entries (main.ts, main-<name>.ts) import its agent.ts: devices, transports and rules take types from options.ts or device.ts', () => {
    const bad = all.filter((e) => agentDir(e.from) && e.to === `agents/${agentDir(e.from)}/agent.ts` && !/\/main(-[a-z0-9]+)?\.ts$/.test(e.from));
    expect(bad.map((e) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`)).toEqual([]);
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

describe('what lib/ holds (docs/architecture.md)', () => {
  it('only TypeScript: no scripts, emulators or data files', () => {
    expect(allFiles('lib').filter((f) => !f.endsWith('.ts'))).toEqual([]);
  });

  it('only what the product loads: every file is reached from an agent, the CLI or the lab, never only from tests', () => {
    const graph = new Map<string, string[]>();
    for (const e of edges()) if (!e.typeOnly) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const entries = [...files('agents').filter((f) => f.endsWith('/main.ts')), 'agents/registry.ts', 'cli/main.ts'];
    const reached = new Set<string>();
    const visit = (f: string) => {
      if (reached.has(f)) return;
      reached.add(f);
      for (const t of graph.get(f) ?? []) visit(t);
    };
    entries.forEach(visit);
    expect(reached.has('lab/lab.ts')).toBe(true); // the walk follows import() (cli/main.ts -> cli/lab.ts -> lab/)
    // A declaration file (.d.ts) is read by the compiler, not loaded.
    expect(files('lib').filter((f) => !f.endsWith('.d.ts') && !reached.has(f))).toEqual([]);
  });

  it('no function or class that only the lab or the tests use: BMC-side encoders live with the simulators', () => {
    const users = [...files('lib'), ...files('agents'), ...files('cli')].map((f) => [f, readFileSync(join(ROOT, f), 'utf8')] as const);
    const unused: string[] = [];
    for (const [f, text] of users.filter(([f]) => f.startsWith('lib/'))) {
      for (const m of text.matchAll(/^export\s+(?:async\s+)?(?:function|class)\s+(\w+)/gm)) {
        const name = new RegExp(`\\b${m[1]}\\b`, 'g');
        const usedInOwnFile = (text.match(name) ?? []).length > 1;
        if (!usedInOwnFile && !users.some(([g, t]) => g !== f && new RegExp(name.source).test(t))) unused.push(`${f}: ${m[1]}`);
      }
    }
    expect(unused).toEqual([]);
  });
});
