/**
 * Computes the stored bytes of one planned tensor from its sources alone: read (slices), stack,
 * transforms, quantize. Memory is bounded by this tensor's sources and outputs.
 */
import { DTYPE_BYTES, numel, type DType, type TensorSpec } from '../safetensors/types';
import { convertFloats } from '../numeric/convert';
import type { FloatDType } from '../numeric/float-bits';
import { MtpkitError } from '../errors';
import type { PlannedTensor, SourceRef } from '../plan/types';
import type { TensorSource } from '../source/checkpoint-source';
import { addOne, moveAxis, sliceByteRanges } from './tensor-ops';
import { outputSpecs } from '../plan/output-specs';
import { quantizeTensor, type ComputeOptions, type OutputMemory } from './quantize-step';
import { assertFiniteSources } from './finite-sources';
import { firstNonFinite } from '../numeric/non-finite';

export type { ComputeOptions, OutputMemory };

export interface ComputedTensor {
  outputs: { spec: TensorSpec; data: Buffer }[];
  /** Things worth reporting (e.g. values that overflowed f16). */
  warnings: string[];
}

export async function readSource(src: TensorSource, ref: SourceRef): Promise<{ data: Buffer; shape: number[] }> {
  if (!ref.slice) return { data: await src.readTensor(ref.tensor), shape: [...ref.shape] };
  const parts = await Promise.all(
    sliceByteRanges(ref.shape, ref.dtype, ref.slice).map((r) => src.readRange(ref.tensor, r.start, r.end)),
  );
  const shape = [...ref.shape];
  shape[ref.slice.axis] = ref.slice.end - ref.slice.start;
  return { data: parts.length === 1 ? parts[0] : Buffer.concat(parts), shape };
}

export type LoadedSources = { data: Buffer; shape: number[] }[];

/** Reads every source of a planned tensor (nothing for a dropped one). */
export async function loadSources(src: TensorSource, t: PlannedTensor): Promise<LoadedSources> {
  if (outputSpecs(t).length === 0) return [];
  const loaded: LoadedSources = [];
  for (const ref of t.sources) loaded.push(await readSource(src, ref));
  return loaded;
}

/**
 * `preloaded`: the sources, already read (else read here). `memory`: where quantized outputs go (see
 * quantizeTensor); other outputs are the sources themselves or fresh buffers.
 */
export async function computeTensor(
  src: TensorSource,
  t: PlannedTensor,
  opts: ComputeOptions,
  preloaded?: LoadedSources,
  memory?: OutputMemory,
): Promise<ComputedTensor> {
  const specs = outputSpecs(t);
  if (specs.length === 0) return { outputs: [], warnings: [] };
  const warnings: string[] = [];

  const loaded = preloaded ?? (await loadSources(src, t));
  await assertFiniteSources(t, loaded, opts.threads);
  let dtype: DType = t.sources[0].dtype;
  let data: Buffer;
  let shape: number[];
  const stacked = t.transforms.some((x) => x.kind === 'stack');
  if (stacked) {
    data = adjacentSpan(loaded.map((l) => l.data)) ?? Buffer.concat(loaded.map((l) => l.data));
    shape = [loaded.length, ...loaded[0].shape];
  } else {
    if (loaded.length !== 1) throw new MtpkitError(`${loaded.length} sources without a stack transform`, { tensor: t.name });
    ({ data, shape } = loaded[0]);
  }

  for (const x of t.transforms) {
    switch (x.kind) {
      case 'stack':
        break;
      case 'moveaxis':
        data = moveAxis(data, shape, dtype, x.from, x.to);
        shape.splice(x.to, 0, ...shape.splice(x.from, 1));
        break;
      case 'add-one':
        data = addOne(data, dtype);
        break;
      case 'cast': {
        const converted = await convertFloats(data, dtype as FloatDType, x.to as FloatDType, {
          threads: opts.threads,
          place: { tensor: t.name },
        });
        if (x.to === 'F16') {
          const n = await countInfinities(converted, opts.threads);
          if (n) warnings.push(`${t.name}: ${n} value(s) out of f16 range became inf`);
        }
        data = converted;
        dtype = x.to;
        break;
      }
    }
  }
  if (dtype !== t.dtype || shape.join() !== t.shape.join() || data.length !== numel(shape) * DTYPE_BYTES[dtype]) {
    throw new MtpkitError(
      `plan says ${t.dtype}[${t.shape}] but the transforms gave ${dtype}[${shape}] (${data.length} bytes)`,
      { tensor: t.name },
    );
  }

  if (t.quant?.action === 'quantize') {
    const q = await quantizeTensor(data, t, t.quant, opts, memory);
    return { outputs: specs.map((spec, i) => ({ spec, data: q[i] })), warnings };
  }
  return { outputs: [{ spec: specs[0], data }], warnings };
}

/**
 * One view over `parts` when they already lie one after the other in the same memory (SourceReader
 * reads a stack's sources so): the stacked tensor without a copy. Otherwise undefined.
 */
export function adjacentSpan(parts: Buffer[]): Buffer | undefined {
  const first = parts[0];
  if (!first) return undefined;
  let end = first.byteOffset + first.length;
  for (const p of parts.slice(1)) {
    if (p.buffer !== first.buffer || p.byteOffset !== end) return undefined;
    end += p.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

/**
 * ±Inf in an f16 cast result. Every source was checked finite before the transforms (assertFiniteSources;
 * add-one, stack and moveaxis keep finite values finite), so each one is a value the cast overflowed.
 */
async function countInfinities(f16: Buffer, threads?: number): Promise<number> {
  const first = await firstNonFinite(f16, 'F16', threads);
  if (first < 0) return 0;
  let n = 0;
  for (let j = 2 * first; j < f16.length; j += 2) if ((f16.readUInt16LE(j) & 0x7fff) === 0x7c00) n++;
  return n;
}
