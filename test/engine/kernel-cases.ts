/**
 * Weights for the kernel tests, made by our own quantizer (src/quant/kernels), and the plain
 * reference the kernels are checked against: dequantize with the TypeScript dequantizer, then a
 * float64 matmul.
 */
import { dequantizeToF32, quantizeSync, type QuantMode } from '../../src/quant/kernels';
import { decodeFloats, encodeFloats } from '../../src/quant/kernels/float-io';
import { gaussian, seededRng } from '../../src/quant/kernels/synthetic';
import { qlinearForward, qlinearForwardRows, type QLinearSpec, type ScalesDType, type WeightFormat } from '../../src/runtime/engine/kernels';
import { QB, q8AffineDot, quantizeActivationRow } from '../../src/numeric/q8-activations';

export interface KernelCase {
  label: string;
  format: WeightFormat;
  bits?: number;
  groupSize?: number;
  scalesDType?: ScalesDType;
}

export interface MadeWeight {
  spec: QLinearSpec;
  /** The dequantized weight [rows, cols] as the TypeScript reference computes it (computed on first use). */
  readonly ref: Float32Array;
}

export function allCases(): KernelCase[] {
  const out: KernelCase[] = [];
  for (const format of ['F32', 'F16', 'BF16'] as const) out.push({ label: format, format });
  for (const bits of [2, 3, 4, 5, 6, 8])
    for (const groupSize of [32, 64, 128])
      for (const scalesDType of ['BF16', 'F16', 'F32'] as const)
        out.push({ label: `affine ${bits}-bit g${groupSize} ${scalesDType}`, format: 'affine', bits, groupSize, scalesDType });
  out.push({ label: 'mxfp4', format: 'mxfp4', bits: 4, groupSize: 32 });
  out.push({ label: 'mxfp8', format: 'mxfp8', bits: 8, groupSize: 32 });
  out.push({ label: 'nvfp4', format: 'nvfp4', bits: 4, groupSize: 16 });
  return out;
}

/** Gaussian weights with a per-row spread, a few outliers, and an all-zero stretch. */
function weightValues(rows: number, cols: number, seed: number): number[] {
  const rng = seededRng(seed);
  const v: number[] = [];
  for (let r = 0; r < rows; r++) {
    const sigma = 0.02 * (1 + (r % 7));
    for (let c = 0; c < cols; c++) {
      let x = gaussian(rng, sigma);
      if (rng() < 0.002) x *= 20;
      if (r % 11 === 3 && c < 32) x = 0;
      v.push(x);
    }
  }
  return v;
}

export function makeWeight(c: KernelCase, rows: number, cols: number, seed: number): MadeWeight {
  const values = weightValues(rows, cols, seed);
  const fmt = c.format;
  if (fmt === 'F32' || fmt === 'F16' || fmt === 'BF16') {
    const weight = encodeFloats(values, fmt);
    return {
      spec: { format: fmt, rows, cols, weight },
      get ref() {
        return decodeFloats(weight, fmt);
      },
    };
  }
  const mode = c.format as QuantMode;
  const dtype = c.scalesDType ?? 'BF16';
  const bits = c.bits as number;
  const groupSize = c.groupSize as number;
  const q = quantizeSync(encodeFloats(values, dtype), { dtype, shape: [rows, cols], mode, bits, groupSize, threads: 1 });
  const spec: QLinearSpec = {
    format: c.format,
    rows,
    cols,
    bits,
    groupSize,
    weight: q.weight,
    scales: q.scales,
    biases: q.biases,
    scalesDType: mode === 'affine' ? dtype : undefined,
  };
  let ref: Float32Array | undefined;
  return {
    spec,
    get ref() {
      ref ??= dequantizeToF32(q, { mode, bits, groupSize });
      return ref;
    },
  };
}

export function makeX(m: number, cols: number, seed: number): Float32Array {
  const rng = seededRng(seed);
  const x = new Float32Array(m * cols);
  for (let i = 0; i < x.length; i++) x[i] = gaussian(rng, 1) * (rng() < 0.01 ? 30 : 1);
  return x;
}

/**
 * float64 y = W x and, per output, the error budget of an fp32 kernel: TOL times the sum over k of
 * (|w_k| + max |w| in k's group) |x_k|. The second term is there because an affine kernel may sum
 * scale*dot(q, x) + bias*sum(x), whose parts are as large as the group's largest weight.
 */
