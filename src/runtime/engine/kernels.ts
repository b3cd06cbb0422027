/**
 * Typed access to the engine's native kernels (native/src/engine/kernels_binding.cc) for tests and
 * benchmarks: one quantized linear layer over weights as MLX stores them, and the memory roofline.
 * Everything is checked here, so the addon only sees well-formed requests.
 */
import { InputError, type ErrorPlace } from '../../errors';
import { nativeAddon } from '../../native/addon';
import { QB } from '../../numeric/q8-activations';
import type { ActivationMode } from './activations';

export type WeightFormat = 'F32' | 'F16' | 'BF16' | 'affine' | 'mxfp4' | 'mxfp8' | 'nvfp4';
export type ScalesDType = 'BF16' | 'F16' | 'F32';

/** One [rows, cols] weight (out x in) as stored: float rows, or packed uint32 codes + scales (+ biases). */
export interface QLinearSpec {
  format: WeightFormat;
  rows: number;
  cols: number;
  weight: Uint8Array;
  /** Quantized formats. */
  bits?: number;
  groupSize?: number;
  scales?: Uint8Array;
  /** Affine only. */
  biases?: Uint8Array;
  /** Affine only (fp modes have uint8 scales); default BF16. */
  scalesDType?: ScalesDType;
  /** Affine only (other formats always take float32 activations); default 'q8'. */
  activations?: ActivationMode;
  /** Tensor name for error messages. */
  name?: string;
}

// Enum values of native/src/engine/qlinear.h.
const FORMAT_CODE: Record<WeightFormat, number> = { F32: 0, F16: 1, BF16: 2, affine: 3, mxfp4: 4, mxfp8: 5, nvfp4: 6 };
const SDT_CODE: Record<ScalesDType, number> = { BF16: 0, F16: 1, F32: 2 };
// [bits, group] allowed per fp mode (MLX: mlx/ops.cpp quantization_params_from_mode).
const FP_PARAMS: Partial<Record<WeightFormat, [number, number]>> = { mxfp4: [4, 32], mxfp8: [8, 32], nvfp4: [4, 16] };
const AFFINE_BITS = [2, 3, 4, 5, 6, 8];
const AFFINE_GROUPS = [32, 64, 128];

/** Seconds per call: wall clock, and CPU time of the whole process (all threads) during the call. */
export interface Timings {
  wall: number[];
  cpu: number[];
}

interface NativeSpec {
  fmt: number;
  bits: number;
  group: number;
  rows: number;
  cols: number;
  sdt: number;
  w: Uint8Array;
  scales?: Uint8Array;
  biases?: Uint8Array;
  /** 1 = q8 activations (affine only), 0 = float32. */
  act?: number;
}

interface KernelsAddon {
  kernelsQlinearForward(spec: NativeSpec, x: Float32Array, m: number, threads: number, r0?: number, r1?: number): Float32Array;
  kernelsQlinearRow(spec: NativeSpec, row: number): Float32Array;
  kernelsQlinearBytes(spec: NativeSpec): number;
  kernelsTimeForward(spec: NativeSpec, x: Float32Array, m: number, threads: number, repeat: number, copies: number): Timings;
  kernelsReadBandwidth(bytes: number, threads: number, repeat: number): Timings & { bytes: number };
  kernelsQuantizeActivations(x: Float32Array, m: number, k: number): { xq: Int8Array; d: Float32Array };
  kernelsSetScalar(on: boolean): void;
  kernelsSetKernels(choice: string): void;
  kernelsIsa(): string;
}

function addon(): KernelsAddon {
  return nativeAddon<KernelsAddon>();
}

function positiveInt(v: number, what: string, place: ErrorPlace): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new InputError(`${what} must be a positive integer, got ${v}`, place);
}

function needBytes(buf: Uint8Array | undefined, n: number, what: string, place: ErrorPlace): Uint8Array {
  if (!buf) throw new InputError(`${what} is missing`, place);
  if (buf.byteLength !== n) throw new InputError(`${what} has ${buf.byteLength} bytes, expected ${n}`, place);
  return buf;
}

