/**
 * Native bulk conversions against the TypeScript reference, byte for byte: every 16-bit pattern,
 * f32 patterns around every rounding boundary, NaNs, overflow edges and millions of random f32
 * patterns; the threaded async path against the sync one; argument validation.
 */
import { convertReference, type FloatDType } from '../../src/numeric/convert-reference';
import {
  type ConvertAddon,
  SYNC_THRESHOLD_BYTES,
  convertFloats,
  convertFloatsInto,
  convertFloatsSync,
} from '../../src/numeric/convert';
import { nativeAddon } from '../../src/native/addon';
import { InputError } from '../../src/errors';

/** Every 16-bit pattern, little-endian. */
function all16(): Buffer {
  const b = Buffer.alloc(0x10000 * 2);
  for (let h = 0; h < 0x10000; h++) b.writeUInt16LE(h, h * 2);
  return b;
}

function f32Buffer(patterns: ArrayLike<number>): Buffer {
  return Buffer.from(Uint32Array.from(patterns).buffer);
}

/** Deterministic xorshift32 bit patterns. */
function randomU32(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s;
  }
  return out;
}

/** f32 patterns at and around every rounding position of every exponent, plus named edge cases. */
function boundaryF32(): Buffer {
  const out: number[] = [];
  for (let exp = 0; exp < 256; exp++) {
    const mants = [0, 1, 2, 0x7fffff, 0x7ffffe, 0x400000, 0x400001, 0x200000];
    for (let p = 0; p < 23; p++) {
      for (const m of [1 << p, 3 << p]) for (const dm of [-1, 0, 1]) mants.push((m + dm) & 0x7fffff);
    }
    for (const mant of mants) out.push((exp << 23) | mant, ((1 << 31) | (exp << 23) | mant) >>> 0);
  }
  out.push(
    0x477fe000, // 65504
    0x477fefff, // just below 65520
    0x477ff000, // 65520: first value that rounds to f16 inf
    0x477ff001,
    0x47800000, // 65536
    0x7f7f7fff, // below the bf16 overflow tie
    0x7f7f8000, // bf16 overflow tie
    0x7f7fffff, // f32 max
    0x33000000, // 2^-25: f16 tie between 0 and the smallest subnormal
    0x33000001,
    0x33c00000, // 3 * 2^-25
    0x387fc000, // 1023.5 * 2^-24: largest f16 subnormal / smallest normal tie
    0x7fa00000, // signalling NaN
    0xffa00000,
    0x7fc00001,
    0xfff00000,
  );
  return f32Buffer(out);
}

function firstDiff(a: Buffer, b: Buffer, width: number): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  if (a.equals(b)) return undefined;
  for (let i = 0; i < a.length; i += width) {
    if (a.compare(b, i, i + width, i, i + width) !== 0) {
      return `element ${i / width}: ${a.subarray(i, i + width).toString('hex')} vs ${b.subarray(i, i + width).toString('hex')}`;
    }
  }
  return undefined;
}

function expectSameBytes(actual: Buffer, expected: Buffer, width: number): void {
  expect(firstDiff(actual, expected, width)).toBeUndefined();
}

const WIDTH: Record<FloatDType, number> = { F32: 4, F16: 2, BF16: 2 };

