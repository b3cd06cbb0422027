/**
 * Int8 activations for affine weights ("q8" mode): each row of x is cut into blocks of QB floats,
 * each block becomes int8 codes xq and one float32 step d, and an affine weight row is applied as
 * integer dot products per block (the scheme of llama.cpp's Q8_0, ggml-org/llama.cpp
 * ggml/src/ggml-quants.c quantize_row_q8_0). Plain code on purpose: this is the reference the native
 * row quantizer (native/src/engine/qlinear_q8.cc) must match bit for bit.
 */
import { InputError } from '../errors';

/** Activation block length. The one place the TS side names it (the native side has its own). */
export const QB = 32;

const { abs, floor, fround } = Math;

/** Round a float to the nearest integer, halfway cases to the even one (IEEE roundTiesToEven). */
export function roundTiesToEven(v: number): number {
  const f = floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Quantizes x[off, off + K) (one row; K a multiple of QB) into xq[off, off + K) and
 * d[off / QB, off / QB + K / QB). Per block: amax = max |x|, d = fround(amax / 127),
 * xq = roundTiesToEven(fround(x / d)) clamped to [-127, 127]; an all-zero block gets d = 0 and xq = 0.
 * A block holding NaN or ±Inf gets d = NaN and xq = 0, so every product with it is NaN and the
 * row's outputs show the bad input rather than hide it.
 */
export function quantizeActivationRow(x: Float32Array, off: number, K: number, xq: Int8Array, d: Float32Array): void {
  if (K % QB !== 0 || off % QB !== 0) {
    throw new InputError(`q8 activations: row length ${K} and offset ${off} must be multiples of ${QB}`);
  }
  for (let b = off; b < off + K; b += QB) {
    let amax = 0;
    let finite = true;
    for (let i = b; i < b + QB; i++) {
      const a = abs(x[i]);
      if (!(a <= Number.MAX_VALUE)) finite = false; // NaN or Inf
      else if (a > amax) amax = a;
    }
    const j = b / QB;
    if (!finite) {
      d[j] = NaN;
      xq.fill(0, b, b + QB);
      continue;
    }
    // float32 / 127 computed in double then rounded once to float32 is the correctly rounded
    // float32 quotient (double has more than 2*24+2 bits), as the native division gives.
    const step = fround(amax / 127);
    d[j] = step;
    if (step === 0) {
      xq.fill(0, b, b + QB);
      continue;
    }
    for (let i = b; i < b + QB; i++) {
      const q = roundTiesToEven(fround(x[i] / step));
      xq[i] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
}

/**
 * The q8 formula for one affine weight row, in float64: codes[k] the unsigned affine codes of the row,
 * scales / biases per group (already decoded to numbers), x the float row (for the bias term),
 * xq / d its quantization (from quantizeActivationRow with the same offset xOff).
 *   y = sum_g s_g * sum_{blocks j in g} d_j * I_j + sum_g b_g * sum_{k in g} x_k,  I_j = sum q_k * xq_k.
 */
export function q8AffineDot(
  codes: ArrayLike<number>,
  scales: ArrayLike<number>,
  biases: ArrayLike<number>,
  group: number,
  x: Float32Array,
  xq: Int8Array,
  d: Float32Array,
  xOff: number,
  K: number,
): number {
  if (group % QB !== 0 || K % group !== 0) {
    throw new InputError(`q8 activations: group ${group} must be a multiple of ${QB} and divide K = ${K}`);
  }
  let y = 0;
  for (let g = 0; g < K / group; g++) {
    let blocks = 0;
    let xsum = 0;
    for (let b = g * group; b < (g + 1) * group; b += QB) {
      let I = 0;
      for (let k = b; k < b + QB; k++) {
        I += codes[k] * xq[xOff + k];
        xsum += x[xOff + k];
      }
      blocks += d[(xOff + b) / QB] * I;
    }
    y += scales[g] * blocks + biases[g] * xsum;
  }
  return y;
}