/** Checks a spec against its shape and format and converts it to the addon's form. */
function toNative(spec: QLinearSpec): NativeSpec {
  const place: ErrorPlace = spec.name ? { tensor: spec.name } : {};
  const fmt = FORMAT_CODE[spec.format];
  if (fmt === undefined) throw new InputError(`unknown weight format '${spec.format}'`, place);
  positiveInt(spec.rows, 'rows', place);
  positiveInt(spec.cols, 'cols', place);
  const { rows, cols } = spec;
  if (fmt <= 2) {
    const size = spec.format === 'F32' ? 4 : 2;
    const w = needBytes(spec.weight, rows * cols * size, 'weight', place);
    return { fmt, bits: 0, group: 0, rows, cols, sdt: 0, w };
  }
  const bits = spec.bits ?? -1;
  const group = spec.groupSize ?? -1;
  const fp = FP_PARAMS[spec.format];
  const ok = fp ? fp[0] === bits && fp[1] === group : AFFINE_BITS.includes(bits) && AFFINE_GROUPS.includes(group);
  if (!ok) throw new InputError(`${spec.format} does not support bits ${bits} with group size ${group}`, place);
  if (cols % group !== 0) throw new InputError(`cols ${cols} is not a multiple of the group size ${group}`, place);
  const groups = rows * (cols / group);
  const w = needBytes(spec.weight, (rows * cols * bits) / 8, 'weight', place);
  if (fp) {
    const scales = needBytes(spec.scales, groups, 'scales', place);
    return { fmt, bits, group, rows, cols, sdt: 0, w, scales };
  }
  const sdt = spec.scalesDType ?? 'BF16';
  if (SDT_CODE[sdt] === undefined) throw new InputError(`unknown scales dtype '${sdt}'`, place);
  const ssize = sdt === 'F32' ? 4 : 2;
  const scales = needBytes(spec.scales, groups * ssize, 'scales', place);
  const biases = needBytes(spec.biases, groups * ssize, 'biases', place);
  const activations = spec.activations ?? 'q8';
  if (activations !== 'q8' && activations !== 'f32') throw new InputError(`activations must be 'q8' or 'f32', got '${String(activations)}'`, place);
  return { fmt, bits, group, rows, cols, sdt: SDT_CODE[sdt], w, scales, biases, act: activations === 'q8' ? 1 : 0 };
}

function checkX(spec: QLinearSpec, x: Float32Array, m: number): void {
  positiveInt(m, 'M', {});
  if (x.length !== m * spec.cols) throw new InputError(`x has ${x.length} floats, expected M * cols = ${m * spec.cols}`);
}

function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new InputError(`threads must be an integer in 1..256, got ${threads}`);
  }
}

/** y[m, n] = sum_k W[n, k] x[m, k] for M rows of x ([M, cols] row-major); returns [M, rows]. */
export function qlinearForward(spec: QLinearSpec, x: Float32Array, m: number, threads = 1): Float32Array {
  const s = toNative(spec);
  checkX(spec, x, m);
  checkThreads(threads);
  return addon().kernelsQlinearForward(s, x, m, threads);
}

/** qlinearForward over rows [r0, r1) of W only (the native slice_rows, as MoE experts use it). */
export function qlinearForwardRows(spec: QLinearSpec, x: Float32Array, m: number, r0: number, r1: number, threads = 1): Float32Array {
  const s = toNative(spec);
  checkX(spec, x, m);
  checkThreads(threads);
  if (!Number.isInteger(r0) || !Number.isInteger(r1) || r0 < 0 || r1 <= r0 || r1 > spec.rows) {
    throw new InputError(`row range [${r0}, ${r1}) is not inside 0..${spec.rows}`);
  }
  return addon().kernelsQlinearForward(s, x, m, threads, r0, r1);
}

/** Row `row` of W, dequantized to float32 (embedding lookup). */
export function qlinearRow(spec: QLinearSpec, row: number): Float32Array {
  const s = toNative(spec);
  if (!Number.isInteger(row) || row < 0 || row >= spec.rows) throw new InputError(`row ${row} is out of range 0..${spec.rows - 1}`);
  return addon().kernelsQlinearRow(s, row);
}

