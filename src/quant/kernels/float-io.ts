/** Raw little-endian float bytes <-> fp32 values for the reference kernels (plain and slow). */
import { InputError, type ErrorPlace } from '../../errors';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../numeric/float-bits';
import type { FloatDType } from './types';

/** Exact fp32 values of the input; InputError at the first NaN / Inf (flat element index). */
export function decodeFinite(data: Uint8Array, dtype: FloatDType, numel: number, place: ErrorPlace): Float32Array {
  const out = new Float32Array(numel);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < numel; i++) {
    let v: number;
    if (dtype === 'F32') v = view.getFloat32(i * 4, true);
    else if (dtype === 'BF16') v = bf16ToF32(view.getUint16(i * 2, true));
    else v = f16ToF32(view.getUint16(i * 2, true));
    if (!Number.isFinite(v)) throw nonFiniteError(v, i, place);
    out[i] = v;
  }
  return out;
}

export function nonFiniteError(value: number, index: number, place: ErrorPlace): InputError {
  const what = Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  return new InputError(`cannot quantize a non-finite value (${what}) at flat index ${index}`, place);
}

/** fp32 values -> little-endian bytes of `dtype` (f32 -> bf16 / f16 with MLX's rounding). */
export function encodeFloats(values: ArrayLike<number>, dtype: FloatDType): Buffer {
  const size = dtype === 'F32' ? 4 : 2;
  const out = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) {
    if (dtype === 'F32') out.writeFloatLE(values[i], i * 4);
    else out.writeUInt16LE(dtype === 'BF16' ? f32ToBf16(values[i]) : f32ToF16(values[i]), i * 2);
  }
  return out;
}

/** Little-endian bytes of `dtype` -> fp32 values (exact). */
export function decodeFloats(data: Uint8Array, dtype: FloatDType): Float32Array {
  const size = dtype === 'F32' ? 4 : 2;
  const n = data.byteLength / size;
  const out = new Float32Array(n);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < n; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(i * 4, true);
    else if (dtype === 'BF16') out[i] = bf16ToF32(view.getUint16(i * 2, true));
    else out[i] = f16ToF32(view.getUint16(i * 2, true));
  }
  return out;
}
