/**
 * Argument checks shared by the reference and the native quantizer, with MLX's rules
 * (mlx/ops.cpp `quantize`, `affine_quantize`, `fp_quantize`): InputError naming the tensor.
 */
import { InputError, type ErrorPlace } from '../../errors';
import { FLOAT_DTYPE_BYTES, isConvertibleFloatDType } from '../../numeric/float-bits';
import type { DequantizeOptions, FloatDType, QuantMode, QuantRounding, QuantizeOptions, QuantizedTensor } from './types';

export const AFFINE_BITS: readonly number[] = [2, 3, 4, 5, 6, 8];
export const AFFINE_GROUP_SIZES: readonly number[] = [32, 64, 128];
/** Fixed (group size, bits) of each fp mode. */
export const FP_MODE_PARAMS: Readonly<Record<Exclude<QuantMode, 'affine'>, { groupSize: number; bits: number }>> = {
  mxfp4: { groupSize: 32, bits: 4 },
  mxfp8: { groupSize: 32, bits: 8 },
  nvfp4: { groupSize: 16, bits: 4 },
};

/** Everything a kernel needs, checked. */
export interface QuantParams {
  mode: QuantMode;
  bits: number;
  groupSize: number;
  rounding: QuantRounding;
  dtype: FloatDType;
  numel: number;
  /** Number of groups = numel / groupSize. */
  groups: number;
  weightShape: number[];
  scalesShape: number[];
  /** fp32-rounded global scale (nvfp4), or undefined. */
  globalScale?: number;
  place: ErrorPlace;
}

function placeOf(name: string | undefined): ErrorPlace {
  return name ? { tensor: name } : {};
}

/** Checks mode / bits / group size / global scale; shared with dequantize. */
export function checkModeParams(
  mode: QuantMode,
  bits: number,
  groupSize: number,
  globalScale: number | undefined,
  place: ErrorPlace,
): void {
  if (mode === 'affine') {
    if (!AFFINE_GROUP_SIZES.includes(groupSize)) {
      throw new InputError(`affine group size ${groupSize} is not supported (use 32, 64 or 128)`, place);
    }
    if (!AFFINE_BITS.includes(bits)) {
      throw new InputError(`affine bits ${bits} is not supported (use 2, 3, 4, 5, 6 or 8)`, place);
    }
  } else if (mode === 'mxfp4' || mode === 'mxfp8' || mode === 'nvfp4') {
    const want = FP_MODE_PARAMS[mode];
    if (groupSize !== want.groupSize) {
      throw new InputError(`${mode} requires group size ${want.groupSize}, got ${groupSize}`, place);
    }
    if (bits !== want.bits) {
      throw new InputError(`${mode} requires ${want.bits} bits, got ${bits}`, place);
    }
  } else {
    throw new InputError(`unknown quantization mode '${String(mode)}' (use affine, mxfp4, mxfp8 or nvfp4)`, place);
  }
  if (globalScale !== undefined) {
    if (mode !== 'nvfp4') throw new InputError(`a global scale is only supported in nvfp4 mode, not ${mode}`, place);
    const g = Math.fround(globalScale);
    if (!Number.isFinite(g) || g <= 0) {
      throw new InputError(`global scale must be a finite positive fp32 number, got ${globalScale}`, place);
    }
  }
}

function checkShape(shape: readonly number[], place: ErrorPlace): number {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new InputError(`shape [${String(shape)}] must be a list of non-negative integers`, place);
  }
  if (shape.length < 2) {
    throw new InputError(`cannot quantize a tensor with ${shape.length} dimension(s): at least 2 are needed`, place);
  }
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) throw new InputError(`shape [${shape.join(', ')}] is too large`, place);
  return n;
}

