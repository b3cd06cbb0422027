/**
 * The layer rule of mlx-lm's mixed recipes (`mixed_quant_predicate_builder`, ml-explore/mlx-lm mlx_lm/utils.py and mlx_lm/convert.py).
 *
 * mlx-lm finds the position of the first all-digit component in the first module path that contains
 * `down_proj`, then reads every module path's component at that position as the layer index (0 when the
 * path is shorter). For Qwen3.5/3.6 both trunk (`language_model.model.layers.N…`) and MTP
 * (`language_model.mtp.layers.N…`) down_proj paths put the number at position 3, so which one comes first
 * does not matter; Qwen3-Next (`model.layers.N…`) puts it at 2. L is the number of decoder layers only.
 */
import type { TextConfig } from '../../arch/text-config';

export function mixedLayerPosition(cfg: TextConfig): number {
  return cfg.architecture === 'qwen3_next' ? 2 : 3;
}

/** The index mlx-lm's mixed predicate uses for a module path (NaN where mlx-lm's int() would fail). */
export function mixedLayerIndex(modulePath: string, cfg: TextConfig): number {
  const parts = modulePath.split('.');
  const pos = mixedLayerPosition(cfg);
  if (parts.length <= pos) return 0;
  return /^\d+$/.test(parts[pos]) ? Number(parts[pos]) : NaN;
}

/** `use_more_bits(idx)` with L = number of decoder layers (Python floor division and modulo). */
export function useMoreBits(idx: number, numLayers: number): boolean {
  const eighth = Math.floor(numLayers / 8);
  const mod3 = (((idx - eighth) % 3) + 3) % 3;
  return idx < eighth || idx >= Math.floor((7 * numLayers) / 8) || mod3 === 2;
}
