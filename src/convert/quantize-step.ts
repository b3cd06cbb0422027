/** Adapter between a planned tensor and the quantizer kernels: returns the stored buffers in outputSpecs order. */
import { MtpkitError } from '../errors';
import type { PlannedTensor, QuantDecision } from './plan-types';
import type { ComputeOptions } from './compute-tensor';

export async function quantizeTensor(
  data: Buffer,
  t: PlannedTensor,
  q: Extract<QuantDecision, { action: 'quantize' }>,
  opts: ComputeOptions,
): Promise<Buffer[]> {
  throw new MtpkitError(`quantization is not available yet (${q.mode} ${q.bits}-bit)`, { tensor: t.name });
}
