/**
 * The numbers the engine's forward needs, from config.json (text_config or flat), with mlx-lm's
 * defaults where a field is absent (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py TextModelArgs,
 * qwen3_next.py ModelArgs).
 */
import { InputError } from '../../errors';
import type { Architecture } from '../../arch/architecture';
import { parseTextConfig, type TextConfig } from '../../arch/text-config';

type Json = Record<string, unknown>;

export interface EngineConfig {
  text: TextConfig;
  arch: Architecture;
  hidden: number;
  vocab: number;
  layers: number;
  layerFull: boolean[];
  layerMoe: boolean[];
  nHeads: number;
  nKv: number;
  headDim: number;
  rotDim: number;
  ropeTheta: number;
  eps: number;
  nk: number;
  nv: number;
  dk: number;
  dv: number;
  convK: number;
  intermediate: number;
  nExperts: number;
  topK: number;
  moeInter: number;
  sharedInter: number;
  normTopk: boolean;
  tie: boolean;
  mtpLayers: number;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseEngineConfig(config: Json, file = 'config.json'): EngineConfig {
  const text = parseTextConfig(config, file);
  const raw = (isObj(config.text_config) ? config.text_config : config) as Json;
  const prefix = isObj(config.text_config) ? 'text_config.' : '';
  const rope = isObj(raw.rope_parameters) ? raw.rope_parameters : isObj(raw.rope_scaling) ? raw.rope_scaling : {};
  const numberOr = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  // mlx-lm qwen3_5: rope_parameters first; qwen3_next: top-level rope_theta / partial_rotary_factor.
  const ropeTheta = numberOr(rope.rope_theta, numberOr(raw.rope_theta, 100000));
  const factor = numberOr(rope.partial_rotary_factor, numberOr(raw.partial_rotary_factor, 0.25));
  const headDim = raw.head_dim === undefined || raw.head_dim === null ? Math.floor(text.hiddenSize / text.numAttentionHeads) : text.headDim;
  const rotDim = Math.floor(headDim * factor);
  if (rotDim % 2 !== 0 || rotDim > headDim) {
    throw new InputError(`partial_rotary_factor ${factor} gives ${rotDim} rotary dims for head_dim ${headDim}; need an even number <= head_dim`, { file, field: prefix + 'partial_rotary_factor' });
  }
  const nExperts = text.numExperts ?? 0;
  const step = numberOr(raw.decoder_sparse_step, 1);
  const mlpOnly = Array.isArray(raw.mlp_only_layers) ? (raw.mlp_only_layers as unknown[]) : [];
  // qwen3_5 MoE: every layer sparse; qwen3_next: mlp_only_layers and decoder_sparse_step decide.
  const layerMoe = text.layerTypes.map((_, i) =>
    nExperts > 0 && (text.architecture !== 'qwen3_next' || (!mlpOnly.includes(i) && (i + 1) % step === 0)),
  );
  const need = (v: number | undefined, field: string): number => {
    if (v === undefined || v <= 0) throw new InputError('missing or zero, but the model needs it', { file, field: prefix + field });
    return v;
  };
  if (text.architecture === 'qwen3_5_moe' && nExperts <= 0) throw new InputError('a qwen3_5_moe model needs num_experts > 0', { file, field: prefix + 'num_experts' });
  const anyDense = layerMoe.some((m) => !m);
  const topK = nExperts > 0 ? need(text.numExpertsPerTok, 'num_experts_per_tok') : 0;
  if (topK > nExperts) throw new InputError(`num_experts_per_tok ${topK} exceeds num_experts ${nExperts}`, { file, field: prefix + 'num_experts_per_tok' });
  const cfg: EngineConfig = {
    text,
    arch: text.architecture,
    hidden: need(text.hiddenSize, 'hidden_size'),
    vocab: need(text.vocabSize, 'vocab_size'),
    layers: text.numLayers,
    layerFull: text.layerTypes.map((t) => t === 'full_attention'),
    layerMoe,
    nHeads: need(text.numAttentionHeads, 'num_attention_heads'),
    nKv: need(text.numKeyValueHeads, 'num_key_value_heads'),
    headDim,
    rotDim,
    ropeTheta,
    eps: text.rmsNormEps,
    nk: text.linearNumKeyHeads,
    nv: text.linearNumValueHeads,
    dk: text.linearKeyHeadDim,
    dv: text.linearValueHeadDim,
    convK: need(text.convKernel, 'linear_conv_kernel_dim'),
    intermediate: anyDense ? need(text.intermediateSize, 'intermediate_size') : text.intermediateSize ?? 0,
    nExperts,
    topK,
    moeInter: nExperts > 0 ? need(text.moeIntermediateSize, 'moe_intermediate_size') : 0,
    sharedInter: text.sharedExpertIntermediateSize ?? 0,
    // mlx-lm defaults: qwen3_5 TextModelArgs norm_topk_prob = True, qwen3_next ModelArgs = False.
    normTopk: typeof raw.norm_topk_prob === 'boolean' ? raw.norm_topk_prob : text.architecture !== 'qwen3_next',
    tie: text.tieWordEmbeddings,
    mtpLayers: text.mtpNumHiddenLayers,
  };
  if (cfg.nHeads % cfg.nKv !== 0) throw new InputError(`num_attention_heads ${cfg.nHeads} is not a multiple of num_key_value_heads ${cfg.nKv}`, { file, field: prefix + 'num_key_value_heads' });
  if (cfg.layerFull.some((f) => !f)) {
    if (cfg.nk <= 0 || cfg.nv % cfg.nk !== 0) throw new InputError(`linear_num_value_heads ${cfg.nv} is not a multiple of linear_num_key_heads ${cfg.nk}`, { file, field: prefix + 'linear_num_value_heads' });
  }
  return cfg;
}
