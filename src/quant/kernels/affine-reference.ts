/**
 * MLX affine quantization, plain TypeScript (ml-explore/mlx mlx/ops.cpp `quantize`, mlx/backend/metal/kernels/quantized.h). Every fp32 operation
 * goes through Math.fround: a double result of +, -, * or / of two float32 values, rounded once to
 * float32, equals the IEEE fp32 result, so this reproduces MLX's fp32 kernels exactly.
 */
import { packInto } from './pack';
import type { QuantRounding } from './types';

const f = Math.fround;
const EPS = f(1e-7);

/** std::rint under the default rounding mode: nearest integer, ties to even. */
export function roundHalfEven(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl; // exact for float32 values
  if (d > 0.5) return fl + 1;
  if (d < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

/** Metal / CUDA round(): nearest integer, ties away from zero. */
export function roundHalfAway(v: number): number {
  const a = Math.floor(Math.abs(v) + 0.5); // exact: |v| + 0.5 cannot round up to the next integer
  return v < 0 ? -a : a;
}

export interface AffineGroup {
  /** Unrounded fp32 scale and bias (the codes use these; the stored copies are rounded to dtype). */
  scale: number;
  bias: number;
}

/**
 * Quantizes x[from, from+g) into codes[from, from+g) and returns the fp32 scale and bias.
 * 'cpu': w_max starts at -inf, ties to even. 'metal': w_max starts at 0, ties away from zero.
 */
export function affineGroup(
  x: Float32Array,
  from: number,
  g: number,
  bits: number,
  rounding: QuantRounding,
  codes: Uint8Array,
): AffineGroup {
  const nBins = (1 << bits) - 1;
  const round = rounding === 'cpu' ? roundHalfEven : roundHalfAway;
  let wMax = rounding === 'cpu' ? -Infinity : 0;
  let wMin = Infinity;
  for (let i = from; i < from + g; i++) {
    if (x[i] > wMax) wMax = x[i];
    if (x[i] < wMin) wMin = x[i];
  }
  const mask = Math.abs(wMin) > Math.abs(wMax);
  let scale = Math.max(f(f(wMax - wMin) / nBins), EPS);
  scale = mask ? scale : -scale;
  const edge = mask ? wMin : wMax;
  const q0 = round(f(edge / scale));
  let bias = 0;
  if (q0 !== 0) {
    scale = f(edge / q0);
    bias = edge;
  }
  for (let i = from; i < from + g; i++) {
    const q = round(f(f(x[i] - bias) / scale));
    codes[i] = q < 0 ? 0 : q > nBins ? nBins : q;
  }
  return { scale, bias };
}

export interface AffineResult {
  weight: Uint32Array;
  /** fp32 scales / biases before rounding to the output dtype. */
  scales: Float32Array;
  biases: Float32Array;
  /** One code per element (handy for tests). */
  codes: Uint8Array;
}

/** Quantizes all groups of a flat array whose length is a multiple of g. */
export function affineQuantizeReference(
  x: Float32Array,
  bits: number,
  g: number,
  rounding: QuantRounding,
): AffineResult {
  const groups = x.length / g;
  const codes = new Uint8Array(x.length);
  const scales = new Float32Array(groups);
  const biases = new Float32Array(groups);
  const wordsPerGroup = (g * bits) / 32;
  const weight = new Uint32Array(groups * wordsPerGroup);
  for (let k = 0; k < groups; k++) {
    const r = affineGroup(x, k * g, g, bits, rounding, codes);
    scales[k] = r.scale;
    biases[k] = r.bias;
    packInto(codes, k * g, g, bits, weight, k * wordsPerGroup);
  }
  return { weight, scales, biases, codes };
}
