/**
 * Scalar building blocks of the reference forward, in float64 with plain loops (test-only).
 * Matrices are row-major [out, in] as MLX stores a Linear's weight, applied as y = W x.
 */
import { QB, quantizeActivationRow } from '../../src/numeric/q8-activations';

export type Vec = Float64Array;

/** An affine-quantized weight as stored: unsigned codes [rows, cols], scale and bias per group [rows, cols / groupSize]. */
export interface AffineCodes {
  codes: Uint8Array;
  scales: Float64Array;
  biases: Float64Array;
  groupSize: number;
}

/** A dense float64 matrix [rows, cols] (row-major); `q8` set = apply it with int8 activations. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
  q8?: AffineCodes;
}

/**
 * Distance (in units of the step d) from a rounding midpoint below which an int8 code is not determined
 * by the math. An engine computing in float32 has activations a few 1e-6 relative away from this float64
 * reference in q8 mode (measured: native rows agree to <= 4e-5, and codes 5.4e-4 from a midpoint were
 * seen to round the other way), i.e. up to ~1e-3 in x/d (|x/d| <= 127): there either rounding is legitimate.
 */
export const Q8_UNDETERMINED = 1e-3;

/** Codes quantized so far within Q8_UNDETERMINED of a midpoint (read as a difference around a forward). */
export const q8Undetermined = { count: 0 };

/**
 * y = W x with x quantized to int8 per block of QB (the engine's q8 mode, Q8SPEC): x is the engine's
 * float32 row; per block j, I_j = Σ q·xq exactly (integers), then in float64
 * y = Σ_g s_g Σ_{j in g} d_j I_j + Σ_g b_g Σ_{k in g} x_k (the bias term on the float x).
 */
function linearQ8(w: Mat, a: AffineCodes, x: ArrayLike<number>): Vec {
  const K = w.cols;
  const g = a.groupSize;
  const xf = Float32Array.from(x);
  const xq = new Int8Array(K);
  const d = new Float32Array(K / QB);
  quantizeActivationRow(xf, 0, K, xq, d);
  for (let c = 0; c < K; c++) {
    const v = Math.abs(Math.fround(xf[c] / d[Math.floor(c / QB)]));
    if (Math.abs(v - Math.floor(v) - 0.5) < Q8_UNDETERMINED) q8Undetermined.count++;
  }
  const groups = K / g;
  const y = new Float64Array(w.rows);
  for (let r = 0; r < w.rows; r++) {
    let acc = 0;
    for (let k = 0; k < groups; k++) {
      let blocks = 0;
      let xsum = 0;
      for (let j = (k * g) / QB; j < ((k + 1) * g) / QB; j++) {
        let dot = 0;
        for (let c = j * QB; c < (j + 1) * QB; c++) {
          dot += a.codes[r * K + c] * xq[c];
          xsum += xf[c];
        }
        blocks += d[j] * dot;
      }
      acc += a.scales[r * groups + k] * blocks + a.biases[r * groups + k] * xsum;
    }
    y[r] = acc;
  }
  return y;
}

/** y = W x. */
export function linear(w: Mat, x: ArrayLike<number>): Vec {
  if (x.length !== w.cols) throw new Error(`linear: input has ${x.length} values, the matrix has ${w.cols} columns`);
  if (w.q8) return linearQ8(w, w.q8, x);
  const y = new Float64Array(w.rows);
  for (let r = 0; r < w.rows; r++) {
    let s = 0;
    const base = r * w.cols;
    for (let c = 0; c < w.cols; c++) s += w.data[base + c] * x[c];
    y[r] = s;
  }
  return y;
}

/** Row `r` of a matrix (an embedding lookup). */
export function row(w: Mat, r: number): Vec {
  return w.data.slice(r * w.cols, (r + 1) * w.cols);
}

/**
 * MLX `mx.fast.rms_norm(x, w, eps)`: x / sqrt(mean(x²) + eps) · w; `w` undefined = no weight.
 * MLX artifacts store every norm weight as the final gamma (the HF `1 + w` already folded in), so
 * there is no zero-centred variant at run time.
 */
export function rmsNorm(x: ArrayLike<number>, w: ArrayLike<number> | undefined, eps: number): Vec {
  const n = x.length;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[i] * x[i];
  const inv = 1 / Math.sqrt(ss / n + eps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = x[i] * inv * (w === undefined ? 1 : w[i]);
  return y;
}

/** HF's zero-centred RMSNorm (`Qwen3_5RMSNorm`): weight stored as a delta from 1. Used in unit tests only. */
export function rmsNormZeroCentred(x: ArrayLike<number>, delta: ArrayLike<number>, eps: number): Vec {
  const w = new Float64Array(delta.length);
  for (let i = 0; i < w.length; i++) w[i] = 1 + delta[i];
  return rmsNorm(x, w, eps);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function silu(x: number): number {
  return x * sigmoid(x);
}

/** log(1 + e^x) without overflow (MLX `nn.softplus` = logaddexp(x, 0)). */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Numerically safe softmax over the whole vector. */
export function softmax(x: ArrayLike<number>): Vec {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  const y = new Float64Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    y[i] = Math.exp(x[i] - m);
    s += y[i];
  }
  for (let i = 0; i < x.length; i++) y[i] /= s;
  return y;
}

export function add(a: ArrayLike<number>, b: ArrayLike<number>): Vec {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

/** SwiGLU MLP: down(silu(gate x) · up x). */
export function swiglu(gate: Mat, up: Mat, down: Mat, x: ArrayLike<number>): Vec {
  const g = linear(gate, x);
  const u = linear(up, x);
  const h = new Float64Array(g.length);
  for (let i = 0; i < h.length; i++) h[i] = silu(g[i]) * u[i];
  return linear(down, h);
}
