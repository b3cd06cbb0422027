/** Adapter between a planned tensor and the native quantizer: returns the stored buffers in outputSpecs order. */
import { MtpkitError } from '../errors';
import { quantize } from '../quant/kernels';
import type { FloatDType } from '../numeric/float-bits';
import type { PlannedTensor, QuantDecision } from '../plan/types';

/** How tensors are computed: native threads and the MLX quantizer flavour. */
export interface ComputeOptions {
  threads?: number;
  rounding: 'metal' | 'cpu';
}

export async function quantizeTensor(
  data: Buffer,
  t: PlannedTensor,
  q: Extract<QuantDecision, { action: 'quantize' }>,
  opts: ComputeOptions,
): Promise<Buffer[]> {
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
    throw new MtpkitError(`cannot quantize a ${t.dtype} tensor`, { tensor: t.name });
  }
  const r = await quantize(data, {
    dtype: t.dtype as FloatDType,
    shape: t.shape,
    mode: q.mode,
    bits: q.bits,
    groupSize: q.groupSize,
    rounding: opts.rounding,
    name: t.name,
    threads: opts.threads,
  });
  return r.biases ? [r.weight, r.scales, r.biases] : [r.weight, r.scales];
}
