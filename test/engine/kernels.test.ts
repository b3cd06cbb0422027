/**
 * The engine's linear kernels with float32 activations against the plain reference (our
 * dequantizer + float64 matmul) for every weight format, on both kernel paths (run-time selected SIMD and the portable fallback), and
 * the numerics contract: a row's output is bit-identical alone or inside a batch, and with 1 or 2
 * threads.
 */
import { readFileSync } from 'fs';
import { InputError } from '../../src/errors';
import {
  kernelIsa,
  qlinearBytes,
  qlinearForward,
  qlinearRow,
  readBandwidthRuns,
  setScalarKernels,
} from '../../src/runtime/engine/kernels';
import { allCases, expectThreadInvariance, firstBitDifference, makeWeight as makeAnyWeight, makeX, referenceMatmul, type KernelCase } from './kernel-cases';

// These tests are the float32-activation mode (q8 mode: kernels-q8.test.ts).
function makeWeight(c: KernelCase, rows: number, cols: number, seed: number): ReturnType<typeof makeAnyWeight> {
  const made = makeAnyWeight(c, rows, cols, seed);
  if (c.format === 'affine') made.spec.activations = 'f32';
  return made;
}

/** |native - float64 reference| <= TOL * sum_k (|w_k| + max|w| of k's group) |x_k| (kernel-cases.ts). */
const TOL = 1e-5;
const CASES = allCases();
const PATHS = ['auto', 'scalar'] as const;

function colsFor(c: KernelCase): number {
  return c.groupSize ? 384 : 203; // float rows: a length that is not a multiple of any vector width
}

afterAll(() => setScalarKernels(false));

/**
 * What run-time selection has to pick on this machine: the AVX2 kernels on an x86-64 CPU whose flags
 * (Linux's /proc/cpuinfo) list avx2, fma and f16c ('avx512-vnni' when they list avx512f, avx512bw,
 * avx512vl and avx512_vnni too, else 'avx2-vnni' when they list avx_vnni: the q8
 * kernels then use vpdpbusd, kernels-vnni.test.ts), the portable ones on any other architecture;
 * undefined where the flags cannot be read.
 */
function expectedAutoIsa(): 'avx512-vnni' | 'avx2-vnni' | 'avx2' | 'scalar' | undefined {
  if (process.arch !== 'x64') return 'scalar';
  if (process.platform !== 'linux') return undefined;
  const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  if (!line) return undefined;
  const flags = new Set(line[1].trim().split(/\s+/));
  if (!['avx2', 'fma', 'f16c'].every((f) => flags.has(f))) return 'scalar';
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni'].every((f) => flags.has(f))) return 'avx512-vnni';
  return flags.has('avx_vnni') ? 'avx2-vnni' : 'avx2';
}

// Weights shared by both paths' thread tests (generating them dominates the test's time).
const threadWeights = new Map<string, ReturnType<typeof makeWeight>>();

