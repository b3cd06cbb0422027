/**
 * The executor's reads: every source of a planned tensor, read straight into pooled buffers when the
 * source can read into caller buffers (local files), one buffer per source with slice pieces placed
 * where they belong (no concat); the sources of a stacked tensor (MoE experts) go one after the other
 * into one buffer, so the stack is that buffer itself (computeTensor then copies nothing and allocates
 * nothing). Other sources (the Hub) fall back to readSource's fresh buffers.
 * The caller hands the loaded sources back with release() once it no longer uses them, nor anything
 * computed from them that may share their memory (an unchanged tensor is written from the very buffer).
 */
import { BufferPool } from './buffer-pool';
import { readSource, type LoadedSources } from './compute-tensor';
import { sliceByteRanges } from './tensor-ops';
import { DTYPE_BYTES, numel } from '../safetensors/types';
import { outputSpecs } from '../plan/output-specs';
import type { PlannedTensor, SourceRef } from '../plan/types';
import type { TensorSource } from '../source/checkpoint-source';

export class SourceReader {
  constructor(private readonly src: TensorSource, readonly pool = new BufferPool()) {}

  /** Reads every source of `t` (nothing for a dropped tensor). */
  async load(t: PlannedTensor): Promise<LoadedSources> {
    if (outputSpecs(t).length === 0) return [];
    if (this.src.readRangeInto && t.sources.length > 1 && t.transforms.some((x) => x.kind === 'stack')) return this.loadStacked(t.sources);
    const loaded: LoadedSources = [];
    try {
      for (const ref of t.sources) loaded.push(await this.readOne(ref));
    } catch (e) {
      this.release(loaded);
      throw e;
    }
    return loaded;
  }

  /** Returns the buffers of `loaded` to the pool (once the source no longer reads them); they must not be used afterwards. */
  release(loaded: LoadedSources): void {
    // Once per buffer: the sources of a stack share one, and the source tracks its use per buffer.
    for (const data of new Map(loaded.map((l) => [l.data.buffer, l.data])).values()) {
      const busy = this.src.whenUnused?.(data);
      if (busy) void busy.then(() => this.pool.release(data));
      else this.pool.release(data);
    }
  }

  private async readOne(ref: SourceRef): Promise<LoadedSources[number]> {
    if (!this.src.readRangeInto) return readSource(this.src, ref);
    const data = this.pool.acquire(sourceBytes(ref));
    // On failure `data` is never released: other reads may still be filling it from the pool threads.
    await Promise.all(this.readInto(ref, data));
    return { data, shape: sourceShape(ref) };
  }

  /** The sources one after the other in one pooled buffer: each loaded source is a view of its place. */
  private async loadStacked(refs: SourceRef[]): Promise<LoadedSources> {
    const sizes = refs.map(sourceBytes);
    const all = this.pool.acquire(sizes.reduce((a, b) => a + b, 0));
    const loaded: LoadedSources = [];
    const reads: Promise<void>[] = [];
    let at = 0;
    refs.forEach((ref, i) => {
      const data = all.subarray(at, (at += sizes[i]));
      loaded.push({ data, shape: sourceShape(ref) });
      reads.push(...this.readInto(ref, data));
    });
    // As in readOne, a failed read keeps `all` out of the pool.
    await Promise.all(reads);
    return loaded;
  }

  /** Starts the reads that fill `data` (exactly the source's bytes) with `ref`'s bytes, slice pieces in order. */
  private readInto(ref: SourceRef, data: Buffer): Promise<void>[] {
    const ranges = ref.slice ? sliceByteRanges(ref.shape, ref.dtype, ref.slice) : [{ start: 0, end: numel(ref.shape) * DTYPE_BYTES[ref.dtype] }];
    let at = 0;
    return ranges.map((r) => this.src.readRangeInto!(ref.tensor, r.start, data.subarray(at, (at += r.end - r.start))));
  }
}

function sourceBytes(ref: SourceRef): number {
  const shape = sourceShape(ref);
  return numel(shape) * DTYPE_BYTES[ref.dtype];
}

/** The shape a source has once read (its slice's extent along the sliced axis). */
function sourceShape(ref: SourceRef): number[] {
  const shape = [...ref.shape];
  if (ref.slice) shape[ref.slice.axis] = ref.slice.end - ref.slice.start;
  return shape;
}
