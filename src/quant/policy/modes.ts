/** Valid (mode, bits, group size) combinations (ml-explore/mlx mlx/ops.cpp `quantize`, mlx/backend/metal/kernels/quantized.h) and mlx-lm's per-mode defaults. */
import { QUANT_MODES, type QuantMode } from '../../plan/quant-mode';
import { AFFINE_BITS, AFFINE_GROUP_SIZES as AFFINE_GROUPS, FP_MODE_PARAMS } from '../kernels/validate';
import type { QuantParams } from './types';

export { QUANT_MODES };

/** `defaults_for_mode` of mlx-lm / mlx.nn: what bits and group size are when not given (fp modes: their only ones). */
export const MODE_DEFAULTS: Readonly<Record<QuantMode, { bits: number; groupSize: number }>> = {
  affine: { bits: 4, groupSize: 64 },
  ...FP_MODE_PARAMS,
};

/** Returns what is wrong with a combination, or undefined when MLX accepts it. */
export function quantParamsProblem(p: QuantParams): string | undefined {
  if (p.mode === 'affine') {
    if (!AFFINE_BITS.includes(p.bits)) return `affine bits must be one of ${AFFINE_BITS.join(', ')} (got ${p.bits})`;
    if (!AFFINE_GROUPS.includes(p.groupSize)) {
      return `affine group size must be one of ${AFFINE_GROUPS.join(', ')} (got ${p.groupSize})`;
    }
    return undefined;
  }
  const want = MODE_DEFAULTS[p.mode];
  if (!want) return `unknown mode '${p.mode}' (expected ${QUANT_MODES.join(', ')})`;
  if (p.bits !== want.bits || p.groupSize !== want.groupSize) {
    return `${p.mode} needs bits ${want.bits} and group size ${want.groupSize} (got ${p.bits}/${p.groupSize})`;
  }
  return undefined;
}

/** `affine 4/64` */
export function formatQuantParams(p: QuantParams): string {
  return `${p.mode} ${p.bits}/${p.groupSize}`;
}

/**
 * Fills a partial spec. A spec naming a mode other than the base's takes that mode's defaults for missing
 * fields (so `{mode: mxfp4}` under affine 4/64 defaults means mxfp4 4/32, not an invalid mxfp4 4/64).
 */
export function fillQuantParams(
  spec: { mode?: QuantMode; bits?: number; groupSize?: number },
  base: QuantParams,
): QuantParams {
  const mode = spec.mode ?? base.mode;
  const fallback = mode === base.mode ? base : { mode, ...MODE_DEFAULTS[mode] };
  return { mode, bits: spec.bits ?? fallback.bits, groupSize: spec.groupSize ?? fallback.groupSize };
}
