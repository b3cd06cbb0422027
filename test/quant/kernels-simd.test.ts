/**
 * Every native affine kernel variant (AVX2 where the CPU has it, the 4-lane vector code, the plain
 * scalar loops) must give the TypeScript reference's bytes, on randomized groups mixing the
 * adversarial kinds (ties, constant / max == min, +-0, subnormals, huge, outliers) with raw random
 * bit patterns, for every bits x group size x rounding x dtype the policy DSL can ask for. Group
 * counts are not multiples of the AVX2 kernel's batch of 8, so short batches are covered too.
 */
import { InputError } from '../../src/errors';
import { quantizeReference, quantizeSync, quantKernels, type QuantKernel, type QuantizeOptions } from '../../src/quant/kernels';
import { encodeFloats } from '../../src/quant/kernels/float-io';
import { quantAddon } from '../../src/quant/kernels/native-quantize';
import { GROUP_KINDS, makeGroup, seededRng, type Rng } from '../../src/quant/kernels/synthetic';
import type { FloatDType } from '../../src/quant/kernels/types';

const DTYPES: FloatDType[] = ['F32', 'F16', 'BF16'];
const BITS = [2, 3, 4, 5, 6, 8];
const GROUP_SIZES = [32, 64, 128];

/** Finite raw bit patterns of one group: every exponent, subnormals and +-0 included. */
function rawGroup(dtype: FloatDType, g: number, rng: Rng): Buffer {
  const size = dtype === 'F32' ? 4 : 2;
  const out = Buffer.alloc(g * size);
  // Sometimes narrow the exponent range so groups are not all dominated by one huge value.
  const expMask = rng() < 0.5 ? 0 : dtype === 'F32' ? 0x0f800000 : dtype === 'BF16' ? 0x0f80 : 0x0c00;
  for (let i = 0; i < g; i++) {
    if (size === 4) {
      let u = Math.floor(rng() * 2 ** 32) & ~expMask;
      if ((u & 0x7f800000) === 0x7f800000) u &= 0xbfffffff;
      out.writeUInt32LE(u >>> 0, i * 4);
    } else {
      const e = dtype === 'BF16' ? 0x7f80 : 0x7c00;
      let h = Math.floor(rng() * 65536) & ~expMask;
      if ((h & e) === e) h &= dtype === 'BF16' ? 0xbfff : 0xbbff;
      out.writeUInt16LE(h, i * 2);
    }
  }
  return out;
}

/** A group whose values are a few levels k * step (ties and max == min likely). */
function levelsGroup(g: number, bits: number, rng: Rng): number[] {
  const step = 2 ** (Math.floor(rng() * 20) - 12);
  const levels = 1 + Math.floor(rng() * 3);
  const base = Math.floor(rng() * 9) - 4;
  const n = (1 << bits) - 1;
  const out: number[] = [];
  for (let i = 0; i < g; i++) out.push((base + Math.floor(rng() * levels) * (rng() < 0.5 ? n : 0.5)) * step);
  if (rng() < 0.3) out.fill(out[0]);
  if (rng() < 0.3) for (let i = 0; i < g; i++) if (out[i] === 0 && rng() < 0.5) out[i] = -0;
  return out;
}

/** `groups` random groups encoded to dtype. */
function randomTensor(dtype: FloatDType, groups: number, g: number, bits: number, seed: number): Buffer {
  const rng = seededRng(seed);
  const parts: Buffer[] = [];
  for (let k = 0; k < groups; k++) {
    const r = rng();
    if (r < 0.25) parts.push(rawGroup(dtype, g, rng));
    else if (r < 0.45) parts.push(encodeFloats(levelsGroup(g, bits, rng), dtype));
    else parts.push(encodeFloats(makeGroup(GROUP_KINDS[Math.floor(rng() * GROUP_KINDS.length)], g, bits, rng, dtype), dtype));
  }
  return Buffer.concat(parts);
}

const kernels = quantKernels;

/** The addon's raw result (not the TS wrapper), so a non-finite index can be compared and the kernel that ran seen. */
function runKernel(data: Buffer, opts: QuantizeOptions, kernel: QuantKernel) {
  const numel = opts.shape.reduce((a, b) => a * b, 1);
  const params = { dtype: opts.dtype, mode: 'affine', bits: opts.bits, groupSize: opts.groupSize, numel, threads: 1, rounding: opts.rounding!, kernel };
  return quantAddon().quantQuantizeSync(data, params);
}

