/**
 * The TypeScript reference quantizer against the worked examples of
 * /work/shared/reference/mlx-format.md (literal expectations copied from the doc), against
 * independent definitions of the fp encodings, and against MLX's round-trip error bound.
 */
import { InputError } from '../../src/errors';
import { f32ToBf16, f32ToF16 } from '../../src/numeric/float-bits';
import { affineQuantizeReference, roundHalfAway, roundHalfEven } from '../../src/quant/kernels/affine-reference';
import { dequantize, dequantizeToF32, quantizeReference, type QuantizeOptions } from '../../src/quant/kernels';
import { decodeFloats, encodeFloats } from '../../src/quant/kernels/float-io';
import {
  E2M1_VALUES,
  decodeE4M3,
  decodeE8M0,
  encodeE2M1,
  encodeE4M3,
  encodeE8M0,
} from '../../src/quant/kernels/fp-codecs';
import { packCodes, unpackCodes, wordsOf } from '../../src/quant/kernels/pack';
import { GROUP_KINDS, makeTensor, seededRng, gaussian } from '../../src/quant/kernels/synthetic';
import type { FloatDType } from '../../src/quant/kernels/types';

const f = Math.fround;
const hex = (ws: Uint32Array): string[] => Array.from(ws, (w) => '0x' + w.toString(16).toUpperCase().padStart(8, '0'));

describe('affine worked examples (mlx-format.md §2.5, §5)', () => {
  test('tie example: 2 bits, group {0, 3, 0.5, 0, ...}: CPU code 2, GPU code 3', () => {
    const x = new Float32Array(32);
    x[1] = 3;
    x[2] = 0.5;
    const cpu = affineQuantizeReference(x, 2, 32, 'cpu');
    const gpu = affineQuantizeReference(x, 2, 32, 'metal');
    for (const r of [cpu, gpu]) {
      expect(r.scales[0]).toBe(-1);
      expect(r.biases[0]).toBe(3);
      expect(r.codes[0]).toBe(3); // x = 0
      expect(r.codes[1]).toBe(0); // x = 3
    }
    expect(cpu.codes[2]).toBe(2);
    expect(gpu.codes[2]).toBe(3);
    // decoded: CPU -1*2 + 3 = 1.0, GPU -1*3 + 3 = 0.0
    const q = (r: typeof cpu) => ({
      weight: Buffer.from(r.weight.buffer),
      weightShape: [1, 2],
      scales: encodeFloats(r.scales, 'F32'),
      scalesShape: [1, 1],
      scalesDType: 'F32' as const,
      biases: encodeFloats(r.biases, 'F32'),
      biasesDType: 'F32' as const,
    });
    expect(dequantizeToF32(q(cpu), { mode: 'affine', bits: 2, groupSize: 32 })[2]).toBe(1);
    expect(dequantizeToF32(q(gpu), { mode: 'affine', bits: 2, groupSize: 32 })[2]).toBe(0);
  });

  test('all-negative group, 4 bits, 32 values evenly spaced over [-1, -0.5]', () => {
    const x = new Float32Array(32).map((_, i) => -1 + (0.5 * i) / 31);
    const cpu = affineQuantizeReference(x, 4, 32, 'cpu');
    const gpu = affineQuantizeReference(x, 4, 32, 'metal');
    expect(cpu.scales[0]).toBeCloseTo(0.5 / 15, 6);
    expect(cpu.biases[0]).toBe(-1);
    expect(Array.from(cpu.codes.slice(0, 4))).toEqual([0, 0, 1, 1]);
    expect(Array.from(cpu.codes.slice(28))).toEqual([14, 14, 15, 15]);
    expect(gpu.scales[0]).toBeCloseTo(1 / 15, 6);
    expect(gpu.biases[0]).toBe(-1);
    expect(Array.from(gpu.codes.slice(0, 4))).toEqual([0, 0, 0, 1]);
    expect(Array.from(gpu.codes.slice(28))).toEqual([7, 7, 7, 7]);
  });

  test('all-zero group: scale -1e-7 stored as bf16 0xB3D7 (fp16: subnormal about -1.19e-7), bias 0', () => {
    for (const rounding of ['cpu', 'metal'] as const) {
      const bf = quantizeReference(Buffer.alloc(128), { dtype: 'BF16', shape: [1, 64], mode: 'affine', bits: 4, groupSize: 64, rounding });
      expect(bf.scales.readUInt16LE(0)).toBe(0xb3d7);
      expect(bf.biases!.readUInt16LE(0)).toBe(0);
      expect(bf.weight.equals(Buffer.alloc(32))).toBe(true);
      const h = quantizeReference(Buffer.alloc(128), { dtype: 'F16', shape: [1, 64], mode: 'affine', bits: 4, groupSize: 64, rounding });
      const s = h.scales.readUInt16LE(0);
      expect(s & 0x7c00).toBe(0); // subnormal
      expect(decodeFloats(h.scales, 'F16')[0]).toBeCloseTo(-1.19e-7, 9);
      expect(Array.from(dequantize(bf, { mode: 'affine', bits: 4, groupSize: 64 }))).toEqual(Array(256).fill(0));
    }
  });

  test('constant groups reconstruct exactly; a negative constant has a different scale on GPU', () => {
    for (const c of [0.3, -0.3]) {
      const x = new Float32Array(32).fill(c);
      const cpu = affineQuantizeReference(x, 4, 32, 'cpu');
      const gpu = affineQuantizeReference(x, 4, 32, 'metal');
      expect(cpu.biases[0]).toBe(f(c));
      expect(Math.abs(cpu.scales[0])).toBeLessThan(2e-7);
      expect(Array.from(cpu.codes)).toEqual(Array(32).fill(0));
      expect(Array.from(gpu.codes)).toEqual(Array(32).fill(0));
      if (c < 0) expect(gpu.scales[0]).toBeCloseTo(0.3 / 15, 6); // §5: abs(c) / n_bins, positive
      else expect(gpu.scales[0]).toBe(cpu.scales[0]);
    }
  });

  test('rounding helpers: ties to even vs ties away from zero', () => {
    expect([0.5, 1.5, 2.5, -0.5, -2.5, 2.4, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, -3].map((v) => v + 0));
    expect([0.5, 1.5, 2.5, -0.5, -2.5, 2.4, -2.6].map(roundHalfAway)).toEqual([1, 2, 3, -1, -3, 2, -3]);
    expect(roundHalfAway(f(0.5 - 2 ** -25))).toBe(0);
  });
});

