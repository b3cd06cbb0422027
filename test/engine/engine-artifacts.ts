/** Fixtures converted into temporary MLX artifacts for the engine tests, and small artifact surgery. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert, type ConvertOptions } from '../../src/convert/pipeline';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { writeSafetensorsFile } from '../../src/safetensors/writer';
import { convertOptions } from '../support/convert-options';

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');
export const VARIANTS = ['qwen35-dense', 'qwen35-dense-tied', 'qwen35-moe', 'qwen36-moe', 'qwen3-next'] as const;

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mtpkit-engine-${tag}-`));
}

/** Converts fixtures/<variant> into `dir/<name>` (policy spec plus any extra convert options). */
export async function convertFixture(dir: string, variant: string, extra: Partial<ConvertOptions> = {}): Promise<string> {
  const out = path.join(dir, `${variant}-${JSON.stringify(extra).replace(/\W+/g, '_')}`);
  await runConvert(convertOptions(path.join(FIXTURES, variant), out, { force: true, ...extra }));
  return out;
}

/** A copy of an artifact folder (the original stays untouched for other tests). */
export function copyArtifact(src: string, dest: string): string {
  fs.cpSync(src, dest, { recursive: true });
  return dest;
}

export function editConfig(dir: string, edit: (c: Record<string, any>) => void): void {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c, null, 2));
}

/** Rewrites one safetensors file without `tensor` (and drops it from the index when there is one). */
export async function dropTensor(dir: string, file: string, tensor: string): Promise<void> {
  const p = path.join(dir, file);
  const f = await SafetensorsFile.open(p);
  const entries = [];
  for (const [name, info] of f.tensors) {
    if (name === tensor) continue;
    entries.push({ spec: { name, dtype: info.dtype, shape: info.shape }, data: await f.readTensor(name) });
  }
  await f.close();
  await writeSafetensorsFile(p, entries, { format: 'mlx' });
  const index = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(index)) {
    const j = JSON.parse(fs.readFileSync(index, 'utf8'));
    delete j.weight_map[tensor];
    fs.writeFileSync(index, JSON.stringify(j, null, 2));
  }
}

/** Absolute byte offset of a tensor's data in its file. */
export async function tensorOffset(file: string, tensor: string): Promise<{ offset: number; byteLength: number }> {
  const f = await SafetensorsFile.open(file);
  const info = f.tensors.get(tensor);
  await f.close();
  if (!info) throw new Error(`no ${tensor} in ${file}`);
  return { offset: info.offset, byteLength: info.byteLength };
}

/** Bitwise equality of two float arrays (NaN payloads and -0 included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function rows(a: Float32Array, width: number, from: number, to: number): Float32Array {
  return a.slice(from * width, to * width);
}
