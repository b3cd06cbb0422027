/**
 * Bulk F32 / F16 / BF16 conversion through the native kernels (native/src/convert.cc).
 * Small buffers convert synchronously (a worker round trip would cost more than the work);
 * larger ones run off the event loop, split over threads.
 */
import { InputError, type ErrorPlace } from '../errors';
import { nativeAddon, resolveThreads } from '../native/addon';
import {
  type FloatDType,
  FLOAT_DTYPE_BYTES,
  floatElementCount,
  isConvertibleFloatDType,
} from './float-bits';

export type { FloatDType } from './float-bits';

/** Functions native/src/convert.cc exports. They throw TypeError / RangeError on bad arguments. */
export interface ConvertAddon {
  convertSync(src: Buffer, from: FloatDType, to: FloatDType, dst: Buffer): void;
  /** threads: 0 = all cores. */
  convertAsync(src: Buffer, from: FloatDType, to: FloatDType, dst: Buffer, threads: number): Promise<void>;
}

export interface ConvertOptions {
  /** Worker threads for large buffers; default MTPKIT_THREADS or all cores (0). */
  threads?: number;
  /** Named in error messages (file / tensor the data belongs to). */
  place?: ErrorPlace;
}

/** Below this many source bytes the conversion runs synchronously on the calling thread. */
export const SYNC_THRESHOLD_BYTES = 64 * 1024;

function addon(): ConvertAddon {
  return nativeAddon<ConvertAddon>();
}

function checkArgs(src: Buffer, from: FloatDType, to: FloatDType, place: ErrorPlace): number {
  const n = floatElementCount(src.length, from, place);
  if (!isConvertibleFloatDType(to)) {
    throw new InputError(`unknown float dtype '${String(to)}' (expected F32, F16 or BF16)`, place);
  }
  return n;
}


/**
 * Converts `src` (from) into the caller's `dst` (to), which must hold exactly as many elements.
 * src and dst must not overlap, except the very same bytes when both dtypes have the same width.
 */
export async function convertFloatsInto(
  src: Buffer,
  from: FloatDType,
  to: FloatDType,
  dst: Buffer,
  opts: ConvertOptions = {},
): Promise<void> {
  const place = opts.place ?? {};
  const n = checkArgs(src, from, to, place);
  if (dst.length !== n * FLOAT_DTYPE_BYTES[to]) {
    throw new InputError(
      `destination holds ${dst.length} bytes but ${n} ${to} elements need ${n * FLOAT_DTYPE_BYTES[to]}`,
      place,
    );
  }
  const threads = resolveThreads(opts.threads, opts.place);
  if (src.length < SYNC_THRESHOLD_BYTES) {
    addon().convertSync(src, from, to, dst);
  } else {
    await addon().convertAsync(src, from, to, dst, threads);
  }
}

/** Converts a buffer of `from` elements into a new buffer of `to` elements (a copy if equal). */
export async function convertFloats(
  src: Buffer,
  from: FloatDType,
  to: FloatDType,
  opts: ConvertOptions = {},
): Promise<Buffer> {
  const n = checkArgs(src, from, to, opts.place ?? {});
  const dst = Buffer.allocUnsafe(n * FLOAT_DTYPE_BYTES[to]);
  await convertFloatsInto(src, from, to, dst, opts);
  return dst;
}

/** Synchronous, single-threaded form; blocks the event loop, so meant for small buffers. */
export function convertFloatsSync(
  src: Buffer,
  from: FloatDType,
  to: FloatDType,
  opts: Pick<ConvertOptions, 'place'> = {},
): Buffer {
  const n = checkArgs(src, from, to, opts.place ?? {});
  const dst = Buffer.allocUnsafe(n * FLOAT_DTYPE_BYTES[to]);
  addon().convertSync(src, from, to, dst);
  return dst;
}