describe('packing (mlx-format.md §3.2, §3.3)', () => {
  const rep = (xs: number[], k: number): number[] => Array.from({ length: k }, () => xs).flat();
  test.each([
    [2, rep([0, 1, 2, 3], 4), ['0xE4E4E4E4']],
    [3, [0, 1, 2, 3, 4, 5, 6, 7, ...Array(24).fill(0)], ['0x00FAC688', '0x00000000', '0x00000000']],
    [3, rep([0, 1, 2, 3, 4, 5, 6, 7], 4), ['0x88FAC688', '0xC688FAC6', '0xFAC688FA']],
    [4, [0, 1, 2, 3, 4, 5, 6, 7], ['0x76543210']],
    [5, [1, 2, 3, 4, 5, 6, 7, 8, ...Array(24).fill(0)], ['0xCC520C41', '0x00000041', '0x00000000', '0x00000000', '0x00000000']],
    [6, [1, 2, 3, 4, ...Array(12).fill(0)], ['0x00103081', '0x00000000', '0x00000000']],
    [8, [1, 2, 3, 4], ['0x04030201']],
  ])('%i bits', (bits, codes, words) => {
    const packed = packCodes(codes, bits);
    expect(hex(packed)).toEqual(words);
    expect(Array.from(unpackCodes(packed, bits, codes.length))).toEqual(codes);
  });

  test('first bytes in the file and straddling codes', () => {
    const b = Buffer.from(packCodes([0, 1, 2, 3, 4, 5, 6, 7, ...Array(24).fill(0)], 3).buffer);
    expect([...b.subarray(0, 3)]).toEqual([0x88, 0xc6, 0xfa]);
    const b5 = Buffer.from(packCodes([1, 2, 3, 4, 5, 6, 7, 8, ...Array(24).fill(0)], 5).buffer);
    expect([...b5.subarray(0, 5)]).toEqual([0x41, 0x0c, 0x52, 0xcc, 0x41]);
    // 3 bits: code 10 sits in stream bits 30-32 (low 2 bits in word 0, top bit in word 1 bit 0)
    const c = new Array(32).fill(0);
    c[10] = 0b101;
    const w = packCodes(c, 3);
    expect(w[0] >>> 30).toBe(0b01);
    expect(w[1] & 1).toBe(1);
    // 6 bits: code 5 in bits 30-35
    const c6 = new Array(16).fill(0);
    c6[5] = 0b111101;
    const w6 = packCodes(c6, 6);
    expect(w6[0] >>> 30).toBe(0b01);
    expect(w6[1] & 0xf).toBe(0b1111);
  });

  test('random codes round-trip through pack / unpack at every width', () => {
    const rng = seededRng(5);
    for (const bits of [2, 3, 4, 5, 6, 8]) {
      const codes = Array.from({ length: 256 }, () => Math.floor(rng() * (1 << bits)));
      expect(Array.from(unpackCodes(packCodes(codes, bits), bits, 256))).toEqual(codes);
    }
  });
});

