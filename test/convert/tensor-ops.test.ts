import { addOne, moveAxis, sliceByteRanges } from '../../src/convert/tensor-ops';
import { naturalCompare } from '../../src/sanitize/natural-order';
import { detectRawCheckpoint } from '../../src/arch/raw-detection';
import { isZeroCentredNorm } from '../../src/plan/norm-suffixes';
import type { TensorInfo } from '../../src/safetensors/types';

const bf16 = (...bits: number[]) => {
  const b = Buffer.alloc(bits.length * 2);
  bits.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
};
const u16s = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16LE(i * 2));

describe('+1 norm shift', () => {
  test('bf16 results round to nearest even, as MLX weight + 1.0 in bf16', () => {
    // Hand-derived: 1 + 2^-8 is halfway between 0x3F80 and 0x3F81 -> even 0x3F80;
    // 1 + 3*2^-8 is halfway between 0x3F81 and 0x3F82 -> even 0x3F82;
    // -2^-7 + 1 = 1 - 2^-7 = 0x3F7E exactly; 0 + 1 = 0x3F80; -1 + 1 = +0.
    const input = bf16(0x3b80, 0x3c40, 0xbc00, 0x0000, 0xbf80);
    expect(u16s(addOne(input, 'BF16'))).toEqual([0x3f80, 0x3f82, 0x3f7e, 0x3f80, 0x0000]);
  });

  test('f32 and f16 are shifted in their own dtype', () => {
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(0.25, 0);
    f32.writeFloatLE(-0.5, 4);
    const out = addOne(f32, 'F32');
    expect([out.readFloatLE(0), out.readFloatLE(4)]).toEqual([1.25, 0.5]);
    // f16: 2^-11 + 1 is a tie between 0x3C00 and 0x3C01 -> 0x3C00; 0x3800 (0.5) -> 1.5 = 0x3E00.
    expect(u16s(addOne(bf16(0x1000, 0x3800), 'F16'))).toEqual([0x3c00, 0x3e00]);
  });
});

describe('slices and axis moves', () => {
  test('slice along axis 1 of [E, 2I, H] gives one range per expert', () => {
    const ranges = sliceByteRanges([3, 4, 2], 'BF16', { axis: 1, start: 2, end: 4 });
    // Each expert holds 4*2 elements = 16 bytes; rows 2..3 are bytes 8..16 of it.
    expect(ranges).toEqual([
      { start: 8, end: 16 },
      { start: 24, end: 32 },
      { start: 40, end: 48 },
    ]);
  });

  test('slice along axis 0 is one contiguous range', () => {
    expect(sliceByteRanges([4, 3], 'F32', { axis: 0, start: 1, end: 3 })).toEqual([{ start: 12, end: 36 }]);
  });

  test('moveaxis 2 -> 1 of [C, 1, K] equals the element order of [C, K, 1]', () => {
    // With a middle dimension of 1 the bytes do not move, only the shape changes.
    const data = Buffer.from(Array.from({ length: 2 * 1 * 4 * 2 }, (_, i) => i));
    expect(moveAxis(data, [2, 1, 4], 'BF16', 2, 1).equals(data)).toBe(true);
  });

  test('moveaxis on a general shape matches an index-by-index reference', () => {
    const shape = [2, 3, 4];
    const n = 24;
    const data = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) data.writeFloatLE(i, i * 4);
    const out = moveAxis(data, shape, 'F32', 2, 0); // -> [4, 2, 3]
    for (let c = 0; c < 4; c++)
      for (let a = 0; a < 2; a++)
        for (let b = 0; b < 3; b++) {
          const src = a * 12 + b * 4 + c;
          expect(out.readFloatLE(((c * 2 + a) * 3 + b) * 4)).toBe(src);
        }
  });
});

