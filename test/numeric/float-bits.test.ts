/**
 * The TypeScript reference conversions against values worked out by hand from the IEEE 754
 * definitions, plus a value-space oracle: the chosen 16-bit value must be at least as close to x
 * as both neighbours, with ties going to the even pattern.
 */
import {
  bf16ToF32,
  bf16ToF32Bits,
  bitsToF32,
  f16ToF32,
  f16ToF32Bits,
  f32Bits,
  f32BitsToBf16,
  f32BitsToF16,
  f32ToBf16,
  f32ToF16,
  floatElementCount,
} from '../../src/numeric/float-bits';
import { convertReference } from '../../src/numeric/convert-reference';
import { InputError } from '../../src/errors';

const hex = (n: number) => '0x' + n.toString(16).toUpperCase();

describe('f16 -> f32 (definition)', () => {
  test.each([
    [0x3c00, 1],
    [0xbc00, -1],
    [0x3800, 0.5],
    [0x4000, 2],
    [0x3c01, 1 + 2 ** -10],
    [0x7bff, 65504],
    [0xfbff, -65504],
    [0x0400, 2 ** -14], // smallest normal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])('%s', (bits, value) => {
    expect(f16ToF32(bits)).toBe(value);
  });

  test('signed zeros and NaN', () => {
    expect(Object.is(f16ToF32(0x0000), 0)).toBe(true);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0xfc01)).toBeNaN();
  });

  test('NaN patterns keep sign and payload and become quiet in f32', () => {
    expect(hex(f16ToF32Bits(0x7e00))).toBe('0x7FC00000');
    expect(hex(f16ToF32Bits(0x7c01))).toBe('0x7FC02000'); // signalling -> quiet, payload kept
    expect(hex(f16ToF32Bits(0xfd00))).toBe('0xFFE00000');
    expect(hex(f16ToF32Bits(0x3c00))).toBe('0x3F800000');
  });
});

describe('bf16 -> f32 (upper half of an f32)', () => {
  test('known values', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc000)).toBe(-2);
    expect(bf16ToF32(0x4049)).toBe(3.140625);
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0x0001)).toBe(2 ** -133); // smallest subnormal: 2^-126 * 2^-7
    expect(Object.is(bf16ToF32(0x8000), -0)).toBe(true);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    expect(hex(bf16ToF32Bits(0xffa1))).toBe('0xFFA10000');
  });
});

describe('f32 -> bf16', () => {
  test('round to nearest, ties to even', () => {
    expect(hex(f32ToBf16(1))).toBe('0x3F80');
    expect(hex(f32ToBf16(1 + 2 ** -8))).toBe('0x3F80'); // tie, 0x3F80 even
    expect(hex(f32ToBf16(1 + 3 * 2 ** -8))).toBe('0x3F82'); // tie, 0x3F81 odd -> up
    expect(hex(f32ToBf16(1 + 2 ** -8 + 2 ** -20))).toBe('0x3F81'); // just above the tie
    expect(hex(f32ToBf16(1 + 2 ** -8 - 2 ** -20))).toBe('0x3F80'); // just below
    expect(hex(f32ToBf16(Math.PI))).toBe('0x4049');
    expect(hex(f32ToBf16(-0))).toBe('0x8000');
    expect(hex(f32ToBf16(2 ** -133))).toBe('0x1');
  });

  test('overflow to inf at the max-finite boundary', () => {
    expect(hex(f32BitsToBf16(0x7f7f7fff))).toBe('0x7F7F'); // below half-way past bf16 max
    expect(hex(f32BitsToBf16(0x7f7f8000))).toBe('0x7F80'); // tie, 0x7F7F odd -> inf
    expect(hex(f32BitsToBf16(0x7f7fffff))).toBe('0x7F80'); // f32 max
    expect(hex(f32BitsToBf16(0xff7fffff))).toBe('0xFF80');
    expect(hex(f32ToBf16(Infinity))).toBe('0x7F80');
    expect(hex(f32ToBf16(-Infinity))).toBe('0xFF80');
  });

  test('every NaN -> 0x7FC0, sign lost', () => {
    for (const u of [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x7fa5a5a5]) {
      expect(hex(f32BitsToBf16(u))).toBe('0x7FC0');
    }
    expect(hex(f32ToBf16(NaN))).toBe('0x7FC0');
  });
});