describe('fp encodings against their definitions (mlx-format.md §6.2)', () => {
  const nearestIsChosen = (v: number, code: number, grid: (c: number) => number, codes: number[]): boolean => {
    const d = Math.abs(grid(code) - v);
    return codes.every((c) => d <= Math.abs(grid(c) - v));
  };

  test('E2M1: LUT, sign from the sign bit, NaN -> 0x7, ties to even', () => {
    expect(Array.from({ length: 16 }, (_, c) => decodeE2M1Safe(c))).toEqual(E2M1_VALUES.map((v) => v));
    expect([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5].map(encodeE2M1)).toEqual([0, 2, 2, 4, 4, 6, 6]);
    expect(encodeE2M1(-0.1)).toBe(0x8);
    expect(encodeE2M1(NaN)).toBe(0x7);
    expect(encodeE2M1(1e9)).toBe(0x7);
    const rng = seededRng(1);
    const all = Array.from({ length: 16 }, (_, c) => c);
    const bad: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = f(gaussian(rng, 3));
      if (!nearestIsChosen(v, encodeE2M1(v), decodeE2M1Safe, all)) bad.push(v);
    }
    expect(bad).toEqual([]);
  });

  test('E4M3: every code (except 0x7F) re-encodes to itself; nearest value otherwise; saturation at 448', () => {
    const finite = Array.from({ length: 256 }, (_, c) => c).filter((c) => (c & 0x7f) !== 0x7f);
    for (const c of finite) {
      if (c === 0x80) continue; // -0 encodes back to 0x80 only through the sign bit
      expect(encodeE4M3(decodeE4M3(c))).toBe(c);
    }
    expect(encodeE4M3(-0)).toBe(0x80);
    expect(decodeE4M3(0x7f)).toBe(480);
    expect(decodeE4M3(0x7e)).toBe(448);
    expect([448, 500, Infinity, NaN].map(encodeE4M3)).toEqual([0x7e, 0x7e, 0x7e, 0x7e]);
    expect(encodeE4M3(-Infinity)).toBe(0xfe);
    const rng = seededRng(2);
    const bad: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const v = f(gaussian(rng, 1) * 2 ** Math.floor(rng() * 24 - 14));
      if (!nearestIsChosen(v, encodeE4M3(v), decodeE4M3, finite)) bad.push(v);
    }
    expect(bad).toEqual([]);
    // ties: halfway between 1.0 (0x38) and 1.125 (0x39) -> even 0x38; between 1.125 and 1.25 -> 0x3A
    expect(encodeE4M3(1.0625)).toBe(0x38);
    expect(encodeE4M3(1.1875)).toBe(0x3a);
    // subnormal tie: 1.5 * 2^-9 -> 2 * 2^-9 (even)
    expect(encodeE4M3(1.5 * 2 ** -9)).toBe(0x02);
  });

  test('E8M0: round(log2 x) with ties away from zero, in fp32; special values', () => {
    const rng = seededRng(3);
    const bad: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const x = f(2 ** (rng() * 276 - 149)); // finite, subnormals included
      const l = f(Math.log2(x));
      const n = Math.max(-127, Math.min(127, roundHalfAway(l)));
      if (encodeE8M0(x) !== n + 127) bad.push(x);
    }
    expect(bad).toEqual([]);
    expect(encodeE8M0(1)).toBe(127);
    expect(encodeE8M0(f(Math.SQRT2 * 1.0001))).toBe(128);
    expect(encodeE8M0(f(Math.SQRT2 * 0.9999))).toBe(127);
    expect([0, -1, Infinity, NaN].map(encodeE8M0)).toEqual([0, 0, 0xff, 0xff]);
    expect(decodeE8M0(0)).toBe(2 ** -127);
    expect(decodeE8M0(127)).toBe(1);
    expect(decodeE8M0(255)).toBe(Infinity);
  });
});

function decodeE2M1Safe(c: number): number {
  return E2M1_VALUES[c & 0xf];
}