export function referenceMatmul(
  ref: Float32Array,
  rows: number,
  cols: number,
  group: number,
  x: Float32Array,
  m: number,
): { y: Float64Array; budget: Float64Array } {
  const y = new Float64Array(m * rows);
  const budget = new Float64Array(m * rows);
  const gmax = new Float64Array(rows * cols);
  const g = group > 0 ? group : 1;
  for (let i = 0; i < rows * cols; i += g) {
    let mx = 0;
    for (let j = i; j < i + g; j++) mx = Math.max(mx, Math.abs(ref[j]));
    gmax.fill(mx, i, i + g);
  }
  for (let r = 0; r < m; r++)
    for (let n = 0; n < rows; n++) {
      let s = 0;
      let b = 0;
      for (let k = 0; k < cols; k++) {
        const w = ref[n * cols + k];
        const xv = x[r * cols + k];
        s += w * xv;
        b += (Math.abs(w) + gmax[n * cols + k]) * Math.abs(xv);
      }
      y[r * rows + n] = s;
      budget[r * rows + n] = b;
    }
  return { y, budget };
}

/** First index where a and b differ bit for bit, or -1. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/**
 * Unsigned codes [rows, cols] of an affine weight, read straight from MLX's packing (each row one
 * little-endian bit stream, code i at bits [i*bits, (i+1)*bits); ml-explore/mlx
 * mlx/backend/common/quantized.h), one bit at a time.
 */
export function affineCodes(spec: QLinearSpec): Uint8Array {
  const bits = spec.bits as number;
  const out = new Uint8Array(spec.rows * spec.cols);
  const rowBits = spec.cols * bits;
  for (let r = 0; r < spec.rows; r++)
    for (let i = 0; i < spec.cols; i++) {
      let q = 0;
      for (let b = 0; b < bits; b++) {
        const bit = r * rowBits + i * bits + b;
        q |= ((spec.weight[bit >> 3] >> (bit & 7)) & 1) << b;
      }
      out[r * spec.cols + i] = q;
    }
  return out;
}

/**
 * The q8 formula (src/numeric/q8-activations.ts) in float64 for an affine weight, and per output
 * the budget of an fp32 evaluation of its float part: TOL times
 * sum_g |s_g| sum_{j in g} d_j sum_i q_i |xq_i| + sum_g |b_g| sum_{k in g} |x_k|. The integer
 * parts are exact, so only this float rounding separates the kernels from the reference.
 */
export function referenceQ8Matmul(spec: QLinearSpec, x: Float32Array, m: number): { y: Float64Array; budget: Float64Array } {
  const { rows, cols } = spec;
  const group = spec.groupSize as number;
  const G = cols / group;
  const dtype = spec.scalesDType ?? 'BF16';
  const codes = affineCodes(spec);
  const scales = decodeFloats(spec.scales as Uint8Array, dtype);
  const biases = decodeFloats(spec.biases as Uint8Array, dtype);
  const xq = new Int8Array(m * cols);
  const d = new Float32Array((m * cols) / QB);
  for (let r = 0; r < m; r++) quantizeActivationRow(x, r * cols, cols, xq, d);
  const y = new Float64Array(m * rows);
  const budget = new Float64Array(m * rows);
  for (let r = 0; r < m; r++)
    for (let n = 0; n < rows; n++) {
      const q = codes.subarray(n * cols, (n + 1) * cols);
      const s = scales.subarray(n * G, (n + 1) * G);
      const b = biases.subarray(n * G, (n + 1) * G);
      y[r * rows + n] = q8AffineDot(q, s, b, group, x, xq, d, r * cols, cols);
      let bound = 0;
      for (let g = 0; g < G; g++) {
        let ints = 0;
        let xs = 0;
        for (let k = g * group; k < (g + 1) * group; k++) {
          ints += d[Math.floor((r * cols + k) / QB)] * q[k] * Math.abs(xq[r * cols + k]);
          xs += Math.abs(x[r * cols + k]);
        }
        bound += Math.abs(s[g]) * ints + Math.abs(b[g]) * xs;
      }
      budget[r * rows + n] = bound;
    }
  return { y, budget };
}

/**
 * Asserts that 1 and 2 threads give identical bits for each M, and that rows [500, 1400) through
 * the native slice_rows equal the same rows of the whole (spec needs 1400 rows: enough that the
 * pool splits them, blocks of >= 2^18 multiply-adds in qlinear.cc).
 */
export function expectThreadInvariance(spec: QLinearSpec, batches: number[]): void {
  const rows = spec.rows;
  for (const M of batches) {
    const x = makeX(M, spec.cols, 5 + M);
    const one = qlinearForward(spec, x, M, 1);
    const two = qlinearForward(spec, x, M, 2);
    expect(firstBitDifference(one, two)).toBe(-1);
    const part = qlinearForwardRows(spec, x, M, 500, 1400, 2);
    for (let m = 0; m < M; m++) {
      expect(firstBitDifference(part.subarray(m * 900, (m + 1) * 900), one.subarray(m * rows + 500, m * rows + 1400))).toBe(-1);
    }
  }
}
