/**
 * The native (C++) quantizer must be byte-identical to the TypeScript reference: every
 * dtype x bits x group size x rounding, fp modes, adversarial groups, any thread count, async and
 * sync; native dequantization == reference dequantization; same errors.
 */
import { InputError } from '../../src/errors';
import { f32ToBf16 } from '../../src/numeric/float-bits';
import {
  dequantize,
  dequantizeNative,
  dequantizeNativeSync,
  quantize,
  quantizeReference,
  quantizeSync,
  type QuantizeOptions,
  type QuantizeTargets,
  type QuantizedTensor,
} from '../../src/quant/kernels';
import { encodeFloats } from '../../src/quant/kernels/float-io';
import { e8m0Thresholds, encodeE2M1, encodeE4M3, encodeE8M0 } from '../../src/quant/kernels/fp-codecs';
import { quantAddon } from '../../src/quant/kernels/native-quantize';
import { GROUP_KINDS, gaussian, makeTensor, seededRng } from '../../src/quant/kernels/synthetic';
import type { FloatDType } from '../../src/quant/kernels/types';

const DTYPES: FloatDType[] = ['F32', 'F16', 'BF16'];
const FP_MODES = [
  ['mxfp4', 4, 32],
  ['mxfp8', 8, 32],
  ['nvfp4', 4, 16],
] as const;

function expectSame(a: QuantizedTensor, b: QuantizedTensor, label: string): void {
  const diff = (x: Buffer | undefined, y: Buffer | undefined): string =>
    x && y && x.equals(y) ? '' : x === y ? '' : ` first differing byte ${firstDiff(x, y)}`;
  const msg = ['weight', 'scales', 'biases']
    .map((k) => {
      const d = diff(a[k as 'weight'], b[k as 'weight']);
      return d ? `${k}:${d}` : '';
    })
    .filter(Boolean)
    .join('; ');
  if (msg) throw new Error(`${label}: native != reference: ${msg}`);
  expect(b.weightShape).toEqual(a.weightShape);
  expect(b.scalesShape).toEqual(a.scalesShape);
  expect(b.scalesDType).toBe(a.scalesDType);
  expect(b.biasesDType).toBe(a.biasesDType);
}

function firstDiff(x: Buffer | undefined, y: Buffer | undefined): string {
  if (!x || !y) return 'missing buffer';
  if (x.length !== y.length) return `length ${x.length} vs ${y.length}`;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `${i}: ${x[i]} vs ${y[i]}`;
  return 'none';
}

describe('affine: native == reference, byte for byte', () => {
  const rows = 3;
  const cols = 128 * GROUP_KINDS.length; // each kind appears in every row at every group size
  test.each(DTYPES)('%s input, bits x group size x rounding over all group kinds', (dtype) => {
    for (const bits of [2, 3, 4, 5, 6, 8]) {
      const values = makeTensor(GROUP_KINDS, rows, cols, 32, bits, 100 + bits, dtype);
      const data = encodeFloats(values, dtype);
      for (const groupSize of [32, 64, 128]) {
        for (const rounding of ['metal', 'cpu'] as const) {
          const opts: QuantizeOptions = { dtype, shape: [rows, cols], mode: 'affine', bits, groupSize, rounding, threads: 1 };
          expectSame(quantizeReference(data, opts), quantizeSync(data, opts), `${dtype} ${bits}b g${groupSize} ${rounding}`);
        }
      }
    }
  });

  test('metal and cpu semantics really differ on these groups (ties, all-negative)', () => {
    const values = makeTensor(['codeTies', 'q0Ties', 'negative'], 2, 768, 64, 4, 7, 'BF16');
    const data = encodeFloats(values, 'BF16');
    const base: QuantizeOptions = { dtype: 'BF16', shape: [2, 768], mode: 'affine', bits: 4, groupSize: 64 };
    const m = quantizeSync(data, { ...base, rounding: 'metal' });
    const c = quantizeSync(data, { ...base, rounding: 'cpu' });
    expect(m.weight.equals(c.weight)).toBe(false);
    expect(m.scales.equals(c.scales)).toBe(false);
  });

  test('leading dimensions (MoE stack [E, out, in]) and a zero-row tensor', () => {
    const values = makeTensor(['normal', 'outlier'], 6, 256, 64, 4, 3, 'BF16');
    const data = encodeFloats(values, 'BF16');
    const opts: QuantizeOptions = { dtype: 'BF16', shape: [2, 3, 256], mode: 'affine', bits: 3, groupSize: 64 };
    const q = quantizeSync(data, opts);
    expect(q.weightShape).toEqual([2, 3, 24]);
    expect(q.scalesShape).toEqual([2, 3, 4]);
    expectSame(quantizeReference(data, opts), q, 'moe');
    const empty = quantizeSync(Buffer.alloc(0), { ...opts, shape: [0, 256] });
    expect(empty.weight.length).toBe(0);
    expect(empty.weightShape).toEqual([0, 24]);
  });
});

