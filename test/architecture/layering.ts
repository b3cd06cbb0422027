/**
 * The import graph of src/ and the layering rule of docs/architecture.md: a room may import only rooms
 * on a lower floor (and itself); no import cycles between files.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Floors, lowest first. Top-level files (errors.ts, format.ts, ...) are room '.' on floor 0. */
export const FLOORS: readonly (readonly string[])[] = [
  ['.'],
  ['native', 'checksum', 'safetensors'],
  ['numeric', 'plan'],
  ['arch'],
  ['quant'],
  ['sanitize', 'hub'],
  ['source', 'artifact'],
  ['convert'],
  ['runtime'],
  ['index', 'cli'],
];

export function floorOf(room: string): number {
  const i = FLOORS.findIndex((f) => f.includes(room));
  if (i < 0) throw new Error(`room '${room}' has no floor in FLOORS`);
  return i;
}

export function roomOf(srcDir: string, file: string): string {
  const rel = path.relative(srcDir, file).split(path.sep);
  if (rel.length === 1) return rel[0] === 'index.ts' ? 'index' : '.';
  return rel[0];
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g;

export function importGraph(srcDir: string): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) files.push(p);
    }
  };
  walk(srcDir);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps: string[] = [];
    for (const m of fs.readFileSync(f, 'utf8').matchAll(IMPORT_RE)) {
      const base = path.resolve(path.dirname(f), m[1]);
      const hit = [base + '.ts', path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
      if (hit) deps.push(hit);
    }
    graph.set(f, deps);
  }
  return graph;
}

/** Imports that go to a higher floor or to another room on the same floor. */
export function violations(srcDir: string, graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [f, deps] of graph) {
    const from = roomOf(srcDir, f);
    for (const d of deps) {
      const to = roomOf(srcDir, d);
      if (to === from) continue;
      if (floorOf(to) >= floorOf(from)) out.push(`${path.relative(srcDir, f)} (${from}) imports ${path.relative(srcDir, d)} (${to})`);
    }
  }
  return out;
}

/** One file path per cycle found (depth-first search). */
export function cycles(srcDir: string, graph: Map<string, string[]>): string[] {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const out: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 1) out.push([...stack.slice(stack.indexOf(d)), d].map((x) => path.relative(srcDir, x)).join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return out;
}
