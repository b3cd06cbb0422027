/**
 * One model family's facts, in one place, as mlx-lm keeps one file per model (ml-explore/mlx-lm
 * mlx_lm/models/qwen3_5.py, qwen3_5_moe.py, qwen3_next.py). Conversion reads them today; the runtime
 * will read the same profile. Adding a family means adding a file under families/ and a fixture variant.
 */
import type { Architecture } from './architecture-id';

export interface ArchProfile {
  id: Architecture;
  /** config.json `model_type` values (top level or `text_config`) of this family. */
  modelTypes: readonly string[];
  /** config.json `architectures` class names of this family. */
  classNames: readonly string[];
  /** Prefix of text-model tensors in MLX naming (`language_model.` for the VLM wrapper, '' otherwise). */
  mlxTextPrefix: string;
  /** The HF checkpoint may carry a vision tower (`model.visual.*`). */
  hasVision: boolean;
  /** MoE family: experts stored stacked as `switch_mlp` in MLX, router `mlp.gate`. */
  moe: boolean;
}
