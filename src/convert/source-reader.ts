/**
 * The executor's reads: every source of a planned tensor, read straight into pooled buffers when the
 * source can read into caller buffers (local files), one buffer per source with slice pieces placed
 * where they belong (no concat). Other sources (the Hub) fall back to readSource's fresh buffers.
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
    for (const l of loaded) {
      const busy = this.src.whenUnused?.(l.data);
      if (busy) void busy.then(() => this.pool.release(l.data));
      else this.pool.release(l.data);
    }
  }

  private async readOne(ref: SourceRef): Promise<LoadedSources[number]> {
    const into = this.src.readRangeInto?.bind(this.src);
    if (!into) return readSource(this.src, ref);
    const ranges = ref.slice ? sliceByteRanges(ref.shape, ref.dtype, ref.slice) : [{ start: 0, end: numel(ref.shape) * DTYPE_BYTES[ref.dtype] }];
    const bytes = ranges.reduce((a, r) => a + r.end - r.start, 0);
    const data = this.pool.acquire(bytes);
    let at = 0;
    const reads: Promise<void>[] = [];
    for (const r of ranges) {
      reads.push(into(ref.tensor, r.start, data.subarray(at, at + r.end - r.start)));
      at += r.end - r.start;
    }
    // On failure `data` is never released: other reads may still be filling it from the pool threads.
    await Promise.all(reads);
    const shape = [...ref.shape];
    if (ref.slice) shape[ref.slice.axis] = ref.slice.end - ref.slice.start;
    return { data, shape };
  }
}