describe('fp modes: native == reference', () => {
  test.each(DTYPES)('%s input', (dtype) => {
    for (const [mode, bits, groupSize] of FP_MODES) {
      const values = makeTensor(GROUP_KINDS, 2, 32 * GROUP_KINDS.length * 2, groupSize, bits, 11, dtype);
      const data = encodeFloats(values, dtype);
      const shape = [2, 32 * GROUP_KINDS.length * 2];
      for (const globalScale of mode === 'nvfp4' ? [undefined, 0.37, 1e-30, 1e30] : [undefined]) {
        const opts: QuantizeOptions = { dtype, shape, mode, bits, groupSize, globalScale, threads: 1 };
        expectSame(quantizeReference(data, opts), quantizeSync(data, opts), `${dtype} ${mode} global=${globalScale}`);
      }
    }
  });

  test('element and scale encoders: native == TypeScript on a sweep of floats', () => {
    const rng = seededRng(21);
    const xs: number[] = [0, -0, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 448, 464, 480, 1e38, -1e-45, 2 ** -9, 1.5 * 2 ** -9];
    for (let i = 0; i < 20000; i++) xs.push(gaussian(rng, 1) * 2 ** Math.floor(rng() * 60 - 40));
    for (let e = -149; e <= 127; e++) {
      // both sides of every E8M0 rounding threshold
      const m = e8m0Thresholds()[e + 149];
      for (const mm of [m - 1, m]) if (mm >= 0 && mm < 2 ** 23) xs.push((1 + mm / 2 ** 23) * 2 ** e);
    }
    const v = new Float32Array(xs);
    const addon = quantAddon();
    const check = (kind: 'e2m1' | 'e4m3' | 'e8m0', fn: (x: number) => number) => {
      const got = addon.quantFpEncode(kind, v);
      for (let i = 0; i < v.length; i++) {
        if (got[i] !== fn(v[i])) throw new Error(`${kind}(${v[i]}): native ${got[i]} vs reference ${fn(v[i])}`);
      }
    };
    check('e2m1', encodeE2M1);
    check('e4m3', encodeE4M3);
    check('e8m0', encodeE8M0);
  });
});

describe('threads, async and sync', () => {
  // 4096 groups of 64: enough blocks for several threads.
  const values = makeTensor(GROUP_KINDS, 64, 4096, 64, 8, 5, 'BF16');
  const data = encodeFloats(values, 'BF16');
  const opts: QuantizeOptions = { dtype: 'BF16', shape: [64, 4096], mode: 'affine', bits: 4, groupSize: 64, rounding: 'metal' };

  test('multithreaded == single-threaded == reference; async == sync', async () => {
    const ref = quantizeReference(data, opts);
    const one = quantizeSync(data, { ...opts, threads: 1 });
    expectSame(ref, one, 'threads=1');
    for (const threads of [2, 3, 7, 0]) expectSame(one, await quantize(data, { ...opts, threads }), `threads=${threads}`);
    const fp: QuantizeOptions = { ...opts, mode: 'nvfp4', groupSize: 16, globalScale: 2 };
    expectSame(quantizeSync(fp.mode ? data : data, { ...fp, threads: 1 }), await quantize(data, { ...fp, threads: 3 }), 'nvfp4 threads');
  });

  test('the async call runs off the event loop', async () => {
    // 32 MiB of bf16 on one thread takes milliseconds: a setImmediate queued before the call can
    // only run first if the kernel is not running on the JS thread.
    const big = Buffer.alloc(32 << 20);
    big.fill(encodeFloats(makeTensor(['normal'], 1, 32768, 64, 4, 9), 'BF16'));
    let immediateRan = false;
    setImmediate(() => {
      immediateRan = true;
    });
    const q = await quantize(big, { ...opts, shape: [4096, 4096], threads: 1 });
    expect(immediateRan).toBe(true);
    expect(q.weight.length).toBe((4096 * 4096) / 2);
  });
});

