/**
 * Edits a temporary copy of a checkpoint or artifact the way a damaged upload would look: tensors dropped
 * from the header and the index, shapes rewritten, values replaced, config fields changed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { writeSafetensorsFile } from '../../src/safetensors/writer';
import type { TensorSpec } from '../../src/safetensors/types';

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');

export interface SurgeryEntry {
  spec: TensorSpec;
  data: Buffer;
}

/** Copies fixtures/<variant> (or any folder) to `dest`. */
export function copyCheckpoint(src: string, dest: string): string {
  fs.cpSync(fs.existsSync(src) ? src : path.join(FIXTURES, src), dest, { recursive: true });
  return dest;
}

export function editJsonFile(dir: string, rel: string, edit: (c: Record<string, any>) => void): void {
  const file = path.join(dir, rel);
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c, null, 2));
}

/**
 * Rewrites every *.safetensors file of `dir` through `edit` (return null to drop a tensor, or a changed
 * entry); the index's weight_map follows. Files keep their metadata.
 */
export async function editTensors(
  dir: string,
  edit: (e: SurgeryEntry, file: string) => SurgeryEntry | null,
  add: { file: string; entry: SurgeryEntry }[] = [],
): Promise<void> {
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  const index = fs.existsSync(indexFile) ? JSON.parse(fs.readFileSync(indexFile, 'utf8')) : undefined;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors'))) {
    const f = await SafetensorsFile.open(path.join(dir, file));
    const out: SurgeryEntry[] = [];
    let changed = false;
    for (const [name, info] of f.tensors) {
      const e = { spec: { name, dtype: info.dtype, shape: [...info.shape] }, data: await f.readTensor(name) };
      const next = edit(e, file);
      if (next !== e) changed = true;
      if (!next) {
        if (index) delete index.weight_map[name];
        continue;
      }
      out.push(next);
    }
    for (const a of add.filter((x) => x.file === file)) {
      out.push(a.entry);
      changed = true;
      if (index) index.weight_map[a.entry.spec.name] = file;
    }
    const metadata = { ...f.metadata };
    await f.close();
    if (changed) await writeSafetensorsFile(path.join(dir, file), out, metadata);
  }
  if (index) fs.writeFileSync(indexFile, JSON.stringify(index, null, 2));
}

/** Drops the named tensors from header and index. */
export function dropTensors(dir: string, ...names: string[]): Promise<void> {
  return editTensors(dir, (e) => (names.includes(e.spec.name) ? null : e));
}

/** Adds a tensor to `file` (and the index). */
export function addTensor(dir: string, file: string, entry: SurgeryEntry): Promise<void> {
  if (!fs.existsSync(path.join(dir, file))) throw new Error(`no ${file} in ${dir}`);
  return editTensors(dir, (e) => e, [{ file, entry }]);
}
