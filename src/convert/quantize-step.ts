/** Adapter between a planned tensor and the native quantizer: returns the stored buffers in outputSpecs order. */
import { MtpkitError } from '../errors';
import { quantize, type QuantizeTargets } from '../quant/kernels';
import type { FloatDType } from '../numeric/float-bits';
import type { PlannedTensor, QuantDecision } from '../plan/types';
import { outputSpecs } from '../plan/output-specs';
import { tensorBytes } from '../safetensors/types';

/** How tensors are computed: native threads and the MLX quantizer flavour. */
export interface ComputeOptions {
  threads?: number;
  rounding: 'metal' | 'cpu';
}

/** Memory for a tensor's outputs: `bytes` bytes of unspecified contents, which the caller overwrites entirely. */
export type OutputMemory = (bytes: number) => Buffer;

/** Offsets of the outputs inside one buffer are rounded up to this (a cache line). */
const PIECE_ALIGN = 64;

/**
 * The stored tensors of `t` (weight, scales[, biases]) laid out one after the other in a single buffer
 * from `memory`, so a pool hands out and takes back one buffer per tensor.
 */
function outputTargets(t: PlannedTensor, memory: OutputMemory): QuantizeTargets {
  const sizes = outputSpecs(t).map((s) => tensorBytes(s.dtype, s.shape));
  const starts: number[] = [];
  let end = 0;
  for (const n of sizes) {
    starts.push(end);
    end = Math.ceil((end + n) / PIECE_ALIGN) * PIECE_ALIGN;
  }
  const buf = memory(end);
  const [weight, scales, biases] = sizes.map((n, i) => buf.subarray(starts[i], starts[i] + n));
  return biases ? { weight, scales, biases } : { weight, scales };
}

/**
 * Quantizes `data` as planned. With `memory`, the outputs are views of one buffer it returned (the caller
 * gives that buffer back once the views are written out); without, they are fresh buffers.
 */
export async function quantizeTensor(
  data: Buffer,
  t: PlannedTensor,
  q: Extract<QuantDecision, { action: 'quantize' }>,
  opts: ComputeOptions,
  memory?: OutputMemory,
): Promise<Buffer[]> {
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
    throw new MtpkitError(`cannot quantize a ${t.dtype} tensor`, { tensor: t.name });
  }
  const r = await quantize(
    data,
    {
      dtype: t.dtype as FloatDType,
      shape: t.shape,
      mode: q.mode,
      bits: q.bits,
      groupSize: q.groupSize,
      rounding: opts.rounding,
      name: t.name,
      threads: opts.threads,
    },
    memory && outputTargets(t, memory),
  );
  return r.biases ? [r.weight, r.scales, r.biases] : [r.weight, r.scales];
}
