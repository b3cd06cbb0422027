/**
 * The q8 kernels built with vpdpbusd (AVX-VNNI, native/src/engine/qlinear_q8_vnni.cc; AVX512-VNNI,
 * qlinear_q8_avx512.cc) against the AVX2 ones they replace when the CPU has them (setKernels('vnni')
 * / 'avx512' runs a build at every M; 'auto' takes the AVX-512 one at every M, else the AVX-VNNI one
 * for M > 1 and for 8-bit rows): the same output bits for every affine width, group
 * size and scale type, row lengths that end in whole steps, remainder chunks and scalar tails,
 * batches of 1..9 rows and 1 or 2 threads. On a CPU without AVX-VNNI (or not x86-64) the comparison
 * cannot run; the first test then checks that the VNNI kernels are not selected.
 */
import { readFileSync } from 'fs';
import { seededRng } from '../../src/numeric/prng';
import { encodeFloats } from '../../src/quant/kernels/float-io';
import { kernelIsa, qlinearForward, setKernels, type QLinearSpec, type ScalesDType } from '../../src/runtime/engine/kernels';
import { firstBitDifference, makeX } from './kernel-cases';

/** The CPU flags of Linux's /proc/cpuinfo; undefined elsewhere (or not x86-64: an empty set). */
function cpuFlags(): Set<string> | undefined {
  if (process.arch !== 'x64') return new Set();
  if (process.platform !== 'linux') return undefined;
  const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return line ? new Set(line[1].trim().split(/\s+/)) : undefined;
}
const FLAGS = cpuFlags();
const hasAll = (names: string[]): boolean | undefined => (FLAGS ? ['avx2', 'fma', 'f16c', ...names].every((f) => FLAGS.has(f)) : undefined);
/** Each vpdpbusd build: its setKernels name, what kernelIsa() then says, and whether this CPU runs it. */
const BUILDS = [
  { choice: 'vnni', isa: 'avx2-vnni', has: hasAll(['avx_vnni']) },
  { choice: 'avx512', isa: 'avx512-vnni', has: hasAll(['avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni']) },
] as const;

/** Random codes (every byte value, so 8-bit codes reach 255), scales and biases. */
function randomSpec(bits: number, group: number, sdt: ScalesDType, rows: number, cols: number, seed: number): QLinearSpec {
  const rng = seededRng(seed);
  const weight = new Uint8Array((rows * cols * bits) / 8);
  for (let i = 0; i < weight.length; i++) weight[i] = Math.floor(rng() * 256);
  const G = (rows * cols) / group;
  const scales = Array.from({ length: G }, () => (rng() - 0.3) * 0.05);
  const biases = Array.from({ length: G }, () => (rng() - 0.5) * 0.1);
  return {
    format: 'affine',
    rows,
    cols,
    bits,
    groupSize: group,
    scalesDType: sdt,
    weight,
    scales: encodeFloats(scales, sdt),
    biases: encodeFloats(biases, sdt),
    activations: 'q8',
  };
}

/** Row lengths: whole 256-code steps only, then with 32-code remainder chunks and a scalar tail after them. */
function colsFor(group: number): number[] {
  const tail = group === 32 ? 160 : group === 64 ? 192 : 128; // 32-code chunks (and 2-bit / odd ones) after the steps
  return [1024, 1024 + tail, 256 + tail + (group === 128 ? 128 : group)];
}

const CASES: [string, number, number, ScalesDType][] = [];
for (const bits of [4, 8, 2, 3, 5, 6])
  for (const group of [32, 64, 128])
    for (const sdt of ['BF16', 'F16', 'F32'] as const) CASES.push([`${bits}-bit g${group} ${sdt}`, bits, group, sdt]);

function forward(choice: 'vnni' | 'avx512' | 'avx2', spec: QLinearSpec, x: Float32Array, m: number, threads: number): Float32Array {
  setKernels(choice);
  return qlinearForward(spec, x, m, threads);
}

afterAll(() => setKernels('auto'));

/** 8 bits: |VNNI - AVX2| / max |AVX2 output of the batch|, at most (float32 sums in another order). */
const TOL8 = 1e-5;
let maxRel8 = 0;
function worstRelative(got: Float32Array, want: Float32Array): { rel: number; at: number } {
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let rel = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i] - want[i]) / scale;
    if (!(r <= rel)) {
      rel = r;
      at = i;
    }
  }
  return { rel, at };
}

