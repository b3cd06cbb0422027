/**
 * MLX fp quantization (mxfp4, mxfp8, nvfp4) as the Metal kernel `fp_quantize` computes it
 * (ml-explore/mlx mlx/ops.cpp `quantize`, mlx/backend/metal/kernels/quantized.h), fp32 emulated with Math.fround.
 */
import { decodeE4M3, decodeE8M0, encodeE2M1, encodeE4M3, encodeE8M0 } from './fp-codecs';
import { packInto } from './pack';

const f = Math.fround;
/** F8E4M3_MAX * F4E2M1_MAX. */
export const NVFP4_GLOBAL_DIVISOR = 448 * 6;

export interface FpResult {
  weight: Uint32Array;
  /** One scale byte per group (E8M0 for group 32, E4M3 for group 16). */
  scales: Uint8Array;
  codes: Uint8Array;
}

/** Value a stored scale byte stands for (before any global scale). */
export function fpScaleValue(byte: number, groupSize: number): number {
  return groupSize === 16 ? decodeE4M3(byte) : decodeE8M0(byte);
}

export function fpQuantizeReference(x: Float32Array, bits: number, g: number, globalScale?: number): FpResult {
  const groups = x.length / g;
  const codes = new Uint8Array(x.length);
  const scales = new Uint8Array(groups);
  const wordsPerGroup = (g * bits) / 32;
  const weight = new Uint32Array(groups * wordsPerGroup);
  const scaleEnc = globalScale === undefined ? 1 : f(NVFP4_GLOBAL_DIVISOR / f(globalScale));
  for (let k = 0; k < groups; k++) {
    const from = k * g;
    let amax = 0;
    for (let i = from; i < from + g; i++) amax = Math.max(amax, Math.abs(x[i]));
    let sd = f(amax / (bits === 4 ? 6 : 448));
    if (globalScale !== undefined) sd = f(sd * scaleEnc);
    const s = g === 16 ? encodeE4M3(sd) : encodeE8M0(sd);
    scales[k] = s;
    const sv = fpScaleValue(s, g);
    const enc = sv === 0 ? 0 : f(scaleEnc / sv);
    for (let i = from; i < from + g; i++) {
      const v = f(x[i] * enc);
      codes[i] = bits === 4 ? encodeE2M1(v) : encodeE4M3(v);
    }
    packInto(codes, from, g, bits, weight, k * wordsPerGroup);
  }
  return { weight, scales, codes };
}