describe.each(PATHS)('%s kernels', (path) => {
  beforeAll(() => setScalarKernels(path === 'scalar'));

  test('the path is the one asked for', () => {
    const want = path === 'scalar' ? 'scalar' : expectedAutoIsa();
    if (want) expect(kernelIsa()).toBe(want);
    else expect(['avx512-vnni', 'avx2-vnni', 'avx2', 'scalar']).toContain(kernelIsa());
  });

  test.each(CASES.map((c) => [c.label, c] as const))('%s: matches the reference, batch invariant', (_l, c) => {
    const rows = 37;
    const cols = colsFor(c);
    const { spec, ref } = makeWeight(c, rows, cols, 7);
    const big = 11;
    const x = makeX(big, cols, 99);
    const { y: yRef, budget } = referenceMatmul(ref, rows, cols, c.groupSize ?? 0, x, big);
    const alone: Float32Array[] = [];
    for (let m = 0; m < big; m++) alone.push(qlinearForward(spec, x.subarray(m * cols, (m + 1) * cols), 1));
    let worst = 0;
    for (const M of [1, 2, 3, 4, 5, big]) {
      const y = qlinearForward(spec, x.subarray(0, M * cols), M);
      for (let i = 0; i < M * rows; i++) {
        const ratio = Math.abs(y[i] - yRef[i]) / (TOL * budget[i] + 1e-30);
        worst = Math.max(worst, ratio);
      }
      for (let m = 0; m < M; m++) {
        const d = firstBitDifference(y.subarray(m * rows, (m + 1) * rows), alone[m]);
        if (d >= 0) throw new Error(`M=${M}, row ${m}, output ${d}: ${y[m * rows + d]} in the batch vs ${alone[m][d]} alone`);
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  test.each(CASES.map((c) => [c.label, c] as const))('%s: 1 and 2 threads give identical bits', (_l, c) => {
    if (!threadWeights.has(c.label)) threadWeights.set(c.label, makeWeight(c, 1400, colsFor(c), 11));
    expectThreadInvariance((threadWeights.get(c.label) as ReturnType<typeof makeWeight>).spec, [1, 3]);
  });
});

describe('qlinearRow (embedding rows)', () => {
  test.each(CASES.map((c) => [c.label, c] as const))('%s: equals our dequantizer bit for bit', (_l, c) => {
    const rows = 13;
    const cols = colsFor(c);
    const { spec, ref } = makeWeight(c, rows, cols, 3);
    for (const r of [0, 3, 12]) {
      const got = qlinearRow(spec, r);
      const d = firstBitDifference(got, ref.subarray(r * cols, (r + 1) * cols));
      if (d >= 0) throw new Error(`row ${r}, col ${d}: ${got[d]} vs reference ${ref[r * cols + d]}`);
    }
  });
});

describe('qlinearBytes', () => {
  test('weights + scales (+ biases) as stored', () => {
    for (const c of CASES) {
      const { spec } = makeWeight(c, 5, colsFor(c), 1);
      const expected = spec.weight.byteLength + (spec.scales?.byteLength ?? 0) + (spec.biases?.byteLength ?? 0);
      expect(qlinearBytes(spec)).toBe(expected);
    }
  });
});

describe('bad input is an InputError, not a crash', () => {
  const c: KernelCase = { label: 'a4', format: 'affine', bits: 4, groupSize: 64, scalesDType: 'BF16' };
  const { spec } = makeWeight(c, 4, 128, 1);
  const x = makeX(1, 128, 1);
  test.each([
    ['short weight', { ...spec, weight: spec.weight.subarray(4) }],
    ['missing biases', { ...spec, biases: undefined }],
    ['7 bits', { ...spec, bits: 7 }],
    ['cols not a multiple of the group', { ...spec, cols: 100 }],
    ['mxfp4 with group 64', { ...spec, format: 'mxfp4' as const, groupSize: 64 }],
  ])('%s', (_l, bad) => {
    expect(() => qlinearForward(bad, x, 1)).toThrow(InputError);
  });
  test('x of the wrong length, row out of range, zero threads', () => {
    expect(() => qlinearForward(spec, x.subarray(1), 1)).toThrow(InputError);
    expect(() => qlinearRow(spec, 4)).toThrow(InputError);
    expect(() => qlinearForward(spec, x, 1, 0)).toThrow(InputError);
  });
});

describe('readBandwidth', () => {
  test('reads a buffer and reports positive wall and CPU seconds per pass', () => {
    const r = readBandwidthRuns(8 * 2 ** 20 + 1, 2, 2);
    expect(r.bytes).toBe(8 * 2 ** 20 + 4096);
    expect(r.wall).toHaveLength(2);
    expect(r.cpu).toHaveLength(2);
    for (const v of [...r.wall, ...r.cpu]) expect(Number.isFinite(v) && v > 0).toBe(true);
  });
});
