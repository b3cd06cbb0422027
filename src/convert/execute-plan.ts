/**
 * The executor: streams every output shard, computing one planned tensor at a time from its sources,
 * so memory stays bounded by the largest tensor (plus write buffers).
 */
import * as path from 'path';
import { SafetensorsWriter } from '../safetensors/writer';
import { tensorBytes } from '../safetensors/types';
import type { FileLayout } from './shard-layout';
import { computeTensor, type ComputeOptions, type TensorSource } from './compute-tensor';
import { MtpkitError } from '../errors';

export interface ExecuteProgress {
  tensorsDone: number;
  tensorsTotal: number;
  bytesWritten: number;
  bytesTotal: number;
  current: string;
}

export interface ExecuteOptions extends ComputeOptions {
  onProgress?: (p: ExecuteProgress) => void;
  /** Shards already complete in `outDir` (resume): skipped. */
  skipFiles?: Set<string>;
  /** Called after each shard is complete on disk (resume bookkeeping). */
  onShardDone?: (file: string, digest: FileDigest) => Promise<void>;
}

export interface FileDigest {
  size: number;
  sha256: string;
}

export interface ExecuteResult {
  warnings: string[];
  bytesWritten: number;
  files: string[];
  /** Digests of the shards written in this run (skipped ones are not included). */
  digests: Map<string, FileDigest>;
}

/**
 * Writes run behind the computation: the next tensor is read and computed while earlier ones are still
 * being written, up to this many bytes in flight (memory stays bounded by it plus one tensor).
 */
export const WRITE_BEHIND_BYTES = 64 << 20;

export async function executeLayouts(src: TensorSource, layouts: FileLayout[], outDir: string, opts: ExecuteOptions): Promise<ExecuteResult> {
  const shards = layouts.flatMap((l) => l.shards);
  const tensorsTotal = shards.reduce((a, s) => a + s.units.length, 0);
  const bytesTotal = shards.reduce((a, s) => a + s.dataBytes, 0);
  const warnings: string[] = [];
  let tensorsDone = 0;
  let bytesWritten = 0;
  const digests = new Map<string, FileDigest>();
  for (const shard of shards) {
    if (opts.skipFiles?.has(shard.file)) {
      tensorsDone += shard.units.length;
      bytesWritten += shard.dataBytes;
      continue;
    }
    const writer = await SafetensorsWriter.create(path.join(outDir, shard.file), shard.units.flatMap((u) => u.specs));
    const inflight: { done: Promise<void>; bytes: number }[] = [];
    let inflightBytes = 0;
    const drain = async (limit: number): Promise<void> => {
      while (inflight.length && inflightBytes > limit) {
        const w = inflight.shift()!;
        await w.done;
        inflightBytes -= w.bytes;
      }
    };
    try {
      for (const unit of shard.units) {
        await drain(WRITE_BEHIND_BYTES);
        opts.onProgress?.({ tensorsDone, tensorsTotal, bytesWritten, bytesTotal, current: unit.tensor.name });
        const computed = await computeTensor(src, unit.tensor, opts);
        warnings.push(...computed.warnings);
        computed.outputs.forEach((o, i) => {
          const want = unit.specs[i];
          if (!want || o.spec.name !== want.name || o.data.length !== tensorBytes(want.dtype, want.shape)) {
            throw new MtpkitError(`computed ${o.spec.name} (${o.data.length} bytes) does not match its header entry`, {
              tensor: unit.tensor.name,
            });
          }
        });
        for (const o of computed.outputs) {
          // The writer serializes writes in call order; a failure surfaces when drained or at finish().
          const done = writer.write(o.data);
          done.catch(() => undefined);
          inflight.push({ done, bytes: o.data.length });
          inflightBytes += o.data.length;
          bytesWritten += o.data.length;
        }
        tensorsDone++;
      }
      await drain(0);
      await writer.finish();
      const digest = { size: writer.totalBytes, sha256: writer.sha256! };
      digests.set(shard.file, digest);
      await opts.onShardDone?.(shard.file, digest);
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }
  opts.onProgress?.({ tensorsDone, tensorsTotal, bytesWritten, bytesTotal, current: '' });
  return { warnings, bytesWritten, files: shards.map((s) => s.file), digests };
}
