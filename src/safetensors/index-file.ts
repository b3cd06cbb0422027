/**
 * `model.safetensors.index.json`: writing it byte-for-byte like mlx-lm (Python json.dump, indent 4,
 * ensure_ascii, weight_map keys sorted, no trailing newline) and reading/validating any HF index.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { InputError, MtpkitError } from '../errors';
import { INDEX_FILE_NAME } from './shard-names';
import { ShardPlan } from './shard-plan';
import { tensorBytes } from './types';
import { writeFileAtomic } from './writer';

export interface IndexFile {
  /** The index's own metadata object (`total_size`, ...), unvalidated beyond being an object. */
  metadata: Record<string, unknown>;
  /** tensor name -> shard path relative to the folder, in file order. */
  weightMap: Map<string, string>;
  /** Distinct shard paths, sorted. */
  shards: string[];
}

/** Python's sorted() on str: by code point (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800-DFFF) encode code points above FFFF: move them above E000-FFFF.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** JSON string literal as Python's json.dumps writes it with ensure_ascii=True. */
function pyJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The index object mlx-lm writes; weight_map keys sorted. */
export function buildIndex(plan: ShardPlan, totalParameters: number): {
  metadata: { total_size: number; total_parameters: number };
  weight_map: Record<string, string>;
} {
  if (!Number.isSafeInteger(totalParameters) || totalParameters < 0) {
    throw new RangeError(`totalParameters must be a non-negative integer, got ${totalParameters}`);
  }
  const entries: [string, string][] = [];
  let totalSize = 0;
  for (const shard of plan.shards) {
    for (const t of shard.tensors) {
      entries.push([t.name, shard.file]);
      totalSize += tensorBytes(t.dtype, t.shape);
    }
  }
  entries.sort((x, y) => compareCodePoints(x[0], y[0]));
  // Null prototype: a tensor called `__proto__` stays an ordinary key.
  const weightMap: Record<string, string> = Object.create(null);
  for (const [k, v] of entries) weightMap[k] = v;
  return { metadata: { total_size: totalSize, total_parameters: totalParameters }, weight_map: weightMap };
}

/** Serializes like Python `json.dump(index, f, indent=4)`; the key order is taken from the sort, not the object. */
export function formatIndexJson(plan: ShardPlan, totalParameters: number): string {
  const idx = buildIndex(plan, totalParameters);
  const entries = Object.keys(idx.weight_map)
    .sort(compareCodePoints)
    .map((k) => `        ${pyJsonString(k)}: ${pyJsonString(idx.weight_map[k])}`);
  const weightMap = entries.length ? `{\n${entries.join(',\n')}\n    }` : '{}';
  return [
    '{',
    '    "metadata": {',
    `        "total_size": ${idx.metadata.total_size},`,
    `        "total_parameters": ${idx.metadata.total_parameters}`,
    '    },',
    `    "weight_map": ${weightMap}`,
    '}',
  ].join('\n');
}

/** Writes `<dir>/model.safetensors.index.json` atomically; returns its path. */
export async function writeIndexFile(dir: string, plan: ShardPlan, totalParameters: number): Promise<string> {
  const file = path.join(dir, INDEX_FILE_NAME);
  await writeFileAtomic(file, formatIndexJson(plan, totalParameters));
  return file;
}

/**
 * Rejects shard paths that could leave the checkpoint folder or are not portable:
 * empty, absolute, drive letters, backslashes, NUL, `.`/`..`/empty segments.
 */
export function checkRelativePath(rel: unknown, place: { file?: string; tensor?: string; field?: string }): string {
  if (typeof rel !== 'string' || rel === '') throw new InputError(`path must be a non-empty string, got ${JSON.stringify(rel)}`, place);
  const bad = (why: string) => new InputError(`unsafe path ${JSON.stringify(rel)}: ${why}`, place);
  if (rel.includes('\\')) throw bad('backslashes are not allowed');
  if (rel.includes('\0')) throw bad('NUL byte');
  if (rel.startsWith('/') || /^[A-Za-z]:/.test(rel)) throw bad('absolute paths are not allowed');
  for (const seg of rel.split('/')) {
    if (seg === '..') throw bad('it escapes the checkpoint folder');
    if (seg === '' || seg === '.') throw bad('empty or "." path segment');
  }
  return rel;
}

/** Validates parsed index JSON text. `label` names the file in errors. */
export function parseIndexJson(text: string, label: string): IndexFile {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON (${(e as Error).message})`, { file: label });
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new InputError('index is not a JSON object', { file: label });
  const obj = root as Record<string, unknown>;
  const meta = obj.metadata ?? {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new InputError('must be an object', { file: label, field: 'metadata' });
  const wm = obj.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new InputError('missing or not an object', { file: label, field: 'weight_map' });
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    const place = { file: label, tensor: name, field: 'weight_map' };
    if (typeof shard !== 'string') throw new InputError(`shard must be a string, got ${JSON.stringify(shard)}`, place);
    checkRelativePath(shard, place);
    if (!shard.endsWith('.safetensors')) throw new InputError(`shard ${JSON.stringify(shard)} is not a .safetensors file`, place);
    weightMap.set(name, shard);
  }
  const shards = [...new Set(weightMap.values())].sort(compareCodePoints);
  return { metadata: meta as Record<string, unknown>, weightMap, shards };
}

/** Reads and validates `<dir>/model.safetensors.index.json`; InputError if it is missing. */
export async function readIndexFile(dir: string): Promise<IndexFile> {
  const file = path.join(dir, INDEX_FILE_NAME);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError('index file not found', { file });
    throw new MtpkitError(`cannot read: ${(e as Error).message}`, { file });
  }
  return parseIndexJson(text, file);
}
