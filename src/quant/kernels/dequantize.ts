/**
 * Reference dequantization. Affine: fp32 `float(s) * q + float(b)` (no FMA), then cast to the output
 * dtype — the fp32 tile loaders of MLX >= v0.32.1. fp modes: Metal `fp_dequantize`:
 * T(scale [* global/(448*6)] * decode(code)).
 */
import { decodeFloats, encodeFloats } from './float-io';
import { decodeE2M1, decodeE4M3 } from './fp-codecs';
import { NVFP4_GLOBAL_DIVISOR, fpScaleValue } from './fp-reference';
import { unpackCodes, wordsOf } from './pack';
import type { DequantizeOptions, FloatDType, QuantizedTensor } from './types';
import { resolveDequantize } from './validate';

const f = Math.fround;

/** fp32 values of the dequantized tensor (before the cast to the output dtype). */
export function dequantizeToF32(q: QuantizedTensor, opts: DequantizeOptions): Float32Array {
  const p = resolveDequantize(q, opts);
  const { bits, groupSize: g } = p;
  const words = wordsOf(q.weight);
  const codes = unpackCodes(words, bits, p.numel);
  const out = new Float32Array(p.numel);
  if (p.mode === 'affine') {
    const scales = decodeFloats(q.scales, p.scalesDType as FloatDType);
    const biases = decodeFloats(q.biases as Buffer, p.scalesDType as FloatDType);
    for (let k = 0; k < p.groups; k++) {
      const s = scales[k];
      const b = biases[k];
      for (let i = k * g; i < (k + 1) * g; i++) out[i] = f(f(s * codes[i]) + b);
    }
    return out;
  }
  const inv = p.globalScale === undefined ? undefined : f(p.globalScale / NVFP4_GLOBAL_DIVISOR);
  for (let k = 0; k < p.groups; k++) {
    let s = fpScaleValue(q.scales[k], g);
    if (inv !== undefined) s = f(s * inv);
    for (let i = k * g; i < (k + 1) * g; i++) {
      out[i] = f(s * (bits === 4 ? decodeE2M1(codes[i]) : decodeE4M3(codes[i])));
    }
  }
  return out;
}

/** Dequantizes to little-endian bytes of `opts.outDType` (default F32), shape [..., in]. */
export function dequantize(q: QuantizedTensor, opts: DequantizeOptions): Buffer {
  return encodeFloats(dequantizeToF32(q, opts), opts.outDType ?? 'F32');
}