describe('round trip (MLX test_quantize_dequantize bound: |w - w^| <= |scale| + slack)', () => {
  const unit: Record<FloatDType, number> = { F32: 2 ** -23, F16: 2 ** -10, BF16: 2 ** -7 };
  const kinds = GROUP_KINDS.filter((k) => k !== 'subnormal');

  test.each(['F32', 'F16', 'BF16'] as const)('%s input, every bits x group size x rounding', (dtype) => {
    for (const bits of [2, 3, 4, 5, 6, 8]) {
      for (const groupSize of [32, 64, 128]) {
        for (const rounding of ['cpu', 'metal'] as const) {
          const values = makeTensor(kinds, 2, 128 * 11, groupSize, bits, bits * 1000 + groupSize, dtype);
          const data = encodeFloats(values, dtype);
          const x = decodeFloats(data, dtype);
          const opts: QuantizeOptions = { dtype, shape: [2, 128 * 11], mode: 'affine', bits, groupSize, rounding };
          const q = quantizeReference(data, opts);
          const y = dequantizeToF32(q, { mode: 'affine', bits, groupSize });
          const s = decodeFloats(q.scales, dtype);
          const b = decodeFloats(q.biases!, dtype);
          const n = (1 << bits) - 1;
          for (let k = 0; k < s.length; k++) {
            // rounding of the stored scale / bias to the dtype, and of the fp32 result
            const slack = (n * Math.abs(s[k]) + Math.abs(b[k])) * (unit[dtype] + 2 ** -22) + 1e-6;
            for (let i = k * groupSize; i < (k + 1) * groupSize; i++) {
              const err = Math.abs(x[i] - y[i]);
              if (!(err <= Math.abs(s[k]) + slack)) {
                throw new Error(`${dtype} ${bits}b g${groupSize} ${rounding}: group ${k} elem ${i}: |${x[i]} - ${y[i]}| > ${Math.abs(s[k])} + ${slack}`);
              }
            }
          }
        }
      }
    }
  });
});

describe("MLX's own test_quantize_dequantize (python/tests/test_quantized.py)", () => {
  test('N(0,1) fp32: |w - w^| <= |scale + 1e-6|; all-zero input dequantizes to 0', () => {
    const rng = seededRng(42);
    const w = Array.from({ length: 8 * 512 }, () => gaussian(rng, 1));
    const data = encodeFloats(w, 'F32');
    const x = decodeFloats(data, 'F32');
    for (const groupSize of [32, 64, 128]) {
      for (const bits of [2, 3, 5, 6, 4, 8]) {
        for (const rounding of ['cpu', 'metal'] as const) {
          const q = quantizeReference(data, { dtype: 'F32', shape: [8, 512], mode: 'affine', bits, groupSize, rounding });
          const y = dequantizeToF32(q, { mode: 'affine', bits, groupSize });
          const s = decodeFloats(q.scales, 'F32');
          let ok = true;
          for (let i = 0; i < x.length; i++) ok &&= Math.abs(x[i] - y[i]) <= Math.abs(s[Math.floor(i / groupSize)] + 1e-6);
          expect([groupSize, bits, rounding, ok]).toEqual([groupSize, bits, rounding, true]);
          const z = quantizeReference(Buffer.alloc(4 * 512), { dtype: 'F32', shape: [1, 512], mode: 'affine', bits, groupSize, rounding });
          expect(dequantizeToF32(z, { mode: 'affine', bits, groupSize }).every((v) => v === 0)).toBe(true);
        }
      }
    }
  });
});

