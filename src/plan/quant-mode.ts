/**
 * MLX quantization modes, in one table: the modes `mx.quantize` accepts (ml-explore/mlx,
 * python/src/ops.cpp `quantize`) and what each stores beside the packed codes.
 */
export type QuantMode = 'affine' | 'mxfp4' | 'mxfp8' | 'nvfp4';

export const QUANT_MODES: readonly QuantMode[] = ['affine', 'mxfp4', 'mxfp8', 'nvfp4'];

export function isQuantMode(v: unknown): v is QuantMode {
  return typeof v === 'string' && (QUANT_MODES as readonly string[]).includes(v);
}