describe('raw-HF detection and norm suffixes', () => {
  const info = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'BF16', shape, byteLength: 0, offset: 0, shard: 'x' });

  test('HF conv1d [C,1,K] means raw; MLX [C,K,1] means converted; none means converted', () => {
    expect(detectRawCheckpoint([info('a.linear_attn.conv1d.weight', [8, 1, 4])]).raw).toBe(true);
    expect(detectRawCheckpoint([info('a.linear_attn.conv1d.weight', [8, 4, 1])]).raw).toBe(false);
    expect(detectRawCheckpoint([info('mtp.norm.weight', [8])]).raw).toBe(false);
  });

  test('exactly the zero-centred norms qualify, never linear_attn.norm', () => {
    const yes = [
      'language_model.model.layers.0.input_layernorm.weight',
      'language_model.model.layers.3.post_attention_layernorm.weight',
      'language_model.model.norm.weight',
      'language_model.model.layers.3.self_attn.q_norm.weight',
      'language_model.model.layers.3.self_attn.k_norm.weight',
      'language_model.mtp.pre_fc_norm_hidden.weight',
      'language_model.mtp.pre_fc_norm_embedding.weight',
      'language_model.mtp.norm.weight',
      'language_model.mtp.layers.0.input_layernorm.weight',
      'model.norm.weight',
    ];
    for (const n of yes) expect(isZeroCentredNorm(n, [8])).toBe(true);
    expect(isZeroCentredNorm('language_model.model.layers.0.linear_attn.norm.weight', [8])).toBe(false);
    expect(isZeroCentredNorm('language_model.model.norm.weight', [8, 8])).toBe(false);
  });

  test('natural order puts layer 2 before layer 10', () => {
    const names = ['m.layers.10.a', 'm.layers.2.b', 'm.layers.2.a', 'm.embed'];
    expect([...names].sort(naturalCompare)).toEqual(['m.embed', 'm.layers.2.a', 'm.layers.2.b', 'm.layers.10.a']);
  });
});

describe('casts to f16 report values out of range', () => {
  test('a finite f32 value above 65504 becomes inf and is reported with the tensor name', async () => {
    const { computeTensor } = await import('../../src/convert/compute-tensor');
    const data = Buffer.alloc(16);
    // (A non-finite source value is refused before any cast: test/convert/non-finite.test.ts.)
    [1, 70000, -1e6, 2].forEach((v, i) => data.writeFloatLE(v, i * 4));
    const src = { readTensor: async () => data, readRange: async () => data };
    const t: any = {
      name: 'x.weight',
      sources: [{ tensor: 'x.weight', dtype: 'F32', shape: [4] }],
      transforms: [{ kind: 'cast', to: 'F16' }],
      dtype: 'F16',
      shape: [4],
      group: 'trunk',
      facts: { module: 'x', param: 'weight', role: 'other', mtp: false },
      notes: [],
    };
    const r = await computeTensor(src, t, { rounding: 'metal' });
    // Two finite values overflowed.
    expect(r.warnings).toEqual(['x.weight: 2 value(s) out of f16 range became inf']);
    expect(u16s(r.outputs[0].data)).toEqual([0x3c00, 0x7c00, 0xfc00, 0x4000]);
  });

  test('a large bf16 tensor (threaded scan): the count equals an independent count of overflowing source values', async () => {
    const { computeTensor } = await import('../../src/convert/compute-tensor');
    const n = 300_000;
    const data = Buffer.alloc(2 * n);
    let seed = 5;
    let over = 0;
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      // Mostly small values; about 1 in 1000 above f16's range (bf16 exponent 0x90 = 2^17), the last one too.
      const big = seed % 1000 === 0 || i === n - 1;
      const bits = big ? 0x4800 | (seed & 0x807f) : 0x3c00 | (seed & 0x807f);
      if (big) over++;
      data.writeUInt16LE(bits, 2 * i);
    }
    expect(over).toBeGreaterThan(100);
    const src = { readTensor: async () => data, readRange: async () => data };
    const t: any = {
      name: 'y.weight',
      sources: [{ tensor: 'y.weight', dtype: 'BF16', shape: [n] }],
      transforms: [{ kind: 'cast', to: 'F16' }],
      dtype: 'F16',
      shape: [n],
      group: 'trunk',
      facts: { module: 'y', param: 'weight', role: 'other', mtp: false },
      notes: [],
    };
    const r = await computeTensor(src, t, { rounding: 'metal' });
    expect(r.warnings).toEqual([`y.weight: ${over} value(s) out of f16 range became inf`]);
  });
});
