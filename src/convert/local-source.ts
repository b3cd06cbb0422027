/** A checkpoint folder (or single .safetensors file) on disk as a conversion source. */
import { createHash } from 'crypto';
import { createReadStream, promises as fsp } from 'fs';
import * as path from 'path';
import { Checkpoint } from '../safetensors/checkpoint';
import type { TensorInfo } from '../safetensors/types';
import type { CheckpointSource, FetchEstimate, InputFileDigest, SourceProvenance } from './source';

export class LocalSource implements CheckpointSource {
  private constructor(private readonly ckpt: Checkpoint, readonly label: string) {}

  static async open(p: string): Promise<LocalSource> {
    return new LocalSource(await Checkpoint.open(p), p);
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

  readTensor(name: string): Promise<Buffer> {
    return this.ckpt.readTensor(name);
  }

  readRange(name: string, start: number, end: number): Promise<Buffer> {
    return this.ckpt.readRange(name, start, end);
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
      const size = (await fsp.stat(file)).size;
      out.push({ path: shard, size, sha256: await sha256File(file) });
    }
    return out;
  }

  close(): Promise<void> {
    return this.ckpt.close();
  }
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