describe('caller-supplied outputs (out)', () => {
  const values = makeTensor(GROUP_KINDS, 16, 1024, 64, 4, 21, 'BF16');
  const data = encodeFloats(values, 'BF16');
  const affine: QuantizeOptions = { dtype: 'BF16', shape: [16, 1024], mode: 'affine', bits: 4, groupSize: 64, rounding: 'metal', threads: 3 };
  const nvfp4: QuantizeOptions = { ...affine, mode: 'nvfp4', groupSize: 16, globalScale: 2 };

  /** Views of one garbage-filled buffer, in the executor's layout: the kernels must overwrite every byte. */
  function targets(ref: QuantizedTensor, fill: number): QuantizeTargets {
    const sizes = [ref.weight.length, ref.scales.length, ref.biases?.length ?? 0];
    const buf = Buffer.alloc(3 + sizes.reduce((a, b) => a + b, 0), fill);
    let at = 3; // odd offsets: the kernels must not assume alignment
    const [weight, scales, biases] = sizes.map((n) => buf.subarray(at, (at += n)));
    return ref.biases ? { weight, scales, biases } : { weight, scales };
  }

  test.each([
    ['affine', affine],
    ['nvfp4', nvfp4],
  ] as const)('%s: same bytes as fresh outputs and as the reference, async and sync, written into the given buffers', async (_, opts) => {
    const ref = quantizeReference(data, opts);
    for (const fill of [0x00, 0xa5, 0xff]) {
      const out = targets(ref, fill);
      const q = await quantize(data, opts, out);
      expectSame(ref, q, `async fill ${fill}`);
      expectSame(quantizeSync(data, opts), q, `fresh vs given, fill ${fill}`);
      expect(q.weight).toBe(out.weight); // the very buffers, not copies
      expect(q.scales).toBe(out.scales);
      expect(q.biases).toBe(out.biases);
      const out2 = targets(ref, fill);
      expectSame(ref, quantizeSync(data, opts, out2), `sync fill ${fill}`);
      expect(out2.weight.equals(ref.weight)).toBe(true);
    }
  });

  test('wrong sizes, a missing or stray biases buffer and aliasing are rejected before any work', async () => {
    const ref = quantizeReference(data, affine);
    const ok = () => targets(ref, 0);
    const reject = async (opts: QuantizeOptions, out: QuantizeTargets, why: RegExp) => {
      expect(() => quantizeSync(data, opts, out)).toThrow(why);
      await expect(quantize(data, opts, out)).rejects.toThrow(why);
    };
    await reject(affine, { ...ok(), weight: Buffer.alloc(ref.weight.length - 4) }, /out\.weight has 8188 bytes, the weight of 16384 values at 4 bits needs 8192/);
    await reject(affine, { ...ok(), scales: Buffer.alloc(ref.scales.length + 2) }, /out\.scales has 514 bytes, .* needs 512/);
    await reject(affine, { weight: ok().weight, scales: ok().scales }, /out\.biases must be a Buffer of 512 bytes/);
    const fp = quantizeReference(data, nvfp4);
    await reject(nvfp4, { weight: Buffer.alloc(fp.weight.length), scales: Buffer.alloc(fp.scales.length), biases: Buffer.alloc(16) }, /out\.biases given, but nvfp4 quantization has no biases/);
    // The addon checks sizes and aliasing itself (memory safety), whatever the wrapper let through.
    const addon = quantAddon();
    const params = { dtype: 'BF16' as const, mode: 'affine', bits: 4, groupSize: 64, numel: 16 * 1024, threads: 1, rounding: 'metal' };
    expect(() => addon.quantQuantizeSync(data, params, { ...ok(), biases: Buffer.alloc(511) })).toThrow(/out\.biases has 511 bytes, the output needs 512/);
    const shared = Buffer.alloc(ref.weight.length + ref.scales.length * 2);
    const overlapping = { weight: shared.subarray(0, ref.weight.length), scales: shared.subarray(16, 16 + ref.scales.length), biases: shared.subarray(shared.length - ref.scales.length) };
    expect(() => addon.quantQuantizeSync(data, params, overlapping)).toThrow(/out buffers must not overlap the input or each other/);
    const inPlace = { ...ok(), weight: data.subarray(0, ref.weight.length) };
    expect(() => addon.quantQuantizeSync(data, params, inPlace)).toThrow(/must not overlap/);
    expect(() => addon.quantQuantizeSync(data, params, { ...ok(), scales: [] as unknown as Buffer })).toThrow(/out\.scales must be a Buffer/);
  });
});

