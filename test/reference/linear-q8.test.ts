/**
 * The reference's q8 linear (int8 activations per block of QB for affine weights) against closed forms:
 * exact when every block of x is already on its int8 grid, within the rounding bound otherwise, NaN
 * when x holds a non-finite value, and the float path when the matrix carries no codes.
 */
import { QB } from '../../src/numeric/q8-activations';
import { linear, type AffineCodes, type Mat } from './ops';

/** A random affine matrix [rows, cols] with its dequantized float64 twin (w = s·q + b). */
function affineMat(rows: number, cols: number, bits: number, groupSize: number, seed: number): Mat {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const groups = cols / groupSize;
  const q8: AffineCodes = { codes: new Uint8Array(rows * cols), scales: new Float64Array(rows * groups), biases: new Float64Array(rows * groups), groupSize };
  for (let i = 0; i < rows * groups; i++) {
    q8.scales[i] = 0.01 + 0.05 * rnd();
    q8.biases[i] = -0.2 + 0.1 * rnd();
  }
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const q = Math.floor(rnd() * 2 ** bits);
      q8.codes[r * cols + c] = q;
      const g = r * groups + Math.floor(c / groupSize);
      data[r * cols + c] = q8.scales[g] * q + q8.biases[g];
    }
  }
  return { rows, cols, data, q8 };
}

const dense = (w: Mat): Mat => ({ rows: w.rows, cols: w.cols, data: w.data });

test.each([
  [4, 64],
  [8, 32],
  [3, 128],
])('bits %i group %i: x already on the int8 grid of each block gives the float result', (bits, group) => {
  const w = affineMat(5, 256, bits, group, bits * 7 + group);
  // Block j: integers in [-127, 127] times 2^-j, with one element at ±127 so amax / 127 = 2^-j exactly.
  const x = new Float64Array(256);
  for (let i = 0; i < x.length; i++) {
    const j = Math.floor(i / QB);
    const k = i % QB === 5 ? (j % 2 ? -127 : 127) : ((i * 37) % 255) - 127;
    x[i] = k * 2 ** -j;
  }
  const a = linear(w, x);
  const b = linear(dense(w), x);
  for (let r = 0; r < w.rows; r++) expect(Math.abs(a[r] - b[r])).toBeLessThan(1e-12 * Math.max(1, Math.abs(b[r])));
});

test('a general x: the error stays within the rounding bound Σ s·q·d/2 and is not zero', () => {
  const w = affineMat(8, 128, 4, 64, 3);
  const x = Float64Array.from({ length: 128 }, (_, i) => Math.fround(Math.sin(i * 1.7) * (1 + (i % 7))));
  const a = linear(w, x);
  const b = linear(dense(w), x);
  const q8 = w.q8!;
  let differs = false;
  for (let r = 0; r < w.rows; r++) {
    let bound = 0;
    for (let c = 0; c < 128; c++) {
      let amax = 0;
      const j = Math.floor(c / QB);
      for (let i = j * QB; i < (j + 1) * QB; i++) amax = Math.max(amax, Math.abs(x[i]));
      bound += Math.abs(q8.scales[r * 2 + Math.floor(c / 64)]) * q8.codes[r * 128 + c] * (amax / 127 / 2) * (1 + 1e-6);
    }
    expect(Math.abs(a[r] - b[r])).toBeLessThanOrEqual(bound + 1e-12);
    if (a[r] !== b[r]) differs = true;
  }
  expect(differs).toBe(true);
});

test('a non-finite input makes every output NaN; the same matrix without codes (float path) gives another result', () => {
  const w = affineMat(3, 64, 4, 32, 9);
  const x = new Float64Array(64).fill(0.5);
  x[40] = Infinity;
  for (const y of linear(w, x)) expect(Number.isNaN(y)).toBe(true);
  x[40] = NaN;
  for (const y of linear(w, x)) expect(Number.isNaN(y)).toBe(true);
  const y = linear(dense(w), Float64Array.from({ length: 64 }, (_, i) => i / 64));
  const z = linear(w, Float64Array.from({ length: 64 }, (_, i) => i / 64));
  expect(Array.from(y)).not.toEqual(Array.from(z));
});
