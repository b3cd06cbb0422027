/**
 * The +1 fold of zero-centred RMSNorm weights (HF computes x·(1+w), MLX x·w).
 * A key qualifies if it is 1-D and ends with one of these suffixes (mlx-lm main's five plus the
 * three MTP ones of the native-MTP branch). `linear_attn.norm` is a plain weight and matches none.
 */
export const ZERO_CENTRED_NORM_SUFFIXES: readonly string[] = [
  '.input_layernorm.weight',
  '.post_attention_layernorm.weight',
  'model.norm.weight',
  '.q_norm.weight',
  '.k_norm.weight',
  '.pre_fc_norm_hidden.weight',
  '.pre_fc_norm_embedding.weight',
  'mtp.norm.weight',
];

export function isZeroCentredNorm(mlxName: string, shape: readonly number[]): boolean {
  return shape.length === 1 && ZERO_CENTRED_NORM_SUFFIXES.some((s) => mlxName.endsWith(s));
}