describe('non-finite input', () => {
  test('error names the tensor and the first bad flat index, whatever the thread count', async () => {
    const n = 64 * 4096;
    const buf = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) buf.writeUInt16LE(f32ToBf16(((i % 97) - 48) / 1000), i * 2);
    buf.writeUInt16LE(0x7f80, (n - 5) * 2); // +Inf near the end (last thread's block)
    buf.writeUInt16LE(0xffc1, 200_001 * 2); // NaN in a middle block
    const opts: QuantizeOptions = { dtype: 'BF16', shape: [64, 4096], mode: 'affine', bits: 4, groupSize: 64, name: 'layers.0.w' };
    for (const threads of [1, 2, 5]) {
      await expect(quantize(buf, { ...opts, threads })).rejects.toThrow(
        /tensor 'layers.0.w': cannot quantize a non-finite value \(NaN\) at flat index 200001/,
      );
    }
    expect(() => quantizeSync(buf, { ...opts, mode: 'mxfp8', bits: 8, groupSize: 32 })).toThrow(InputError);
    const f32 = Buffer.alloc(64 * 4);
    f32.writeFloatLE(-Infinity, 33 * 4);
    expect(() => quantizeSync(f32, { ...opts, dtype: 'F32', shape: [1, 64] })).toThrow(/\(-Inf\) at flat index 33/);
    const f16 = Buffer.alloc(64 * 2);
    f16.writeUInt16LE(0x7c00, 9 * 2);
    expect(() => quantizeSync(f16, { ...opts, dtype: 'F16', shape: [2, 32], groupSize: 32 })).toThrow(/\(\+Inf\) at flat index 9/);
  });

  test('argument errors come before any native work', () => {
    expect(() => quantizeSync(Buffer.alloc(10), { dtype: 'BF16', shape: [1, 64], mode: 'affine', bits: 4, groupSize: 64, name: 'x' })).toThrow(
      /tensor 'x': BF16 data of shape \[1, 64\] needs 128 bytes, got 10/,
    );
  });
});

describe('dequantize: native == reference', () => {
  test('affine, every bits x scale dtype x output dtype', async () => {
    for (const dtype of DTYPES) {
      for (const bits of [2, 3, 4, 5, 6, 8]) {
        const values = makeTensor(GROUP_KINDS, 2, 128 * 11, 64, bits, 50 + bits, dtype);
        const data = encodeFloats(values, dtype);
        const q = quantizeSync(data, { dtype, shape: [2, 128 * 11], mode: 'affine', bits, groupSize: 64 });
        for (const outDType of DTYPES) {
          const o = { mode: 'affine' as const, bits, groupSize: 64, outDType };
          const ref = dequantize(q, o);
          if (!ref.equals(dequantizeNativeSync(q, { ...o, threads: 1 }))) throw new Error(`${dtype} ${bits}b -> ${outDType}`);
          expect(ref.length).toBe(2 * 128 * 11 * (outDType === 'F32' ? 4 : 2));
        }
      }
    }
    const q = quantizeSync(encodeFloats(makeTensor(['normal'], 64, 4096, 64, 4, 1), 'BF16'), {
      dtype: 'BF16', shape: [64, 4096], mode: 'affine', bits: 4, groupSize: 64,
    });
    const o = { mode: 'affine' as const, bits: 4, groupSize: 64, outDType: 'BF16' as const };
    expect((await dequantizeNative(q, { ...o, threads: 3 })).equals(dequantize(q, o))).toBe(true);
  });

  test('fp modes, with and without a global scale', async () => {
    for (const [mode, bits, groupSize] of FP_MODES) {
      for (const globalScale of mode === 'nvfp4' ? [undefined, 0.37] : [undefined]) {
        const values = makeTensor(GROUP_KINDS, 2, 704, groupSize, bits, 77, 'BF16');
        const q = quantizeSync(encodeFloats(values, 'BF16'), { dtype: 'BF16', shape: [2, 704], mode, bits, groupSize, globalScale });
        for (const outDType of DTYPES) {
          const o = { mode, bits, groupSize, outDType, globalScale };
          const ref = dequantize(q, o);
          if (!ref.equals(await dequantizeNative(q, o))) throw new Error(`${mode} ${globalScale} -> ${outDType}`);
        }
      }
    }
  });

  test('mismatched shapes are rejected', () => {
    const q = quantizeSync(Buffer.alloc(256), { dtype: 'BF16', shape: [2, 64], mode: 'affine', bits: 4, groupSize: 64 });
    expect(() => dequantizeNativeSync(q, { mode: 'affine', bits: 8, groupSize: 64 })).toThrow(InputError);
    expect(() => dequantizeNativeSync({ ...q, biases: undefined }, { mode: 'affine', bits: 4, groupSize: 64 })).toThrow(/needs biases/);
    expect(() => dequantizeNativeSync(q, { mode: 'mxfp4', bits: 4, groupSize: 32 })).toThrow(InputError);
  });
});