describe('fp modes: stored scales and codes follow §6.1', () => {
  test.each([
    ['mxfp4', 4, 32],
    ['mxfp8', 8, 32],
    ['nvfp4', 4, 16],
  ] as const)('%s', (mode, bits, groupSize) => {
    const values = makeTensor(GROUP_KINDS, 2, 512, groupSize, bits, 9, 'BF16');
    const data = encodeFloats(values, 'BF16');
    const x = decodeFloats(data, 'BF16');
    const q = quantizeReference(data, { dtype: 'BF16', shape: [2, 512], mode, bits, groupSize });
    expect(q.scalesDType).toBe('U8');
    expect(q.biases).toBeUndefined();
    expect(q.weightShape).toEqual([2, (512 * bits) / 32]);
    expect(q.scalesShape).toEqual([2, 512 / groupSize]);
    const codes = unpackCodes(wordsOf(q.weight), bits, x.length);
    for (let k = 0; k < x.length / groupSize; k++) {
      let amax = 0;
      for (let i = k * groupSize; i < (k + 1) * groupSize; i++) amax = Math.max(amax, Math.abs(x[i]));
      const sd = f(amax / (bits === 4 ? 6 : 448));
      const byte = groupSize === 16 ? encodeE4M3(sd) : encodeE8M0(sd);
      expect(q.scales[k]).toBe(byte);
      const sv = groupSize === 16 ? decodeE4M3(byte) : decodeE8M0(byte);
      const enc = sv === 0 ? 0 : f(1 / sv);
      for (let i = k * groupSize; i < (k + 1) * groupSize; i++) {
        const v = f(x[i] * enc);
        expect(codes[i]).toBe(bits === 4 ? encodeE2M1(v) : encodeE4M3(v));
      }
    }
    // dequantize: T(scale * decode(code))
    const y = dequantizeToF32(q, { mode, bits, groupSize });
    const k0 = 3;
    const sv0 = groupSize === 16 ? decodeE4M3(q.scales[k0]) : decodeE8M0(q.scales[k0]);
    const dec = bits === 4 ? E2M1_VALUES[codes[k0 * groupSize]] : decodeE4M3(codes[k0 * groupSize]);
    expect(y[k0 * groupSize]).toBe(f(sv0 * dec));
  });

  test('nvfp4 global scale: scale_enc = 2688 / global, dequant times global / 2688', () => {
    const values = makeTensor(['normal', 'wide'], 1, 64, 16, 4, 4);
    const data = encodeFloats(values, 'F32');
    const gs = 0.5;
    const q = quantizeReference(data, { dtype: 'F32', shape: [1, 64], mode: 'nvfp4', bits: 4, groupSize: 16, globalScale: gs });
    const x = decodeFloats(data, 'F32');
    let amax = 0;
    for (let i = 0; i < 16; i++) amax = Math.max(amax, Math.abs(x[i]));
    const enc = f(2688 / gs);
    expect(q.scales[0]).toBe(encodeE4M3(f(f(amax / 6) * enc)));
    const y = dequantizeToF32(q, { mode: 'nvfp4', bits: 4, groupSize: 16, globalScale: gs });
    const codes = unpackCodes(wordsOf(q.weight), 4, 64);
    expect(y[0]).toBe(f(f(decodeE4M3(q.scales[0]) * f(gs / 2688)) * E2M1_VALUES[codes[0]]));
  });
});

describe('argument errors', () => {
  const data = Buffer.alloc(64 * 2 * 2);
  const base: QuantizeOptions = { dtype: 'BF16', shape: [2, 64], mode: 'affine', bits: 4, groupSize: 64, name: 'model.w' };
  test.each<[string, Partial<QuantizeOptions>, RegExp]>([
    ['1-D', { shape: [128] }, /at least 2/],
    ['indivisible', { shape: [4, 32], groupSize: 64 }, /not divisible by the group size 64/],
    ['7 bits', { bits: 7 }, /bits 7 is not supported/],
    ['group 16 affine', { groupSize: 16 }, /group size 16 is not supported/],
    ['mxfp4 group 64', { mode: 'mxfp4', groupSize: 64 }, /mxfp4 requires group size 32/],
    ['mxfp8 4 bits', { mode: 'mxfp8', groupSize: 32, bits: 4 }, /mxfp8 requires 8 bits/],
    ['global scale on mxfp4', { mode: 'mxfp4', groupSize: 32, globalScale: 1 }, /only supported in nvfp4/],
    ['bad global scale', { mode: 'nvfp4', groupSize: 16, globalScale: 0 }, /finite positive/],
    ['size', { shape: [3, 64] }, /needs 384 bytes, got 256/],
    ['mode', { mode: 'int4' as never }, /unknown quantization mode/],
    ['dtype', { dtype: 'F64' as never }, /cannot quantize dtype 'F64'/],
  ])('%s', (_label, patch, re) => {
    const run = () => quantizeReference(data, { ...base, ...patch });
    expect(run).toThrow(InputError);
    expect(run).toThrow(re);
    expect(run).toThrow(/tensor 'model.w'/);
  });

  test('non-finite input names the tensor and the first bad flat index', () => {
    const vals = new Array(128).fill(0.5);
    vals[70] = NaN;
    vals[100] = Infinity;
    const bf = Buffer.alloc(256);
    vals.forEach((v, i) => bf.writeUInt16LE(f32ToBf16(v), i * 2));
    expect(() => quantizeReference(bf, base)).toThrow(/tensor 'model.w': cannot quantize a non-finite value \(NaN\) at flat index 70/);
    const h = Buffer.alloc(256);
    vals.forEach((v, i) => h.writeUInt16LE(f32ToF16(i === 70 ? 1 : v), i * 2));
    expect(() => quantizeReference(h, { ...base, dtype: 'F16' })).toThrow(/\(\+Inf\) at flat index 100/);
  });
});
