/**
 * The q8 mode of the engine's linear kernels (int8 activations for affine weights) on both paths
 * (run-time selected SIMD and the portable fallback): the native row quantizer equals the TS one
 * bit for bit, the kernels equal the TS q8 formula up to the float rounding of its float part (the
 * integer dot products are exact), saturation cannot happen at the extremes, non-finite activations
 * show as NaN, and a row's output is bit-identical alone, inside batches of 1..7 and with 1 or 2 threads.
 */
import { QB, quantizeActivationRow } from '../../src/numeric/q8-activations';
import { seededRng } from '../../src/numeric/prng';
import { encodeFloats } from '../../src/quant/kernels/float-io';
import { qlinearForward, quantizeActivations, setScalarKernels, type QLinearSpec } from '../../src/runtime/engine/kernels';
import { allCases, expectThreadInvariance, firstBitDifference, makeWeight, makeX, referenceQ8Matmul, type KernelCase } from './kernel-cases';

/** |native - float64 q8 formula| <= TOL * budget of its float part (kernel-cases.ts referenceQ8Matmul). */
const TOL = 1e-5;
const AFFINE = allCases().filter((c) => c.format === 'affine');
const PATHS = ['auto', 'scalar'] as const;

/** K with whole 32-code tails after the SIMD chunks (64 codes at 4 bits, 128 at 2) where the group allows. */
function colsFor(c: KernelCase): number {
  return c.groupSize === 32 ? 416 : c.groupSize === 64 ? 448 : 384;
}

const q8 = (spec: QLinearSpec): QLinearSpec => ({ ...spec, activations: 'q8' });

function tsQuantize(x: Float32Array, m: number, k: number): { xq: Int8Array; d: Float32Array } {
  const xq = new Int8Array(m * k);
  const d = new Float32Array((m * k) / QB);
  for (let r = 0; r < m; r++) quantizeActivationRow(x, r * k, k, xq, d);
  return { xq, d };
}

/** Activations with every case the quantizer distinguishes: ties, zero / NaN / Inf blocks, subnormal and huge values. */
function hardX(blocks: number, seed: number): Float32Array {
  const x = makeX(1, blocks * QB, seed);
  for (let j = 0; j < blocks; j++) {
    const b = x.subarray(j * QB, (j + 1) * QB);
    switch (j % 8) {
      case 0: // amax 127 makes d = 1: halves are exact ties
        for (let i = 0; i < QB; i++) b[i] = i === 0 ? 127 : ((i * 37) % 253) / 2 - 63;
        break;
      case 1:
        b.fill(0);
        break;
      case 2:
        b[5] = NaN;
        break;
      case 3:
        b[7] = j % 16 === 3 ? Infinity : -Infinity;
        break;
      case 4: // subnormal block whose step is coarse: x / d reaches 190, clamped to 127
        b.fill(0);
        b[0] = 190 * 2 ** -149;
        b[1] = -190 * 2 ** -149;
        b[2] = 3 * 2 ** -149;
        break;
      case 5:
        for (let i = 0; i < QB; i++) b[i] *= 1e37;
        break;
      default:
        break;
    }
  }
  return x;
}

// Random codes and scales for the thread tests (bit identity needs no meaning; made once, sliced per case).
const draw = seededRng(11);
const randomBytes = Uint8Array.from({ length: 1400 * 448 }, () => Math.floor(draw() * 256));
const randomScales = Array.from({ length: 1400 * 14 }, () => (draw() - 0.5) * 0.01);
const randomBiases = Array.from({ length: 1400 * 14 }, () => (draw() - 0.5) * 0.1);

function randomAffine(c: KernelCase, rows: number, cols: number): QLinearSpec {
  const groups = (rows * cols) / (c.groupSize as number);
  const dtype = c.scalesDType ?? 'BF16';
  return {
    format: 'affine',
    rows,
    cols,
    bits: c.bits,
    groupSize: c.groupSize,
    scalesDType: dtype,
    weight: randomBytes.subarray(0, (rows * cols * (c.bits as number)) / 8),
    scales: encodeFloats(randomScales.slice(0, groups), dtype),
    biases: encodeFloats(randomBiases.slice(0, groups), dtype),
    activations: 'q8',
  };
}

afterAll(() => setScalarKernels(false));