export function resolveQuantize(data: Uint8Array, opts: QuantizeOptions): QuantParams {
  const place = placeOf(opts.name);
  const { mode, bits, groupSize } = opts;
  if (!isConvertibleFloatDType(opts.dtype)) {
    throw new InputError(`cannot quantize dtype '${String(opts.dtype)}' (expected F32, F16 or BF16)`, place);
  }
  checkModeParams(mode, bits, groupSize, opts.globalScale, place);
  const rounding = opts.rounding ?? 'metal';
  if (rounding !== 'metal' && rounding !== 'cpu') {
    throw new InputError(`rounding must be 'metal' or 'cpu', got '${String(rounding)}'`, place);
  }
  const numel = checkShape(opts.shape, place);
  const last = opts.shape[opts.shape.length - 1];
  if (last % groupSize !== 0) {
    throw new InputError(
      `last dimension ${last} of shape [${opts.shape.join(', ')}] is not divisible by the group size ${groupSize}`,
      place,
    );
  }
  const expected = numel * FLOAT_DTYPE_BYTES[opts.dtype];
  if (data.byteLength !== expected) {
    throw new InputError(
      `${opts.dtype} data of shape [${opts.shape.join(', ')}] needs ${expected} bytes, got ${data.byteLength}`,
      place,
    );
  }
  const lead = opts.shape.slice(0, -1);
  return {
    mode,
    bits,
    groupSize,
    rounding,
    dtype: opts.dtype,
    numel,
    groups: numel / groupSize,
    weightShape: [...lead, (last * bits) / 32],
    scalesShape: [...lead, last / groupSize],
    globalScale: opts.globalScale === undefined ? undefined : Math.fround(opts.globalScale),
    place,
  };
}

/** Checked view of a quantized tensor for dequantization. */
export interface DequantParams {
  mode: QuantMode;
  bits: number;
  groupSize: number;
  outDType: FloatDType;
  scalesDType: FloatDType | 'U8';
  numel: number;
  groups: number;
  outShape: number[];
  globalScale?: number;
  place: ErrorPlace;
}

function bytesOf(d: FloatDType | 'U8'): number {
  return d === 'U8' ? 1 : FLOAT_DTYPE_BYTES[d];
}

export function resolveDequantize(q: QuantizedTensor, opts: DequantizeOptions): DequantParams {
  const place = placeOf(opts.name);
  const { mode, bits, groupSize } = opts;
  checkModeParams(mode, bits, groupSize, opts.globalScale, place);
  const outDType = opts.outDType ?? 'F32';
  if (!isConvertibleFloatDType(outDType)) {
    throw new InputError(`cannot dequantize to dtype '${String(outDType)}' (expected F32, F16 or BF16)`, place);
  }
  const ws = q.weightShape;
  const ss = q.scalesShape;
  if (ws.length < 2 || ws.length !== ss.length || ws.slice(0, -1).some((d, i) => d !== ss[i])) {
    throw new InputError(`weight shape [${ws.join(', ')}] and scales shape [${ss.join(', ')}] do not match`, place);
  }
  const wLast = ws[ws.length - 1];
  const sLast = ss[ss.length - 1];
  if ((wLast * 32) / bits !== sLast * groupSize) {
    throw new InputError(
      `weight shape [${ws.join(', ')}] and scales shape [${ss.join(', ')}] disagree with bits=${bits}, group size=${groupSize}`,
      place,
    );
  }
  const affine = mode === 'affine';
  if (affine ? q.scalesDType === 'U8' : q.scalesDType !== 'U8') {
    throw new InputError(`${mode} scales must be ${affine ? 'F32, F16 or BF16' : 'U8'}, got ${q.scalesDType}`, place);
  }
  if (affine && (!q.biases || q.biasesDType !== q.scalesDType)) {
    throw new InputError(`affine dequantization needs biases of the scales' dtype ${q.scalesDType}`, place);
  }
  if (!affine && q.biases) throw new InputError(`${mode} tensors have no biases`, place);
  let groups = 1;
  for (const d of ss) groups *= d;
  const numel = groups * groupSize;
  const sBytes = groups * bytesOf(q.scalesDType);
  if (q.weight.byteLength !== (numel * bits) / 8) {
    throw new InputError(`weight needs ${(numel * bits) / 8} bytes, got ${q.weight.byteLength}`, place);
  }
  if (q.scales.byteLength !== sBytes || (q.biases && q.biases.byteLength !== sBytes)) {
    throw new InputError(`scales/biases need ${sBytes} bytes each`, place);
  }
  return {
    mode,
    bits,
    groupSize,
    outDType,
    scalesDType: q.scalesDType,
    numel,
    groups,
    outShape: [...ss.slice(0, -1), sLast * groupSize],
    globalScale: opts.globalScale === undefined ? undefined : Math.fround(opts.globalScale),
    place,
  };
}