describe('affine kernel variants == TypeScript reference on randomized groups', () => {
  test('the machine offers the expected kernels ("auto" runs the first)', () => {
    const ks = kernels();
    expect(ks[ks.length - 1]).toBe('scalar');
    if (process.arch === 'x64') expect(ks).toContain('vector');
    const data = randomTensor('BF16', 3, 64, 4, 1);
    const r = runKernel(data, { dtype: 'BF16', shape: [3, 64], mode: 'affine', bits: 4, groupSize: 64, rounding: 'metal' }, 'auto');
    expect(r.kernel).toBe(ks[0]);
  });

  test.each(DTYPES)('%s input, every bits x group size x rounding', (dtype) => {
    const ks = kernels();
    let seed = 1000;
    for (const bits of BITS) {
      for (const groupSize of GROUP_SIZES) {
        const groups = 8 * 12 + 5; // twelve full AVX2 batches + a short one
        const data = randomTensor(dtype, groups, groupSize, bits, seed++);
        for (const rounding of ['metal', 'cpu'] as const) {
          const opts: QuantizeOptions = { dtype, shape: [groups, groupSize], mode: 'affine', bits, groupSize, rounding, threads: 1 };
          const ref = quantizeReference(data, opts);
          for (const k of ks) {
            const got = runKernel(data, opts, k);
            expect(got.nonFiniteIndex).toBe(-1);
            expect(got.kernel).toBe(k);
            for (const part of ['weight', 'scales', 'biases'] as const) {
              if (!got[part]!.equals(ref[part]!)) {
                throw new Error(`${k} ${dtype} ${bits}b g${groupSize} ${rounding}: ${part} differs from the reference (seed ${seed - 1})`);
              }
            }
          }
        }
      }
    }
  });

  test('the first non-finite value is found by every kernel, in any group of a batch', () => {
    for (const dtype of DTYPES) {
      const size = dtype === 'F32' ? 4 : 2;
      const data = randomTensor(dtype, 21, 64, 4, 77);
      for (const at of [5, 64 * 7 + 63, 64 * 9, 64 * 20 + 1]) {
        const bad = Buffer.from(data);
        if (size === 4) bad.writeFloatLE(NaN, at * 4);
        else bad.writeUInt16LE(dtype === 'BF16' ? 0xff80 : 0x7c00, at * 2);
        bad.writeUInt16LE(dtype === 'F16' ? 0xfc00 : 0x7f80, (64 * 20 + 40) * size + (size === 4 ? 2 : 0)); // a later Inf
        const opts: QuantizeOptions = { dtype, shape: [21, 64], mode: 'affine', bits: 4, groupSize: 64, rounding: 'metal' };
        for (const k of kernels()) expect(runKernel(bad, opts, k).nonFiniteIndex).toBe(Math.min(at, 64 * 20 + 40));
      }
    }
  });

  test('a code quotient of exactly 0.5 - 2^-25 (the float below one half; Metal rounds it to 0, not 1)', () => {
    // {b, -b, 0...} with b tiny: scale clamps to eps, q0 = 0, so bias = 0, scale = -eps and the
    // code of -b is fl(b / eps). Search the floats near 0.5 * eps for one whose quotient is the target.
    const eps = Math.fround(1e-7);
    const target = 0.5 - 2 ** -25;
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    f[0] = target * eps;
    const start = u[0];
    let b = NaN;
    for (let d = -4000; d <= 4000 && Number.isNaN(b); d++) {
      u[0] = start + d;
      if (Math.fround(f[0] / eps) === target) b = f[0];
    }
    expect(Number.isNaN(b)).toBe(false);
    const values = new Array<number>(64 * 9).fill(0);
    for (let g = 0; g < 9; g++) {
      values[g * 64 + 3] = b;
      values[g * 64 + 10 + g] = -b;
    }
    const data = encodeFloats(values, 'F32');
    for (const rounding of ['metal', 'cpu'] as const) {
      const opts: QuantizeOptions = { dtype: 'F32', shape: [9, 64], mode: 'affine', bits: 4, groupSize: 64, rounding };
      const ref = quantizeReference(data, opts);
      for (const k of kernels()) expect(runKernel(data, opts, k).weight.equals(ref.weight)).toBe(true);
    }
  });

  test('an unknown kernel name is refused, by the TS wrapper and by the addon', () => {
    const opts: QuantizeOptions = { dtype: 'BF16', shape: [1, 64], mode: 'affine', bits: 4, groupSize: 64, rounding: 'metal', name: 't' };
    expect(() => quantizeSync(Buffer.alloc(128), { ...opts, kernel: 'sse9' as QuantKernel })).toThrow(InputError);
    expect(() => quantizeSync(Buffer.alloc(128), { ...opts, kernel: 'sse9' as QuantKernel })).toThrow(/tensor 't': quantizer kernel 'sse9' is not available/);
    expect(() => runKernel(Buffer.alloc(128), opts, 'sse9' as QuantKernel)).toThrow(/params.kernel/);
    expect(quantizeSync(Buffer.alloc(128), { ...opts, kernel: 'scalar' }).weight.length).toBe(32);
  });
});
