// pcmk_host_map as pacemaker-fenced reads it (fenced_commands.c, build_port_aliases), so that an audit can
// say what Pacemaker will make of a map, and where that is not what was meant. The parser is Pacemaker's:
// `;`, space and tab end an entry; `:` or `=` separate the node from its plug(s); a backslash skips the
// next character while scanning; `,` is not a separator (it lists several plugs). What Pacemaker does with
// the odd cases, and why each is a mistake:
//  - a fragment without `:`/`=` is dropped with only a debug log ("Parse error") - `node1:1 2` loses "2";
//  - a second `:` in one entry makes the text before it the node: `node1:1,node2:2` maps "1,node2" to "2";
//  - an entry with an empty plug maps the node to nothing;
//  - a node named twice: the last entry wins, case-insensitively;
//  - backslashes stay in the node name (only the plug is unescaped).

export interface HostMapEntry {
  readonly node: string;
  readonly plugs: string;
}

export interface ParsedHostMap {
  /** What Pacemaker ends up with, node (lower case) → plug text, last entry winning. */
  readonly entries: ReadonlyMap<string, HostMapEntry>;
  /** Each way the text differs from what it seems to say; empty when the map is clean. */
  readonly problems: readonly string[];
}

export function parseHostMap(text: string): ParsedHostMap {
  const entries = new Map<string, HostMapEntry>();
  const problems: string[] = [];
  let name: string | undefined;
  let last = 0;
  let assignments = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text[i]! : '\0';
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === ':' || c === '=') {
      if (i > last) name = text.slice(last, i);
      assignments++;
      last = i + 1;
      continue;
    }
    if (c === '\0' || c === ';' || c === ' ' || c === '\t') {
      const fragment = text.slice(entryStart(text, i), i);
      if (name !== undefined) {
        const plugs = text.slice(last, i).replace(/\\/g, '');
        if (assignments > 1) problems.push(`"${fragment}" has ${assignments} ":"/"=": Pacemaker maps "${name}" to "${plugs}" (entries are separated by ";", not ",")`);
        if (plugs === '') problems.push(`"${fragment}" maps "${name}" to no plug`);
        if (name.includes('\\')) problems.push(`"${fragment}": the backslash stays in the node name "${name}"`);
        const key = name.toLowerCase();
        if (entries.has(key)) problems.push(`node "${name}" is mapped twice; Pacemaker keeps the last entry ("${plugs}")`);
        entries.set(key, { node: name, plugs });
      } else if (i > last) {
        problems.push(`"${text.slice(last, i)}" has no ":" and is ignored by Pacemaker (a space or ";" ended the entry before it)`);
      }
      name = undefined;
      assignments = 0;
      last = i + 1;
    }
  }
  return { entries, problems };
}

/** Where the entry ending at `end` began: after the previous unescaped separator. */
function entryStart(text: string, end: number): number {
  let start = 0;
  for (let i = 0; i < end; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === ';' || text[i] === ' ' || text[i] === '\t') start = i + 1;
  }
  return start;
}