describe('f32 -> f16', () => {
  test.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [65519, 0x7bff], // below half-way to 65536
    [65520, 0x7c00], // tie, 0x7BFF odd -> inf
    [-65520, 0xfc00],
    [1e6, 0x7c00],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // tie between 0 and 2^-24 -> even 0
    [2 ** -25 * (1 + 2 ** -23), 0x0001], // just above
    [3 * 2 ** -25, 0x0002], // tie, 0x0001 odd -> up
    [1023.5 * 2 ** -24, 0x0400], // tie between largest subnormal (odd) and smallest normal
    [1 + 2 ** -11, 0x3c00], // tie -> even
    [1 + 3 * 2 ** -11, 0x3c02],
    [1 + 2 ** -11 + 2 ** -23, 0x3c01],
    [1e-10, 0x0000],
    [-1e-10, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ])('%s', (x, bits) => {
    expect(hex(f32ToF16(x))).toBe(hex(bits));
  });

  test('NaN -> sign | 0x7D00', () => {
    expect(hex(f32BitsToF16(0x7fc00000))).toBe('0x7D00');
    expect(hex(f32BitsToF16(0xffc00000))).toBe('0xFD00');
    expect(hex(f32BitsToF16(0x7f800001))).toBe('0x7D00');
    expect(hex(f32BitsToF16(0xffffffff))).toBe('0xFD00');
  });
});

/** Nearest-with-ties-to-even check in value space, for a finite x and a 16-bit result. */
function checkNearest(
  x: number,
  result: number,
  decode: (bits: number) => number,
  maxFinite: number,
  overflowValue: number,
): string | undefined {
  const sign = result & 0x8000;
  if (x < 0 || Object.is(x, -0)) {
    if (!sign) return 'sign lost';
  } else if (sign) return 'sign added';
  const ax = Math.abs(x);
  const mag = result & 0x7fff;
  const value = decode(mag);
  const up = mag === maxFinite ? overflowValue : decode(mag + 1);
  if (value === Infinity) {
    const top = decode(maxFinite);
    return ax - top >= overflowValue - ax ? undefined : `inf, but ${ax} is nearer the max finite`;
  }
  const down = mag === 0 ? -decode(1) : decode(mag - 1);
  const d = Math.abs(ax - value);
  if (d > Math.abs(ax - up) || d > Math.abs(ax - down)) return `${hex(result)} is not the nearest`;
  if (mag === maxFinite && ax - value >= up - ax) return 'should have overflowed';
  if ((d === Math.abs(ax - up) || d === Math.abs(ax - down)) && (mag & 1) === 1) return 'tie not to even';
  return undefined;
}

/** Finite f32 patterns around every rounding position of every exponent, both signs. */
function boundaryFiniteF32(): number[] {
  const out: number[] = [];
  for (let exp = 0; exp < 255; exp++) {
    for (let p = 0; p < 23; p++) {
      for (const m of [1 << p, 3 << p]) {
        for (const dm of [-1, 0, 1]) {
          const mant = (m + dm) & 0x7fffff;
          out.push(((exp << 23) | mant) >>> 0, ((1 << 31) | (exp << 23) | mant) >>> 0);
        }
      }
    }
  }
  return out;
}

