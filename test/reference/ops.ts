/**
 * Scalar building blocks of the reference forward, in float64 with plain loops (test-only).
 * Matrices are row-major [out, in] as MLX stores a Linear's weight, applied as y = W x.
 */

export type Vec = Float64Array;

/** A dense float64 matrix [rows, cols] (row-major). */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** y = W x. */
export function linear(w: Mat, x: ArrayLike<number>): Vec {
  if (x.length !== w.cols) throw new Error(`linear: input has ${x.length} values, the matrix has ${w.cols} columns`);
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