describe('native vs reference, every 16-bit pattern', () => {
  const src = all16();
  const pairs: Array<[FloatDType, FloatDType]> = [
    ['BF16', 'F32'],
    ['F16', 'F32'],
    ['BF16', 'F16'],
    ['F16', 'BF16'],
    ['BF16', 'BF16'],
  ];
  test.each(pairs)('%s -> %s (sync and async)', async (from, to) => {
    const want = convertReference(src, from, to);
    expectSameBytes(convertFloatsSync(src, from, to), want, WIDTH[to]);
    expectSameBytes(await convertFloats(src, from, to, { threads: 2 }), want, WIDTH[to]);
  });

  test('f16 -> f32 -> f16 round trip is the identity except NaN -> sign | 0x7D00', () => {
    const back = convertFloatsSync(convertFloatsSync(src, 'F16', 'F32'), 'F32', 'F16');
    for (let h = 0; h < 0x10000; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      const want = isNaN ? (h & 0x8000) | 0x7d00 : h;
      if (back.readUInt16LE(h * 2) !== want) throw new Error(`f16 ${h.toString(16)} came back wrong`);
    }
  });

  test('bf16 -> f32 -> bf16 round trip is the identity except NaN -> 0x7FC0', () => {
    const f32 = convertFloatsSync(src, 'BF16', 'F32');
    const back = convertFloatsSync(f32, 'F32', 'BF16');
    for (let h = 0; h < 0x10000; h++) {
      // exact, NaN payloads included
      if (f32.readUInt32LE(h * 4) !== (h << 16) >>> 0) throw new Error(`bf16 ${h.toString(16)} widened wrong`);
      const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (back.readUInt16LE(h * 2) !== (isNaN ? 0x7fc0 : h)) throw new Error(`bf16 ${h.toString(16)} came back wrong`);
    }
  });
});

describe('native vs reference, f32 sources', () => {
  test.each(['BF16', 'F16', 'F32'] as FloatDType[])('boundary patterns -> %s', (to) => {
    const src = boundaryF32();
    expect(src.length / 4).toBeGreaterThan(70000);
    expectSameBytes(convertFloatsSync(src, 'F32', to), convertReference(src, 'F32', to), WIDTH[to]);
  });

  test('known values through the native path', () => {
    const src = f32Buffer([0x3f800000, 0x3f808000, 0x3f818000, 0x7fc00000, 0xffc00000, 0x477ff000, 0x33800000]);
    // 1, 1+2^-8 (tie), 1+3*2^-8 (tie), NaN, -NaN, 65520, 2^-24
    const bf16 = convertFloatsSync(src, 'F32', 'BF16');
    expect([0, 1, 2, 3, 4].map((i) => bf16.readUInt16LE(i * 2))).toEqual([0x3f80, 0x3f80, 0x3f82, 0x7fc0, 0x7fc0]);
    const f16 = convertFloatsSync(src, 'F32', 'F16');
    expect([0, 3, 4, 5, 6].map((i) => f16.readUInt16LE(i * 2))).toEqual([0x3c00, 0x7d00, 0xfd00, 0x7c00, 0x0001]);
    const back = convertFloatsSync(Buffer.from([0x00, 0x3c, 0xff, 0x7b, 0x01, 0x00]), 'F16', 'F32');
    expect([back.readFloatLE(0), back.readFloatLE(4), back.readFloatLE(8)]).toEqual([1, 65504, 2 ** -24]);
  });

  test('4 million random f32 patterns -> BF16 and F16 (async, 2 threads)', async () => {
    const src = f32Buffer(randomU32(4_000_000, 0x9e3779b9));
    for (const to of ['BF16', 'F16'] as FloatDType[]) {
      const got = await convertFloats(src, 'F32', to, { threads: 2 });
      expectSameBytes(got, convertReference(src, 'F32', to), 2);
    }
  });
});

describe('threaded async path equals the sync path', () => {
  // Odd element count so the last block is short; a byte offset of 1 so nothing is aligned.
  const n = 3 * 65536 + 7;
  const backing = Buffer.alloc(n * 4 + 1);
  f32Buffer(randomU32(n, 12345)).copy(backing, 1);
  const src = backing.subarray(1);

  test.each([0, 1, 2, 3, 5])('threads = %i', async (threads) => {
    for (const to of ['BF16', 'F16'] as FloatDType[]) {
      const sync = convertFloatsSync(src, 'F32', to);
      const async_ = await convertFloats(src, 'F32', to, { threads });
      expectSameBytes(async_, sync, 2);
      const widened = await convertFloats(sync, to, 'F32', { threads });
      expectSameBytes(widened, convertFloatsSync(sync, to, 'F32'), 4);
    }
  });

  test('convertFloatsInto writes the caller buffer, in place for equal widths', async () => {
    const bf16 = convertFloatsSync(src, 'F32', 'BF16');
    const want = convertReference(bf16, 'BF16', 'F16');
    await convertFloatsInto(bf16, 'BF16', 'F16', bf16, { threads: 2 });
    expectSameBytes(bf16, want, 2);
  });

  test('small buffers take the sync path and still convert', async () => {
    const small = f32Buffer(randomU32(100, 7));
    expect(small.length).toBeLessThan(SYNC_THRESHOLD_BYTES);
    expectSameBytes(await convertFloats(small, 'F32', 'F16'), convertReference(small, 'F32', 'F16'), 2);
    expect((await convertFloats(Buffer.alloc(0), 'F32', 'BF16')).length).toBe(0);
  });
});