/** Bytes one qlinearForward reads (weights + scales + biases). */
export function qlinearBytes(spec: QLinearSpec): number {
  return addon().kernelsQlinearBytes(toNative(spec));
}

/**
 * Seconds of each of `repeat` back-to-back qlinearForward calls, timed natively (benchmarks).
 * `spec` may stack `copies` copies of the timed matrix (rows = copies * its rows); call r reads copy
 * r % copies, so small matrices are not served from the last-level cache.
 */
export function timeQlinearForward(spec: QLinearSpec, x: Float32Array, m: number, threads: number, repeat: number, copies = 1): Timings {
  const s = toNative(spec);
  checkX(spec, x, m);
  checkThreads(threads);
  positiveInt(repeat, 'repeat', {});
  positiveInt(copies, 'copies', {});
  if (spec.rows % copies !== 0) throw new InputError(`copies ${copies} does not divide rows ${spec.rows}`);
  return addon().kernelsTimeForward(s, x, m, threads, repeat, copies);
}

/** Timings of `repeat` streaming reads of a fresh buffer of `bytes` (rounded up to 4 KiB: the returned bytes). */
export function readBandwidthRuns(bytes: number, threads: number, repeat: number): Timings & { bytes: number } {
  if (!Number.isSafeInteger(bytes) || bytes < 2 ** 20) throw new InputError(`bytes must be an integer >= 1 MiB, got ${bytes}`);
  checkThreads(threads);
  positiveInt(repeat, 'repeat', {});
  return addon().kernelsReadBandwidth(bytes, threads, repeat);
}

/** Memory read bandwidth in GB/s: one streaming read of a `bytes`-sized buffer over `threads` threads. */
export function readBandwidth(bytes: number, threads: number): number {
  const r = readBandwidthRuns(bytes, threads, 1);
  return r.bytes / r.wall[0] / 1e9;
}

/**
 * The native q8 row quantizer over x [M, K] (K a positive multiple of QB): codes xq [M, K] and
 * steps d [M, K / QB], as the q8 kernels see them (SIMD or portable, whichever is selected).
 */
export function quantizeActivations(x: Float32Array, m: number, k: number): { xq: Int8Array; d: Float32Array } {
  positiveInt(m, 'M', {});
  positiveInt(k, 'K', {});
  if (k % QB !== 0) throw new InputError(`K ${k} is not a multiple of the activation block ${QB}`);
  if (x.length !== m * k) throw new InputError(`x has ${x.length} floats, expected M * K = ${m * k}`);
  return addon().kernelsQuantizeActivations(x, m, k);
}

/** Pins the portable kernels (true) or restores run-time selection (false). */
export function setScalarKernels(on: boolean): void {
  addon().kernelsSetScalar(on);
}

/**
 * Pins a kernel family: 'scalar' (portable), 'avx2' (AVX2 without the VNNI q8 kernels, which give
 * the same bits except at 8 bits, where they agree to float rounding), 'vnni' (the AVX-VNNI q8 kernels at every M; 'auto' picks them per call), 'avx512'
 * (the AVX512-VNNI q8 kernels, which 'auto' uses where the CPU has them), or 'auto' (run-time
 * selection, as setScalarKernels(false)). On a CPU without that extension 'vnni' / 'avx512' are 'avx2'.
 */
export type KernelChoice = 'auto' | 'scalar' | 'avx2' | 'vnni' | 'avx512';
const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'scalar', 'avx2', 'vnni', 'avx512'];
export function setKernels(choice: KernelChoice): void {
  if (!KERNEL_CHOICES.includes(choice)) throw new InputError(`unknown kernel choice ${String(choice)}`);
  addon().kernelsSetKernels(choice);
}

/** Which kernels qlinearForward uses now: 'avx512-vnni' / 'avx2-vnni' (AVX2, q8 mode with that VNNI build), 'avx2' or 'scalar'. */
export function kernelIsa(): string {
  return addon().kernelsIsa();
}
