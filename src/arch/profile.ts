/**
 * One model family's facts, in one place, as mlx-lm keeps one file per model (ml-explore/mlx-lm
 * mlx_lm/models/qwen3_5.py, qwen3_5_moe.py, qwen3_next.py). Conversion, validation and the engine read
 * them. Adding a family means adding a file under families/ and a fixture variant.
 */
import type { Architecture } from './architecture-id';

/** One GDN input projection: its module name under `linear_attn.` and its output rows. */
/** The GDN sizes the projections depend on (a subset of ModelDims). */
export interface GdnDims {
  nk: number;
  nv: number;
  dk: number;
  dv: number;
}

export interface GdnProjection {
  name: string;
  rows: number;
}

export interface ArchProfile {
  id: Architecture;
  /** config.json `model_type` values (top level or `text_config`) of this family. */
  modelTypes: readonly string[];
  /** config.json `architectures` class names of this family. */
  classNames: readonly string[];
  /** Prefix of text-model tensors in MLX naming (`language_model.` for the VLM wrapper, '' otherwise). */
  mlxTextPrefix: string;
  /** Prefix of decoder tensors in the Hugging Face checkpoint (`model.language_model.` or `model.`). */
  hfModelPrefix: string;
  /** The HF checkpoint may carry a vision tower (`model.visual.*`). */
  hasVision: boolean;
  /** MoE family: experts stored stacked as `switch_mlp` in MLX, router `mlp.gate`. */
  moe: boolean;
  /** The config must declare experts (num_experts > 0). */
  requiresExperts: boolean;
  /**
   * Layer-relative modules that route tokens (role `router`): mlx-lm's quant_predicate for the MoE families
   * keeps them at 8 bits (ml-explore/mlx-lm mlx_lm/models/qwen3_5_moe.py, qwen3_next.py).
   */
  routerModules: readonly string[];
  /**
   * `shared_expert_intermediate_size` when a config with experts omits it: mlx-lm's ModelArgs default, or
   * undefined where mlx-lm declares the field without one (it cannot load such a config). Conversion,
   * validation and the MTP key sets read the one value parseTextConfig resolves from this.
   */
  sharedExpertSizeDefault: number | undefined;
  /** Whether decoder layer `layer` has a sparse MoE MLP, given that the config declares experts. */
  sparseLayer(layer: number, text: Record<string, unknown>): boolean;
  /** The GDN input projections of a linear-attention layer, in the MLX layout. */
  gdnProjections(d: GdnDims): GdnProjection[];
}
