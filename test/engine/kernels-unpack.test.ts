/**
 * The unpacking of affine 3/5/6-bit codes, whose codes straddle bytes, checked code by code on every
 * kernel path (portable, AVX2, AVX2 + VNNI where the CPU has it; q8 and float32 activations). The
 * weights are packed here by a plain TS writer of MLX's bit stream (each row one little-endian bit
 * stream, code i at bits [i*bits, (i+1)*bits): ml-explore/mlx mlx/backend/common/quantized.h), with
 * codes (position in its 32-code step + step number) % 2^bits, so every code value occurs at every
 * position of a SIMD step, and scales 1 / biases 0. With one-hot rows of x each output is then one
 * code times an exact factor (127 in q8 mode: the row's step is 1, its code 127; 1 with float32
 * activations), so the kernels must return the codes exactly. The weight buffer is allocated to the
 * byte, so the last row ends at its end; odd row counts leave a single row after the 4-row passes.
 * (Reading past the end would not change these outputs; the kernels are written to read only the
 * bytes of their own step.)
 */
import { encodeFloats } from '../../src/quant/kernels/float-io';
import { kernelIsa, qlinearForward, qlinearRow, setKernels, type QLinearSpec } from '../../src/runtime/engine/kernels';

const WIDTHS = [3, 5, 6];
const GROUPS = [32, 64, 128];
const ROWS = 9;
const COLS = 256;
const PATHS = ['auto', 'avx2', 'scalar'] as const;

/** Code of row n, column k: 8 steps of 32 codes per row, 72 in all, so each position takes every value < 64. */
function codeAt(bits: number, n: number, k: number): number {
  return ((k % 32) + n * (COLS / 32) + Math.floor(k / 32)) % (1 << bits);
}

/** MLX's packing, bit by bit: code i of a row at bits [i*bits, (i+1)*bits) of the row, LSB first. */
function packRows(bits: number, codes: (n: number, k: number) => number): Uint8Array {
  const rowBytes = (COLS * bits) / 8;
  const out = new Uint8Array(ROWS * rowBytes);
  for (let n = 0; n < ROWS; n++)
    for (let k = 0; k < COLS; k++) {
      const c = codes(n, k);
      for (let b = 0; b < bits; b++) {
        const bit = k * bits + b;
        if ((c >> b) & 1) out[n * rowBytes + (bit >> 3)] |= 1 << (bit & 7);
      }
    }
  return out;
}

function spec(bits: number, group: number, activations: 'q8' | 'f32'): QLinearSpec {
  const G = (ROWS * COLS) / group;
  return {
    format: 'affine',
    rows: ROWS,
    cols: COLS,
    bits,
    groupSize: group,
    scalesDType: 'BF16',
    weight: packRows(bits, (n, k) => codeAt(bits, n, k)),
    scales: encodeFloats(new Array<number>(G).fill(1), 'BF16'),
    biases: encodeFloats(new Array<number>(G).fill(0), 'BF16'),
    activations,
  };
}

/** Rows k0..k0+m-1 of the identity times v: [m, COLS]. */
function oneHot(k0: number, m: number, v: number): Float32Array {
  const x = new Float32Array(m * COLS);
  for (let i = 0; i < m; i++) x[i * COLS + k0 + i] = v;
  return x;
}

/** The first (row, column) whose output is not factor * code, or null. */
function firstWrong(bits: number, y: Float32Array, k0: number, m: number, factor: number): string | null {
  for (let i = 0; i < m; i++)
    for (let n = 0; n < ROWS; n++) {
      const want = factor * codeAt(bits, n, k0 + i);
      if (y[i * ROWS + n] !== want) return `row ${n} column ${k0 + i}: ${y[i * ROWS + n]}, expected ${want}`;
    }
  return null;
}

afterAll(() => setKernels('auto'));

test('the plain TS packer fills exactly bits / 8 bytes per code, every code value at every step position', () => {
  const w = spec(6, 64, 'q8').weight;
  expect(w.length).toBe((ROWS * COLS * 6) / 8);
  const seen = new Set<number>();
  for (let n = 0; n < ROWS; n++) for (let k = 0; k < COLS; k++) seen.add((k % 32) * 64 + codeAt(6, n, k));
  expect(seen.size).toBe(32 * 64);
});

describe.each(PATHS)('kernels %s', (path) => {
  beforeAll(() => setKernels(path));
  afterAll(() => setKernels('auto'));

  test.each(WIDTHS.flatMap((b) => GROUPS.flatMap((g) => (['q8', 'f32'] as const).map((a) => [b, g, a] as const))))(
    '%i bits, group %i, %s activations: every code comes back exactly, one row of x at a time and all at once',
    (bits, group, act) => {
      if (path === 'scalar') expect(kernelIsa()).toBe('scalar');
      const s = spec(bits, group, act);
      const v = act === 'q8' ? 127 : 1;
      // q8: block max 127 gives the step 127 / 127 = 1 and the code 127, so y = 127 * code.
      const all = qlinearForward(s, oneHot(0, COLS, v), COLS);
      expect(firstWrong(bits, all, 0, COLS, v)).toBeNull();
      for (let k = 0; k < COLS; k++) {
        const y = qlinearForward(s, oneHot(k, 1, v), 1);
        const bad = firstWrong(bits, y, k, 1, v);
        if (bad) throw new Error(`M = 1: ${bad}`);
      }
      for (let k = 0; k < COLS; k += 2) {
        const y = qlinearForward(s, oneHot(k, 2, v), 2);
        const bad = firstWrong(bits, y, k, 2, v);
        if (bad) throw new Error(`M = 2: ${bad}`);
      }
    },
  );
});

test.each(WIDTHS)('qlinearRow (dequantize, portable unpacker) returns the codes of each %i-bit row', (bits) => {
  for (const group of GROUPS) {
    const s = spec(bits, group, 'q8');
    for (let n = 0; n < ROWS; n++) {
      const row = qlinearRow(s, n);
      for (let k = 0; k < COLS; k++) if (row[k] !== codeAt(bits, n, k)) throw new Error(`group ${group} row ${n} column ${k}: ${row[k]}`);
    }
  }
});
