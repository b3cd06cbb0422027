/**
 * The model hyper-parameters the reference forward needs, read from an MLX artifact's config.json the way
 * mlx-lm reads them (ml-explore/mlx-lm `mlx_lm/models/qwen3_5.py` `TextModelArgs`, `qwen3_next.py` `ModelArgs`):
 * `text_config` if present, else the top level; rope from `rope_parameters` else the top level.
 */
import type { EngineArchitecture } from '../../src/runtime/engine/types';

export interface ReferenceConfig {
  architecture: EngineArchitecture;
  hidden: number;
  numLayers: number;
  vocab: number;
  eps: number;
  tie: boolean;
  /** true = Gated DeltaNet layer, false = full attention. */
  isLinear: boolean[];
  /** true = MoE MLP on that layer. */
  isMoe: boolean[];
  intermediate: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ropeDims: number;
  ropeTheta: number;
  nk: number;
  nv: number;
  dk: number;
  dv: number;
  convK: number;
  numExperts: number;
  topK: number;
  normTopK: boolean;
  mtpLayers: number;
}

type Json = Record<string, unknown>;

function num(o: Json, key: string, fallback?: number): number {
  const v = o[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json: '${key}' is missing`);
}

export function parseReferenceConfig(config: Json): ReferenceConfig {
  const mt = config.model_type;
  if (mt !== 'qwen3_5' && mt !== 'qwen3_5_moe' && mt !== 'qwen3_next') throw new Error(`config.json: unsupported model_type ${String(mt)}`);
  const tc = (typeof config.text_config === 'object' && config.text_config !== null ? config.text_config : config) as Json;
  const hidden = num(tc, 'hidden_size');
  const numLayers = num(tc, 'num_hidden_layers');
  const nHeads = num(tc, 'num_attention_heads');
  const headDim = num(tc, 'head_dim', hidden / nHeads);
  const rp = (typeof tc.rope_parameters === 'object' && tc.rope_parameters !== null ? tc.rope_parameters : undefined) as Json | undefined;
  const partial = rp ? num(rp, 'partial_rotary_factor', 0.25) : num(tc, 'partial_rotary_factor', 0.25);
  const ropeTheta = rp ? num(rp, 'rope_theta', 100000) : num(tc, 'rope_theta', 10000);
  // mlx-lm decides the layer kind from full_attention_interval alone; layer_types, when present, must agree.
  const interval = num(tc, 'full_attention_interval', 4);
  const isLinear = Array.from({ length: numLayers }, (_, i) => (i + 1) % interval !== 0);
  if (Array.isArray(tc.layer_types)) {
    tc.layer_types.forEach((t, i) => {
      if ((t === 'linear_attention') !== isLinear[i]) throw new Error(`config.json: layer_types[${i}] = ${String(t)} disagrees with full_attention_interval ${interval}`);
    });
  }
  const numExperts = num(tc, 'num_experts', 0);
  const sparseStep = num(tc, 'decoder_sparse_step', 1);
  const mlpOnly = Array.isArray(tc.mlp_only_layers) ? (tc.mlp_only_layers as number[]) : [];
  const isMoe = Array.from({ length: numLayers }, (_, i) =>
    mt === 'qwen3_next' ? !mlpOnly.includes(i) && numExperts > 0 && (i + 1) % sparseStep === 0 : numExperts > 0,
  );
  const normDefault = mt !== 'qwen3_next';
  return {
    architecture: mt,
    hidden,
    numLayers,
    vocab: num(tc, 'vocab_size'),
    eps: num(tc, 'rms_norm_eps', 1e-6),
    tie: (tc.tie_word_embeddings ?? config.tie_word_embeddings) === true,
    isLinear,
    isMoe,
    intermediate: num(tc, 'intermediate_size', 0),
    nHeads,
    nKvHeads: num(tc, 'num_key_value_heads'),
    headDim,
    ropeDims: Math.floor(headDim * partial),
    ropeTheta,
    nk: num(tc, 'linear_num_key_heads'),
    nv: num(tc, 'linear_num_value_heads'),
    dk: num(tc, 'linear_key_head_dim'),
    dv: num(tc, 'linear_value_head_dim'),
    convK: num(tc, 'linear_conv_kernel_dim', 4),
    numExperts,
    topK: num(tc, 'num_experts_per_tok', 0),
    normTopK: typeof tc.norm_topk_prob === 'boolean' ? tc.norm_topk_prob : normDefault,
    mtpLayers: num(tc, 'mtp_num_hidden_layers', num(tc, 'num_nextn_predict_layers', 0)),
  };
}