describe.each(PATHS)('%s kernels, q8 activations', (path) => {
  beforeAll(() => setScalarKernels(path === 'scalar'));

  test('the native quantizer equals the TS reference bit for bit', () => {
    for (const [m, k] of [
      [1, 32 * 64],
      [3, 32 * 8],
    ]) {
      const x = hardX((m * k) / QB, 17 + m);
      const native = quantizeActivations(x, m, k);
      const ts = tsQuantize(x, m, k);
      expect(firstBitDifference(native.d, ts.d)).toBe(-1);
      expect(Buffer.from(native.xq.buffer).equals(Buffer.from(ts.xq.buffer))).toBe(true);
    }
  });

  test.each(AFFINE.map((c) => [c.label, c] as const))('%s: matches the q8 formula, batch invariant over M = 1..7', (_l, c) => {
    const rows = 37;
    const cols = colsFor(c);
    const { spec } = makeWeight(c, rows, cols, 7);
    const big = 7;
    const x = makeX(big, cols, 99);
    const { y: yRef, budget } = referenceQ8Matmul(spec, x, big);
    const alone: Float32Array[] = [];
    for (let m = 0; m < big; m++) alone.push(qlinearForward(q8(spec), x.subarray(m * cols, (m + 1) * cols), 1));
    let worst = 0;
    for (let M = 1; M <= big; M++) {
      const y = qlinearForward(q8(spec), x.subarray(0, M * cols), M);
      for (let i = 0; i < M * rows; i++) worst = Math.max(worst, Math.abs(y[i] - yRef[i]) / (TOL * budget[i] + 1e-30));
      for (let m = 0; m < M; m++) {
        const d = firstBitDifference(y.subarray(m * rows, (m + 1) * rows), alone[m]);
        if (d >= 0) throw new Error(`M=${M}, row ${m}, output ${d}: ${y[m * rows + d]} in the batch vs ${alone[m][d]} alone`);
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    // 'q8' is the default for affine weights.
    expect(firstBitDifference(qlinearForward({ ...spec, activations: undefined }, x, big), qlinearForward(q8(spec), x, big))).toBe(-1);
  });

  test.each(AFFINE.map((c) => [c.label, c] as const))('%s: 1 and 2 threads give identical bits', (_l, c) => {
    expectThreadInvariance(randomAffine(c, 1400, colsFor(c)), [1, 3, 7]);
  });

  test.each([2, 3, 4, 5, 6, 8])('%i-bit codes all at their maximum, x at +-amax: no saturation', (bits) => {
    const rows = 3;
    const cols = 384;
    const group = 64;
    const G = cols / group;
    const spec: QLinearSpec = {
      format: 'affine',
      rows,
      cols,
      bits,
      groupSize: group,
      weight: new Uint8Array((rows * cols * bits) / 8).fill(0xff),
      scales: encodeFloats(new Array(rows * G).fill(1), 'BF16'),
      biases: encodeFloats(new Array(rows * G).fill(0), 'BF16'),
      activations: 'q8',
    };
    const amax = 1.5;
    const x = new Float32Array(3 * cols);
    for (let k = 0; k < cols; k++) {
      x[k] = amax; // every code 127
      x[cols + k] = -amax; // every code -127
      x[2 * cols + k] = k % 64 < 32 ? amax : -amax; // whole blocks of each sign
    }
    const y = qlinearForward(spec, x, 3);
    const qmax = 2 ** bits - 1;
    const d = Math.fround(amax / 127);
    const full = (cols / QB) * d * qmax * 127 * QB; // I_j = 32 * qmax * 127 in every block
    const { y: yRef } = referenceQ8Matmul(spec, x, 3);
    for (let n = 0; n < rows; n++) {
      expect(yRef[n] / full).toBeCloseTo(1, 12);
      expect(y[n] / full).toBeCloseTo(1, 5);
      expect(y[rows + n] / full).toBeCloseTo(-1, 5);
      expect(Math.abs(y[2 * rows + n])).toBeLessThanOrEqual(full * 1e-6);
    }
  });

  test.each([
    ['4-bit, inside a 64-code chunk', 4],
    ['2-bit, in the 64 codes after the last 128-code chunk', 2],
  ])('a NaN or Inf activation (%s) makes its row of outputs NaN, other rows are untouched', (_l, bits) => {
    const c: KernelCase = { label: 'a', format: 'affine', bits, groupSize: 64, scalesDType: 'BF16' };
    const cols = 448;
    const { spec } = makeWeight(c, 21, cols, 5);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const x = makeX(3, cols, 8);
      const clean = qlinearForward(q8(spec), x, 3);
      x[cols + 420] = bad; // row 1
      const y = qlinearForward(q8(spec), x, 3);
      expect(y.subarray(21, 42).every((v) => Number.isNaN(v))).toBe(true);
      expect(firstBitDifference(y.subarray(0, 21), clean.subarray(0, 21))).toBe(-1);
      expect(firstBitDifference(y.subarray(42), clean.subarray(42))).toBe(-1);
    }
  });
});
