/** A checkpoint folder (or single .safetensors file) on disk as a conversion source. */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { Checkpoint } from '../safetensors/checkpoint';
import type { TensorInfo } from '../safetensors/types';
import type { CheckpointSource, FetchEstimate, InputFileDigest, SourceProvenance } from './source';
import { sha256File } from '../runtime/contract-checksums';

export class LocalSource implements CheckpointSource {
  private constructor(private readonly ckpt: Checkpoint, readonly label: string) {}

  /**
   * Opens a folder or file. An MLX artifact whose MTP head is a sidecar (config.json
   * `mlx_lm_extra_tensors.mtp_file`, not in the index) is opened with the sidecar, so the head is part
   * of the source.
   */
  static async open(p: string): Promise<LocalSource> {
    const ckpt = await Checkpoint.open(p);
    const extra = (await ckpt.readJson<Record<string, any>>('config.json'))?.mlx_lm_extra_tensors;
    const sidecar = typeof extra?.mtp_file === 'string' ? (extra.mtp_file as string) : undefined;
    if (sidecar && !ckpt.shards.includes(sidecar)) {
      const shards = [...ckpt.shards, sidecar];
      await ckpt.close();
      return new LocalSource(await Checkpoint.openFiles(ckpt.dir, shards), p);
    }
    return new LocalSource(ckpt, p);
  }

  get tensors(): Map<string, TensorInfo> {
    return this.ckpt.tensors;
  }

  get localDir(): string {
    return this.ckpt.dir;
  }

  readJson<T = unknown>(rel: string): Promise<T | undefined> {
    return this.ckpt.readJson<T>(rel);
  }

  async readText(rel: string): Promise<string | undefined> {
    try {
      return await fsp.readFile(path.join(this.ckpt.dir, rel), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  readTensor(name: string): Promise<Buffer> {
    return this.ckpt.readTensor(name);
  }

  readRange(name: string, start: number, end: number): Promise<Buffer> {
    return this.ckpt.readRange(name, start, end);
  }

  async listFiles(): Promise<string[]> {
    const entries = await fsp.readdir(this.ckpt.dir, { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
  }

  async copyFile(rel: string, dest: string): Promise<boolean> {
    try {
      await fsp.copyFile(path.join(this.ckpt.dir, rel), dest);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async estimateFetch(): Promise<FetchEstimate> {
    return { bytesToFetch: 0, wholeFiles: [], rangeRequests: 0 };
  }

  async prepare(): Promise<void> {}

  provenance(): SourceProvenance {
    return { kind: 'local', path: path.resolve(this.ckpt.dir) };
  }

  async inputDigests(): Promise<InputFileDigest[]> {
    const out: InputFileDigest[] = [];
    for (const shard of this.ckpt.shards) {
      const file = path.join(this.ckpt.dir, shard);
      const { size, sha256 } = await sha256File(file);
      out.push({ path: shard, size, sha256 });
    }
    return out;
  }

  close(): Promise<void> {
    return this.ckpt.close();
  }
}
