/** The tensors an output file will hold, known before any data is computed (headers are written first). */
import type { TensorSpec } from '../safetensors/types';
import { MtpkitError } from '../errors';
import type { PlannedTensor } from './types';

/** Module path of a weight: `a.b.weight` -> `a.b`. */
export function moduleOf(name: string): string {
  return name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : name;
}

/**
 * The stored tensors of one planned tensor: nothing when dropped, the tensor itself when kept,
 * `weight` (packed U32) + `scales` (+ `biases` for affine) when quantized.
 */
export function outputSpecs(t: PlannedTensor): TensorSpec[] {
  const q = t.quant;
  if (!q || q.action === 'keep') return [{ name: t.name, dtype: t.dtype, shape: t.shape }];
  if (q.action === 'drop') return [];
  const lead = t.shape.slice(0, -1);
  const inDim = t.shape[t.shape.length - 1];
  if (inDim % q.groupSize !== 0 || (inDim * q.bits) % 32 !== 0) {
    throw new MtpkitError(`cannot quantize [${t.shape}] with group ${q.groupSize} / ${q.bits} bits`, { tensor: t.name });
  }
  const mod = moduleOf(t.name);
  const scalesDType = q.mode === 'affine' ? t.dtype : 'U8';
  const specs: TensorSpec[] = [
    { name: `${mod}.weight`, dtype: 'U32', shape: [...lead, (inDim * q.bits) / 32] },
    { name: `${mod}.scales`, dtype: scalesDType, shape: [...lead, inDim / q.groupSize] },
  ];
  if (q.mode === 'affine') specs.push({ name: `${mod}.biases`, dtype: t.dtype, shape: [...lead, inDim / q.groupSize] });
  return specs;
}