test('each VNNI build is selected exactly when the CPU has it (auto: AVX-512 first), and MTPKIT_KERNELS=avx2 / setKernels turn them off', () => {
  for (const b of BUILDS) {
    setKernels(b.choice);
    if (b.has === true) expect(kernelIsa()).toBe(b.isa);
    else if (b.has === false) expect(['avx2', 'scalar']).toContain(kernelIsa());
  }
  setKernels('auto');
  const best = BUILDS.slice().reverse().find((b) => b.has === true);
  if (best) expect(kernelIsa()).toBe(best.isa);
  else if (BUILDS.every((b) => b.has === false)) expect(['avx2', 'scalar']).toContain(kernelIsa());
  setKernels('avx2');
  expect(['avx2', 'scalar']).toContain(kernelIsa());
  setKernels('scalar');
  expect(kernelIsa()).toBe('scalar');
  setKernels('auto');
});

describe.each(BUILDS.map((b) => [b.choice, b] as const))('%s', (_name, build) => {
(build.has ? describe : describe.skip)('VNNI q8 kernels give the AVX2 kernels bits', () => {
  test.each(CASES)('%s: every row length, M = 1..7 and 9, 1 and 2 threads', (_l, bits, group, sdt) => {
    for (const cols of colsFor(group)) {
      // 1400 rows: enough that 2 threads split them (qlinear.cc), and rows left over after run4 / run2.
      const rows = bits === 4 || bits === 8 ? 1403 : 37;
      const spec = randomSpec(bits, group, sdt, rows, cols, bits * 1000 + group + cols);
      for (const M of [1, 2, 3, 4, 5, 6, 7, 9]) {
        const x = makeX(M, cols, 31 + M);
        for (const threads of rows > 1000 ? [1, 2] : [1]) {
          const want = forward('avx2', spec, x, M, threads);
          const got = forward(build.choice, spec, x, M, threads);
          if (bits === 8) {
            // The VNNI builds walk 8-bit rows in steps of 4 blocks (the AVX2 build: 1), so the
            // float sums differ in order: close, not equal (the integer parts are exact either way).
            const d = worstRelative(got, want);
            if (d.rel > TOL8) throw new Error(`cols ${cols}, M=${M}, ${threads} threads, output ${d.at}: VNNI ${got[d.at]}, AVX2 ${want[d.at]}`);
            maxRel8 = Math.max(maxRel8, d.rel);
            continue;
          }
          const d = firstBitDifference(got, want);
          if (d >= 0) throw new Error(`cols ${cols}, M=${M}, ${threads} threads, output ${d}: VNNI ${got[d]}, AVX2 ${want[d]}`);
        }
      }
    }
  });

  test.each([4, 8, 2, 6])('%i-bit codes all at their maximum, x at +-amax: the same bits (8 bits: within TOL8)', (bits) => {
    const rows = 5;
    const cols = 1024 + 192;
    const spec = randomSpec(bits, 64, 'BF16', rows, cols, 3);
    spec.weight = new Uint8Array(spec.weight.length).fill(0xff);
    const x = new Float32Array(2 * cols);
    for (let k = 0; k < cols; k++) {
      x[k] = k % 64 < 32 ? 1.5 : -1.5;
      x[cols + k] = 1.5;
    }
    const got = forward(build.choice, spec, x, 2, 1);
    const want = forward('avx2', spec, x, 2, 1);
    if (bits === 8) expect(worstRelative(got, want).rel).toBeLessThanOrEqual(TOL8);
    else expect(firstBitDifference(got, want)).toBe(-1);
  });
});
});

const both = BUILDS.every((b) => b.has === true);
(both ? test.each : test.skip.each)(CASES)('%s: the AVX-VNNI and AVX512-VNNI builds give the same bits, M = 1..5', (_l, bits, group, sdt) => {
  const cols = colsFor(group)[1];
  const spec = randomSpec(bits, group, sdt, bits === 8 ? 1403 : 37, cols, bits * 7 + group);
  for (const M of [1, 2, 3, 4, 5]) {
    const x = makeX(M, cols, 5 + M);
    expect(firstBitDifference(forward('avx512', spec, x, M, 1), forward('vnni', spec, x, M, 1))).toBe(-1);
  }
});

test('8 bits: the largest VNNI vs AVX2 difference seen stays far inside its bound (the check is not vacuous)', () => {
  if (!BUILDS.some((b) => b.has === true)) return;
  expect(maxRel8).toBeGreaterThan(0);
  expect(maxRel8).toBeLessThan(TOL8);
  process.stdout.write(`8-bit VNNI vs AVX2: largest relative difference ${maxRel8.toExponential(2)}\n`);
});
