/**
 * The executor: streams every output shard, computing one planned tensor at a time from its sources,
 * so memory stays bounded by the largest tensor (plus write buffers).
 */
import * as path from 'path';
import { SafetensorsWriter } from '../safetensors/writer';
import { tensorBytes } from '../safetensors/types';
import type { FileLayout } from './shard-layout';
import { computeTensor, type ComputeOptions } from './compute-tensor';
import { SourceReader } from './source-reader';
import { BufferPool } from './buffer-pool';
import type { TensorSource } from '../source/checkpoint-source';
import { MtpkitError } from '../errors';
import { Sha256Stream } from '../native/sha256-stream';

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
  /** Checked before each tensor: an abort stops the run (finished shards are still recorded). */
  signal?: AbortSignal;
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

export async function executeLayouts(src: TensorSource, layouts: FileLayout[], outDir: string, opts: ExecuteOptions): Promise<ExecuteResult> {
  const shards = layouts.flatMap((l) => l.shards);
  // Counted in stored tensors (a quantized weight is weight + scales [+ biases]), the unit of the summary and of validate.
  const stored = (s: (typeof shards)[number]) => s.units.reduce((a, u) => a + u.specs.length, 0);
  const tensorsTotal = shards.reduce((a, s) => a + stored(s), 0);
  const bytesTotal = shards.reduce((a, s) => a + s.dataBytes, 0);
  const warnings: string[] = [];
  let tensorsDone = 0;
  let bytesWritten = 0;
  const digests = new Map<string, FileDigest>();
  const hashing: Promise<void>[] = [];
  const reader = new SourceReader(src);
  // Quantized outputs go into reused memory too (one buffer per tensor, back in the pool once written):
  // fresh memory would page-fault all of it on every tensor, as long as quantizing takes. At most two
  // are in use (tensor i computed, i-1 written), and two spares keep the largest sizes at hand.
  const outPool = new BufferPool(2);
  const outMemory = (bytes: number) => outPool.acquire(bytes);
  for (const shard of shards) {
    if (opts.skipFiles?.has(shard.file)) {
      tensorsDone += stored(shard);
      bytesWritten += shard.dataBytes;
      continue;
    }
    // Hashed as written (no read-back); finished (fsync, rename) while the next shard is computed.
    const sha = new Sha256Stream();
    const writer = await SafetensorsWriter.create(path.join(outDir, shard.file), shard.units.flatMap((u) => u.specs), undefined, { sink: sha });
    // A three-stage pipeline, one tensor deep: tensor i+1 is read while tensor i is computed and
    // tensor i-1 is written. Memory stays at about three tensors whatever the model size.
    let writing: Promise<void> = Promise.resolve();
    const load = (i: number) => {
      const p = reader.load(shard.units[i].tensor);
      p.catch(() => undefined);
      return p;
    };
    let next = shard.units.length ? load(0) : undefined;
    try {
      for (let i = 0; i < shard.units.length; i++) {
        const unit = shard.units[i];
        opts.signal?.throwIfAborted();
        opts.onProgress?.({ tensorsDone, tensorsTotal, bytesWritten, bytesTotal, current: unit.tensor.name });
        const loaded = await next!;
        next = i + 1 < shard.units.length ? load(i + 1) : undefined;
        const computed = await computeTensor(src, unit.tensor, opts, loaded, outMemory);
        warnings.push(...computed.warnings);
        computed.outputs.forEach((o, i) => {
          const want = unit.specs[i];
          if (!want || o.spec.name !== want.name || o.data.length !== tensorBytes(want.dtype, want.shape)) {
            throw new MtpkitError(`computed ${o.spec.name} (${o.data.length} bytes) does not match its header entry`, {
              tensor: unit.tensor.name,
            });
          }
        });
        await writing;
        writing = (async () => {
          // write() settles once the bytes are in the file (or copied into the writer's own buffer) and
          // the sha256 sink has read them: only then may pooled memory be handed out again.
          for (const o of computed.outputs) await writer.write(o.data);
          reader.release(loaded); // outputs may be views of the sources: only now is nothing using them
          for (const o of computed.outputs) outPool.release(o.data); // ignores buffers it did not lend
        })();
        writing.catch(() => undefined);
        bytesWritten += computed.outputs.reduce((a, o) => a + o.data.length, 0);
        tensorsDone += unit.specs.length;
      }
      await writing;
    } catch (err) {
      await writer.abort();
      // Shards finished earlier are still being checksummed: let them reach the resume manifest.
      await Promise.allSettled(hashing);
      throw err;
    }
    const file = shard.file;
    const hashed = writer.finish().then(async () => {
      const digest = { size: writer.totalBytes, sha256: await sha.digest() };
      digests.set(file, digest);
      await opts.onShardDone?.(file, digest);
    });
    hashed.catch(() => undefined);
    hashing.push(hashed);
  }
  await Promise.all(hashing);
  opts.onProgress?.({ tensorsDone, tensorsTotal, bytesWritten, bytesTotal, current: '' });
  return { warnings, bytesWritten, files: shards.map((s) => s.file), digests };
}
