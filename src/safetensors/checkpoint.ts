/**
 * A checkpoint folder (or a single .safetensors file): every shard's header is read and cross-checked
 * on open, so all tensors are known before any data is read. Tensor data is read on demand.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { InputError, MtpkitError } from '../errors';
import { IndexFile, checkRelativePath, compareCodePoints, readIndexFile } from './index-file';
import { SafetensorsFile } from './reader';
import { INDEX_FILE_NAME, SINGLE_SHARD_NAME } from './shard-names';
import { TensorInfo } from './types';

async function statOrUndefined(p: string): Promise<import('fs').Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new MtpkitError(`cannot stat: ${(e as Error).message}`, { file: p });
  }
}

export class Checkpoint {
  private constructor(
    readonly dir: string,
    /** Shard paths relative to `dir`. */
    readonly shards: string[],
    private readonly files: Map<string, SafetensorsFile>,
    readonly tensors: Map<string, TensorInfo>,
    readonly metadataByShard: Map<string, Record<string, string>>,
    /** The validated index, when the folder has one. */
    readonly index: IndexFile | undefined,
  ) {}

  /**
   * A folder: its index (`model.safetensors.index.json`) if present, else `model.safetensors`,
   * else every `*.safetensors` in it (sorted). A `.safetensors` file: just that file, `dir` = its folder.
   */
  static async open(pathToFileOrFolder: string): Promise<Checkpoint> {
    const target = path.resolve(pathToFileOrFolder);
    const st = await statOrUndefined(target);
    if (!st) throw new InputError('no such file or folder', { file: pathToFileOrFolder });
    if (st.isFile()) {
      if (path.basename(target) === INDEX_FILE_NAME) return Checkpoint.open(path.dirname(target));
      if (!target.endsWith('.safetensors')) throw new InputError('expected a folder or a .safetensors file', { file: pathToFileOrFolder });
      return Checkpoint.openFiles(path.dirname(target), [path.basename(target)]);
    }
    if (!st.isDirectory()) throw new InputError('expected a folder or a .safetensors file', { file: pathToFileOrFolder });

    if (await statOrUndefined(path.join(target, INDEX_FILE_NAME))) {
      const index = await readIndexFile(target);
      return Checkpoint.openWithIndex(target, index);
    }
    if ((await statOrUndefined(path.join(target, SINGLE_SHARD_NAME)))?.isFile()) {
      return Checkpoint.openFiles(target, [SINGLE_SHARD_NAME]);
    }
    const names = (await fsp.readdir(target, { withFileTypes: true }))
      .filter((d) => d.isFile() && d.name.endsWith('.safetensors'))
      .map((d) => d.name)
      .sort(compareCodePoints);
    if (names.length === 0) throw new InputError(`no ${INDEX_FILE_NAME} and no .safetensors files in the folder`, { file: pathToFileOrFolder });
    return Checkpoint.openFiles(target, names);
  }

  /** Opens exactly the given shards (paths relative to `dir`); no index is consulted. */
  static async openFiles(dir: string, shardNames: string[]): Promise<Checkpoint> {
    return Checkpoint.build(path.resolve(dir), shardNames, undefined);
  }

  private static async openWithIndex(dir: string, index: IndexFile): Promise<Checkpoint> {
    const indexPath = path.join(dir, INDEX_FILE_NAME);
    for (const shard of index.shards) {
      if (!(await statOrUndefined(path.join(dir, shard)))?.isFile()) {
        throw new InputError(`shard '${shard}' named in the index is missing`, { file: indexPath });
      }
    }
    return Checkpoint.build(dir, index.shards, index);
  }

  private static async build(dir: string, shardNames: string[], index: IndexFile | undefined): Promise<Checkpoint> {
    const files = new Map<string, SafetensorsFile>();
    try {
      for (const name of shardNames) {
        checkRelativePath(name, { file: dir, field: 'shard' });
        if (files.has(name)) throw new InputError(`shard '${name}' listed twice`, { file: dir });
        files.set(name, await SafetensorsFile.open(path.join(dir, name), name));
      }
      const tensors = new Map<string, TensorInfo>();
      const metadataByShard = new Map<string, Record<string, string>>();
      for (const [shard, f] of files) {
        metadataByShard.set(shard, f.metadata);
        for (const [name, info] of f.tensors) {
          const prior = tensors.get(name);
          if (prior) throw new InputError(`duplicate tensor: present in shards '${prior.shard}' and '${shard}'`, { file: dir, tensor: name });
          tensors.set(name, info);
        }
      }
      if (index) Checkpoint.crossCheck(path.join(dir, INDEX_FILE_NAME), index, tensors);
      return new Checkpoint(dir, [...files.keys()], files, tensors, metadataByShard, index);
    } catch (e) {
      await Promise.all([...files.values()].map((f) => f.close().catch(() => undefined)));
      throw e;
    }
  }

  /** The index and the shard headers must describe the same tensors in the same places. */
  private static crossCheck(indexPath: string, index: IndexFile, tensors: Map<string, TensorInfo>): void {
    for (const [name, shard] of index.weightMap) {
      const t = tensors.get(name);
      if (!t || t.shard !== shard) {
        const where = t ? ` (it is in '${t.shard}')` : '';
        throw new InputError(`the index places this tensor in '${shard}' but that shard's header does not contain it${where}`, { file: indexPath, tensor: name });
      }
    }
    for (const [name, t] of tensors) {
      if (!index.weightMap.has(name)) {
        throw new InputError(`tensor in shard '${t.shard}' is missing from the index weight_map`, { file: indexPath, tensor: name });
      }
    }
  }

  /** Parsed JSON of a file in the folder (config.json, ...); undefined if absent. */
  async readJson<T = unknown>(relPath: string): Promise<T | undefined> {
    checkRelativePath(relPath, { file: this.dir, field: 'path' });
    const file = path.join(this.dir, relPath);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new MtpkitError(`cannot read: ${(e as Error).message}`, { file });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new InputError(`invalid JSON (${(e as Error).message})`, { file });
    }
  }

  /** TensorInfo of `name`; InputError if the checkpoint has no such tensor. */
  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new InputError('no such tensor in the checkpoint', { file: this.dir, tensor: name });
    return t;
  }

  /** The open shard file holding `name`. */
  fileOf(name: string): SafetensorsFile {
    return this.files.get(this.info(name).shard)!;
  }

  async readTensor(name: string): Promise<Buffer> {
    return this.fileOf(name).readTensor(name);
  }

  /** Bytes [byteStart, byteEnd) within the tensor. */
  async readRange(name: string, byteStart: number, byteEnd: number): Promise<Buffer> {
    return this.fileOf(name).readRange(name, byteStart, byteEnd);
  }

  /** Bytes [byteStart, byteStart + dest.length) within the tensor, into a caller-owned buffer. */
  async readRangeInto(name: string, byteStart: number, dest: Buffer): Promise<void> {
    return this.fileOf(name).readRangeInto(name, byteStart, dest);
  }

  async close(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.close()));
  }
}