describe('reference rounds to nearest-even in value space', () => {
  const patterns = boundaryFiniteF32();

  test('f32 -> f16 on boundary patterns', () => {
    const failures: string[] = [];
    for (const u of patterns) {
      const why = checkNearest(bitsToF32(u), f32BitsToF16(u), f16ToF32, 0x7bff, 65536);
      if (why && failures.length < 5) failures.push(`${hex(u)}: ${why}`);
    }
    expect(failures).toEqual([]);
  });

  test('f32 -> bf16 on boundary patterns', () => {
    const failures: string[] = [];
    for (const u of patterns) {
      const why = checkNearest(bitsToF32(u), f32BitsToBf16(u), bf16ToF32, 0x7f7f, 2 ** 128);
      if (why && failures.length < 5) failures.push(`${hex(u)}: ${why}`);
    }
    expect(failures).toEqual([]);
  });

  test('the oracle itself rejects a wrong rounding', () => {
    expect(checkNearest(1 + 2 ** -11, 0x3c01, f16ToF32, 0x7bff, 65536)).toBe('tie not to even');
    expect(checkNearest(1 + 2 ** -10, 0x3c00, f16ToF32, 0x7bff, 65536)).toBeDefined();
    expect(checkNearest(65520, 0x7bff, f16ToF32, 0x7bff, 65536)).toBe('should have overflowed');
    expect(checkNearest(65519, 0x7c00, f16ToF32, 0x7bff, 65536)).toBeDefined();
  });
});

describe('exhaustive 16-bit round trips through f32 (reference)', () => {
  test('f16 -> f32 -> f16 is the identity except NaN -> sign | 0x7D00', () => {
    for (let h = 0; h < 0x10000; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      const back = f32BitsToF16(f16ToF32Bits(h));
      const want = isNaN ? (h & 0x8000) | 0x7d00 : h;
      if (back !== want) throw new Error(`${hex(h)} -> ${hex(back)}, want ${hex(want)}`);
    }
  });

  test('bf16 -> f32 -> bf16 is the identity except NaN -> 0x7FC0', () => {
    for (let h = 0; h < 0x10000; h++) {
      const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      const back = f32BitsToBf16(bf16ToF32Bits(h));
      const want = isNaN ? 0x7fc0 : h;
      if (back !== want) throw new Error(`${hex(h)} -> ${hex(back)}, want ${hex(want)}`);
    }
  });

  test('f32Bits / bitsToF32 round trip and Math.fround first', () => {
    expect(f32Bits(1)).toBe(0x3f800000);
    expect(f32Bits(-0)).toBe(0x80000000);
    expect(bitsToF32(0x3f800001)).toBe(1 + 2 ** -23);
    // 1 + 2^-24 is not a float32: it rounds (tie, even) to 1 before the bf16 rounding.
    expect(f32Bits(1 + 2 ** -24)).toBe(0x3f800000);
  });
});

describe('convertReference', () => {
  test('array forms, F16 <-> BF16 through f32, identity copies', () => {
    const f32 = Buffer.alloc(12);
    f32.writeFloatLE(1, 0);
    f32.writeFloatLE(-65520, 4);
    f32.writeUInt32LE(0xffc00000, 8); // negative NaN
    expect(convertReference(f32, 'F32', 'F16').toString('hex')).toBe('003c00fc00fd');
    expect(convertReference(f32, 'F32', 'BF16').toString('hex')).toBe('803f80c7c07f');
    const f16 = Buffer.from([0x00, 0x3c, 0xff, 0x7b, 0x01, 0x00]); // 1, 65504, 2^-24
    // bf16 of 65504 = 1.99902 * 2^15 rounds to 2^16 (0x4780); 2^-24 is 0x3380 exactly.
    expect(convertReference(f16, 'F16', 'BF16').toString('hex')).toBe('803f80478033');
    expect(convertReference(Buffer.from([0x80, 0x3f, 0x81, 0x3f]), 'BF16', 'F16').toString('hex')).toBe(
      '003c083c', // 1 -> 0x3C00; 1 + 2^-7 -> 0x3C08
    );
    const copy = convertReference(f16, 'F16', 'F16');
    expect(copy.equals(f16)).toBe(true);
    expect(copy).not.toBe(f16);
  });

  test('lengths that are not whole elements name the dtype and length', () => {
    expect(() => convertReference(Buffer.alloc(3), 'BF16', 'F32')).toThrow(InputError);
    expect(() => convertReference(Buffer.alloc(3), 'BF16', 'F32')).toThrow(/BF16.*3 bytes/);
    expect(() => floatElementCount(6, 'F32')).toThrow(/F32 data of 6 bytes/);
    expect(() => convertReference(Buffer.alloc(4), 'F64' as never, 'F32')).toThrow(/unknown float dtype 'F64'/);
  });
});
