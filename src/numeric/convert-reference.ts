/**
 * Array form of the scalar reference conversions: little-endian bytes in, bytes out.
 * Every conversion goes through the f32 bit pattern (so F16 <-> BF16 rounds once, from the exact
 * f32 value); same dtype in and out is a plain copy.
 */
import {
  type FloatDType,
  FLOAT_DTYPE_BYTES,
  bf16ToF32Bits,
  f16ToF32Bits,
  f32BitsToBf16,
  f32BitsToF16,
  floatElementCount,
  isConvertibleFloatDType,
} from './float-bits';
import { InputError } from '../errors';

export type { FloatDType } from './float-bits';

function readAsF32Bits(src: Buffer, i: number, from: FloatDType): number {
  switch (from) {
    case 'F32':
      return src.readUInt32LE(i * 4);
    case 'BF16':
      return bf16ToF32Bits(src.readUInt16LE(i * 2));
    case 'F16':
      return f16ToF32Bits(src.readUInt16LE(i * 2));
  }
}

function writeFromF32Bits(dst: Buffer, i: number, to: FloatDType, u: number): void {
  switch (to) {
    case 'F32':
      dst.writeUInt32LE(u, i * 4);
      return;
    case 'BF16':
      dst.writeUInt16LE(f32BitsToBf16(u), i * 2);
      return;
    case 'F16':
      dst.writeUInt16LE(f32BitsToF16(u), i * 2);
      return;
  }
}

export function convertReference(src: Buffer, from: FloatDType, to: FloatDType): Buffer {
  const n = floatElementCount(src.length, from);
  if (!isConvertibleFloatDType(to)) {
    throw new InputError(`unknown float dtype '${String(to)}' (expected F32, F16 or BF16)`);
  }
  if (from === to) return Buffer.from(src);
  const dst = Buffer.alloc(n * FLOAT_DTYPE_BYTES[to]);
  for (let i = 0; i < n; i++) writeFromF32Bits(dst, i, to, readAsF32Bits(src, i, from));
  return dst;
}
