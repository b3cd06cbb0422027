/**
 * The native (C++, multithreaded) quantizer: same signature and bytes as `quantizeReference`.
 * Arguments are checked here (validate.ts) so the addon only sees well-formed requests.
 */
import { InputError } from '../../errors';
import { nativeAddon, resolveThreads } from '../../native/addon';
import { FLOAT_DTYPE_BYTES } from '../../numeric/float-bits';
import { nonFiniteError, decodeFloats } from './float-io';
import type { DequantizeOptions, FloatDType, QuantizeOptions, QuantizeTargets, QuantizedTensor, QuantKernel } from './types';
import { resolveDequantize, resolveQuantize, type DequantParams, type QuantParams } from './validate';

interface NativeQuantParams {
  dtype: FloatDType;
  mode: string;
  bits: number;
  groupSize: number;
  numel: number;
  threads: number;
  rounding: string;
  globalScale?: number;
  kernel?: QuantKernel;
}

interface NativeQuantResult {
  weight: Buffer;
  scales: Buffer;
  biases?: Buffer;
  /** Flat index of the first NaN / Inf, or -1. */
  nonFiniteIndex: number;
  /** Affine: the kernel variant that ran. */
  kernel?: Exclude<QuantKernel, 'auto'>;
}

interface NativeDequantParams {
  mode: string;
  bits: number;
  groupSize: number;
  numel: number;
  threads: number;
  outDType: FloatDType;
  scalesDType: FloatDType | 'U8';
  globalScale?: number;
}

/** The functions native/src/quantize.cc registers. */
export interface QuantAddon {
  quantQuantize(input: Uint8Array, params: NativeQuantParams, out?: QuantizeTargets): Promise<NativeQuantResult>;
  quantQuantizeSync(input: Uint8Array, params: NativeQuantParams, out?: QuantizeTargets): NativeQuantResult;
  quantDequantize(weight: Uint8Array, scales: Uint8Array, biases: Uint8Array | null, params: NativeDequantParams): Promise<Buffer>;
  quantDequantizeSync(weight: Uint8Array, scales: Uint8Array, biases: Uint8Array | null, params: NativeDequantParams): Buffer;
  /** Affine kernel variants this machine runs, fastest first. */
  quantKernels(): Exclude<QuantKernel, 'auto'>[];
  /** Element / scale encoders, exposed for tests. */
  quantFpEncode(kind: 'e2m1' | 'e4m3' | 'e8m0', values: Float32Array): Buffer;
}

export function quantAddon(): QuantAddon {
  return nativeAddon<QuantAddon>();
}


/** The affine kernel variants this machine runs, fastest first (what 'auto' picks is the first). */
export function quantKernels(): Exclude<QuantKernel, 'auto'>[] {
  return quantAddon().quantKernels();
}

function nativeParams(p: QuantParams, threads: number | undefined, kernel: QuantKernel | undefined): NativeQuantParams {
  if (kernel !== undefined && kernel !== 'auto' && !quantKernels().includes(kernel)) {
    throw new InputError(`quantizer kernel '${kernel}' is not available here (have: auto, ${quantKernels().join(', ')})`, p.place);
  }
  return {
    dtype: p.dtype,
    mode: p.mode,
    bits: p.bits,
    groupSize: p.groupSize,
    numel: p.numel,
    threads: resolveThreads(threads, p.place),
    rounding: p.rounding,
    globalScale: p.globalScale,
    ...(kernel && p.mode === 'affine' ? { kernel } : {}),
  };
}

/** Byte sizes of a quantized tensor's outputs (what `out` must hold exactly). */
function quantizedByteSizes(p: Pick<QuantParams, 'mode' | 'bits' | 'numel' | 'groups' | 'dtype'>): { weight: number; scales: number; biases?: number } {
  const weight = (p.numel * p.bits) / 8;
  if (p.mode !== 'affine') return { weight, scales: p.groups };
  const scales = p.groups * FLOAT_DTYPE_BYTES[p.dtype];
  return { weight, scales, biases: scales };
}

function checkTargets(p: QuantParams, out: QuantizeTargets | undefined): void {
  if (!out) return;
  const want = quantizedByteSizes(p);
  for (const key of ['weight', 'scales', 'biases'] as const) {
    const buf = out[key];
    const n = want[key];
    if (n === undefined) {
      if (buf !== undefined) throw new InputError(`out.${key} given, but ${p.mode} quantization has no ${key}`, p.place);
    } else if (!(buf instanceof Uint8Array)) {
      throw new InputError(`out.${key} must be a Buffer of ${n} bytes`, p.place);
    } else if (buf.byteLength !== n) {
      throw new InputError(`out.${key} has ${buf.byteLength} bytes, the ${key} of ${p.numel} values at ${p.bits} bits needs ${n}`, p.place);
    }
  }
}

function finish(data: Uint8Array, p: QuantParams, r: NativeQuantResult): QuantizedTensor {
  if (r.nonFiniteIndex >= 0) {
    const size = p.dtype === 'F32' ? 4 : 2;
    const i = r.nonFiniteIndex;
    const v = decodeFloats(data.subarray(i * size, (i + 1) * size), p.dtype)[0];
    throw nonFiniteError(v, i, p.place);
  }
  const affine = p.mode === 'affine';
  return {
    weight: r.weight,
    weightShape: p.weightShape,
    scales: r.scales,
    scalesShape: p.scalesShape,
    scalesDType: affine ? p.dtype : 'U8',
    ...(affine ? { biases: r.biases, biasesDType: p.dtype } : {}),
  };
}

/**
 * Quantizes off the event loop on `threads` native threads (default: MTPKIT_THREADS, else all cores),
 * into `out` when given (reused memory: no page faults for fresh outputs), else into new buffers.
 */
export async function quantize(data: Uint8Array, opts: QuantizeOptions, out?: QuantizeTargets): Promise<QuantizedTensor> {
  const p = resolveQuantize(data, opts);
  checkTargets(p, out);
  const r = await quantAddon().quantQuantize(data, nativeParams(p, opts.threads, opts.kernel), out);
  return finish(data, p, r);
}

/** Synchronous variant for small tensors (blocks the event loop while it runs). */
export function quantizeSync(data: Uint8Array, opts: QuantizeOptions, out?: QuantizeTargets): QuantizedTensor {
  const p = resolveQuantize(data, opts);
  checkTargets(p, out);
  return finish(data, p, quantAddon().quantQuantizeSync(data, nativeParams(p, opts.threads, opts.kernel), out));
}

function dequantParams(p: DequantParams, threads: number | undefined): NativeDequantParams {
  return {
    mode: p.mode,
    bits: p.bits,
    groupSize: p.groupSize,
    numel: p.numel,
    threads: resolveThreads(threads, p.place),
    outDType: p.outDType,
    scalesDType: p.scalesDType,
    globalScale: p.globalScale,
  };
}

/** Native dequantization, same bytes as `dequantize` (reference): shape [..., in] in `outDType`. */
export async function dequantizeNative(q: QuantizedTensor, opts: DequantizeOptions): Promise<Buffer> {
  const p = resolveDequantize(q, opts);
  return quantAddon().quantDequantize(q.weight, q.scales, q.biases ?? null, dequantParams(p, opts.threads));
}

export function dequantizeNativeSync(q: QuantizedTensor, opts: DequantizeOptions): Buffer {
  const p = resolveDequantize(q, opts);
  return quantAddon().quantDequantizeSync(q.weight, q.scales, q.biases ?? null, dequantParams(p, opts.threads));
}