describe('argument errors', () => {
  test('TS API: odd lengths name the dtype and the length (InputError)', async () => {
    expect(() => convertFloatsSync(Buffer.alloc(3), 'BF16', 'F32')).toThrow(InputError);
    expect(() => convertFloatsSync(Buffer.alloc(3), 'BF16', 'F32')).toThrow(/BF16 data of 3 bytes/);
    await expect(convertFloats(Buffer.alloc(6), 'F32', 'F16')).rejects.toThrow(/F32 data of 6 bytes/);
    await expect(
      convertFloats(Buffer.alloc(6), 'F32', 'F16', { place: { tensor: 'w' } }),
    ).rejects.toThrow(/tensor 'w'.*F32 data of 6 bytes/);
    await expect(convertFloats(Buffer.alloc(4), 'F32', 'F8' as never)).rejects.toThrow(/unknown float dtype 'F8'/);
    await expect(convertFloats(Buffer.alloc(4), 'F32', 'F16', { threads: -1 })).rejects.toThrow(InputError);
    await expect(convertFloatsInto(Buffer.alloc(8), 'F32', 'F16', Buffer.alloc(2))).rejects.toThrow(
      /destination holds 2 bytes but 2 F16 elements need 4/,
    );
  });

  /** Native errors come from Node's own realm, not Jest's sandbox: compare by name, not class. */
  function thrown(fn: () => unknown): { name: string; message: string } {
    try {
      fn();
    } catch (e) {
      return { name: (e as Error).name, message: (e as Error).message };
    }
    return { name: 'none', message: '' };
  }

  test('native: TypeError / RangeError with clear messages', async () => {
    const addon = nativeAddon<ConvertAddon>();
    const sync = (...args: unknown[]) => thrown(() => (addon.convertSync as (...a: unknown[]) => void)(...args));
    expect(sync(Buffer.alloc(4), 'F64', 'F16', Buffer.alloc(2))).toEqual({
      name: 'TypeError',
      message: "unknown source dtype 'F64' (expected 'F32', 'F16' or 'BF16')",
    });
    expect(sync('x', 'F32', 'F16', Buffer.alloc(2))).toEqual({ name: 'TypeError', message: 'src must be a Buffer' });
    expect(sync(Buffer.alloc(5), 'F32', 'F16', Buffer.alloc(2))).toEqual({
      name: 'RangeError',
      message: 'source length 5 bytes is not a multiple of 4 (F32)',
    });
    expect(sync(Buffer.alloc(8), 'F32', 'F16', Buffer.alloc(2))).toEqual({
      name: 'RangeError',
      message: 'destination length 2 bytes, expected 4 (2 F16 elements)',
    });
    const shared = Buffer.alloc(16);
    expect(sync(shared.subarray(0, 8), 'F16', 'F32', shared.subarray(0, 16)).message).toBe(
      'source and destination buffers overlap',
    );
    const withThreads = (threads: unknown) =>
      thrown(() =>
        (addon.convertAsync as (...a: unknown[]) => unknown)(Buffer.alloc(4), 'F32', 'F16', Buffer.alloc(2), threads),
      );
    expect(withThreads(-1).name).toBe('RangeError');
    expect(withThreads(1.5)).toEqual({
      name: 'RangeError',
      message: 'threads must be an integer from 0 (all cores) to 4096, got 1.5',
    });
    expect(withThreads('2').name).toBe('TypeError');
    await expect(addon.convertAsync(Buffer.alloc(4), 'F32', 'F16', Buffer.alloc(2), 1)).resolves.toBeUndefined();
  });
});
