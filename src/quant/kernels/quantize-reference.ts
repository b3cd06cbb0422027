/** `quantizeReference`: the whole-tensor TypeScript reference the native kernel is tested against. */
import { affineQuantizeReference } from './affine-reference';
import { decodeFinite, encodeFloats } from './float-io';
import { fpQuantizeReference } from './fp-reference';
import { bytesOfWords } from './pack';
import type { QuantizeOptions, QuantizedTensor } from './types';
import { resolveQuantize } from './validate';

export function quantizeReference(data: Uint8Array, opts: QuantizeOptions): QuantizedTensor {
  const p = resolveQuantize(data, opts);
  const x = decodeFinite(data, p.dtype, p.numel, p.place);
  if (p.mode === 'affine') {
    const r = affineQuantizeReference(x, p.bits, p.groupSize, p.rounding);
    return {
      weight: bytesOfWords(r.weight),
      weightShape: p.weightShape,
      scales: encodeFloats(r.scales, p.dtype),
      scalesShape: p.scalesShape,
      scalesDType: p.dtype,
      biases: encodeFloats(r.biases, p.dtype),
      biasesDType: p.dtype,
    };
  }
  const r = fpQuantizeReference(x, p.bits, p.groupSize, p.globalScale);
  return {
    weight: bytesOfWords(r.weight),
    weightShape: p.weightShape,
    scales: Buffer.from(r.scales.buffer, r.scales.byteOffset, r.scales.byteLength),
    scalesShape: p.scalesShape,
    scalesDType: 'U8',
  };
}
