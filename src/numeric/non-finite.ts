/**
 * The first NaN / Inf of a float buffer, through the native scan (native/src/finite.cc); the TS
 * reference below is the plain loop the tests compare it with.
 */
import { nativeAddon, resolveThreads } from '../native/addon';
import { floatElementCount, type FloatDType } from './float-bits';

interface FiniteAddon {
  nonFiniteSync(data: Buffer, dtype: FloatDType): number;
  /** threads: 0 = all cores. */
  nonFiniteAsync(data: Buffer, dtype: FloatDType, threads: number): Promise<number>;
}

/** Below this many bytes the scan runs on the calling thread (a worker round trip costs more). */
const SYNC_BYTES = 256 * 1024;

/** Flat index of the first non-finite element, or -1. */
export async function firstNonFinite(data: Buffer, dtype: FloatDType, threads?: number): Promise<number> {
  floatElementCount(data.length, dtype);
  const addon = nativeAddon<FiniteAddon>();
  if (data.length < SYNC_BYTES) return addon.nonFiniteSync(data, dtype);
  return addon.nonFiniteAsync(data, dtype, resolveThreads(threads));
}

/** Exponent bits all ones: NaN or ±Inf (IEEE 754 binary32 / binary16 / bfloat16). */
export function firstNonFiniteReference(data: Uint8Array, dtype: FloatDType): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = floatElementCount(data.byteLength, dtype);
  const mask = dtype === 'BF16' ? 0x7f80 : 0x7c00;
  for (let i = 0; i < n; i++) {
    const exponentAllOnes = dtype === 'F32' ? (view.getUint32(4 * i, true) & 0x7f800000) === 0x7f800000 : (view.getUint16(2 * i, true) & mask) === mask;
    if (exponentAllOnes) return i;
  }
  return -1;
}

/** Row-major coordinates of flat index `i` in `shape`. */
export function coordinatesOf(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return out;
}

/** 'NaN', '+Inf' or '-Inf' for element `i` of `data` (which must be non-finite). */
export function nonFiniteKind(data: Uint8Array, i: number, dtype: FloatDType): 'NaN' | '+Inf' | '-Inf' {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bits = dtype === 'F32' ? view.getUint32(4 * i, true) : view.getUint16(2 * i, true);
  const [sign, mantissa] = dtype === 'F32' ? [bits >>> 31, bits & 0x7fffff] : dtype === 'F16' ? [bits >>> 15, bits & 0x3ff] : [bits >>> 15, bits & 0x7f];
  return mantissa !== 0 ? 'NaN' : sign ? '-Inf' : '+Inf';
}
